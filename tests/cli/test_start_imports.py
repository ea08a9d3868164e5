"""What a start imports (issue 19 §3): each module below costs a command or the desk's first
screen time before it does anything, so these tests name the modules a start must not load.

Module names, not timings (the timings are ``tests/bench/bench_start.py``'s table). Each probe
runs in a fresh interpreter, since this process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_RUN = """
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

_IMPORT = """
import json, sys
import {module}
print(json.dumps({{"code": 0, "modules": sorted(sys.modules)}}))
"""

# Libraries and onestop modules that only a desk that is opened needs.
DATABASE = ("sqlalchemy", "sqlmodel", "alembic", "pydantic", "sqlcipher3", "cryptography")
DESK_MODULES = (
    "onestop.store",
    "onestop.services.desk",
    "onestop.domain.lifecycle",
    "onestop.domain.events",
    "onestop.domain.payments",
    "onestop.domain.catalogue",
)


def _modules(code: str, *argv: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] in (0, 1, None), done.stderr
    modules: list[str] = result["modules"]
    return modules


def _loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    """Those of ``modules`` that are one of ``names`` or inside one of them (packages)."""
    return [m for m in modules if any(m == n or m.startswith(n + ".") for n in names)]


@pytest.mark.parametrize(
    "argv",
    [
        ["check-id", "038199012345", "--json"],
        ["check-id", "038199012345"],
        ["check-id", "03819901234"],  # refused: the message path
        ["--version"],
    ],
)
def test_a_command_without_a_desk_imports_only_what_it_needs(argv: list[str]) -> None:
    modules = _modules(_RUN, *argv)
    heavy = _loaded(modules, (*DATABASE, "textual", *DESK_MODULES))
    assert not heavy, f"{argv}: {heavy[:8]} (python -X importtime shows who imports them)"
    # check-id lives in cli/checks.py: the desk commands' module (and its domain imports) stays
    # out; gettext's catalogue search (locale) is not run for click's texts.
    assert "onestop.cli.dossiers" not in modules
    assert "locale" not in modules


def test_help_loads_no_command_module_and_no_cccd_tables() -> None:
    modules = _modules(_RUN, "--help")
    commands = [
        m
        for m in modules
        if m.startswith("onestop.cli.")
        and m not in ("onestop.cli._common", "onestop.cli.main", "onestop.cli.short_help")
    ]
    assert not commands
    assert not _loaded(modules, ("onestop.domain.cccd", "onestop.services.sync", "tomllib"))


def test_the_desk_app_module_leaves_what_the_login_screen_does_not_show() -> None:
    """``import onestop.tui.app`` is on the way to every first screen; the dashboard, the
    first-run screen, the modals (and the action forms and report tables behind them) and the
    glance load when they are first shown."""
    modules = _modules(_IMPORT.format(module="onestop.tui.app"))
    lazy = (
        "onestop.tui.screens.dashboard",
        "onestop.tui.screens.first_run",
        "onestop.tui.screens.modals",
        "onestop.tui._actions",
        "onestop.services.glance",
        "onestop.domain.reports",
    )
    assert not _loaded(modules, lazy)
    assert not _loaded(modules, (*DATABASE, *DESK_MODULES))


def test_config_reads_the_language_without_platformdirs_when_the_file_is_named() -> None:
    """The root command reads the settings before every command: with ``ONESTOP_CONFIG_FILE``
    set, and no file there, neither platformdirs nor a TOML parser is loaded for it."""
    code = (
        "import json, sys, os\n"
        "os.environ['ONESTOP_CONFIG_FILE'] = '/nonexistent/onestop.toml'\n"
        "os.environ['ONESTOP_DB'] = '/nonexistent/desk.sqlite'\n"
        "from onestop.config import load_settings\n"
        "assert load_settings().language == 'vi'\n"
        "print(json.dumps({'code': 0, 'modules': sorted(sys.modules)}))\n"
    )
    modules = _modules(code)
    assert not _loaded(modules, ("platformdirs", "tomllib", "onestop.services.sync"))
