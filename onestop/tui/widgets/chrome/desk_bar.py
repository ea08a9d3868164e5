"""The one-line bar on top of every screen: screen title, desk identity, sync state.

The sync state must always be visible (the clerk needs to know whether the province has the
day's work), so the app pushes every fresh reading into each bar it finds on the screen stack
(``show_sync``) instead of each bar watching the app: watchers on the app are not released
when a short-lived screen goes away (Textualize/textual#6666).
"""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from onestop.i18n import t
from onestop.tui.messages import SyncState


def sync_text(state: SyncState | None) -> str:
    if state is None:
        return t("Đồng bộ: …")
    if state.last_sync_at:
        try:
            when = datetime.fromisoformat(state.last_sync_at).strftime("%H:%M %d/%m")
        except ValueError:
            when = state.last_sync_at
        head = t("Đồng bộ {when}", when=when)
    else:
        head = t("Chưa đồng bộ")
    return t("{head} · {n} sự kiện chờ gửi", head=head, n=state.waiting)


class DeskBar(Horizontal):
    DEFAULT_CSS = """
    DeskBar {
        dock: top;
        height: 1;
        background: $panel;
    }
    DeskBar > Label { height: 1; padding: 0 1; }
    DeskBar > #bar-title { text-style: bold; background: $primary; color: $text; }
    DeskBar > #bar-desk { width: 1fr; color: $text-muted; }
    DeskBar > #bar-sync { color: $text; }
    DeskBar > #bar-sync.-waiting { color: $warning; }
    """

    def __init__(self, title: str, desk_label: str, sync: SyncState | None) -> None:
        super().__init__()
        self._title = title
        self._desk_label = desk_label
        self._sync = sync

    def compose(self) -> ComposeResult:
        yield Label(self._title, id="bar-title", markup=False)
        yield Label(self._desk_label, id="bar-desk", markup=False)
        yield Label(sync_text(self._sync), id="bar-sync", markup=False)

    def show_sync(self, state: SyncState) -> None:
        self._sync = state
        label = self.query_one("#bar-sync", Label)
        label.update(sync_text(state))
        label.set_class(state.waiting > 0 and not state.last_sync_at, "-waiting")

    def set_title(self, title: str) -> None:
        self._title = title
        self.query_one("#bar-title", Label).update(title)
