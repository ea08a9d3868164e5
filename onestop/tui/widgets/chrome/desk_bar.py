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

from onestop.i18n import t, tn
from onestop.tui._sync import explain, relative_vi
from onestop.tui.messages import SyncState


def sync_text(state: SyncState | None, now: datetime | None = None) -> str:
    """One short line: running, the last success (relative), the error in a few words, events
    waiting, and a clock-skew flag. A desk that never synced says so with its count waiting."""
    if state is None:
        return t("Đồng bộ: …")
    if state.running:
        head = t("Đang đồng bộ…")
    elif state.offline_level == "blocked":
        head = t("Ngừng tiếp nhận: {n} ngày chưa đồng bộ", n=state.offline_days)
    elif state.offline_level in ("warn", "unlocked"):
        head = tn("{n} ngày chưa đồng bộ", state.offline_days or 0)
    elif state.enrolled and state.error:
        head = t("Lỗi đồng bộ: {what}", what=explain(state.error).short)
    elif state.enrolled and state.last_ok_at is not None and now is not None:
        head = t("Đồng bộ {when}", when=relative_vi(state.last_ok_at, now))
    elif state.last_sync_at:
        try:
            when = datetime.fromisoformat(state.last_sync_at).strftime("%H:%M %d/%m")
        except ValueError:
            when = state.last_sync_at
        head = t("Đồng bộ {when}", when=when)
    else:
        head = t("Chưa đồng bộ")
    text = tn("{head} · {n} sự kiện chờ gửi", state.waiting, head=head)
    if state.files_waiting:  # said only when there are some: most desks scan nothing yet
        text += " · " + tn("{n} tệp chờ gửi", state.files_waiting)
    if state.skew_flagged:
        text += " · " + t("lệch giờ")
    return text


class DeskBar(Horizontal):
    DEFAULT_CSS = """
    DeskBar {
        dock: top;
        height: 1;
        background: $panel;
    }
    DeskBar > Label { height: 1; padding: 0 1; }
    DeskBar > #bar-title { text-style: bold; background: $primary; color: $text; }
    DeskBar > #bar-desk { width: 1fr; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
    DeskBar > #bar-sync { color: $text; }
    DeskBar > #bar-sync.-waiting { color: $warning; }
    DeskBar > #bar-sync.-error { color: $error; text-style: bold; }
    """

    def __init__(self, title: str, desk_label: str, sync: SyncState | None) -> None:
        super().__init__()
        self._title = title
        self._desk_label = desk_label
        self._sync = sync

    def compose(self) -> ComposeResult:
        yield Label(self._title, id="bar-title", markup=False)
        yield Label(self._desk_label, id="bar-desk", markup=False)
        yield Label(sync_text(self._sync, self._now()), id="bar-sync", markup=False)

    def on_mount(self) -> None:
        # A bar born on a new screen shows an error in colour at once; the "waiting" colour
        # still arrives with the next reading, as before (the snapshots depend on it).
        if self._sync is not None:
            self.query_one("#bar-sync", Label).set_class(self._error(self._sync), "-error")

    @staticmethod
    def _error(state: SyncState) -> bool:
        return (
            bool(state.enrolled and state.error and not state.running)
            or state.skew_flagged
            or state.offline_level in ("warn", "blocked", "unlocked")
        )

    def _now(self) -> datetime | None:
        now = getattr(self.app, "now", None)
        return now() if callable(now) else None

    def _style(self, state: SyncState) -> None:
        label = self.query_one("#bar-sync", Label)
        label.set_class(state.waiting > 0 and not state.last_sync_at, "-waiting")
        label.set_class(self._error(state), "-error")

    def show_sync(self, state: SyncState) -> None:
        self._sync = state
        self.query_one("#bar-sync", Label).update(sync_text(state, self._now()))
        self._style(state)

    def set_desk_label(self, label: str) -> None:
        """Another person took the desk (Ctrl+O): the bar names who acts now."""
        self._desk_label = label
        self.query_one("#bar-desk", Label).update(label)

    def set_title(self, title: str) -> None:
        self._title = title
        self.query_one("#bar-title", Label).update(title)
