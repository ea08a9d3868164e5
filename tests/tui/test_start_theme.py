"""The desk's theme is taken before Textual first parses the CSS (issue 19 §3): set on mount,
it made Textual parse every stylesheet twice more and restyle every widget before the login
screen showed. The first screen must look the same as when the theme was set on mount."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.color import Color
from textual.css.stylesheet import Stylesheet

from onestop.tui.app import make_app
from onestop.tui.screens.login import LoginScreen
from tests.conftest import FROZEN
from tests.tui.conftest import settle


@pytest.fixture
def reparses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every full re-parse of the app's stylesheet (what a theme change costs)."""
    seen: list[int] = []
    real = Stylesheet.reparse

    def counted(self: Stylesheet) -> None:
        seen.append(1)
        real(self)

    monkeypatch.setattr(Stylesheet, "reparse", counted)
    return seen


@pytest.mark.parametrize(
    ("theme", "primary", "mode"),
    [("onestop-light", "#0B5394", "-light-mode"), ("onestop-dark", "#5B9BD5", "-dark-mode")],
)
async def test_login_screen_in_the_chosen_theme_without_a_css_reparse(
    tmp_path: Path, reparses: list[int], theme: str, primary: str, mode: str
) -> None:
    app = make_app(
        None,
        db_path=tmp_path / "desk.sqlite",
        clock=lambda: FROZEN,
        theme=theme,
        login_required=True,
        remember_choices=False,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert not reparses, "the theme was applied after the CSS was parsed"
        assert app.theme == theme and f"-theme-{theme}" in app.classes and mode in app.classes
        assert app.get_css_variables()["primary"].upper() == primary
        # The login box's border is $primary: drawn in the chosen theme's colour.
        assert app.screen.query_one("#login").styles.border_top[1] == Color.parse(primary)


async def test_an_unknown_theme_still_falls_back_with_a_notice(tmp_path: Path) -> None:
    app = make_app(
        None,
        db_path=tmp_path / "desk.sqlite",
        clock=lambda: FROZEN,
        theme="no-such-theme",
        login_required=True,
        remember_choices=False,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.theme == "onestop-light"
        assert any("no-such-theme" in str(n.message) for n in app._notifications)
