"""``python -m onestop.tui [--db PATH]``: the desk alone, for textual-serve's child processes.

textual-serve starts one process per browser tab with a pipe, not a terminal, as stdout; the
CLI's ``desk`` command then prints counts instead of opening the desk, so the web mode starts
the desk through this entry point instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

from onestop.config import ConfigError, load_settings
from onestop.domain.clock import vn_now
from onestop.services.base import DeskError
from onestop.tui.app import run_desk


def _clock() -> datetime:
    # The same frozen clock as the CLI (ONESTOP_NOW="YYYY-MM-DD HH:MM"), for demos and tests.
    frozen = os.environ.get("ONESTOP_NOW")
    return datetime.strptime(frozen, "%Y-%m-%d %H:%M") if frozen else vn_now()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m onestop.tui")
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    try:
        settings = load_settings(db=args.db)
        _clock()
        run_desk(settings, now=_clock)
    except (ConfigError, DeskError, ValueError) as e:
        sys.stderr.write(f"{e}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
