"""Pilot walks through sync (against a real ``onestop serve``), reports, exports and signing.

The sync tests enroll a real desk with a real server process on 127.0.0.1 (the fixtures of
``tests/services/sync/conftest.py``); the reports tests run on the scripted history of
``tests/services/report_history.py`` whose numbers are worked out by hand.
"""

from __future__ import annotations

import io
import itertools
import os
import random
import shutil
import stat
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import DataTable, Input, Label, OptionList, Select, Static, TabbedContent

from onestop.domain.events import EventKind
from onestop.domain.lifecycle import Status
from onestop.domain.reports import BIEU06_KEYS, Period, auto_scores
from onestop.forms import report_files
from onestop.services import reports as svc
from onestop.services import setting_keys
from onestop.services.desk import Desk
from onestop.services.keys import DEMO_PASSPHRASE
from onestop.services.sync import client as sync
from onestop.store.queries import DossierFilter
from onestop.tui._actions import parse_scores
from onestop.tui.app import OnestopApp, make_app
from onestop.tui.messages import DossierActed, SyncStateLoaded
from onestop.tui.screens.dossier_detail import DossierDetailScreen
from onestop.tui.screens.export import ExportModal
from onestop.tui.screens.modals import ConfirmModal, EvaluationModal
from onestop.tui.screens.passphrase import PassphraseModal
from onestop.tui.screens.receipt import QrScreen, ReceiptScreen
from onestop.tui.screens.reports import ReportsScreen, standard_period
from onestop.tui.screens.sync import SyncScreen
from tests.conftest import Clock as HistoryClock
from tests.conftest import muong_lat_desk
from tests.services.report_history import CT, FINAL, HT, play
from tests.services.sync.conftest import _fast_keys, sqlite_server  # noqa: F401  (fixtures)
from tests.services.sync.helpers import (
    PASSPHRASE,
    Clock,
    ServerProcess,
    assert_exactly_once,
    enroll,
    free_port,
    make_desk,
    random_work,
)
from tests.tui.conftest import MessageLog, settle
from tests.tui.snapshot_app import copy_desk, open_desk
from tests.tui.test_flows import choose_action, code_with, open_detail, text_of

MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))
MARCH_TOTAL = (12, 1, 8, 3, 7, 3, 3, 1, 5, 2, 3)  # tests/services/test_reports.py
_COMMUNES = itertools.count(60)


def desk_app(desk: Desk, **kw: object) -> OnestopApp:
    app = make_app(desk, theme="onestop-light", remember_choices=False, **kw)  # type: ignore[arg-type]
    app.animation_level = "none"
    return app


def shown(app: OnestopApp, selector: str) -> str:
    """The text of a Static whatever it holds (the sync overview is a rich grid)."""
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(app.screen.query_one(selector, Static).content)
    return " ".join(console.export_text().split())


def bar(app: OnestopApp) -> str:
    return str(app.screen.query_one("#bar-sync", Static).render())


# ---------------------------------------------------------------------- sync


@pytest.fixture
def enrolled(
    sqlite_server: ServerProcess,  # noqa: F811  (the fixture of tests/services/sync/conftest.py)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Desk]:
    """A desk of its own commune, enrolled on the real server, with ~15 events waiting."""
    n = next(_COMMUNES)  # one commune per desk on the module's server
    clock = Clock()
    desk = make_desk(tmp_path / "desk.sqlite", n=n, clock=clock)
    enroll(desk, sqlite_server.db_url, sqlite_server.url)
    random_work(desk, clock, random.Random(n), 15)
    monkeypatch.setenv("ONESTOP_PASSPHRASE", PASSPHRASE)
    yield desk
    desk.close()


async def test_the_bar_goes_from_waiting_to_synced(
    enrolled: Desk,
    sqlite_server: ServerProcess,  # noqa: F811
    log: MessageLog,
) -> None:
    waiting = enrolled.outbox_size()
    assert waiting > 0
    app = desk_app(enrolled, sync_interval=3600)
    async with app.run_test(message_hook=log) as pilot:
        await settle(pilot)
        states = [m.state for m in log.of(SyncStateLoaded)]  # type: ignore[attr-defined]
        first_synced = next(
            i for i, s in enumerate(states) if s.waiting == 0 and s.last_ok_at is not None
        )
        assert any(s.waiting == waiting for s in states[:first_synced]), states
        assert "Đồng bộ vừa xong · 0 sự kiện chờ gửi" in bar(app)
        assert_exactly_once(enrolled, sqlite_server.db_url)

        # A local write while online goes out at once, not at the next hourly tick.
        code, kind = next(
            (s.code, k)
            for s in enrolled.page(DossierFilter(), limit=200).rows
            for k in (EventKind.FORWARD, EventKind.START, EventKind.RESOLVE)
            if k in s.allowed_actions()
        )
        params = {EventKind.FORWARD: {"to": "Công chức Tư pháp"}, EventKind.RESOLVE: {}}
        state = enrolled.act(code, kind, params.get(kind, {}))
        assert enrolled.outbox_size() == 1
        app.post_message(DossierActed(kind, state))
        await settle(pilot)
        assert enrolled.outbox_size() == 0
        assert_exactly_once(enrolled, sqlite_server.db_url)

        await pilot.press("ctrl+y")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SyncScreen)
        overview = shown(app, "#sync-overview")
        assert "Đã gửi hết" in overview and "vừa xong" in overview
        runs = screen.query_one("#sync-runs", DataTable)
        assert runs.row_count == 2
        newest = runs.get_row_at(0)
        assert str(newest[2]) == "1" and str(newest[4]) != "0 B"  # 1 event sent, bytes counted
        held = screen.query_one("#sync-held-empty", Static)
        assert "Không có gì bị giữ lại" in str(held.render())
        conflicts = text_of(app, "#sync-conflicts")
        assert conflicts  # labelled: either the list, or why it is empty


async def test_a_server_that_is_down_gets_plain_words(enrolled: Desk) -> None:
    enrolled.set_setting(setting_keys.S_URL, f"http://127.0.0.1:{free_port()}")  # nobody listens
    waiting = enrolled.outbox_size()
    app = desk_app(enrolled, sync_interval=3600)
    async with app.run_test() as pilot:
        await settle(pilot)
        assert f"Lỗi đồng bộ: mất kết nối · {waiting} sự kiện chờ gửi" in bar(app)
        assert app.sync.failures == 1 and app.sync.next_at is not None
        await pilot.press("ctrl+y")
        await settle(pilot)
        overview = shown(app, "#sync-overview")
        assert "Không liên lạc được máy chủ tỉnh." in overview
        assert "Kiểm tra mạng" in overview  # what to do
        assert f"{waiting} sự kiện" in overview
    assert enrolled.outbox_size() == waiting


async def test_sync_screen_of_a_desk_not_enrolled(app: OnestopApp) -> None:
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("ctrl+y")
        await settle(pilot)
        assert isinstance(app.screen, SyncScreen)
        overview = shown(app, "#sync-overview")
        assert "chưa đăng ký" in overview
        assert "onestop enroll --server URL --code CODE" in overview
        assert "Chưa đồng bộ" in bar(app)
        await pilot.press("f5")  # on demand: nothing to do, and nothing breaks
        await settle(pilot)
        assert app.sync.session_error == "" and not app.sync.running


def test_backoff_grows_and_is_capped() -> None:
    from onestop.tui._sync import MAX_BACKOFF_S, next_delay

    rng = random.Random(1)
    assert next_delay(60, 0, rng) == 60
    delays = [next_delay(60, n, rng) for n in range(1, 8)]
    assert 90 <= delays[0] <= 120 and delays[-1] <= MAX_BACKOFF_S
    assert delays[3] > delays[0]


# ---------------------------------------------------------------------- reports


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("history") / "desk.sqlite"
    clock = HistoryClock()
    desk = muong_lat_desk(path, clock)
    play(desk, clock)
    desk.close()
    return path


@pytest.fixture
def history_desk(played: Path, tmp_path: Path) -> Iterator[Desk]:
    dst = copy_desk(played, tmp_path / "desk.sqlite")
    desk = Desk.open(dst, clock=HistoryClock(FINAL), actor="Lò Thị Mai")
    yield desk
    desk.close()


async def test_reports_screen_shows_the_service_numbers(history_desk: Desk, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    expected = svc.desk_report(history_desk, "bieu06", MARCH)
    section = report_files.to_json(expected)["sections"][0]
    app = desk_app(history_desk, export_dir=tmp_path)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("ctrl+b")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReportsScreen)
        assert (screen.start, screen.end) == (date(2026, 4, 1), date(2026, 4, 30))  # this month
        await pilot.press("f7")  # the month before: March
        await settle(pilot)
        assert screen.report is not None and screen.report.period == MARCH
        assert str(screen.query_one("#rep-label", Label).render()) == "Tháng 3 năm 2026"
        table = screen.query_one("#rep-table", DataTable)
        shown = {
            str(table.get_row(key)[1]): [int(str(c)) for c in table.get_row(key)[2:13]]
            for key in table.rows
        }
        for row in [*section["rows"], section["total"]]:
            assert shown[row["field"]] == [row[k] for k in BIEU06_KEYS]
        assert shown[CT] and shown[HT]
        assert tuple(shown["Tổng cộng"]) == MARCH_TOTAL

        # One field only.
        screen.query_one("#rep-field", Select).value = HT
        await settle(pilot)
        assert screen.report is not None and screen.report.field == HT
        assert {str(table.get_row(k)[1]) for k in table.rows} == {HT, "Tổng cộng"}
        screen.query_one("#rep-field", Select).clear()
        await settle(pilot)

        # The weekly chart agrees with the service.
        chart = screen.query_one("#rep-chart")
        weeks = chart.weeks  # type: ignore[attr-defined]
        assert weeks == svc.desk_weekly_flow(history_desk, MARCH)
        assert sum(w.received for w in weeks) == MARCH_TOTAL[1] + MARCH_TOTAL[2]

        # Export to xlsx, then once more onto the same file (overwrite asks y/n).
        out = tmp_path / "march.xlsx"
        for attempt in range(2):
            await pilot.press("f10")
            await settle(pilot)
            modal = app.screen
            assert isinstance(modal, ExportModal)
            assert modal.query_one("#export-path", Input).value == str(
                tmp_path / "bieu06-20260301-20260331.xlsx"
            )
            modal.query_one("#export-path", Input).value = str(out)
            await pilot.press("f10")
            await settle(pilot)
            if attempt:
                assert isinstance(app.screen, ConfirmModal)
                await pilot.press("y")
                await settle(pilot)
            assert out.exists()
    wb = load_workbook(out)
    ws = wb.active
    assert ws is not None
    values = [[c.value for c in row] for row in ws.iter_rows()]
    for row in [*section["rows"], section["total"]]:
        line = next(v for v in values if v[1] == row["field"])
        assert line[2:13] == [row[k] for k in BIEU06_KEYS]


async def test_custom_period_and_a_bad_date(history_desk: Desk) -> None:
    app = desk_app(history_desk)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("ctrl+b")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReportsScreen)
        screen.query_one("#rep-from", Input).value = "31/02/2026"
        screen.query_one("#rep-from", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert "không có thật" in text_of(app, "#rep-status")
        screen.query_one("#rep-from", Input).value = "01/03/2026"
        screen.query_one("#rep-to", Input).value = "31/03/2026"
        await pilot.press("enter")
        await settle(pilot)
        assert screen.period_kind == "custom"
        assert screen.report is not None and screen.report.period == MARCH
        assert screen.query_one("#rep-period", Select).value == "custom"


# ---------------------------------------------------------------------- receipt: key and PDF


@pytest.fixture
def keyed_desk(
    demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Desk]:
    """The demo desk with its signing key, but not treated as a demo: a person must type the
    passphrase (the demo one)."""
    monkeypatch.delenv("ONESTOP_PASSPHRASE", raising=False)
    target = copy_desk(demo_template, tmp_path / "desk.sqlite")
    shutil.copytree(demo_template.parent / f"{demo_template.stem}.keys", tmp_path / "desk.keys")
    desk = open_desk(target)
    desk.set_setting("demo", "0")
    yield desk
    desk.close()


async def test_wrong_then_right_passphrase_shows_the_signed_qr(keyed_desk: Desk) -> None:
    code = code_with(keyed_desk, Status.PROCESSING)
    app = desk_app(keyed_desk)
    async with app.run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        await open_detail(pilot, code)
        await pilot.press("f6")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
        await pilot.press("f6")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, PassphraseModal)
        field = modal.query_one("#pass-input", Input)
        assert field.password  # masked
        field.value = "không phải mật khẩu"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is modal, "a wrong passphrase keeps the prompt open"
        assert "Sai mật khẩu" in text_of(app, "#pass-error")
        assert field.value == ""
        assert app.keyring.signer is None
        field.value = DEMO_PASSPHRASE
        await pilot.press("enter")
        await settle(pilot)
        qr = app.screen
        assert isinstance(qr, QrScreen) and qr.signed
        assert app.keyring.signer is not None  # kept for the session...
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f6")  # ...so the second time nobody is asked
        await settle(pilot)
        assert isinstance(app.screen, QrScreen) and app.screen.signed


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
async def test_receipt_exports_a_signed_pdf_and_prints_with_lp(
    keyed_desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: MessageLog
) -> None:
    # A stand-in for CUPS's lp that records what it was asked to print.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    printed = tmp_path / "printed.txt"
    lp = bin_dir / "lp"
    lp.write_text(f'#!/bin/sh\necho "$@" > {printed}\necho "request id is desk-1"\n')
    lp.chmod(lp.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    code = code_with(keyed_desk, Status.PROCESSING)
    out = tmp_path / "exports" / "bien-nhan.pdf"
    app = desk_app(keyed_desk, export_dir=tmp_path / "exports")
    async with app.run_test(message_hook=log) as pilot:
        await settle(pilot)
        await open_detail(pilot, code)
        await pilot.press("f6")
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
        await pilot.press("f10")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ExportModal)
        path = modal.query_one("#export-path", Input)
        assert path.value == str(tmp_path / "exports" / f"{code}-receipt.pdf")
        path.value = str(out)
        await pilot.press("f10")
        await settle(pilot)
        unlock = app.screen
        assert isinstance(unlock, PassphraseModal)  # a signed slip needs the key
        unlock.query_one("#pass-input", Input).value = DEMO_PASSPHRASE
        await pilot.press("enter")
        await settle(pilot)
        from onestop.tui.screens.sign_prompt import SignSlipModal

        if isinstance(app.screen, SignSlipModal):  # the clerk at the desk received it: signs
            app.screen.query_one("#sign-input", Input).value = DEMO_PASSPHRASE
            await pilot.press("enter")
            await settle(pilot)
        assert out.exists()
        assert isinstance(app.screen, ConfirmModal)  # lp exists: offer to print
        await pilot.press("y")
        await settle(pilot)
        assert str(out) in text_of(app, "#receipt-file")
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert code in text and "GIẤY TIẾP NHẬN HỒ SƠ" in text
    assert printed.read_text().split() == ["--", str(out)]
    assert any("Đã gửi bien-nhan.pdf tới máy in" in n for n in log.notices())


async def test_detail_exports_a_slip_without_a_printer(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: MessageLog
) -> None:
    import onestop.tui.screens.export as export_screen

    monkeypatch.setattr(export_screen, "printer_command", lambda: None)
    code = code_with(desk, Status.RETURNED)
    app = desk_app(desk, export_dir=tmp_path)
    async with app.run_test(message_hook=log) as pilot:
        await settle(pilot)
        await open_detail(pilot, code)
        await pilot.press("f10")  # hidden key, also in the palette
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ExportModal)
        choices = modal.query_one("#export-choice", Select)
        choices.value = "control"
        await settle(pilot)
        assert modal.query_one("#export-path", Input).value == str(tmp_path / f"{code}-control.pdf")
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, DossierDetailScreen)
    assert (tmp_path / f"{code}-control.pdf").read_bytes().startswith(b"%PDF")
    notices = log.notices()
    assert any("Quầy chưa có khóa ký" in n or "không có chữ ký số" in n for n in notices)
    assert any("không có lệnh in (lp)" in n for n in notices), notices


# ---------------------------------------------------------------------- evaluation prefill


async def test_evaluation_form_is_prefilled_from_the_log(desk: Desk, app: OnestopApp) -> None:
    code = next(
        s.code
        for s in desk.page(DossierFilter(statuses=(Status.RETURNED,)), limit=200).rows
        if not s.evaluation
    )
    auto = auto_scores(desk.get(code), desk.history(code))
    async with app.run_test() as pilot:
        await settle(pilot)
        await open_detail(pilot, code)
        await choose_action(pilot, EventKind.EVALUATE)
        form = app.screen
        # Issue 17: one row per indicator (EvaluationModal); the log's answers are filled in
        # and marked, the citizen's are asked.
        assert isinstance(form, EvaluationModal)
        assert form.scores == auto
        assert auto[0] is not None and auto[2] is not None and auto[4] == 2
        rows = form.query_one(OptionList)
        assert "theo nhật ký" in str(rows.get_option("tc0").prompt)
        await pilot.press("f10")  # the citizen's answers are still missing
        await settle(pilot)
        assert "Chưa chấm tiêu chí" in text_of(app, "#eval-error")
        await pilot.press(*"2" * auto.count(None), "5")
        answered = "".join("2" if x is None else str(x) for x in auto)
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
    assert desk.get(code).evaluation["scores"] == parse_scores(answered)


def test_new_screens_show_at_most_five_footer_keys() -> None:
    for screen in (SyncScreen, ReportsScreen, ReceiptScreen, DossierDetailScreen):
        shown = [b for b in screen.BINDINGS if getattr(b, "show", True)]
        assert len(shown) <= 5, screen
        assert all(b.id and b.tooltip for b in screen.BINDINGS), screen  # type: ignore[union-attr]


async def test_english_labels_on_the_new_screens(app: OnestopApp) -> None:
    async with app.run_test() as pilot:
        await settle(pilot)
        app.choose_language("en")
        await settle(pilot)
        await pilot.press("ctrl+b")
        await settle(pilot)
        labels = {b.description for _, b in app.screen._bindings}
        assert "Export" in labels
        await pilot.press("ctrl+y")
        await settle(pilot)
        assert "not enrolled" in shown(app, "#sync-overview")


# ---------------------------------------------------------------------- offline limit, backups


async def test_a_long_offline_desk_is_warned_in_the_bar(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, log: MessageLog
) -> None:
    from datetime import timedelta

    from onestop.tui._sync import DeskSync
    from tests.conftest import FROZEN

    monkeypatch.setattr(DeskSync, "start", lambda self: None)  # no network in this test
    ten_days_ago = (FROZEN - timedelta(days=10)).isoformat(timespec="seconds")
    for key, value in {
        setting_keys.S_URL: "https://motcua.thanhhoa.gov.vn",
        setting_keys.S_SERVER_KEY: "AAAA",
        setting_keys.S_ENROLLED_AT: ten_days_ago,
        setting_keys.S_LAST_OK_AT: ten_days_ago,
    }.items():
        desk.set_setting(key, value)
    app = desk_app(desk)
    async with app.run_test(message_hook=log) as pilot:
        await settle(pilot)
        assert "10 ngày chưa đồng bộ" in bar(app)
        assert "-error" in app.screen.query_one("#bar-sync").classes
        assert sum("10 ngày chưa đồng bộ" in n for n in log.notices()) == 1  # once, not per tick
        await pilot.press("ctrl+y")
        await settle(pilot)
        assert "Lâu chưa đồng bộ" in shown(app, "#sync-overview")


async def test_the_daily_backup_runs_in_the_background(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: MessageLog
) -> None:
    monkeypatch.setenv("ONESTOP_BACKUP_PASSPHRASE", "mật khẩu sao lưu thử")
    folder = tmp_path / "usb"
    folder.mkdir()
    desk.set_setting("backup_dir", str(folder))
    app = desk_app(desk)
    async with app.run_test(message_hook=log) as pilot:
        await settle(pilot)
        app.backup.check()  # what the 10-minute timer does
        await settle(pilot)
        made = list(folder.iterdir())
        assert len(made) == 1
        assert any("Đã sao lưu tự động" in n for n in log.notices())
        app.backup.check()  # the same day: nothing more
        await settle(pilot)
        assert list(folder.iterdir()) == made


@pytest.fixture
def desk_with_a_conflict(
    sqlite_server: ServerProcess,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Desk, str]]:
    """Desk b of a commune, whose forward of a dossier crossed desk a's forward of it."""
    from tests.services.sync.helpers import FAST, passphrase, receive

    n = next(_COMMUNES)
    ca, cb = Clock(), Clock()
    a = make_desk(tmp_path / "a.sqlite", n=n, desk_no=1, clock=ca)
    b = make_desk(tmp_path / "b.sqlite", n=n, desk_no=2, clock=cb)
    for d in (a, b):
        enroll(d, sqlite_server.db_url, sqlite_server.url)
    code = receive(a, ca, random.Random(n))
    for d in (a, b):
        assert sync.sync_once(d, passphrase_provider=passphrase, options=FAST).ok
    ca.advance(30)
    cb.advance(45)
    a.act(code, "forward", {"to": "Công chức Tư pháp - Hộ tịch"})
    b.act(code, "forward", {"to": "Công chức Địa chính"})
    assert sync.sync_once(a, passphrase_provider=passphrase, options=FAST).ok
    a.close()
    monkeypatch.setenv("ONESTOP_PASSPHRASE", PASSPHRASE)
    yield b, code
    b.close()


async def test_conflicts_of_two_desks_are_listed_and_marked_seen(
    desk_with_a_conflict: tuple[Desk, str],
) -> None:
    b, code = desk_with_a_conflict
    app = desk_app(b, sync_interval=3600)
    async with app.run_test() as pilot:
        await settle(pilot)  # b's own sync at start-up notices the conflict
        await pilot.press("ctrl+y")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SyncScreen)
        screen.query_one("#sync-tabs", TabbedContent).active = "sync-tab-conflicts"
        await settle(pilot)
        table = screen.query_one("#sync-conflicts-table", DataTable)
        assert table.row_count == 1
        assert str(table.get_row_at(0)[1]) == code
        detail = text_of(app, "#sync-conflict-detail")
        assert "Công chức Địa chính" in detail and "Công chức Tư pháp - Hộ tịch" in detail
        assert screen.check_action("mark_seen", ()) is True
        await pilot.press("f7")
        await settle(pilot)
        assert str(table.get_row_at(0)[2]) == "đã xem"
        assert screen.check_action("mark_seen", ()) is False
    assert b.conflicts(unseen_only=True) == []


@pytest.mark.parametrize(
    ("kind", "anchor", "start", "end"),
    [
        ("half", date(2026, 8, 3), date(2026, 7, 1), date(2026, 12, 31)),
        ("month-cutoff", date(2026, 3, 14), date(2026, 2, 15), date(2026, 3, 14)),
        ("month-cutoff", date(2026, 3, 15), date(2026, 3, 15), date(2026, 4, 14)),
        ("quarter-cutoff", date(2026, 1, 10), date(2025, 12, 15), date(2026, 3, 14)),
        ("year-cutoff", date(2026, 12, 20), date(2026, 12, 15), date(2027, 12, 14)),
    ],
)
def test_half_year_and_legal_cutoff_periods(
    kind: str, anchor: date, start: date, end: date
) -> None:
    got_start, got_end, label = standard_period(kind, anchor)
    assert (got_start, got_end) == (start, end)
    assert ("kỳ chốt số liệu" in label) == kind.endswith("-cutoff")
