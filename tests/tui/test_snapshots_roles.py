"""80×24 snapshots, in Vietnamese and English, of the screens issue 17 changed for people and
roles: the dashboard's "Việc chờ tôi", the action menu of a specialist (the leader's decision
dimmed with who takes it), the citizen's evaluation, and switching person.

An encrypted demo desk (its four accounts) with the clock frozen, onestop-light, no animation,
no blink, every worker awaited. Update with ``pytest --snapshot-update`` after reading the text
of the new picture.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from onestop.domain.lifecycle import Status
from onestop.i18n import set_language
from onestop.store.queries import DossierFilter
from tests.tui.conftest import encrypted_app, settle


@pytest.fixture(params=["vi", "en"])
def language(request: pytest.FixtureRequest) -> Iterator[str]:
    set_language(request.param)
    yield request.param
    set_language("vi")


async def _login(pilot: Pilot[None], user: str) -> None:
    await settle(pilot)
    await pilot.press(*user, "enter", *"onestop-demo", "enter")
    await settle(pilot)


async def _open(pilot: Pilot[None], status: Status, *, evaluated: bool | None = None) -> None:
    app = pilot.app
    desk = app.desk  # type: ignore[attr-defined]
    rows = desk.page(DossierFilter(statuses=(status,)), limit=200).rows
    code = next(r.code for r in rows if evaluated is None or bool(r.evaluation) == evaluated)
    app.open_dossier(code)  # type: ignore[attr-defined]
    await settle(pilot)


def test_dashboard_worklist(
    snap_compare, encrypted_template: Path, tmp_path: Path, language: str
) -> None:
    async def ready(pilot: Pilot[None]) -> None:
        await _login(pilot, "canbo")

    assert snap_compare(encrypted_app(encrypted_template, tmp_path), run_before=ready)


def test_specialist_action_menu(
    snap_compare, encrypted_template: Path, tmp_path: Path, language: str
) -> None:
    async def ready(pilot: Pilot[None]) -> None:
        await _login(pilot, "chuyenvien")
        await _open(pilot, Status.PROCESSING)
        await pilot.press("f4")
        await settle(pilot)

    assert snap_compare(encrypted_app(encrypted_template, tmp_path), run_before=ready)


def test_evaluation_form(
    snap_compare, encrypted_template: Path, tmp_path: Path, language: str
) -> None:
    async def ready(pilot: Pilot[None]) -> None:
        await _login(pilot, "canbo")
        await _open(pilot, Status.RETURNED, evaluated=False)
        await pilot.press("f4", "1")
        await settle(pilot)
        await pilot.press("2", "f10")  # one answer, then a confirm that is refused
        await settle(pilot)

    assert snap_compare(encrypted_app(encrypted_template, tmp_path), run_before=ready)


def test_switch_person(
    snap_compare, encrypted_template: Path, tmp_path: Path, language: str
) -> None:
    async def ready(pilot: Pilot[None]) -> None:
        await _login(pilot, "canbo")
        await _open(pilot, Status.RECEIVED)
        await pilot.press("ctrl+o")
        await settle(pilot)
        await pilot.press(*"chuyenvien")
        await settle(pilot)

    assert snap_compare(encrypted_app(encrypted_template, tmp_path), run_before=ready)
