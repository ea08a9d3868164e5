"""A dossier's history as a table: when, what, who, handed to whom (the "phiếu kiểm soát")."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from onestop.domain.events import Event, EventKind, from_epoch
from onestop.domain.fields import escape_display
from onestop.domain.lifecycle import (
    RETURN_CHANNEL_LABELS,
    SATISFACTION_LEVELS,
    ReturnChannel,
    action_label,
)
from onestop.domain.text import format_vnd
from onestop.i18n import t
from onestop.tui._actions import PAYMENT_METHODS
from onestop.tui._format import channel_label, full_dt, role_label

_METHODS = {value: label for label, value in PAYMENT_METHODS}


def event_title(e: Event) -> str:
    if e.kind == EventKind.RESOLVE:
        return t("Phê duyệt") if e.data.get("decision") == "approved" else t("Từ chối giải quyết")
    return action_label(e.kind)


def event_detail(e: Event) -> str:
    """The facts of one event in one line: recipient, reason, amount, channel, new due date."""
    d = e.data
    parts: list[str] = []
    if d.get("to"):
        parts.append(t("→ {to}", to=d["to"]))
    if e.kind == EventKind.RECEIVE and d.get("channel"):
        parts.append(channel_label(str(d["channel"])))
    if e.kind == EventKind.RETURN_RESULT and d.get("channel") in set(ReturnChannel):
        parts.append(t(RETURN_CHANNEL_LABELS[ReturnChannel(d["channel"])]))
    if isinstance(d.get("amount"), int):
        parts.append(format_vnd(d["amount"]))
    if d.get("method") in _METHODS:
        parts.append(t(_METHODS[d["method"]]))
    if d.get("reason"):
        parts.append(t("Lý do: {reason}", reason=d["reason"]))
    if isinstance(d.get("due"), int):
        label = t("Hẹn trả") if e.kind == EventKind.RECEIVE else t("Hẹn mới")
        parts.append(f"{label}: {full_dt(from_epoch(d['due']))}")
    if e.kind == EventKind.EVALUATE and isinstance(d.get("scores"), list):
        level = SATISFACTION_LEVELS.get(d.get("satisfaction", 0), "")
        parts.append(t("{n}/18 điểm; {level}", n=sum(d["scores"]), level=t(level) if level else ""))
    if e.note:
        parts.append(t("Ghi chú: {note}", note=e.note))
    return "; ".join(parts)


class Timeline(DataTable[Text]):
    DEFAULT_CSS = """
    Timeline { scrollbar-size-vertical: 1; }
    """

    # 11+24+14+22 = 71 cells + 8 of padding: fits 80 columns; the full line of the highlighted
    # event is shown under the table, so nothing is lost to the column widths.
    COLUMNS = (
        ("at", "Thời điểm", 11),
        ("what", "Thao tác", 24),
        ("who", "Cán bộ", 14),
        ("detail", "Chi tiết", 22),
    )

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.events: list[Event] = []

    def on_mount(self) -> None:
        for key, label, width in self.COLUMNS:
            self.add_column(t(label), width=width, key=key)

    def show_events(self, events: Sequence[Event]) -> None:
        keys = [f"{e.desk_id}#{e.seq}" for e in events]
        if keys == [str(r.key.value) for r in self.ordered_rows]:
            return
        self.events = list(events)
        self.clear()
        for key, e in zip(keys, events, strict=True):
            # Text, never str: a str cell is parsed as Rich markup, and a note may contain "[".
            # escape_display: an event from another desk may carry ESC or bidi overrides.
            cells = (e.at.strftime("%d/%m %H:%M"), event_title(e), e.actor, event_detail(e))
            self.add_row(*(Text(escape_display(c)) for c in cells), key=key)
        if events:
            self.move_cursor(row=len(events) - 1)

    def full_line(self, row: int) -> str:
        if not 0 <= row < len(self.events):
            return ""
        e = self.events[row]
        detail = event_detail(e)
        head = t(
            "{at} · {what} · {who} ({role})",
            at=full_dt(e.at),
            what=event_title(e),
            who=e.actor,
            role=role_label(e.role),
        )
        head, detail = escape_display(head), escape_display(detail)
        return f"{head}\n{detail}" if detail else head
