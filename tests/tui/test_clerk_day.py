"""Issue 17, the clerk's day at the desk (Pilot): keys typed in a burst, quitting with unsaved
work, switching person, the worklist and the role-aware action menu."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from onestop.domain.events import EventKind
from onestop.tui.app import OnestopApp
from onestop.tui.screens.intake import IntakeScreen
from onestop.tui.screens.modals import ConfirmModal
from tests.tui.conftest import encrypted_app, settle
from tests.tui.test_flows import start_intake

CCCD = "038190012345"
NAME = "Tran Thi Buoi"


def burst(app: OnestopApp, keys: list[str]) -> None:
    """Post every key at once, as a terminal delivers a scanner's burst: no pause between."""
    for k in keys:
        if k == "tab":
            app.post_message(events.Key("tab", "\t"))
        elif k == " ":
            app.post_message(events.Key("space", " "))
        else:
            app.post_message(events.Key(k, k))


async def test_a_scanner_burst_puts_every_key_in_its_field(app: OnestopApp) -> None:
    async with app.run_test() as pilot:
        await settle(pilot)
        await start_intake(pilot)
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        assert app.focused is screen.query_one("#app-id")
        burst(app, [*CCCD, "tab", *NAME, "tab", *"0912345678"])
        await settle(pilot)
        assert screen.query_one("#app-id", Input).value == CCCD
        assert screen.query_one("#app-name", Input).value == NAME
        assert screen.query_one("#app-phone", Input).value == "0912345678"


async def test_ctrl_q_asks_only_when_something_typed_would_be_lost(app: OnestopApp) -> None:
    async with app.run_test() as pilot:
        await settle(pilot)
        await start_intake(pilot)
        await pilot.press(*CCCD[:4])
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and app.is_running
        assert "chưa lưu" in app.screen.question
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, IntakeScreen) and app.is_running
        assert app.screen.query_one("#app-id", Input).value == CCCD[:4]
        await pilot.press("ctrl+q", "ctrl+q")  # asked, then the same key again: quit
        await settle(pilot)
    assert app.return_code == 0 and not app.is_running


async def test_ctrl_q_quits_at_once_with_nothing_typed(app: OnestopApp) -> None:
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert not app.is_running


# ---------------------------------------------------------------------- people


@pytest.fixture
def enc(encrypted_template: Path, tmp_path: Path) -> OnestopApp:
    return encrypted_app(encrypted_template, tmp_path)


async def login(pilot: Pilot[None], user: str) -> None:
    await pilot.press(*user, "enter", *"onestop-demo", "enter")
    await settle(pilot)


async def switch(pilot: Pilot[None], user: str) -> None:
    await pilot.press("ctrl+o")
    await settle(pilot)
    await login(pilot, user)


def bar(app: OnestopApp) -> str:
    return str(app.screen.query_one("#bar-desk").render())


async def test_switching_person_keeps_the_dossier_and_ends_the_session(enc: OnestopApp) -> None:
    from onestop.tui.screens.dashboard import DashboardScreen
    from onestop.tui.screens.dossier_detail import DossierDetailScreen
    from onestop.tui.screens.modals import ActionMenuModal

    async with enc.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await login(pilot, "canbo")
        assert isinstance(enc.screen, DashboardScreen)
        assert "Lò Thị Mai · Một cửa" in bar(enc)
        counts = enc.screen.query_one("#dash-counts", OptionList)
        first = counts.highlighted_option
        assert first is not None and first.id == "work:clerk_forward"
        assert enc.desk is not None
        from onestop.services.worklist import worklist

        by_key = {w.queue.key: w.count for w in worklist(enc.desk)}
        assert "Chờ chuyển xử lý" in str(first.prompt)
        assert str(by_key["clerk_forward"]) in str(first.prompt)
        # Open the first waiting dossier and forward it to the specialist.
        await pilot.press("enter", "enter")
        await settle(pilot)
        detail = enc.screen
        assert isinstance(detail, DossierDetailScreen)
        code = detail.code
        await pilot.press("f4")
        await settle(pilot)
        menu = enc.screen
        assert isinstance(menu, ActionMenuModal) and menu.numbered[0] == EventKind.FORWARD
        await pilot.press("1")
        await settle(pilot)
        await pilot.press(*"chuyenvien", "f10")
        await settle(pilot)
        assert enc.desk.get(code).handler == "chuyenvien"

        class Signer:  # stands for the unlocked key of this session
            pass

        enc.keyring._signer = Signer()  # type: ignore[assignment]
        await switch(pilot, "chuyenvien")
        assert enc.screen is detail, "the dossier stays on screen for the next person"
        assert enc.keyring.signer is None, "the previous person's signing key is forgotten"
        assert enc.desk.actor == "Hà Văn Quân" and "Hà Văn Quân · Chuyên viên" in bar(enc)
        assert detail.offers and next(o for o in detail.offers if o.available).kind == (
            EventKind.START
        )
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(enc.screen, ActionMenuModal)
        assert enc.screen.numbered[0] == EventKind.START
        await pilot.press("escape", "escape")
        await settle(pilot)
        assert isinstance(enc.screen, DashboardScreen)
        # A specialist receives no dossier: F2 is neither in the footer nor in the palette.
        assert not enc.may_receive()
        assert enc.check_action("open_intake", ()) is False
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(enc.screen, DashboardScreen)
        titles = [c.title for c in enc.global_commands()]
        assert "Tiếp nhận hồ sơ mới" not in titles and "Khóa màn hình" in titles
        counts = enc.screen.query_one("#dash-counts", OptionList)
        assert counts.get_option("work:spec_forwarded") is not None
        assert "1" in str(counts.get_option("work:spec_forwarded").prompt)


async def test_a_wrong_password_switches_nobody_and_lock_is_one_key(enc: OnestopApp) -> None:
    from onestop.tui.screens.login import LockScreen, SwitchPersonModal

    async with enc.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await login(pilot, "canbo")
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(enc.screen, SwitchPersonModal)
        await pilot.press(*"lanhdao", "enter", *"sai", "enter")
        await settle(pilot)
        assert isinstance(enc.screen, SwitchPersonModal)
        assert enc.desk is not None and enc.desk.actor == "Lò Thị Mai"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(enc.screen, LockScreen) and enc.idle_lock.locked
        await switch(pilot, "lanhdao")  # another person unlocks the desk as themselves
        assert not enc.idle_lock.locked and not isinstance(enc.screen, LockScreen)
        assert enc.desk.actor == "Phạm Văn Sơn"


async def test_the_intake_search_highlights_the_best_match_of_every_word(app: OnestopApp) -> None:
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press(*"chung thuc chu")
        await settle(pilot)
        results = app.screen.query_one("#proc-results", OptionList)
        assert results.highlighted == 0
        first = results.get_option_at_index(0)
        assert first.id == "2.000884", str(first.prompt)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, IntakeScreen) and screen.procedure is not None
        assert screen.procedure.code == "2.000884" and screen.step == 2
