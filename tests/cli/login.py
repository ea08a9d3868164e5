"""Shared by the CLI tests: an encrypted desk made through ``onestop init`` + ``user add``.

``init`` creates the desk and its admin; ``tatca`` holds the three working roles so one
environment (``LOGIN``) can drive every lifecycle step from a test. ``runner`` is the one
way the CLI tests run ``onestop`` in process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from click.testing import CliRunner

from onestop.cli.main import main

PASSWORD = "mat-khau-thu-nghiem"
LOGIN = {"ONESTOP_USER": "tatca", "ONESTOP_PASSWORD": PASSWORD}
ADMIN = {"ONESTOP_USER": "quantri", "ONESTOP_PASSWORD": PASSWORD}
NOW = {"ONESTOP_NOW": "2026-11-20 10:00"}  # the desk clock of the CLI tests

Runner = Callable[..., tuple[int, str, str]]


def runner(base_env: Mapping[str, str]) -> Runner:
    """``run(*args, env=None, input=None)``: ``onestop ARGS`` in process with ``base_env``
    (then ``env``) set and ``input`` on stdin; (exit code, stdout, stderr). Exceptions are not
    caught, so a traceback fails the test instead of hiding in an exit code."""

    def run(
        *args: str, env: Mapping[str, str] | None = None, input: str | None = None
    ) -> tuple[int, str, str]:
        result = CliRunner().invoke(
            main,
            list(args),
            env={**base_env, **(env or {})},
            input=input,
            catch_exceptions=False,
        )
        return result.exit_code, result.stdout, result.stderr

    return run


def init_desk(run: Runner, path: Path | str) -> None:
    code, _, err = run(
        "init",
        "--db",
        str(path),
        "--unit-id",
        "000.00.14.H56",
        "--commune-code",
        "16279",
        "--commune-name",
        "Xã Mường Lát",
        "--province",
        "38",
        # The number the province gave this desk (without it: a desk with no number yet,
        # desk 00 with provisional codes until enrollment; issue 16).
        "--desk-no",
        "1",
        "--admin",
        "quantri",
        env=ADMIN,
    )
    assert code == 0, err
    code, _, err = run(
        "user",
        "add",
        "tatca",
        "--db",
        str(path),
        "--name",
        "Lò Thị Mai",
        "--role",
        "clerk,specialist,leader",
        env={**ADMIN, "ONESTOP_NEW_PASSWORD": PASSWORD},
    )
    assert code == 0, err
