"""A plain desk's dashboard is drawn from the glance; the desk opens in a thread behind it and
a key pressed meanwhile is carried out once it is open."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import OptionList, Static

from onestop.services.desk import Desk
from onestop.services.glance import glance
from onestop.tui.app import make_app
from onestop.tui.screens.dashboard import DashboardScreen
from onestop.tui.screens.intake import IntakeScreen
from onestop.tui.widgets.dossier.table import DossierTable
from tests.conftest import FROZEN
from tests.tui.conftest import settle
from tests.tui.snapshot_app import copy_desk


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Desk.open waits for the test to let it through: the 'still opening' moment, held."""
    event = threading.Event()
    real_open = Desk.open.__func__  # type: ignore[attr-defined]

    def held_open(cls: type[Desk], *args: Any, **kwargs: Any) -> Desk:
        assert event.wait(20), "the test never let the desk open"
        return real_open(cls, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(Desk, "open", classmethod(held_open))
    return event


async def test_counts_first_then_the_desk_then_the_waiting_key(
    demo_template: Path, tmp_path: Path, gate: threading.Event
) -> None:
    path = copy_desk(demo_template, tmp_path / "desk.sqlite")
    first = glance(path, FROZEN)
    assert first is not None
    app = make_app(None, db_path=path, clock=lambda: FROZEN, glance=first, remember_choices=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DashboardScreen) and app.desk is None
        prompts = [str(o.prompt) for o in screen.query_one("#dash-counts", OptionList).options]
        assert prompts[-1].split()[-1] == str(first.dashboard.counts.total)
        assert prompts[0].split()[-1] == str(first.dashboard.counts.overdue)
        assert first.identity.commune_name in str(screen.query_one("#bar-desk", Static).render())

        await pilot.press("f2")  # before the desk is open: remembered, not lost
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)

        gate.set()
        await settle(pilot)
        assert app.desk is not None
        assert isinstance(app.screen, IntakeScreen)
        dashboard = app.screen_stack[1]
        assert isinstance(dashboard, DashboardScreen)
        assert dashboard.counts == app.desk.counts()
        assert dashboard.query_one("#preview", DossierTable).row_count > 0
    assert app.desk is not None
    app.desk.close()


async def test_the_desk_opening_fails_plainly(
    demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onestop.services.base import DeskError

    path = copy_desk(demo_template, tmp_path / "desk.sqlite")
    first = glance(path, FROZEN)

    def broken(*_: Any, **__: Any) -> Desk:
        raise DeskError("Ổ đĩa không đọc được")

    monkeypatch.setattr(Desk, "open", broken)
    app = make_app(None, db_path=path, clock=lambda: FROZEN, glance=first, remember_choices=False)
    notes: list[str] = []
    app.notify = lambda message, **_: notes.append(str(message))  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.desk is None and isinstance(app.screen, DashboardScreen)
        assert "Ổ đĩa không đọc được" in notes
        await pilot.press("f2")  # nothing to open it on: refused, not queued for ever
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen) and app._after_opening is None
