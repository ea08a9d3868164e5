"""The one place the snapshot tests build the desk app (STYLE rule 33).

The app runs on a copy of a small demo desk with the clock frozen at ``FROZEN``, a fixed theme,
animations off; the cursor blink is switched off by the autouse fixture in ``conftest.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from onestop.services.demo import build_demo
from onestop.services.desk import Desk
from onestop.tui.app import OnestopApp, make_app
from tests.conftest import FROZEN

DEMO_DOSSIERS = 60
DEMO_SEED = 1
ACTOR = "Lò Thị Mai"


def build_template(path: Path) -> Path:
    build_demo(path, dossiers=DEMO_DOSSIERS, seed=DEMO_SEED, now=FROZEN)
    return path


def copy_desk(template: Path, target: Path) -> Path:
    """A private copy of the demo database (WAL files included) for a test that writes."""
    for suffix in ("", "-wal", "-shm"):
        source = Path(str(template) + suffix)
        if source.exists():
            shutil.copy(source, Path(str(target) + suffix))
    return target


def open_desk(path: Path) -> Desk:
    return Desk.open(path, clock=lambda: FROZEN, actor=ACTOR, role="clerk")


def build_app(desk: Desk) -> OnestopApp:
    app = make_app(desk, theme="onestop-light", remember_choices=False)
    app.animation_level = "none"
    return app
