"""Shared by the CLI tests: an encrypted desk made through ``onestop init`` + ``user add``.

``init`` creates the desk and its admin; ``tatca`` holds the three working roles so one
environment (``LOGIN``) can drive every lifecycle step from a test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

PASSWORD = "mat-khau-thu-nghiem"
LOGIN = {"ONESTOP_USER": "tatca", "ONESTOP_PASSWORD": PASSWORD}
ADMIN = {"ONESTOP_USER": "quantri", "ONESTOP_PASSWORD": PASSWORD}

Runner = Callable[..., tuple[int, str, str]]


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
