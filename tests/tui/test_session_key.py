"""The unlocked desk signing key does not survive the idle lock or the end of the session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from onestop.services.demo import build_demo
from onestop.services.desk import Desk
from onestop.services.keys import DEMO_PASSPHRASE, create_desk_key
from onestop.tui.app import OnestopApp, make_app
from onestop.tui.screens.dashboard import DashboardScreen
from onestop.tui.screens.login import LockScreen
from tests.conftest import FROZEN
from tests.tui.conftest import settle


@pytest.fixture(scope="module")
def encrypted_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("enc") / "demo.sqlite"
    build_demo(path, dossiers=5, seed=1, now=FROZEN, encrypted=True)
    return path


@pytest.fixture
def app(encrypted_template: Path, tmp_path: Path) -> OnestopApp:
    db = tmp_path / "desk.sqlite"
    for suffix in ("", "-wal", ".keyring"):
        source = Path(str(encrypted_template) + suffix)
        if source.exists():
            shutil.copy(source, Path(str(db) + suffix))
    app = make_app(
        None,
        db_path=db,
        clock=lambda: FROZEN,
        theme="onestop-light",
        remember_choices=False,
        login_required=True,
    )
    app.animation_level = "none"
    return app


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


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
