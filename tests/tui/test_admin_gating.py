"""Show a person only what they may do: a clerk is not offered the admin's actions (Pilot)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from onestop.tui.app import OnestopApp
from onestop.tui.screens.settings import SettingsScreen
from onestop.tui.screens.sync import SyncScreen
from tests.tui.conftest import encrypted_app, settle


@pytest.fixture
def app(encrypted_template: Path, tmp_path: Path) -> OnestopApp:
    return encrypted_app(encrypted_template, tmp_path)


async def _login(pilot: Pilot[None], user: str) -> None:
    await settle(pilot)
    await pilot.click("#login-user")
    pilot.app.screen.query_one("#login-user", Input).value = ""
    await pilot.press(*user, "enter", *"onestop-demo", "enter")
    await settle(pilot)


def _offered(screen: SettingsScreen) -> set[str]:
    """The calendar and office-hours edits the screen offers (shown and enabled)."""
    ids = ("#cal-add", "#cal-remove", "#hours-save")
    return {
        i
        for i in ids
        for b in screen.query(i).results(Button)
        if b.display and b.parent is not None and b.parent.display and not b.disabled
    }


@pytest.mark.parametrize(("user", "admin"), [("canbo", False), ("quantri", True)])
async def test_admin_actions_are_offered_only_to_the_admin(
    app: OnestopApp, user: str, admin: bool
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await _login(pilot, user)
        app.action_open_settings()
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        if admin:
            assert _offered(screen) == {"#cal-add", "#cal-remove", "#hours-save"}
            assert not screen.query("#cal-readonly")
        else:
            assert _offered(screen) == set()
            assert screen.query_one("#hours-sessions", Input).disabled
            note = str(screen.query_one("#cal-readonly", Static).render())
            assert "Chỉ quản trị viên" in note
        app.action_open_sync()
        await settle(pilot)
        assert isinstance(app.screen, SyncScreen)
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(app.screen.query_one("#sync-overview", Static).content)
        overview = console.export_text()
        assert ("onestop enroll" in overview) is admin
        assert ("Chỉ quản trị viên được đăng ký quầy" in overview) is not admin
