"""Hồ sơ số hóa: F4 records a component as "chỉ xuất trình" (TT 03/2025 Art. 5(2)); Delete
undoes it after a y/n."""

from __future__ import annotations

from onestop.services.attachments import list_shown_only
from onestop.services.desk import Desk
from onestop.tui.app import OnestopApp
from onestop.tui.screens.digitised import DigitisedScreen, ShownOnlyModal
from onestop.tui.screens.modals import ConfirmModal
from tests.tui.conftest import fill, settle
from tests.tui.test_attachments_tui import open_code, open_digitised, row_text, visible_keys


async def test_f4_marks_shown_only_and_delete_undoes(desk: Desk, app: OnestopApp) -> None:
    code = open_code(desk)
    async with app.run_test() as pilot:
        await open_digitised(pilot, app, code)
        assert "shown_only" in visible_keys(app)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, ShownOnlyModal)
        await fill(pilot, "#so-paper", "2")
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, DigitisedScreen)
        assert "chỉ xuất trình" in row_text(app, 0)[2]
        assert [m.paper_pages for m in list_shown_only(desk, code)] == [2]
        assert "shown_only" not in visible_keys(app)  # already marked
        await pilot.press("delete")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
        assert "chưa có" in row_text(app, 0)[2]
    assert list_shown_only(desk, code) == []
