"""What the clerk types for each lifecycle action, and why an action is not possible now.

The lifecycle itself (``onestop.domain.lifecycle``) decides; this module only describes the
forms that collect an action's parameters and words a refusal before the clerk types anything,
so nobody fills in a reason only to be told the action was never allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from onestop.domain.calendar import WorkCalendar
from onestop.domain.events import Event, EventKind
from onestop.domain.lifecycle import (
    RETURN_CHANNEL_LABELS,
    SATISFACTION_LEVELS,
    DossierState,
)
from onestop.domain.reports import auto_scores
from onestop.domain.text import format_vnd
from onestop.i18n import t
from onestop.tui._format import full_dt, parse_amount, parse_datetime


@dataclass(frozen=True)
class FormField:
    key: str
    label: str  # Vietnamese source text, translated when shown
    kind: str  # text | amount | choice | datetime | scores
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (Vietnamese label, value)
    placeholder: str = ""


PAYMENT_METHODS = (
    ("Tiền mặt", "cash"),
    ("Chuyển khoản", "transfer"),
    ("Thanh toán trực tuyến", "online"),
)
_DECISIONS = (("Phê duyệt", "approved"), ("Từ chối giải quyết", "denied"))

ACTION_FIELDS: dict[EventKind, tuple[FormField, ...]] = {
    EventKind.FORWARD: (
        FormField(
            "to", "Chuyển cho", "text", required=True, placeholder="Đơn vị hoặc cán bộ nhận hồ sơ"
        ),
    ),
    EventKind.START: (
        FormField("to", "Người xử lý", "text", placeholder="Để trống nếu là chính mình"),
    ),
    EventKind.REQUEST_SUPPLEMENT: (
        FormField("reason", "Nội dung cần bổ sung", "text", required=True),
    ),
    EventKind.RECORD_SUPPLEMENT: (),
    EventKind.REQUEST_PAYMENT: (FormField("amount", "Số tiền (đồng)", "amount", required=True),),
    EventKind.RECORD_PAYMENT: (
        FormField("amount", "Số tiền (đồng)", "amount", required=True),
        FormField("method", "Hình thức nộp", "choice", choices=PAYMENT_METHODS),
    ),
    EventKind.RESOLVE: (
        FormField("decision", "Kết quả giải quyết", "choice", choices=_DECISIONS),
        FormField("reason", "Lý do", "text", placeholder="Bắt buộc khi từ chối giải quyết"),
    ),
    EventKind.MARK_READY: (),
    EventKind.RETURN_RESULT: (
        FormField(
            "channel",
            "Hình thức trả",
            "choice",
            choices=tuple((label, str(ch)) for ch, label in RETURN_CHANNEL_LABELS.items()),
        ),
    ),
    EventKind.WITHDRAW: (FormField("reason", "Lý do dừng giải quyết", "text", required=True),),
    EventKind.EXTEND: (
        FormField("reason", "Lý do chậm trả kết quả", "text", required=True),
        FormField(
            "new_due", "Hẹn trả mới", "datetime", required=True, placeholder="25/11/2026 17:00"
        ),
    ),
    EventKind.EVALUATE: (
        FormField(
            "scores", "Điểm 9 tiêu chí (0–2)", "scores", required=True, placeholder="222222222"
        ),
        FormField(
            "satisfaction",
            "Mức độ hài lòng",
            "choice",
            choices=tuple((label, str(level)) for level, label in SATISFACTION_LEVELS.items()),
        ),
    ),
    EventKind.REFUSE: (FormField("reason", "Lý do từ chối", "text", required=True),),
}

# Actions that close a door for good (once-only rules, decisions, handing over): these ask
# for a y/n confirmation after the form. Every action is an append-only event, but these are
# the ones a slip of the finger cannot be corrected by the next ordinary step.
IRREVERSIBLE = frozenset(
    {
        EventKind.REQUEST_SUPPLEMENT,
        EventKind.RESOLVE,
        EventKind.RETURN_RESULT,
        EventKind.WITHDRAW,
        EventKind.EXTEND,
        EventKind.EVALUATE,
        EventKind.REFUSE,
    }
)


UNKNOWN_SCORE = "?"


def prefilled_scores(state: DossierState, events: Sequence[Event]) -> str:
    """The 9 indicators as the log knows them (``domain.reports.auto_scores``): a digit where
    the log decides (time against the legal limit, supplement requests, one-place service),
    ``?`` where only the citizen can answer."""
    return "".join(UNKNOWN_SCORE if s is None else str(s) for s in auto_scores(state, events))


def initial_values(
    kind: EventKind,
    state: DossierState | None,
    cal: WorkCalendar,
    events: Sequence[Event] = (),
) -> dict[str, str]:
    """Sensible starting values so the common case is one Enter away."""
    values: dict[str, str] = {}
    if state is None:
        return values
    if kind == EventKind.EVALUATE and events:
        values["scores"] = prefilled_scores(state, events)
    owed = max(state.fee_vnd - state.fee_paid, 0)
    if kind in (EventKind.REQUEST_PAYMENT, EventKind.RECORD_PAYMENT) and owed:
        values["amount"] = str(owed)
    if kind == EventKind.EXTEND and state.due_at is not None:
        day = cal.add_working_days(state.due_at.date(), 3)
        values["new_due"] = datetime.combine(day, state.due_at.time()).strftime("%d/%m/%Y %H:%M")
    return values


def form_hint(kind: EventKind, state: DossierState | None, events: Sequence[Event] = ()) -> str:
    if state is None:
        return ""
    if kind == EventKind.EVALUATE and events:
        scores = prefilled_scores(state, events)
        auto = ", ".join(
            f"TC{i} = {s}" for i, s in enumerate(scores, start=1) if s != UNKNOWN_SCORE
        )
        return t(
            "9 tiêu chí theo TT 01/2018, mỗi tiêu chí 0, 1 hoặc 2 điểm. Tự động theo nhật ký: "
            "{auto}. Thay mỗi dấu ? bằng điểm người dân chấm.",
            auto=auto,
        )
    if kind == EventKind.EXTEND:
        return t("Hạn hiện tại: {due}. Chỉ gia hạn được một lần.", due=full_dt(state.due_at))
    if kind == EventKind.REQUEST_SUPPLEMENT:
        return t("Chỉ được yêu cầu bổ sung một lần; thời hạn tạm dừng cho đến khi nhận đủ.")
    if kind in (EventKind.REQUEST_PAYMENT, EventKind.RECORD_PAYMENT):
        return t(
            "Phí, lệ phí: {fee}; đã nộp: {paid}.",
            fee=format_vnd(state.fee_vnd),
            paid=format_vnd(state.fee_paid),
        )
    if kind == EventKind.EVALUATE:
        return t("9 tiêu chí theo TT 01/2018, mỗi tiêu chí 0, 1 hoặc 2 điểm.")
    return ""


def parse_scores(text: str) -> list[int]:
    digits = [ch for ch in text if not ch.isspace() and ch not in ",;"]
    missing = [f"TC{i}" for i, ch in enumerate(digits, start=1) if ch == UNKNOWN_SCORE]
    if missing and len(digits) == 9:
        raise ValueError(
            t(
                "Còn {n} tiêu chí chưa có điểm (dấu ?): {which}. Hỏi người dân rồi nhập 0, 1 hoặc 2.",
                n=len(missing),
                which=", ".join(missing),
            )
        )
    if len(digits) != 9 or any(ch not in "012" for ch in digits):
        raise ValueError(t("Cần đúng 9 điểm, mỗi điểm 0, 1 hoặc 2, ví dụ 222212222."))
    return [int(ch) for ch in digits]


def parse_form(kind: EventKind, values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Turn typed values into action params; errors are per field, in Vietnamese."""
    params: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in ACTION_FIELDS[kind]:
        raw = values.get(f.key, "").strip()
        if not raw:
            if f.required:
                errors[f.key] = t("Chưa nhập «{label}».", label=t(f.label))
            continue
        try:
            if f.kind == "amount":
                params[f.key] = parse_amount(raw)
            elif f.kind == "datetime":
                params[f.key] = parse_datetime(raw)
            elif f.kind == "scores":
                params[f.key] = parse_scores(raw)
            elif f.key == "satisfaction":
                params[f.key] = int(raw)
            else:
                params[f.key] = raw
        except ValueError as e:
            errors[f.key] = str(e)
    return params, errors
