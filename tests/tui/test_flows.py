"""Pilot walks through the desk: what the clerk does, what was posted, what the desk stored."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, OptionList, Static

from onestop.domain.events import EventKind
from onestop.domain.lifecycle import Status
from onestop.domain.text import search_key
from onestop.services.desk import Desk
from onestop.store.queries import DossierFilter
from onestop.tui.app import OnestopApp, make_app
from onestop.tui.messages import (
    DossierActed,
    DossierReceived,
    DossierRefused,
    PageLoaded,
)
from onestop.tui.screens.dashboard import DashboardScreen
from onestop.tui.screens.dossier_detail import DossierDetailScreen
from onestop.tui.screens.dossier_list import DossierListScreen
from onestop.tui.screens.intake import IntakeScreen
from onestop.tui.screens.modals import (
    ActionFormModal,
    ActionMenuModal,
    ConfirmModal,
    EvaluationModal,
)
from onestop.tui.screens.receipt import QrScreen, ReceiptScreen
from onestop.tui.widgets.dossier.table import DossierTable
from tests.conftest import FROZEN
from tests.tui.conftest import MessageLog, fill, settle, type_text
from tests.tui.snapshot_app import build_app, copy_desk, open_desk

NAME = "Trần Thị Bưởi"
CCCD = "038190012345"  # Thanh Hóa, female, born 1990


def value(app: OnestopApp, selector: str) -> str:
    return app.screen.query_one(selector, Input).value


def text_of(app: OnestopApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def start_intake(pilot, query: str = "chung thuc chu ky") -> None:
    await pilot.press("f2")
    await settle(pilot)
    await fill(pilot, "#proc-query", query)
    await pilot.press("enter")  # the first (highlighted) procedure
    await settle(pilot)


async def choose_action(pilot, kind: EventKind) -> None:
    """F4, then move the menu's highlight to ``kind`` and press Enter."""
    await pilot.press("f4")
    await settle(pilot)
    menu = pilot.app.screen
    assert isinstance(menu, ActionMenuModal)
    options = menu.query_one(OptionList)
    options.highlighted = options.get_option_index(kind.value)
    await pilot.press("enter")
    await settle(pilot)


async def dimmed_with(pilot, kind: EventKind, why: str) -> None:
    """F4: ``kind`` is listed but dimmed, not selectable, with ``why``; Esc closes the menu."""
    await pilot.press("f4")
    await settle(pilot)
    menu = pilot.app.screen
    assert isinstance(menu, ActionMenuModal)
    option = menu.query_one(OptionList).get_option(kind.value)
    assert option.disabled and why in str(option.prompt), option.prompt
    assert kind not in menu.numbered
    await pilot.press("escape")
    await settle(pilot)


def code_with(desk: Desk, status: Status) -> str:
    return desk.page(DossierFilter(statuses=(status,)), limit=1).rows[0].code


# ---------------------------------------------------------------------- intake


async def test_receive_a_dossier_end_to_end(desk: Desk, app: OnestopApp, log: MessageLog) -> None:
    before = desk.counts().total
    async with app.run_test(message_hook=log) as pilot:
        await settle(pilot)
        await start_intake(pilot)
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        assert screen.procedure is not None and screen.procedure.code == "2.000884"
        assert screen.step == 2
        assert app.focused is app.screen.query_one("#app-id")  # the CCCD first (issue 17)
        await type_text(pilot, CCCD[:5])
        await settle(pilot)
        assert "Đã nhập 5/12 chữ số" in text_of(app, "#err-app-id")
        await type_text(pilot, CCCD[5:])
        await settle(pilot)
        assert "Hợp lệ" in text_of(app, "#err-app-id")  # live CCCD check
        await pilot.press("enter")
        assert app.focused is app.screen.query_one("#app-name")  # Enter moves to the next field
        await fill(pilot, "#app-name", NAME)
        await pilot.press("f8")  # applicant -> papers, channel, fee
        await settle(pilot)
        assert screen.step == 3
        assert value(app, "#fee") == "10000"  # the catalogue's fee, prefilled
        await pilot.press("f8")  # -> preview
        await settle(pilot)
        assert screen.step == 4
        preview = text_of(app, "#intake-preview")
        assert "HẸN TRẢ KẾT QUẢ: 17 giờ 00 phút, ngày 20 tháng 11 năm 2026" in preview
        assert desk.counts().total == before, "nothing is saved before the clerk confirms"
        # Issue 17: the fee's state is asked, never defaulted.
        assert "10.000 đ — chọn đã thu hay chưa thu" in preview
        assert app.focused is app.screen.query_one("#fee-state")
        await pilot.press("f10")
        await settle(pilot)
        assert "Chọn «Đã thu ngay» hoặc «Chưa thu»" in text_of(app, "#err-fee-state")
        assert desk.counts().total == before
        await pilot.press("enter")  # the highlighted choice: collected now
        await settle(pilot)
        assert "10.000 đ — đã thu" in text_of(app, "#intake-preview")
        await pilot.press("f10")
        await settle(pilot)

        received = log.of(DossierReceived)
        assert len(received) == 1
        state = received[0].state  # type: ignore[attr-defined]
        assert isinstance(app.screen, ReceiptScreen)
        assert state.code in text_of(app, "#receipt")
        stored = desk.get(state.code)
        assert stored.applicant_name == NAME
        assert stored.applicant_id == CCCD
        assert stored.status == Status.RECEIVED
        assert stored.due_at == FROZEN.replace(hour=17)
        assert desk.counts().total == before + 1

        await pilot.press("f6")  # the lookup QR, full screen
        await settle(pilot)
        assert isinstance(app.screen, QrScreen)
        assert app.screen.query_one("#qr-code").display
        await pilot.press("escape", "escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)


async def test_validation_errors_keep_what_was_typed(desk: Desk, app: OnestopApp) -> None:
    before = desk.counts().total
    async with app.run_test() as pilot:
        await settle(pilot)
        await start_intake(pilot)
        await fill(pilot, "#app-name", NAME)
        await fill(pilot, "#app-id", "0381900")  # too short
        await fill(pilot, "#app-phone", "12345")  # not a phone number
        await pilot.press("f10")  # straight to confirm: must stop at the bad fields
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        assert screen.step == 2
        assert "12 chữ số" in text_of(app, "#err-app-id")
        assert "Số điện thoại không hợp lệ" in text_of(app, "#err-app-phone")
        assert value(app, "#app-name") == NAME
        assert value(app, "#app-id") == "0381900"
        assert value(app, "#app-phone") == "12345"
        assert desk.counts().total == before


async def test_chip_card_qr_prefills_and_a_proxy_submits(desk: Desk, app: OnestopApp) -> None:
    qr = f"{CCCD}|123456789|{NAME}|01021990|Nữ|Bản Lát, Xã Mường Lát, Thanh Hóa|15082021"
    async with app.run_test() as pilot:
        await settle(pilot)
        await start_intake(pilot)
        await pilot.press("f6")
        await fill(pilot, "#qr", qr)  # what a paste delivers: all at once
        assert value(app, "#app-name") == NAME
        assert value(app, "#app-id") == CCCD
        assert value(app, "#app-address").startswith("Bản Lát")
        assert "Đã điền từ CCCD" in text_of(app, "#err-qr")
        app.screen.query_one("#has-proxy").value = True  # type: ignore[attr-defined]
        await settle(pilot)
        await fill(pilot, "#proxy-name", "Lò Văn Páo")
        await fill(pilot, "#proxy-id", "038085001234")
        await fill(pilot, "#proxy-paper", "Giấy ủy quyền số 12, ngày 18/11/2026")
        await pilot.press("f10")  # check and show the appointment
        await settle(pilot)
        if app.screen.query_one("#fee-state-row").display:
            await pilot.press("down", "enter")  # not collected yet
            await settle(pilot)
        await pilot.press("f10")  # confirm
        await settle(pilot)
        assert isinstance(app.screen, ReceiptScreen)
        state = desk.get(app.screen.state.code)
    assert state.applicant_name == NAME
    assert state.proxy["name"] == "Lò Văn Páo"
    assert state.proxy["id"] == "038085001234"


async def test_refuse_at_intake_needs_a_reason(
    desk: Desk, app: OnestopApp, log: MessageLog
) -> None:
    reason = "Hồ sơ không thuộc thẩm quyền giải quyết của UBND xã."
    async with app.run_test(message_hook=log) as pilot:
        await settle(pilot)
        await start_intake(pilot)
        await fill(pilot, "#app-name", NAME)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, ActionFormModal)
        await pilot.press("f10")  # empty reason
        await settle(pilot)
        assert isinstance(app.screen, ActionFormModal), "an empty reason is refused"
        assert "Chưa nhập «Lý do từ chối»" in text_of(app, "#error-reason")
        await fill(pilot, "#field-reason", reason)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)

        refused = log.of(DossierRefused)
        assert len(refused) == 1
        code = refused[0].state.code  # type: ignore[attr-defined]
        assert isinstance(app.screen, DossierDetailScreen)
        stored = desk.get(code)
        assert stored.status == Status.REFUSED
        assert stored.refusal_reason == reason
        assert stored.applicant_name == NAME


# ---------------------------------------------------------------------- lifecycle


async def open_detail(pilot, code: str) -> DossierDetailScreen:
    app = pilot.app
    app.open_dossier(code)
    await settle(pilot)
    assert isinstance(app.screen, DossierDetailScreen)
    return app.screen


async def test_request_and_record_a_supplement(
    desk: Desk, app: OnestopApp, log: MessageLog
) -> None:
    code = code_with(desk, Status.PROCESSING)
    async with app.run_test(message_hook=log) as pilot:
        await settle(pilot)
        await open_detail(pilot, code)
        await choose_action(pilot, EventKind.REQUEST_SUPPLEMENT)
        assert isinstance(app.screen, ActionFormModal)
        await fill(pilot, "#field-reason", "Thiếu bản chính giấy tờ tùy thân.")
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
        assert desk.get(code).status == Status.SUPPLEMENT_REQUESTED
        assert "Chờ bổ sung" in text_of(app, "#summary")

        await choose_action(pilot, EventKind.RECORD_SUPPLEMENT)
        await pilot.press("f10")  # no parameters; not irreversible: no y/n
        await settle(pilot)
        state = desk.get(code)
        assert state.status == Status.PROCESSING
        assert state.supplement_count == 1
        kinds = [m.kind for m in log.of(DossierActed)]  # type: ignore[attr-defined]
        assert kinds == [EventKind.REQUEST_SUPPLEMENT, EventKind.RECORD_SUPPLEMENT]
        timeline = [str(row) for row in app.screen.query_one("#timeline").get_column("what")]  # type: ignore[attr-defined]
        assert "Yêu cầu bổ sung hồ sơ" in timeline and "Nhận hồ sơ bổ sung" in timeline


async def test_a_second_supplement_request_is_refused_clearly(
    desk: Desk, app: OnestopApp, log: MessageLog
) -> None:
    code = code_with(desk, Status.PROCESSING)
    desk.act(code, EventKind.REQUEST_SUPPLEMENT, {"reason": "Thiếu tờ khai."})
    desk.act(code, EventKind.RECORD_SUPPLEMENT, {})
    events_before = len(desk.history(code))
    async with app.run_test(message_hook=log) as pilot:
        await settle(pilot)
        await open_detail(pilot, code)
        # Issue 17: not offered and then refused, but shown dimmed with the once-only rule.
        await dimmed_with(pilot, EventKind.REQUEST_SUPPLEMENT, "chỉ được yêu cầu bổ sung một lần")
        assert isinstance(app.screen, DossierDetailScreen), "no form for a refused action"
    assert len(desk.history(code)) == events_before


async def test_resolve_and_return_the_result(desk: Desk, app: OnestopApp) -> None:
    code = code_with(desk, Status.PROCESSING)
    async with app.run_test() as pilot:
        await settle(pilot)
        await open_detail(pilot, code)
        await choose_action(pilot, EventKind.RESOLVE)
        await pilot.press("f10")  # decision defaults to "approved"
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert desk.get(code).status == Status.RESOLVED
        assert desk.get(code).decision == "approved"

        await choose_action(pilot, EventKind.MARK_READY)
        await pilot.press("f10")
        await settle(pilot)
        assert desk.get(code).status == Status.RESULT_READY

        await choose_action(pilot, EventKind.RETURN_RESULT)
        form = app.screen
        assert isinstance(form, ActionFormModal)
        form.query_one("#field-channel").value = "post"  # type: ignore[attr-defined]
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        state = desk.get(code)
        assert state.status == Status.RETURNED
        assert state.return_channel == "post"


async def test_a_refused_action_reopens_the_form_with_the_typed_values(
    desk: Desk, app: OnestopApp
) -> None:
    code = code_with(desk, Status.PROCESSING)
    async with app.run_test() as pilot:
        await settle(pilot)
        await open_detail(pilot, code)
        await choose_action(pilot, EventKind.RESOLVE)
        app.screen.query_one("#field-decision").value = "denied"  # type: ignore[attr-defined]
        await pilot.press("f10")  # denied without a reason: the lifecycle refuses
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ActionFormModal)
        assert "Từ chối giải quyết phải ghi rõ lý do" in text_of(app, "#form-error")
        assert form.query_one("#field-decision").value == "denied"  # type: ignore[attr-defined]
    assert desk.get(code).status == Status.PROCESSING


async def test_irreversible_action_can_be_declined(desk: Desk, app: OnestopApp) -> None:
    code = code_with(desk, Status.PROCESSING)
    events_before = len(desk.history(code))
    async with app.run_test() as pilot:
        await settle(pilot)
        await open_detail(pilot, code)
        await choose_action(pilot, EventKind.WITHDRAW)
        await fill(pilot, "#field-reason", "Công dân xin rút hồ sơ.")
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, DossierDetailScreen)
    assert len(desk.history(code)) == events_before


async def test_apology_and_extension_only_once(
    desk: Desk, app: OnestopApp, log: MessageLog
) -> None:
    from onestop.domain.deadlines import can_extend

    code = next(
        s.code
        for s in desk.page(DossierFilter(statuses=(Status.PROCESSING,)), limit=200).rows
        if s.due_at is not None and can_extend(s.due_at, FROZEN, desk.calendar)
    )
    old_due = desk.get(code).due_at
    async with app.run_test(message_hook=log) as pilot:
        await settle(pilot)
        await open_detail(pilot, code)
        await choose_action(pilot, EventKind.EXTEND)
        assert value(app, "#field-new_due"), "a new date is proposed"
        await fill(pilot, "#field-reason", "Cần xác minh thêm với cơ quan liên quan.")
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        state = desk.get(code)
        assert state.extension_count == 1
        assert state.due_at is not None and old_due is not None and state.due_at > old_due
        await dimmed_with(pilot, EventKind.EXTEND, "chỉ được gia hạn một lần")
        assert isinstance(app.screen, DossierDetailScreen)


async def test_record_the_citizens_evaluation(desk: Desk, app: OnestopApp) -> None:
    code = next(
        s.code
        for s in desk.page(DossierFilter(statuses=(Status.RETURNED,)), limit=200).rows
        if not s.evaluation
    )
    async with app.run_test() as pilot:
        await settle(pilot)
        await open_detail(pilot, code)
        await choose_action(pilot, EventKind.EVALUATE)
        form = app.screen
        assert isinstance(form, EvaluationModal)
        # Issue 17: each indicator carries the circular's words; nothing is preset that the
        # citizen was not asked, and an unasked confirm is refused with what is missing.
        rows = form.query_one(OptionList)
        assert "Thái độ của cán bộ, công chức" in str(rows.get_option("tc6").prompt)
        assert "chưa hỏi" in str(rows.get_option("satisfaction").prompt)
        await pilot.press("f10")
        await settle(pilot)
        error = text_of(app, "#eval-error")
        assert "Chưa hỏi mức độ hài lòng" in error and "Chưa chấm tiêu chí" in error
        assert isinstance(app.screen, EvaluationModal)
        open_rows = [i for i, s in enumerate(form.scores) if s is None]
        assert rows.highlighted == open_rows[0], "starts on the first question to ask"
        await pilot.press(*"2" * len(open_rows))  # one key each, on to the next open one
        assert rows.highlighted == 9  # the satisfaction level
        await pilot.press("f10")
        await settle(pilot)
        assert "Chưa hỏi mức độ hài lòng" in text_of(app, "#eval-error")
        rows.highlighted = 3
        await pilot.press("1")  # any row can be changed
        rows.highlighted = 9
        await pilot.press("4")
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        auto = list(form.auto)
    expected = [2 if a is None else a for a in auto]
    expected[3] = 1
    assert desk.get(code).evaluation == {"scores": expected, "satisfaction": 4}


# ---------------------------------------------------------------------- list and search


async def test_search_by_an_unaccented_name(desk: Desk, app: OnestopApp, log: MessageLog) -> None:
    # An applicant of the demo whose name carries accents; the clerk types it without them.
    name = next(
        s.applicant_name
        for s in desk.page(DossierFilter(), limit=200).rows
        if search_key(s.applicant_name) != s.applicant_name.lower()
    )
    typed = search_key(name)
    expected = {s.code for s in desk.page(DossierFilter(search=name), limit=200).rows}
    async with app.run_test(message_hook=log) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DossierListScreen)
        await type_text(pilot, typed)
        await settle(pilot)
        table = screen.query_one("#list-table", DossierTable)
        assert {str(c) for c in table.get_column("applicant")} == {name}
        assert set(table.codes) == expected
        # One query painted per burst of typing: earlier keystrokes were superseded.
        painted = [m for m in log.of(PageLoaded) if m.target == "list"]  # type: ignore[attr-defined]
        assert painted[-1].flt.search == typed  # type: ignore[attr-defined]
        assert len(painted) < len(typed)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, DossierDetailScreen)
        assert app.screen.code in expected


async def test_a_stale_page_is_never_painted(desk: Desk, app: OnestopApp) -> None:
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DossierListScreen)
        table = screen.query_one("#list-table", DossierTable)
        shown = table.codes
        stale = desk.page(DossierFilter(search="khong ai ten nay"), limit=200)
        screen.post_message(PageLoaded("list", DossierFilter(search="old query"), None, stale, 0.0))
        await settle(pilot)
        assert table.codes == shown


async def test_dashboard_count_opens_its_list(desk: Desk, app: OnestopApp) -> None:
    async with app.run_test() as pilot:
        await settle(pilot)
        counts = app.screen.query_one("#dash-counts", OptionList)
        counts.highlighted = counts.get_option_index("awaiting_supplement")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DossierListScreen)
        table = screen.query_one("#list-table", DossierTable)
        assert table.row_count == desk.counts().awaiting_supplement > 0
        assert {str(c) for c in table.get_column("status")} == {"Chờ bổ sung"}


async def test_paging_never_loads_more_than_a_page(
    desk: Desk, app: OnestopApp, monkeypatch
) -> None:
    import onestop.tui.screens.dossier_list as dl

    monkeypatch.setattr(dl, "PAGE_SIZE", 25)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        table = app.screen.query_one("#list-table", DossierTable)
        first = table.codes
        assert len(first) == 25
        await pilot.press("f8")
        await settle(pilot)
        second = table.codes
        assert len(second) == 25 and not set(first) & set(second)
        await pilot.press("f7")
        await settle(pilot)
        assert table.codes == first


# ---------------------------------------------------------------------- chrome, palette, settings


async def test_sync_state_is_always_visible(desk: Desk, app: OnestopApp) -> None:
    async with app.run_test() as pilot:
        await settle(pilot)
        for key in ("", "f3", "f2"):
            if key:
                await pilot.press(key)
                await settle(pilot)
            bar = str(app.screen.query_one("#bar-sync", Static).render())
            assert "Chưa đồng bộ" in bar
            assert f"{desk.outbox_size()} sự kiện chờ gửi" in bar


async def test_f1_lists_the_screens_keys_in_vietnamese(app: OnestopApp) -> None:
    from onestop.tui.screens.modals import HelpModal

    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpModal)
        keys = {key: label for key, label, _ in app.screen.rows}
        assert keys["F2"] == "Tiếp nhận mới" and keys["Ctrl+P"] == "Lệnh"
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)


async def test_palette_finds_commands_without_accents(app: OnestopApp) -> None:
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await type_text(pilot, "tiep nhan ho so")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, IntakeScreen)


def test_every_screen_shows_at_most_five_footer_keys() -> None:
    from onestop.tui.screens.receipt import ReceiptScreen
    from onestop.tui.screens.settings import SettingsScreen

    for screen in (
        DashboardScreen,
        DossierListScreen,
        DossierDetailScreen,
        IntakeScreen,
        ReceiptScreen,
        SettingsScreen,
    ):
        shown = [b for b in screen.BINDINGS if getattr(b, "show", True)]
        assert len(shown) <= 5, screen
        assert all(b.id and b.tooltip for b in screen.BINDINGS), screen  # type: ignore[union-attr]


async def test_settings_add_and_remove_a_day_off(desk: Desk, app: OnestopApp) -> None:
    from datetime import date

    from onestop.tui.screens.settings import SettingsScreen

    day = date(2026, 12, 24)
    assert desk.calendar.is_working_day(day)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        assert isinstance(app.screen, SettingsScreen)
        app.screen.query_one("#cal-day", Input).value = "31/02/2026"
        await pilot.click("#cal-add")
        await settle(pilot)
        assert "không có thật" in text_of(app, "#cal-message")
        app.screen.query_one("#cal-day", Input).value = "24/12/2026"
        app.screen.query_one("#cal-note", Input).value = "Nghỉ theo quyết định của UBND tỉnh"
        await pilot.click("#cal-add")
        await settle(pilot)
        assert not desk.calendar.is_working_day(day)
        assert app.screen.query_one("#cal-table").row_count == 1  # type: ignore[attr-defined]
        await pilot.click("#cal-remove")
        await settle(pilot)
        assert desk.calendar.is_working_day(day)


async def test_language_switch_translates_the_desk(app: OnestopApp) -> None:
    async with app.run_test() as pilot:
        await settle(pilot)
        app.choose_language("en")
        await settle(pilot)
        assert isinstance(app.screen_stack[1], DashboardScreen)
        bar = str(app.screen_stack[1].query_one("#bar-title", Static).render())
        assert bar == "Dashboard"
        labels = {b.description for _, b in app.screen_stack[1]._bindings}
        assert "New dossier" in labels


async def test_qr_says_plainly_when_the_terminal_is_too_small(app: OnestopApp) -> None:
    async with app.run_test(size=(40, 15)) as pilot:
        await settle(pilot)
        app.push_screen(QrScreen("000.00.14.H56-261120-010001"))
        await settle(pilot)
        assert not app.screen.query_one("#qr-code").display
        assert "Cửa sổ quá nhỏ để hiện mã QR" in text_of(app, "#qr-too-small")


async def test_first_run_offers_a_demo_desk(tmp_path: Path, monkeypatch) -> None:
    import onestop.tui.screens.first_run as fr
    from onestop.tui.screens.first_run import FirstRunScreen
    from onestop.tui.screens.login import LoginScreen

    monkeypatch.setattr(fr, "DEMO_DOSSIERS", 12)
    path = tmp_path / "new" / "desk.sqlite"
    app = make_app(None, db_path=path, clock=lambda: FROZEN, remember_choices=False)
    async with app.run_test() as pilot:
        await settle(pilot)
        assert isinstance(app.screen, FirstRunScreen)
        assert "onestop init" in text_of(app, "#first-init")
        await pilot.press("f2")
        await settle(pilot)
        # Encrypted like «onestop demo»: the login screen lists the demo accounts.
        assert isinstance(app.screen, LoginScreen) and app.desk is None
        assert (path.parent / "desk.sqlite.keyring").exists()
        assert "canbo" in str(app.screen.query_one("#login-hint", Static).render())
        assert b"SQLite format 3" not in path.read_bytes()[:16]
        await pilot.click("#login-user")
        await pilot.press(*"canbo", "enter", *"onestop-demo", "enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert app.desk is not None and app.desk.counts().total == 12
        assert app.desk.account is not None and app.desk.account.username == "canbo"
    if app.desk is not None:
        app.desk.close()


def test_web_mode_without_textual_serve_says_so(monkeypatch, tmp_path: Path) -> None:
    import builtins

    from onestop.config import Settings
    from onestop.services.desk import DeskError
    from onestop.tui.app import run_desk

    real_import = builtins.__import__

    def no_serve(name, *args, **kwargs):
        if name.startswith("textual_serve"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_serve)
    try:
        run_desk(Settings(db=tmp_path / "x.sqlite"), now=lambda: FROZEN, web=True)
    except DeskError as e:
        assert "textual-serve" in str(e) and "pip install textual-serve" in str(e)
    else:
        raise AssertionError("run_desk(web=True) must refuse without textual-serve")


def test_sixteen_colour_terminals_get_the_ansi_themes() -> None:
    from onestop.tui.app import theme_for_terminal

    assert theme_for_terminal("onestop-light", dark=False, color_system="standard") == "ansi-light"
    assert theme_for_terminal("onestop-dark", dark=True, color_system="standard") == "ansi-dark"
    assert theme_for_terminal("onestop-dark", dark=True, color_system="truecolor") == "onestop-dark"
    assert theme_for_terminal("onestop-light", dark=False, color_system="256") == "onestop-light"


async def test_unknown_theme_falls_back(desk: Desk) -> None:
    app = make_app(desk, theme="no-such-theme", remember_choices=False)
    async with app.run_test() as pilot:
        await settle(pilot)
        assert app.theme == "onestop-light"


async def test_qr_is_the_signed_receipt_on_a_demo_desk(demo_template: Path, tmp_path: Path) -> None:
    import shutil

    from onestop.crypto.verify import Verdict, verify_receipt
    from onestop.services.keys import trust_list

    target = copy_desk(demo_template, tmp_path / "desk.sqlite")
    shutil.copytree(demo_template.parent / f"{demo_template.stem}.keys", tmp_path / "desk.keys")
    desk = open_desk(target)
    try:
        code = desk.page().rows[0].code
        app = build_app(desk)
        async with app.run_test(size=(120, 50)) as pilot:
            await settle(pilot)
            screen = QrScreen(code, desk)
            app.push_screen(screen)
            await settle(pilot)
            assert screen.signed
            assert "chữ ký số" in text_of(app, "#qr-label") and "không phải" not in text_of(
                app, "#qr-label"
            )
            assert app.screen.query_one("#qr-code").display
        # The QR drawn is the one the slip carries: it verifies offline against the trust list.
        from onestop.services.keys import DEMO_PASSPHRASE
        from onestop.services.receipts import receipt_qr_text

        trust = trust_list(desk)
        assert trust is not None
        assert (
            verify_receipt(receipt_qr_text(desk, code, DEMO_PASSPHRASE), trust).verdict
            == Verdict.VALID
        )
    finally:
        desk.close()


async def test_intake_warns_when_the_desk_clock_is_off(
    desk: Desk, app: OnestopApp, log: MessageLog
) -> None:
    """Issue 16.10: the offset from the province's signed time is said at intake (a notice and
    a line on the confirm step); intake itself is not blocked."""
    from onestop.services.setting_keys import S_SKEW

    desk.set_setting(S_SKEW, str(-3 * 86400))  # this desk's clock runs three days fast
    warning = desk.clock_warning()
    assert warning
    async with app.run_test(message_hook=log) as pilot:
        await settle(pilot)
        await start_intake(pilot)
        await settle(pilot)
        assert warning in text_of(app, "#clock-warning")
        assert any(warning in str(n.message) for n in app._notifications)
