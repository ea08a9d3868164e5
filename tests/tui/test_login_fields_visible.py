"""The login fields are visible before they get focus (issue 17): a compact Input's background
is ``$surface``, the login box's too, so in the browser desk the two fields were invisible
until clicked. Checked on the colours the screen actually paints, in every shipped theme."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.color import Color
from textual.widgets import Input

from onestop.tui.app import OnestopApp
from onestop.tui.screens.login import LoginScreen
from tests.tui.conftest import encrypted_app, settle


def _contrast(a: Color, b: Color) -> float:
    return abs(a.brightness - b.brightness)


@pytest.mark.parametrize("theme", ["onestop-dark", "onestop-light"])
async def test_login_fields_stand_out_before_focus(
    encrypted_template: Path, tmp_path: Path, theme: str
) -> None:
    app: OnestopApp = encrypted_app(encrypted_template, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = theme
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        box = app.screen.query_one("#login")
        _base, box_bg = box.background_colors
        for field in app.screen.query(Input):
            if field.has_focus:
                app.screen.set_focus(None)
                await pilot.pause()
            _base, field_bg = field.background_colors
            assert _contrast(field_bg, box_bg) >= 0.06, (theme, field.id, field_bg, box_bg)
