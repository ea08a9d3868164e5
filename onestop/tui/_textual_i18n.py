"""Textual's own English words, in the desk's language.

Textual writes a few words itself: the command palette's "No matches found" and its key
labels, a dropdown's "Dismiss menu" in the footer. A Vietnamese desk must not show them in
English (issue 17), so each has a Vietnamese source text here that goes through ``t()`` like
every other word. The dropdown's bindings are class-wide (its overlay is built inside
``Select``), so they are re-labelled after every language switch; the palette is our subclass.

Textual is pinned exactly (STYLE rule 2): ``tests/tui/test_languages.py`` fails if an upgrade
renames what is translated here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from rich.align import Align
from rich.text import Text
from textual.binding import BindingsMap
from textual.command import CommandList, CommandPalette
from textual.dom import DOMNode
from textual.widgets._select import SelectOverlay
from textual.widgets.option_list import Option

from onestop.i18n import on_language_change, t

# Textual's English text -> our Vietnamese source text (then t() gives the desk's language).
TEXTUAL_TEXTS: Final[dict[str, str]] = {
    "No matches found": "Không tìm thấy lệnh nào",
    "Dismiss menu": "Đóng danh sách",
    "Exit the command palette": "Đóng bảng lệnh",
    "Next command": "Lệnh sau",
    "Previous command": "Lệnh trước",
    "Next page": "Trang sau",
    "Previous page": "Trang trước",
    "Go to top": "Về đầu danh sách",
    "Go to bottom": "Xuống cuối danh sách",
}


def textual_text(english: str) -> str:
    """Textual's ``english`` words in the current language (unknown words are kept)."""
    source = TEXTUAL_TEXTS.get(english)
    return t(source) if source is not None else english


def localised(source: BindingsMap, originals: dict[tuple[str, str], str]) -> BindingsMap:
    """``source`` with Textual's descriptions in the current language. ``originals`` remembers
    each binding's English description, so a second switch starts from the English again."""
    out = source.copy()
    for key, bindings in source.key_to_bindings.items():
        relabelled = []
        for b in bindings:
            english = originals.setdefault((key, b.action), b.description)
            relabelled.append(replace(b, description=textual_text(english)))
        out.key_to_bindings[key] = relabelled
    return out


_SELECT_ORIGINALS: dict[tuple[str, str], str] = {}


def localise_stock_widgets(_lang: str = "") -> None:
    """Re-label the class-wide bindings of Textual widgets we cannot subclass."""
    merged = SelectOverlay._merged_bindings
    if merged is not None:
        SelectOverlay._merged_bindings = localised(merged, _SELECT_ORIGINALS)


on_language_change(localise_stock_widgets)
localise_stock_widgets()


def localise_bindings(node: DOMNode) -> None:
    node._bindings = localised(node._bindings, {})


class DeskCommandPalette(CommandPalette):
    """The command palette in the desk's language: its key labels and "No matches found"."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        localise_bindings(self)

    def _start_no_matches_countdown(self, search_value: str) -> None:
        # Textual's own method, with its one English sentence through t().
        self._stop_no_matches_countdown()

        def _show_no_matches() -> None:
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(
                        Align.center(Text(textual_text("No matches found"), style="not bold")),
                        disabled=True,
                        id=self._NO_MATCHES,
                    )
                )
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, _show_no_matches)
