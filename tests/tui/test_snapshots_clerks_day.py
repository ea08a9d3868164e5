"""80×24 snapshots, in Vietnamese and in English, of what issue 17 found cut or untranslated:
the list's procedure column and footer, Biểu 06's headings and subtitle, the dashboard's
day-off note, a dialog title holding a whole dossier code, the export dialog.

Built like test_snapshots.py (a copy of the demo desk, frozen clock, onestop-light, no
animation, no blink, every worker awaited). Update after a deliberate change with
``pytest --snapshot-update``, having read the text of the new picture.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot

from onestop.i18n import set_language
from onestop.services.desk import Desk
from tests.tui.conftest import settle
from tests.tui.snapshot_app import ACTOR, build_app, copy_desk, open_desk

LANGUAGES = ["vi", "en"]
SATURDAY = datetime(2026, 11, 21, 10, 0)  # a day off: the dashboard says why under the date


@pytest.fixture(params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> Iterator[str]:
    set_language(request.param)
    yield request.param
    set_language("vi")


def _keys(*keys: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def ready(pilot: Pilot[None]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return ready


def _compare(snap_compare, desk: Desk, *keys: str) -> bool:
    app = build_app(desk)
    app.export_dir = Path("/home/canbo/Documents")  # the same path in the picture everywhere
    try:
        return bool(snap_compare(app, run_before=_keys(*keys)))
    finally:
        desk.close()


def _desk(template: Path, tmp_path: Path) -> Desk:
    return open_desk(copy_desk(template, tmp_path / "snap.sqlite"))


def test_list_procedures_and_total(
    snap_compare, demo_template: Path, tmp_path: Path, language: str
) -> None:
    assert _compare(snap_compare, _desk(demo_template, tmp_path), "f3")


def test_bieu06_headings(snap_compare, demo_template: Path, tmp_path: Path, language: str) -> None:
    assert _compare(snap_compare, _desk(demo_template, tmp_path), "ctrl+b")


def test_dashboard_on_a_day_off(
    snap_compare, demo_template: Path, tmp_path: Path, language: str
) -> None:
    desk = Desk.open(
        copy_desk(demo_template, tmp_path / "snap.sqlite"),
        clock=lambda: SATURDAY,
        actor=ACTOR,
        role="clerk",
    )
    assert _compare(snap_compare, desk, "escape")


def test_action_form_shows_the_whole_code(
    snap_compare, demo_template: Path, tmp_path: Path, language: str
) -> None:
    # The newest dossier is being processed: its menu's last action opens a form whose title
    # holds the whole dossier code.
    desk = _desk(demo_template, tmp_path)
    assert _compare(snap_compare, desk, "f3", "enter", "enter", "f4", "end", "enter")


def test_export_dialog(snap_compare, demo_template: Path, tmp_path: Path, language: str) -> None:
    assert _compare(snap_compare, _desk(demo_template, tmp_path), "ctrl+b", "f10")
