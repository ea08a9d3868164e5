"""The ``onestop`` console script.

A bare ``onestop`` typed at a terminal is the clerk opening the desk, many times a day: it goes
straight to the desk without loading click and the command table (~50 ms, a tenth of the time
to the login screen; issue 19 §3); so does ``onestop --db FILE``. Every other call — other
arguments, no terminal, a malformed ONESTOP_NOW, a desk file that is missing or not a plain
desk file, a configuration that does not load — goes
through the click CLI (``cli/main.py``), which says what is wrong. A failure inside the desk is
reported exactly as the CLI reports it (``guard``, then ``unexpected`` with the error log).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path


def run() -> None:
    if not _open_desk_directly():
        from onestop.cli.main import main

        main()


def _open_desk_directly() -> bool:
    """Open the desk without click when that is surely what the CLI would do; ``False`` to let
    the CLI handle the call."""
    args = sys.argv[1:]
    if args[:1] == ["--db"] and len(args) == 2:
        db: str | None = args[1]
    elif len(args) == 1 and args[0].startswith("--db="):
        db = args[0].removeprefix("--db=")
    elif not args:
        db = None
    else:
        return False
    if db == "" or not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    if os.environ.get("ONESTOP_DEBUG", "") not in ("", "0"):
        return False
    now = _clock()
    if now is None:
        return False
    from onestop.config import ConfigError, load_settings

    try:
        settings = load_settings(db=Path(db) if db is not None else None)
    except (ConfigError, ValueError, OSError):
        return False
    if not _plain_desk_file(settings.db):
        return False
    from onestop.tui.app import run_desk

    try:
        run_desk(settings, now=now)
    except Exception as e:  # what the CLI's ``guard`` and root group would say
        _report(e)
    return True


def _clock() -> Callable[[], datetime] | None:
    """The desk clock: Vietnam's, or ``ONESTOP_NOW`` frozen when it is well formed and in range
    (``None`` otherwise: the CLI's ``desk_now`` says what is wrong with it)."""
    from onestop.domain.clock import FIRST_DAY, FROZEN_NOW_FORMAT, LAST_DAY, parse_typed, vn_now

    raw = os.environ.get("ONESTOP_NOW", "")
    if not raw:
        return vn_now
    at = parse_typed(raw, (FROZEN_NOW_FORMAT,))  # as the CLI's desk_now reads it
    if at is None or not FIRST_DAY <= at.date() <= LAST_DAY:
        return None
    return lambda: at


def _plain_desk_file(db: Path) -> bool:
    """An existing file the CLI's ``check_desk_file`` lets through (a missing one is the
    first-run screen's, reached through the CLI)."""
    from onestop.paths import desk_file_problem

    return db.exists() and desk_file_problem(db) is None


def _report(exc: Exception) -> None:
    import click

    from onestop.cli._common import guard, passes_through, unexpected

    def again() -> None:
        raise exc

    try:
        guard(again)()
    except click.ClickException as refused:
        refused.show()
        sys.exit(refused.exit_code)
    except Exception as other:
        if passes_through(other):
            raise
        failure = unexpected(other, "desk")
        failure.show()
        sys.exit(failure.exit_code)
