"""Small text helpers shared by the desk's screens: dates, due badges, parsing what clerks type.

Everything returned here is already translated with ``t()``; styles are the names of the
classes in ``app.tcss`` (``-overdue``, ``-near``, ``-ok``, ``-paused``, ``-done``) and the
matching Rich colour names for DataTable cells, chosen from the 16 ANSI colours so the badges
survive a 16-colour terminal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from onestop.domain.calendar import WorkCalendar
from onestop.domain.deadlines import Timeliness, classify, working_days_left
from onestop.domain.lifecycle import CHANNEL_LABELS, Channel, DossierState, Status
from onestop.i18n import t

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")

# Badge kind -> (theme colour, bold). DataTable cells are Rich text, which knows nothing of
# Textual's $variables, so the colours are read from the theme in force (``badge_styles``).
_BADGE_COLOURS = {
    "overdue": ("error", True),
    "near": ("warning", True),
    "ok": ("success", False),
    "paused": ("secondary", False),
    "done": ("", False),
    "none": ("", False),
}
# ANSI themes name their colours "ansi_red"...; Rich calls the same colours "red"...
_ANSI_FALLBACK = {"error": "red", "warning": "yellow", "success": "green", "secondary": "cyan"}


def badge_styles(theme: object) -> dict[str, str]:
    """Rich styles of the due badges in ``theme`` (a ``textual.theme.Theme``)."""
    styles: dict[str, str] = {}
    for kind, (slot, bold) in _BADGE_COLOURS.items():
        colour = str(getattr(theme, slot, "") or "") if slot else ""
        if colour and not colour.startswith("#"):
            colour = _ANSI_FALLBACK.get(slot, "")
        styles[kind] = " ".join(x for x in ("bold" if bold else "", colour) if x)
    return styles


def weekday_vi(d: date) -> str:
    return t(WEEKDAYS[d.weekday()])


def short_dt(dt: datetime | None) -> str:
    """``20/11 17:00``: the list column format (the year is the current one nearly always)."""
    return dt.strftime("%d/%m %H:%M") if dt else "—"


def full_dt(dt: datetime | None) -> str:
    """``17:00 20/11/2026``: used wherever a dossier's dates are shown in full."""
    return dt.strftime("%H:%M %d/%m/%Y") if dt else "—"


def short_code(code: str, unit_eid: str) -> str:
    """Drop the desk's own unit prefix from a dossier code: ``261120-010002`` fits a list column.

    Codes of other units (synced from another desk) stay whole, so no two rows look alike.
    """
    prefix = unit_eid + "-"
    return code[len(prefix) :] if code.startswith(prefix) else code


@dataclass(frozen=True)
class DueBadge:
    text: str
    kind: str  # overdue | near | ok | paused | done | none


def due_badge(state: DossierState, now: datetime, cal: WorkCalendar) -> DueBadge:
    """How the due date stands now, in words: overdue / due today / days left / paused / done."""
    if state.due_at is None:
        return DueBadge(t("Không có hạn cụ thể"), "none")
    if state.status == Status.SUPPLEMENT_REQUESTED:
        return DueBadge(t("Tạm dừng: chờ bổ sung"), "paused")
    if not state.clock_running:
        done_at = state.finished_at or state.resolved_at
        if done_at is None:
            return DueBadge(t("Đã xử lý"), "done")
        timeliness = classify(done_at, state.due_at)
        label = {
            Timeliness.EARLY: t("Xong trước hạn"),
            Timeliness.ON_TIME: t("Xong đúng hạn"),
            Timeliness.LATE: t("Xong quá hạn"),
        }[timeliness]
        return DueBadge(label, "done")
    left = working_days_left(now, state.due_at, cal)
    if state.due_at < now:
        return DueBadge(t("Quá hạn {n} ngày làm việc", n=max(1, -left)), "overdue")
    if left == 0:
        return DueBadge(t("Đến hạn hôm nay"), "near")
    if left <= 2:
        return DueBadge(t("Còn {n} ngày làm việc", n=left), "near")
    return DueBadge(t("Còn {n} ngày làm việc", n=left), "ok")


_DAY_RE = re.compile(r"\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*")
_DT_RE = re.compile(r"\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s+(\d{1,2}):(\d{2})\s*")


def parse_day(text: str) -> date:
    """``dd/mm/yyyy`` as clerks write dates; ``ValueError`` with a Vietnamese message."""
    m = _DAY_RE.fullmatch(text)
    if m is None:
        raise ValueError(t("Ngày phải có dạng ngày/tháng/năm, ví dụ 02/09/2026."))
    try:
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        raise ValueError(t("Ngày {text} không có thật.", text=text.strip())) from None


def parse_datetime(text: str) -> datetime:
    """``dd/mm/yyyy hh:mm``; ``ValueError`` with a Vietnamese message."""
    m = _DT_RE.fullmatch(text)
    if m is None:
        raise ValueError(
            t("Ngày giờ phải có dạng ngày/tháng/năm giờ:phút, ví dụ 25/11/2026 17:00.")
        )
    try:
        return datetime(
            int(m.group(3)), int(m.group(2)), int(m.group(1)), int(m.group(4)), int(m.group(5))
        )
    except ValueError:
        raise ValueError(t("Ngày giờ {text} không có thật.", text=text.strip())) from None


def parse_amount(text: str) -> int:
    """Money as typed: ``10000``, ``10.000``, ``10 000`` or ``10.000 đ``; ``ValueError`` otherwise."""
    cleaned = re.sub(r"[\s.,]|đ$|d$", "", text.strip().lower())
    if not cleaned.isdigit():
        raise ValueError(t("Số tiền phải là số nguyên không âm (đồng), ví dụ 50.000."))
    return int(cleaned)


# Short status words for an 80-column list; the detail screen uses the full legal labels.
STATUS_SHORT: dict[Status, str] = {
    Status.RECEIVED: "Mới tiếp nhận",
    Status.FORWARDED: "Đã chuyển",
    Status.PROCESSING: "Đang xử lý",
    Status.SUPPLEMENT_REQUESTED: "Chờ bổ sung",
    Status.PAYMENT_REQUESTED: "Chờ nộp phí",
    Status.RESOLVED: "Đã giải quyết",
    Status.RESULT_READY: "Chờ trả",
    Status.RETURNED: "Đã trả",
    Status.REFUSED: "Từ chối",
    Status.WITHDRAWN: "Đã rút",
}


def status_short(status: Status) -> str:
    return t(STATUS_SHORT[status])


ROLE_LABELS = {
    "clerk": "Cán bộ một cửa",
    "specialist": "Chuyên viên",
    "leader": "Lãnh đạo",
    "admin": "Quản trị",
}


def role_label(role: str) -> str:
    return t(ROLE_LABELS[role]) if role in ROLE_LABELS else role


def channel_label(value: str) -> str:
    """The intake channel in words; an unknown value (from a newer desk) is shown as is."""
    return t(CHANNEL_LABELS[Channel(value)]) if value in set(Channel) else value
