"""The login screen and the idle lock of an encrypted desk (Pilot)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from onestop.tui.app import OnestopApp
from onestop.tui.screens.dashboard import DashboardScreen
from onestop.tui.screens.login import LockScreen, LoginScreen
from tests.tui.conftest import FakeMonotonic, encrypted_app, settle


@pytest.fixture
def app(encrypted_template: Path, tmp_path: Path) -> OnestopApp:
    return encrypted_app(encrypted_template, tmp_path)


async def _login(pilot: Pilot[None], user: str, password: str) -> None:
    await pilot.click("#login-user")
    pilot.app.screen.query_one("#login-user", Input).value = ""
    await pilot.press(*user, "enter", *password, "enter")
    await settle(pilot)


async def test_login_wrong_password_then_right_then_idle_lock(app: OnestopApp) -> None:
    clock = FakeMonotonic()
    app.idle_lock.clock = clock
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen) and app.desk is None
        hint = str(app.screen.query_one("#login-hint", Static).content)
        assert "canbo" in hint and "onestop-demo" in hint
        await _login(pilot, "canbo", "sai-mat-khau")
        error = str(app.screen.query_one("#login-error", Static).content)
        assert "Sai tên đăng nhập hoặc mật khẩu" in error and "Còn 4 lần" in error
        assert app.screen.query_one("#login-password", Input).value == ""
        assert app.desk is None

        await _login(pilot, "canbo", "onestop-demo")
        assert isinstance(app.screen, DashboardScreen)
        assert app.desk is not None and app.desk.account is not None
        assert app.desk.actor == "Lò Thị Mai" and app.desk.role == "clerk"

        # Start an intake and type something: the lock must not lose it.
        await pilot.press("f2")
        await settle(pilot)
        intake = app.screen
        typed = intake.query(Input).first()
        typed.value = "chung thuc"
        # Nine minutes idle: nothing; ten: locked.
        clock.now += 9 * 60
        app.idle_lock.check()
        await pilot.pause()
        assert not isinstance(app.screen, LockScreen)
        clock.now += 60
        app.idle_lock.check()
        await settle(pilot)
        assert isinstance(app.screen, LockScreen) and app.idle_lock.locked
        await pilot.press("f3", "escape")  # app keys and Esc do nothing behind the lock
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)

        await pilot.press(*"sai-mat-khau", "enter")
        await settle(pilot)
        assert "Sai tên đăng nhập" in str(app.screen.query_one("#lock-error", Static).content)
        await pilot.press(*"onestop-demo", "enter")
        await settle(pilot)
        assert app.screen is intake and not app.idle_lock.locked
        assert typed.value == "chung thuc"


async def test_a_role_may_not_take_another_roles_action(app: OnestopApp) -> None:
    from onestop.domain.events import EventKind
    from onestop.domain.lifecycle import Status
    from onestop.store.queries import DossierFilter
    from onestop.tui.screens.dossier_detail import DossierDetailScreen

    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await _login(pilot, "canbo", "onestop-demo")
        assert app.desk is not None
        code = app.desk.page(DossierFilter(statuses=(Status.PROCESSING,)), limit=1).rows[0].code
        app.open_dossier(code)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DossierDetailScreen)
        # Issue 17: the menu never offers another role's action to refuse it afterwards; the
        # decision is listed dimmed, not selectable, with who takes it.
        from textual.widgets import OptionList

        from onestop.tui.screens.modals import ActionMenuModal

        await pilot.press("f4")
        await settle(pilot)
        menu = app.screen
        assert isinstance(menu, ActionMenuModal)
        assert EventKind.RESOLVE not in menu.numbered and EventKind.FORWARD in menu.numbered
        options = menu.query_one(OptionList)
        resolve = options.get_option(EventKind.RESOLVE.value)
        assert resolve.disabled and "Lãnh đạo thực hiện" in str(resolve.prompt)
        await pilot.press("escape")
        await settle(pilot)
        screen.begin_action(EventKind.RESOLVE)  # a stale call still says who may, before typing
        await settle(pilot)
        notices = [str(n.message) for n in app._notifications]
        assert any("Giải quyết" in n and "Lãnh đạo thực hiện" in n for n in notices), notices
        assert isinstance(app.screen, DossierDetailScreen)
