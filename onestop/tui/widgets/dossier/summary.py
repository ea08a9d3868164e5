"""The head of the dossier detail: who, what, when due (coloured by how near), money, handler."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.widgets import Static

from onestop.domain.calendar import WorkCalendar
from onestop.domain.fee_state import fee_line
from onestop.domain.fields import escape_display
from onestop.domain.lifecycle import DossierState, status_label
from onestop.i18n import t
from onestop.tui._format import badge_styles, channel_label, due_badge, full_dt


def _escaped(state: DossierState) -> DossierState:
    """The state with every text made terminal-safe (it may come from another desk's events)."""
    changes: dict[str, Any] = {
        f.name: escape_display(v)
        for f in fields(state)
        if isinstance(v := getattr(state, f.name), str)
    }
    changes["proxy"] = {k: escape_display(v) for k, v in state.proxy.items()}
    return replace(state, **changes)


def summary_text(
    state: DossierState, now: datetime, cal: WorkCalendar, styles: dict[str, str]
) -> Text:
    # Text, never markup; and control/bidi characters shown as visible escapes.
    state = _escaped(state)
    badge = due_badge(state, now, cal)
    out = Text()
    out.append(state.code, style="bold")
    out.append("  ")
    out.append(f" {status_label(state.status)} ", style="reverse")
    out.append("\n")
    who = [state.applicant_name]
    if state.applicant_id:
        who.append(t("CCCD {n}", n=state.applicant_id))
    if state.applicant_phone:
        who.append(t("ĐT {n}", n=state.applicant_phone))
    out.append(t("Người nộp: "), style="bold")
    out.append(" · ".join(who))
    if state.proxy.get("name"):
        out.append(t(" (nộp thay: {name})", name=state.proxy["name"]))
    out.append("\n")
    out.append(t("Thủ tục: "), style="bold")
    out.append(
        t(
            "{code} (phiên bản {v}) {name}",
            code=state.procedure_code,
            v=state.procedure_version,
            name=state.procedure_name,
        )
    )
    out.append("\n")
    channel = channel_label(state.channel)
    out.append(t("Tiếp nhận: "), style="bold")
    out.append(f"{full_dt(state.received_at)} · {channel}\n")
    out.append(t("Hẹn trả: "), style="bold")
    out.append(full_dt(state.due_at) + " ")
    out.append(f"[{badge.text}]", style=styles[badge.kind] or "italic")
    out.append("\n")
    out.append(t("Phí, lệ phí: "), style="bold")
    out.append(fee_line(state.fee_vnd, state.fee_paid))
    if state.handler:
        out.append(" · ")
        out.append(t("Đang giữ: "), style="bold")
        out.append(state.handler)
    reason = state.refusal_reason or state.decision_reason
    if reason:
        out.append("\n")
        out.append(t("Lý do: "), style="bold")
        out.append(reason)
    return out


class DossierSummary(Static):
    DEFAULT_CSS = """
    DossierSummary { height: auto; padding: 0 1; }
    """

    def show(self, state: DossierState, now: datetime, cal: WorkCalendar) -> None:
        self.update(summary_text(state, now, cal, badge_styles(self.app.current_theme)))
