"""Pilot walks through the digitised papers of a dossier (Hồ sơ số hóa): import, mismatch,
detach, role gating, a scan through SANE's ``test`` backend, and one snapshot."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fpdf import FPDF
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from onestop.domain.events import EventKind
from onestop.domain.lifecycle import Status
from onestop.services.attachments import attach, list_attachments
from onestop.services.desk import Desk
from onestop.store.queries import DossierFilter
from onestop.tui.app import OnestopApp
from onestop.tui.screens.digitised import DigitisedScreen, ImportFileModal, ScanModal
from onestop.tui.screens.dossier_detail import DossierDetailScreen
from onestop.tui.screens.modals import ConfirmModal
from tests.conftest import FROZEN
from tests.services.attach_helpers import make_pdf
from tests.tui.conftest import MessageLog, fill, settle
from tests.tui.snapshot_app import ACTOR, build_app, copy_desk


def decided_code(desk: Desk) -> str:
    """A dossier decided and not yet handed over (only the result may be attached): the demo
    has none, so one being processed is approved (``Desk`` without an account: no role check)."""
    code = desk.page(DossierFilter(statuses=(Status.PROCESSING,)), limit=1).rows[0].code
    desk.act(code, EventKind.RESOLVE, {"decision": "approved"})
    assert desk.get(code).status == Status.RESOLVED
    return code


def open_code(desk: Desk) -> str:
    """A dossier still being handled (components may be attached): the demo's first one."""
    statuses = (Status.RECEIVED, Status.FORWARDED, Status.PROCESSING)
    return desk.page(DossierFilter(statuses=statuses), limit=1).rows[0].code


def fixed_pdf(pages: int) -> bytes:
    """``make_pdf`` with a fixed creation date: the file's id (its hash) is in the snapshot."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(FROZEN)
    pdf.set_compression(False)
    pdf.set_font("Helvetica", size=12)
    for i in range(pages):
        pdf.add_page()
        pdf.cell(text=f"GIAY TO - trang {i + 1}")
    return bytes(pdf.output())


def open_as(template: Path, tmp_path: Path, role: str) -> Desk:
    path = copy_desk(template, tmp_path / f"{role}.sqlite")
    return Desk.open(path, clock=lambda: FROZEN, actor=ACTOR, role=role)


def row_text(app: OnestopApp, row: int) -> list[str]:
    table = app.screen.query_one("#dig-table", DataTable)
    return [str(cell) for cell in table.get_row_at(row)]


def visible_keys(app: OnestopApp) -> set[str]:
    return {b.binding.action for b in app.screen.active_bindings.values() if b.enabled}


async def open_digitised(pilot: Pilot[None], app: OnestopApp, code: str) -> DigitisedScreen:
    await settle(pilot)
    app.open_dossier(code)
    await settle(pilot)
    assert isinstance(app.screen, DossierDetailScreen)
    await pilot.press("f7")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, DigitisedScreen)
    return screen


async def open_scan(pilot: Pilot[None], app: OnestopApp, code: str) -> ScanModal:
    """F6 on the dossier's Hồ sơ số hóa screen: the scan dialog on SANE's test device, set
    for a one-page paper document at 75 dpi (small and quick; 200 is the default)."""
    await open_digitised(pilot, app, code)
    await pilot.press("f6")
    await settle(pilot)
    modal = app.screen
    assert isinstance(modal, ScanModal)
    assert modal.query_one("#cap-device").value == "test:0"  # type: ignore[attr-defined]
    await fill(pilot, "#cap-dpi", "75")
    await fill(pilot, "#cap-paper", "1")
    return modal


async def import_file(pilot: Pilot[None], path: Path, paper: str) -> None:
    await pilot.press("f7")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ImportFileModal)
    await fill(pilot, "#cap-path", str(path))
    await fill(pilot, "#cap-paper", paper)
    await pilot.press("f10")
    await settle(pilot)


async def test_import_a_file_lists_it_with_its_pages(
    desk: Desk, app: OnestopApp, tmp_path: Path, log: MessageLog
) -> None:
    code = open_code(desk)
    pdf = tmp_path / "giay-to.pdf"
    pdf.write_bytes(make_pdf(2))
    async with app.run_test(message_hook=log) as pilot:
        screen = await open_digitised(pilot, app, code)
        assert {"scan", "import"} <= visible_keys(app)
        assert "detach" not in visible_keys(app)  # nothing attached on the first line yet
        assert "chưa có" in row_text(app, 0)[2]
        await import_file(pilot, pdf, "2")
        assert isinstance(app.screen, DigitisedScreen)
        assert "đã số hóa 2/2 trang" in row_text(app, 0)[2]
        assert "Đã số hóa 1/" in str(screen.query_one("#dig-summary", Static).render())
        assert any("(2 trang)" in n for n in log.notices())
    (a,) = list_attachments(desk, code)
    assert a.component == 1 and a.pages == 2 and a.paper_pages == 2


async def test_page_count_mismatch_shows_the_rule_and_stores_nothing(
    desk: Desk, app: OnestopApp, tmp_path: Path
) -> None:
    code = open_code(desk)
    pdf = tmp_path / "thieu-trang.pdf"
    pdf.write_bytes(make_pdf(2))
    async with app.run_test() as pilot:
        await open_digitised(pilot, app, code)
        await import_file(pilot, pdf, "3")
        modal = app.screen
        assert isinstance(modal, ImportFileModal), "the form stays open with what was typed"
        error = str(modal.query_one("#cap-err-paper", Static).render())
        assert "có 3 trang giấy nhưng mới chụp 2 trang" in error
        assert "Chưa lưu gì" in error
        await fill(pilot, "#cap-path", str(tmp_path / "khong-co.pdf"))
        await pilot.press("f10")
        await settle(pilot)
        assert "Không có tệp" in str(modal.query_one("#cap-err-path", Static).render())
    assert list_attachments(desk, code) == []


async def test_detach_asks_first_then_removes(desk: Desk, app: OnestopApp) -> None:
    code = open_code(desk)
    attach(desk, code, 1, make_pdf(1), pages=1, paper_pages=1)
    async with app.run_test() as pilot:
        await open_digitised(pilot, app, code)
        assert "detach" in visible_keys(app)
        await pilot.press("delete")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")  # changed their mind: nothing happens
        await settle(pilot)
        assert len(list_attachments(desk, code)) == 1
        await pilot.press("delete")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, DigitisedScreen)
        assert "chưa có" in row_text(app, 0)[2]
    assert list_attachments(desk, code) == []


async def test_a_clerk_is_not_offered_result_actions(demo_template: Path, tmp_path: Path) -> None:
    clerk = open_as(demo_template, tmp_path, "clerk")
    code = decided_code(clerk)
    app = build_app(clerk)
    try:
        async with app.run_test() as pilot:
            await settle(pilot)
            app.open_dossier(code)
            await settle(pilot)
            # Decided: no component may change and the result is not a clerk's; F7 still shows
            # the papers (view and open only).
            await pilot.press("f7")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, DigitisedScreen)
            table = screen.query_one("#dig-table", DataTable)
            table.move_cursor(row=table.row_count - 1)  # the result line
            await settle(pilot)
            assert "Kết quả giải quyết" in row_text(app, table.row_count - 1)[1]
            assert not {"scan", "import", "detach"} & visible_keys(app)
            await pilot.press("f7")  # the key does nothing for a clerk here
            await settle(pilot)
            assert isinstance(app.screen, DigitisedScreen)
    finally:
        clerk.close()

    specialist = Desk.open(tmp_path / "clerk.sqlite", clock=lambda: FROZEN, role="specialist")
    app = build_app(specialist)
    try:
        async with app.run_test() as pilot:
            digitised = await open_digitised(pilot, app, code)
            table = digitised.query_one("#dig-table", DataTable)
            table.move_cursor(row=table.row_count - 1)
            await settle(pilot)
            assert {"scan", "import"} <= visible_keys(app)
            table.move_cursor(row=0)  # a component after the decision: specialist may not
            await settle(pilot)
            assert not {"scan", "import"} & visible_keys(app)
    finally:
        specialist.close()


@pytest.fixture
def sane_test_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("scanimage") is None:
        pytest.skip("scanimage (Debian sane-utils) not installed; .ci/run installs it")
    conf = tmp_path / "sane.d"
    conf.mkdir()
    (conf / "dll.conf").write_text("test\n")
    if Path("/etc/sane.d/test.conf").exists():
        shutil.copy("/etc/sane.d/test.conf", conf / "test.conf")
    monkeypatch.setenv("SANE_CONFIG_DIR", str(conf))
    return conf


async def test_scanning_with_the_sane_test_device_attaches_pages(
    sane_test_backend: Path, desk: Desk, app: OnestopApp
) -> None:
    code = open_code(desk)
    async with app.run_test(size=(100, 40)) as pilot:
        modal = await open_scan(pilot, app, code)
        await pilot.press("f6")
        await settle(pilot)
        assert len(modal.pages) == 1
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, DigitisedScreen)
        assert "đã số hóa 1/1 trang" in row_text(app, 0)[2]
    (a,) = list_attachments(desk, code)
    assert a.pages == 1 and a.component == 1


def test_digitised_section_snapshot(snap_compare, demo_template: Path, tmp_path: Path) -> None:
    desk = open_as(demo_template, tmp_path, "clerk")
    code = open_code(desk)
    attach(desk, code, 1, fixed_pdf(2), pages=2, paper_pages=2)
    app = build_app(desk)

    async def ready(pilot: Pilot[None]) -> None:
        await settle(pilot)
        app.open_dossier(code)
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)

    try:
        assert snap_compare(app, run_before=ready, terminal_size=(80, 24))
    finally:
        desk.close()


def test_digitised_screens_show_at_most_five_footer_keys() -> None:
    for screen in (DigitisedScreen, ImportFileModal, ScanModal):
        shown = [b for b in screen.BINDINGS if getattr(b, "show", True)]
        assert len(shown) <= 5, screen
        assert all(b.id and b.tooltip for b in screen.BINDINGS), screen  # type: ignore[union-attr]
