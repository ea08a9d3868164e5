"""The unlocked desk signing key does not survive the idle lock or the end of the session."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from onestop.services.desk import Desk
from onestop.services.keys import DEMO_PASSPHRASE, create_desk_key
from onestop.tui.app import OnestopApp
from onestop.tui.screens.dashboard import DashboardScreen
from onestop.tui.screens.login import LockScreen
from tests.tui.conftest import FakeMonotonic, encrypted_app, settle


@pytest.fixture
def app(encrypted_template: Path, tmp_path: Path) -> OnestopApp:
    return encrypted_app(encrypted_template, tmp_path)


async def _log_in_and_unlock_key(pilot: Pilot[None], app: OnestopApp) -> None:
    await settle(pilot)
    await pilot.click("#login-user")
    app.screen.query_one("#login-user", Input).value = ""
    await pilot.press(*"canbo", "enter", *"onestop-demo", "enter")
    await settle(pilot)
    assert isinstance(app.screen, DashboardScreen) and app.desk is not None
    # The encrypted demo has no signing key yet; making one is the admin's (the programmatic
    # API, without an account, stands in for them).
    create_desk_key(Desk(app.desk.store), DEMO_PASSPHRASE)
    app.keyring.unlock(app.desk, DEMO_PASSPHRASE)  # what PassphraseModal does
    assert app.keyring.signer is not None


async def test_idle_lock_forgets_the_signing_key(app: OnestopApp) -> None:
    clock = FakeMonotonic()
    app.idle_lock.clock = clock
    async with app.run_test(size=(80, 24)) as pilot:
        await _log_in_and_unlock_key(pilot, app)
        clock.now += 60 * 60
        app.idle_lock.check()
        await settle(pilot)
        assert isinstance(app.screen, LockScreen) and app.idle_lock.locked
        assert app.keyring.signer is None
        # Unlocking the screen does not bring the key back: signing asks for it again.
        await pilot.press(*"onestop-demo", "enter")
        await settle(pilot)
        assert not app.idle_lock.locked
        assert app.keyring.signer is None


async def test_locking_by_hand_forgets_the_signing_key(app: OnestopApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await _log_in_and_unlock_key(pilot, app)
        app.idle_lock.lock()  # the palette's "Khóa màn hình"
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        assert app.keyring.signer is None


async def test_quitting_forgets_the_signing_key(app: OnestopApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await _log_in_and_unlock_key(pilot, app)
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.keyring.signer is None
