"""The console script: a bare ``onestop`` at a terminal opens the desk without click; every
other call goes through the click CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from onestop.services.desk import Desk

# A child that believes it is on a terminal, with run_desk recorded instead of drawn.
CHILD = """
import io, json, sys
class Tty(io.StringIO):
    def isatty(self):
        return True
sys.stdin, sys.stdout = Tty(), Tty()
import onestop.tui.app as app
opened = []
app.run_desk = lambda settings, now, **kw: (opened.append(str(settings.db)), now())
sys.argv = ["onestop"] + ARGS
from onestop.cli import entry
code = 0
try:
    entry.run()
except SystemExit as e:
    code = e.code or 0
sys.__stdout__.write(json.dumps({"opened": opened, "click": "click" in sys.modules, "code": code}))
"""


def _child(db: Path, *args: str, now: str | None = None) -> dict[str, object]:
    env = {**os.environ, "ONESTOP_DB": str(db)}
    env.pop("ONESTOP_NOW", None)
    if now is not None:
        env["ONESTOP_NOW"] = now
    out = subprocess.run(
        [sys.executable, "-c", CHILD.replace("ARGS", repr(list(args)))],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_a_bare_onestop_on_a_terminal_opens_the_desk_without_click(desk: Desk):
    path = desk.store.path
    desk.close()
    assert _child(path) == {"opened": [str(path)], "click": False, "code": 0}
    # The same with the file named on the command line, and with the demo's frozen clock.
    other = path.with_name("elsewhere.sqlite")
    path.rename(other)
    for args in (("--db", str(other)), (f"--db={other}",)):
        seen = _child(path, *args, now="2026-11-20 10:00")
        assert seen == {"opened": [str(other)], "click": False, "code": 0}


def test_anything_else_goes_through_the_cli(desk: Desk, tmp_path: Path):
    path = desk.store.path
    desk.close()
    # Arguments: the CLI parses them (and opens the same desk through its own command).
    seen = _child(path, "desk")
    assert seen["click"] is True and seen["opened"] == [str(path)]
    # A folder where the desk file should be: the CLI's sentence and exit 2, nothing opened.
    seen = _child(tmp_path)
    assert seen == {"opened": [], "click": True, "code": 2}
    # A malformed or out-of-range frozen clock: the CLI's clock, which says what is wrong with
    # it at its first reading (exit 2).
    for now in ("20/11/2026", "1999-12-31 10:00", " "):
        assert _child(path, now=now) == {"opened": [str(path)], "click": True, "code": 2}
    # A missing desk file: the CLI's way (the first-run screen), not the short cut.
    missing = tmp_path / "none.sqlite"
    seen = _child(missing)
    assert seen["click"] is True and seen["opened"] == [str(missing)]
