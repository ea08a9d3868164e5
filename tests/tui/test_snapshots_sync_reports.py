"""80×24 snapshots of the sync and reports screens (STYLE rule 33), built like test_snapshots.py:
a copy of the demo desk, clock frozen at 20/11/2026 10:00, onestop-light, no animation, no
blink, every worker awaited. The "after runs" picture records a sync history in the desk's
settings and keeps the background sync from running, so no network is involved.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from onestop.services import setting_keys
from onestop.services.desk import Desk
from onestop.tui._sync import DeskSync
from onestop.tui.app import OnestopApp
from tests.conftest import FROZEN
from tests.tui.conftest import settle
from tests.tui.snapshot_app import build_app, copy_desk, open_desk


def _app(template: Path, tmp_path: Path):
    desk = open_desk(copy_desk(template, tmp_path / "snap.sqlite"))
    return desk, build_app(desk)


def _compare_on(snap_compare, desk: Desk, app: OnestopApp, key: str) -> bool:
    """The snapshot of the screen ``key`` opens from the dashboard (the desk closed after)."""

    async def ready(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)

    try:
        return bool(snap_compare(app, run_before=ready))
    finally:
        desk.close()


def _iso(minutes_ago: float) -> str:
    return (FROZEN - timedelta(minutes=minutes_ago)).isoformat(timespec="seconds")


def test_sync_screen_not_enrolled(snap_compare, demo_template: Path, tmp_path: Path) -> None:
    desk, app = _app(demo_template, tmp_path)

    assert _compare_on(snap_compare, desk, app, "ctrl+y")


def test_sync_screen_after_runs(
    snap_compare, demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(DeskSync, "start", lambda self: None)
    desk, app = _app(demo_template, tmp_path)
    run = {
        "ok": True,
        "error": None,
        "sent_events": 120,
        "received_events": 14,
        "bytes_up": 4210,
        "bytes_down": 1388,
        "duration_s": 2.4,
    }
    runs = [
        {**run, "at": _iso(180)},
        {**run, "at": _iso(25), "sent_events": 6, "bytes_up": 388, "bytes_down": 215},
        {
            **run,
            "at": _iso(4),
            "ok": False,
            "error": "không kết nối được",
            "sent_events": 0,
            "received_events": 0,
            "bytes_up": 0,
            "bytes_down": 0,
            "duration_s": 1.1,
        },
    ]
    for key, value in {
        setting_keys.S_URL: "https://motcua.thanhhoa.gov.vn",
        setting_keys.S_SERVER_KEY: "AAAA",
        setting_keys.S_SERVER_ALG: "-7",
        setting_keys.S_ENROLLED_AT: "2026-11-02T08:00:00",
        setting_keys.S_LAST_OK_AT: _iso(25),
        setting_keys.S_LAST_AT: _iso(4),
        setting_keys.S_LAST_ERROR: "không kết nối được",
        setting_keys.S_SKEW: "420",
        setting_keys.S_RUNS: json.dumps(runs, ensure_ascii=False),
    }.items():
        desk.set_setting(key, value)

    assert _compare_on(snap_compare, desk, app, "ctrl+y")


def test_reports_bieu06(snap_compare, demo_template: Path, tmp_path: Path) -> None:
    desk, app = _app(demo_template, tmp_path)

    assert _compare_on(snap_compare, desk, app, "ctrl+b")


def test_reports_weekly_chart(snap_compare, demo_template: Path, tmp_path: Path) -> None:
    desk, app = _app(demo_template, tmp_path)

    async def ready(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("ctrl+b")
        await settle(pilot)
        app.screen.query_one("#rep-tabs", TabbedContent).active = "rep-tab-chart"
        await settle(pilot)

    try:
        assert snap_compare(app, run_before=ready)
    finally:
        desk.close()
