"""The command palette: every action of the current screen and of the desk, in Vietnamese.

Matching ignores accents and case (a clerk types "tiep nhan" for "Tiếp nhận"): titles and the
query are folded character by character with ``search_key``, which keeps the folded title the
same length as the real one, so the fuzzy matcher's offsets highlight the real title.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from onestop.domain.text import search_key
from onestop.tui._app_ref import desk_app
from onestop.tui.screens._base import DeskScreen, PaletteCommand

if TYPE_CHECKING:
    pass


def fold(text: str) -> str:
    """Accent- and case-free text of exactly the same length as ``text``."""
    out = []
    for ch in text:
        key = search_key(ch)
        out.append(key[0] if key else ch.lower())
    return "".join(out)


class DeskCommands(Provider):
    def _commands(self) -> list[PaletteCommand]:
        app = desk_app(self)
        commands: list[PaletteCommand] = []
        if isinstance(self.screen, DeskScreen):
            commands.extend(self.screen.palette_commands())
        commands.extend(app.global_commands())
        return commands

    async def discover(self) -> Hits:
        for c in self._commands():
            yield DiscoveryHit(c.title, c.callback, help=c.help or None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(fold(query))
        for c in self._commands():
            folded = fold(c.title)
            score = matcher.match(folded)
            if score <= 0:
                continue
            _, offsets = matcher.fuzzy_search.match(matcher.query, folded)
            display = Content(c.title)
            for offset in offsets:
                if not c.title[offset].isspace():
                    display = display.stylize(matcher.match_style, offset, offset + 1)
            yield Hit(score, display, c.callback, text=c.title, help=c.help or None)
