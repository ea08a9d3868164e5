"""``onestop --help`` and commands that touch no database start fast (issue 19 §3).

The command list in ``--help`` comes from ``cli/short_help.py`` instead of importing every
command module; these tests keep that table equal to the real commands' short help (so it cannot
drift) and check, in a fresh interpreter, that ``--help`` and ``check-id`` import no database
library.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import click
import pytest
from click.utils import _make_default_short_help

from onestop.cli.main import COMMANDS, DESK_COMMANDS, LazyGroup
from onestop.cli.short_help import DESK_SHORT_HELP, SHORT_HELP

TABLES = [(COMMANDS, SHORT_HELP, "SHORT_HELP"), (DESK_COMMANDS, DESK_SHORT_HELP, "DESK_SHORT_HELP")]


def _load(spec: str) -> click.Command:
    module, attribute = spec.split(":")
    command = getattr(importlib.import_module(module), attribute)
    assert isinstance(command, click.Command)
    return command


@pytest.mark.parametrize(("lazy", "table", "table_name"), TABLES)
def test_every_lazy_command_has_its_real_short_help(
    lazy: dict[str, str], table: dict[str, str], table_name: str
) -> None:
    for name, spec in sorted(lazy.items()):
        command = _load(spec)
        real = command.get_short_help_str(10**6)
        assert name in table, f"add {name!r}: {real!r} to {table_name} in onestop/cli/short_help.py"
        assert not command.short_help and not command.deprecated and not command.hidden, (
            f"{name}: LazyGroup's table holds plain help text only"
        )
        for limit in (20, 45, 60, 74, 200):  # the listing shortens to the terminal's width
            assert _make_default_short_help(table[name], limit) == command.get_short_help_str(
                limit
            ), f"{table_name}[{name!r}] differs from the command's help; now: {real!r}"
    stale = sorted(set(table) - set(lazy))
    assert not stale, f"{table_name} lists commands that no longer exist: {stale}"


def _listing(lazy: dict[str, str], summaries: dict[str, str]) -> str:
    group = LazyGroup(name="onestop", lazy=lazy, summaries=summaries)
    formatter = click.HelpFormatter(width=100)
    group.format_commands(click.Context(group), formatter)
    return formatter.getvalue()


@pytest.mark.parametrize(("lazy", "table", "table_name"), TABLES)
def test_help_listing_from_the_table_equals_the_one_from_the_commands(
    lazy: dict[str, str], table: dict[str, str], table_name: str
) -> None:
    from_table = _listing(lazy, table)
    assert len(from_table.splitlines()) == len(lazy) + 1
    assert from_table == _listing(lazy, {})


def test_a_command_missing_from_the_table_is_still_listed() -> None:
    """A helper adding a lazy command without a table row still gets it in --help."""
    partial = {k: v for k, v in SHORT_HELP.items() if k != "check-id"}
    assert "check-id" in _listing(COMMANDS, partial)
    assert _listing(COMMANDS, partial) == _listing(COMMANDS, SHORT_HELP)


_PROBE = """
import json, sys
from onestop.cli.main import main
try:
    main(sys.argv[1:], prog_name="onestop")
except SystemExit as e:
    code = e.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["check-id", "038199012345", "--json"], ["desk", "--help"], ["receive", "--help"]],
)
def test_commands_without_a_database_import_no_database_library(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] in (0, None, 1), done.stderr
    heavy = [
        m
        for m in result["modules"]
        if m.split(".")[0] in ("sqlalchemy", "sqlmodel", "alembic", "textual")
        or m in ("onestop.services.desk", "onestop.store.models", "onestop.store.engine")
    ]
    assert not heavy, f"{argv} imports the database layer: {heavy[:8]} (python -X importtime)"
