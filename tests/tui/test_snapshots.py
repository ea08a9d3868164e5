"""80×24 snapshots of the main screens (STYLE rule 33): our 80×24 acceptance tests.

Each runs on its own copy of the demo desk with the clock frozen at 20/11/2026 10:00, the
onestop-light theme, no animation and no cursor blink, and waits for every worker before the
picture is taken. Update after a deliberate change with ``pytest --snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from onestop.domain.lifecycle import Status
from onestop.store.queries import DossierFilter
from tests.tui.conftest import fill, settle
from tests.tui.snapshot_app import build_app, copy_desk, open_desk


def _app(template: Path, tmp_path: Path):
    desk = open_desk(copy_desk(template, tmp_path / "snap.sqlite"))
    return desk, build_app(desk)


def test_dashboard(snap_compare, demo_template: Path, tmp_path: Path) -> None:
    desk, app = _app(demo_template, tmp_path)

    async def ready(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("down")  # "due today": a non-empty preview
        await settle(pilot)

    try:
        assert snap_compare(app, run_before=ready)
    finally:
        desk.close()


def test_intake_preview(snap_compare, demo_template: Path, tmp_path: Path) -> None:
    desk, app = _app(demo_template, tmp_path)

    async def ready(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        await fill(pilot, "#proc-query", "chung thuc chu ky")
        await pilot.press("enter")
        await settle(pilot)
        await fill(pilot, "#app-name", "Trần Thị Bưởi")
        await fill(pilot, "#app-id", "038190012345")
        await fill(pilot, "#app-phone", "0912345678")
        await pilot.press("f10")  # check everything and show the appointment
        await settle(pilot)

    try:
        assert snap_compare(app, run_before=ready)
    finally:
        desk.close()


def test_intake_applicant_errors(snap_compare, demo_template: Path, tmp_path: Path) -> None:
    desk, app = _app(demo_template, tmp_path)

    async def ready(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        await fill(pilot, "#proc-query", "khai sinh")
        await pilot.press("enter")
        await settle(pilot)
        await fill(pilot, "#app-id", "03819001")
        await fill(pilot, "#app-email", "khong-phai-email")
        await pilot.press("f8")
        await settle(pilot)

    try:
        assert snap_compare(app, run_before=ready)
    finally:
        desk.close()


def test_dossier_list_search(snap_compare, demo_template: Path, tmp_path: Path) -> None:
    desk, app = _app(demo_template, tmp_path)

    async def ready(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        await fill(pilot, "#list-search", "chung thuc")

    try:
        assert snap_compare(app, run_before=ready)
    finally:
        desk.close()


def test_dossier_detail(snap_compare, demo_template: Path, tmp_path: Path) -> None:
    desk, app = _app(demo_template, tmp_path)
    code = desk.page(DossierFilter(statuses=(Status.RETURNED,)), limit=1).rows[0].code

    async def ready(pilot: Pilot[None]) -> None:
        await settle(pilot)
        app.open_dossier(code)
        await settle(pilot)

    try:
        assert snap_compare(app, run_before=ready)
    finally:
        desk.close()


def test_receipt(snap_compare, demo_template: Path, tmp_path: Path) -> None:
    desk, app = _app(demo_template, tmp_path)

    async def ready(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        await fill(pilot, "#proc-query", "2.001035")
        await pilot.press("enter")
        await settle(pilot)
        await fill(pilot, "#app-name", "Lò Văn Phúc")
        await fill(pilot, "#app-id", "038085001234")
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("enter")  # the fee: collected now (issue 17: asked, not defaulted)
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)

    try:
        assert snap_compare(app, run_before=ready)
    finally:
        desk.close()
