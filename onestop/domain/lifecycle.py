"""The dossier lifecycle (REFERENCE.md §2): statuses, allowed actions, and the projection.

Two pure functions carry all the rules:

* ``decide(state, action, params, now, calendar)`` checks that ``action`` is legal now and
  returns the event data to append (computing due dates with the calendar), or raises
  ``LifecycleError`` naming the current status and the actions that *are* allowed.
* ``apply(state, event)`` folds one event into the dossier's state. It only reads event data
  (never the calendar), so replaying the log on any machine, years later, rebuilds exactly the
  state the clerk saw — even after the calendar was edited.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from enum import StrEnum
from typing import Any

from onestop.domain.calendar import WorkCalendar
from onestop.domain.deadlines import (
    TimeUnit,
    can_extend,
    extension_deadline,
    resume_due,
)
from onestop.domain.events import (
    SYSTEM_KINDS,
    Event,
    EventKind,
    from_epoch,
    is_unknown,
    to_epoch,
)
from onestop.domain.fields import FieldError, clean_field
from onestop.domain.payments import PaymentError, check_payment, payment_method
from onestop.i18n import t


class Status(StrEnum):
    RECEIVED = "received"
    FORWARDED = "forwarded"
    PROCESSING = "processing"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    PAYMENT_REQUESTED = "payment_requested"
    RESOLVED = "resolved"
    RESULT_READY = "result_ready"
    RETURNED = "returned"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


STATUS_LABELS: dict[Status, str] = {
    Status.RECEIVED: "Đã tiếp nhận",
    Status.FORWARDED: "Đã chuyển xử lý",
    Status.PROCESSING: "Đang xử lý",
    Status.SUPPLEMENT_REQUESTED: "Chờ bổ sung hồ sơ",
    Status.PAYMENT_REQUESTED: "Chờ thực hiện nghĩa vụ tài chính",
    Status.RESOLVED: "Đã giải quyết",
    Status.RESULT_READY: "Đã có kết quả, chờ trả",
    Status.RETURNED: "Đã trả kết quả",
    Status.REFUSED: "Từ chối tiếp nhận",
    Status.WITHDRAWN: "Đã dừng giải quyết (rút hồ sơ)",
}

ACTION_LABELS: dict[EventKind, str] = {
    EventKind.RECEIVE: "Tiếp nhận hồ sơ",
    EventKind.REFUSE: "Từ chối tiếp nhận",
    EventKind.FORWARD: "Chuyển xử lý",
    EventKind.START: "Nhận xử lý",
    EventKind.REQUEST_SUPPLEMENT: "Yêu cầu bổ sung hồ sơ",
    EventKind.RECORD_SUPPLEMENT: "Nhận hồ sơ bổ sung",
    EventKind.REQUEST_PAYMENT: "Yêu cầu thực hiện nghĩa vụ tài chính",
    EventKind.RECORD_PAYMENT: "Ghi nhận đã nộp phí, lệ phí",
    EventKind.RESOLVE: "Giải quyết (phê duyệt hoặc từ chối)",
    EventKind.MARK_READY: "Chuyển kết quả về Bộ phận Một cửa",
    EventKind.RETURN_RESULT: "Trả kết quả",
    EventKind.WITHDRAW: "Dừng giải quyết (công dân rút hồ sơ)",
    EventKind.EXTEND: "Xin lỗi và gia hạn",
    EventKind.EVALUATE: "Ghi nhận đánh giá của công dân",
    EventKind.CONFLICT: "Cảnh báo: hai quầy thao tác cùng lúc khi chưa đồng bộ",
    EventKind.CONFLICT_SEEN: "Đã xem cảnh báo thao tác cùng lúc",
    EventKind.ATTACH: "Đính kèm bản số hóa",
    EventKind.DETACH: "Gỡ bản số hóa",
}


def status_label(s: Status | str) -> str:
    return t(STATUS_LABELS[Status(s)])


#: How the history lists an event of a newer onestop (events.unknown_kind): stored and synced,
#: not understood, until this program is updated (then it is folded in, store/replay.py).
UNKNOWN_ACTION_LABEL = "Cần cập nhật phần mềm để hiển thị"


def action_label(a: EventKind | str) -> str:
    if isinstance(a, EventKind) and is_unknown(a):
        return t(UNKNOWN_ACTION_LABEL)
    try:
        kind = EventKind(a)
    except ValueError:  # a stored row's "unknown:<code>" kind, read back as text
        return t(UNKNOWN_ACTION_LABEL)
    return t(ACTION_LABELS[kind])


class Channel(StrEnum):
    """Intake channel (KenhThucHien): trực tiếp / trực tuyến / bưu chính công ích."""

    IN_PERSON = "in_person"
    ONLINE = "online"
    POST = "post"


class ReturnChannel(StrEnum):
    DESK = "desk"
    POST = "post"
    ELECTRONIC = "electronic"


CHANNEL_LABELS = {
    Channel.IN_PERSON: "Trực tiếp",
    Channel.ONLINE: "Trực tuyến",
    Channel.POST: "Bưu chính công ích",
}
RETURN_CHANNEL_LABELS = {
    ReturnChannel.DESK: "Tại Bộ phận Một cửa",
    ReturnChannel.POST: "Qua bưu chính công ích",
    ReturnChannel.ELECTRONIC: "Trực tuyến (bản điện tử)",
}


class Decision(StrEnum):
    APPROVED = "approved"
    DENIED = "denied"


# The law's transition table. Actions not listed for a status are refused with the list below.
ALLOWED: dict[Status | None, tuple[EventKind, ...]] = {
    None: (EventKind.RECEIVE, EventKind.REFUSE),
    Status.RECEIVED: (
        EventKind.FORWARD,
        EventKind.START,
        EventKind.REQUEST_SUPPLEMENT,
        EventKind.REQUEST_PAYMENT,
        EventKind.RECORD_PAYMENT,
        EventKind.RESOLVE,
        EventKind.EXTEND,
        EventKind.WITHDRAW,
        EventKind.REFUSE,
    ),
    Status.FORWARDED: (
        EventKind.START,
        EventKind.FORWARD,
        EventKind.REQUEST_SUPPLEMENT,
        EventKind.REQUEST_PAYMENT,
        EventKind.RECORD_PAYMENT,
        EventKind.RESOLVE,
        EventKind.EXTEND,
        EventKind.WITHDRAW,
    ),
    Status.PROCESSING: (
        EventKind.FORWARD,
        EventKind.REQUEST_SUPPLEMENT,
        EventKind.REQUEST_PAYMENT,
        EventKind.RECORD_PAYMENT,
        EventKind.RESOLVE,
        EventKind.EXTEND,
        EventKind.WITHDRAW,
    ),
    Status.SUPPLEMENT_REQUESTED: (EventKind.RECORD_SUPPLEMENT, EventKind.WITHDRAW),
    Status.PAYMENT_REQUESTED: (EventKind.RECORD_PAYMENT, EventKind.EXTEND, EventKind.WITHDRAW),
    Status.RESOLVED: (EventKind.MARK_READY, EventKind.REQUEST_PAYMENT, EventKind.RECORD_PAYMENT),
    Status.RESULT_READY: (
        EventKind.RETURN_RESULT,
        EventKind.REQUEST_PAYMENT,
        EventKind.RECORD_PAYMENT,
    ),
    Status.RETURNED: (EventKind.EVALUATE,),
    Status.REFUSED: (),
    Status.WITHDRAWN: (),
}

# Statuses in which the legal clock runs (used for "due today" / "overdue" and reports).
CLOCK_RUNNING = frozenset(
    {Status.RECEIVED, Status.FORWARDED, Status.PROCESSING, Status.PAYMENT_REQUESTED}
)


class LifecycleError(ValueError):
    """An action the law does not allow now. ``str(e)`` is a sentence a clerk can act on."""

    def __init__(
        self, message: str, *, status: Status | None = None, allowed: tuple[EventKind, ...] = ()
    ):
        super().__init__(message)
        self.status = status
        self.allowed = allowed


@dataclass(frozen=True)
class DossierState:
    code: str
    owner_desk: str
    procedure_code: str
    procedure_version: int
    procedure_name: str
    field: str
    time_unit: str
    time_value: int | None
    applicant_name: str
    applicant_id: str
    applicant_phone: str
    applicant_address: str
    applicant_email: str
    proxy: dict[str, str]
    channel: str
    documents: tuple[str, ...]
    fee_vnd: int
    received_at: datetime
    due_at: datetime | None
    status: Status
    original_due_at: datetime | None = None
    fee_paid: int = 0
    handler: str = ""
    decision: str | None = None
    decision_reason: str = ""
    paused_at: datetime | None = None
    resume_status: Status | None = None
    supplement_count: int = 0
    extension_count: int = 0
    resolved_at: datetime | None = None
    finished_at: datetime | None = None
    returned_at: datetime | None = None
    return_channel: str | None = None
    refusal_reason: str = ""
    evaluation: dict[str, Any] = dc_field(default_factory=dict)
    last_event_at: datetime | None = None
    event_count: int = 0

    def allowed_actions(self) -> tuple[EventKind, ...]:
        return allowed_actions(self)

    @property
    def clock_running(self) -> bool:
        return self.status in CLOCK_RUNNING and self.due_at is not None


def allowed_actions(state: DossierState | None) -> tuple[EventKind, ...]:
    """What the lifecycle allows now, with the once-only rules applied."""
    if state is None:
        return ALLOWED[None]
    acts = list(ALLOWED[state.status])
    if state.supplement_count >= 1 and EventKind.REQUEST_SUPPLEMENT in acts:
        acts.remove(EventKind.REQUEST_SUPPLEMENT)
    if (state.extension_count >= 1 or state.due_at is None) and EventKind.EXTEND in acts:
        acts.remove(EventKind.EXTEND)
    if state.decision is not None and EventKind.WITHDRAW in acts:
        acts.remove(EventKind.WITHDRAW)
    if state.evaluation and EventKind.EVALUATE in acts:
        acts.remove(EventKind.EVALUATE)
    if state.fee_paid >= state.fee_vnd and state.status != Status.PAYMENT_REQUESTED:
        # Nothing is owed: recording a payment out of the blue is a mistake. Asking for one
        # stays possible (financial obligations are often known only during processing).
        if EventKind.RECORD_PAYMENT in acts:
            acts.remove(EventKind.RECORD_PAYMENT)
    return tuple(acts)


def _refuse(
    state: DossierState | None, action: EventKind, reason: str | None = None
) -> LifecycleError:
    allowed = allowed_actions(state)
    if state is None:
        current = t("chưa có hồ sơ")
    else:
        current = status_label(state.status)
    names = ", ".join(action_label(a) for a in allowed) or t("không còn thao tác nào")
    head = reason or t("Không thể thực hiện «{action}».", action=action_label(action))
    msg = t(
        "{head} Trạng thái hiện tại: {current}. Thao tác được phép: {names}.",
        head=head,
        current=current,
        names=names,
    )
    return LifecycleError(msg, status=state.status if state else None, allowed=allowed)


def _text(params: dict[str, Any], key: str) -> str:
    """An optional text parameter, through the field policy (domain/fields.py)."""
    value = params.get(key)
    try:
        return clean_field(key, value if isinstance(value, str) or value is None else str(value))
    except FieldError as e:
        raise LifecycleError(str(e)) from None


def _need(params: dict[str, Any], key: str, message: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value.strip():
        raise LifecycleError(t(message))
    cleaned = _text(params, key)
    if not cleaned:
        raise LifecycleError(t(message))
    return cleaned


def decide(
    state: DossierState | None,
    action: EventKind,
    params: dict[str, Any],
    now: datetime,
    calendar: WorkCalendar,
    *,
    partial_payment: bool = False,
) -> dict[str, Any]:
    """Validate ``action`` against the law and return the event data to append.

    Intake (RECEIVE/REFUSE with no state) is prepared by the intake service, which already
    computed the due date and fixed the procedure version; here we only check the rules that
    depend on the dossier's history. ``partial_payment``: whether a payment may be less than
    what is owed (``domain/payments.partial_allowed``, from the dossier's fee basis).
    """
    if action not in ALLOWED[state.status if state else None]:
        raise _refuse(state, action)
    data: dict[str, Any] = {}

    if action in (EventKind.RECEIVE, EventKind.REFUSE) and state is None:
        if action == EventKind.REFUSE:
            _need(params, "reason", "Phải ghi rõ lý do từ chối tiếp nhận hồ sơ.")
        return dict(params)
    assert state is not None
    if action == EventKind.WITHDRAW and state.decision is not None:
        raise _refuse(
            state, action, t("Hồ sơ đã có quyết định giải quyết nên không thể dừng giải quyết.")
        )
    if action == EventKind.EVALUATE and state.evaluation:
        raise _refuse(state, action, t("Hồ sơ này đã được ghi nhận đánh giá."))
    if action not in allowed_actions(state) and action not in (
        EventKind.REQUEST_SUPPLEMENT,
        EventKind.EXTEND,
    ):
        raise _refuse(state, action)

    if action == EventKind.REFUSE:
        data["reason"] = _need(params, "reason", "Phải ghi rõ lý do từ chối tiếp nhận hồ sơ.")
    elif action == EventKind.FORWARD:
        data["to"] = _need(
            params, "to", "Phải ghi rõ chuyển hồ sơ cho ai (đơn vị hoặc cán bộ nhận)."
        )
    elif action == EventKind.START:
        if params.get("to"):
            data["to"] = _text(params, "to")
            if not data["to"]:
                del data["to"]
    elif action == EventKind.REQUEST_SUPPLEMENT:
        if state.supplement_count >= 1:
            raise _refuse(
                state,
                action,
                t("Chỉ được yêu cầu bổ sung, hoàn thiện hồ sơ một lần (NĐ 118/2025, Điều 11)."),
            )
        data["reason"] = _need(params, "reason", "Phải ghi rõ nội dung cần bổ sung, hoàn thiện.")
    elif action == EventKind.RECORD_SUPPLEMENT:
        assert state.paused_at is not None
        if state.due_at is not None:
            new_due = resume_due(
                state.due_at, state.paused_at, now, TimeUnit(state.time_unit), calendar
            )
            data["due"] = to_epoch(new_due)
    elif action == EventKind.REQUEST_PAYMENT:
        amount = _amount(params.get("amount", state.fee_vnd - state.fee_paid))
        if amount <= 0:
            raise LifecycleError(t("Phải ghi số tiền phí, lệ phí cần nộp (lớn hơn 0 đồng)."))
        data["amount"] = amount
    elif action == EventKind.RECORD_PAYMENT:
        owed = state.fee_vnd - state.fee_paid
        amount = _amount(params.get("amount", owed))
        try:
            check_payment(amount, owed, partial=partial_payment)
            method = payment_method(_text(params, "method"))
        except PaymentError as e:
            raise LifecycleError(str(e)) from None
        data["amount"] = amount
        data["method"] = method.value
    elif action == EventKind.RESOLVE:
        decision = params.get("decision", Decision.APPROVED)
        try:
            data["decision"] = Decision(decision).value
        except ValueError:
            raise LifecycleError(
                t("Kết quả giải quyết phải là «approved» (phê duyệt) hoặc «denied» (từ chối).")
            ) from None
        if data["decision"] == Decision.DENIED:
            data["reason"] = _need(params, "reason", "Từ chối giải quyết phải ghi rõ lý do.")
        elif params.get("reason"):
            reason = _text(params, "reason")
            if reason:
                data["reason"] = reason
    elif action == EventKind.RETURN_RESULT:
        channel = params.get("channel", ReturnChannel.DESK)
        try:
            data["channel"] = ReturnChannel(channel).value
        except ValueError:
            raise LifecycleError(
                t(
                    "Hình thức trả kết quả phải là desk (tại quầy), post (bưu chính) hoặc electronic (trực tuyến)."
                )
            ) from None
    elif action == EventKind.WITHDRAW:
        data["reason"] = _need(
            params, "reason", "Phải ghi rõ lý do dừng giải quyết (đề nghị rút hồ sơ của công dân)."
        )
    elif action == EventKind.EXTEND:
        _decide_extension(state, params, now, calendar, data)
    elif action == EventKind.EVALUATE:
        data.update(_evaluation(params))
    return data


def _amount(value: Any) -> int:
    try:
        amount = int(value)
    except (TypeError, ValueError):
        raise LifecycleError(t("Số tiền phải là số nguyên (đồng).")) from None
    return amount


def _decide_extension(
    state: DossierState,
    params: dict[str, Any],
    now: datetime,
    calendar: WorkCalendar,
    data: dict[str, Any],
) -> None:
    if state.due_at is None:
        raise _refuse(
            state, EventKind.EXTEND, t("Hồ sơ không có ngày hẹn trả cụ thể nên không cần gia hạn.")
        )
    if state.extension_count >= 1:
        raise _refuse(
            state, EventKind.EXTEND, t("Việc hẹn lại ngày trả kết quả chỉ được thực hiện một lần.")
        )
    if not can_extend(state.due_at, now, calendar):
        latest = extension_deadline(state.due_at, calendar)
        raise LifecycleError(
            t(
                "Phiếu xin lỗi và gia hạn phải được lập chậm nhất 01 ngày làm việc trước hạn trả kết quả "
                "(hạn lập phiếu: hết ngày {latest:%d/%m/%Y}; hạn trả: {due:%H:%M %d/%m/%Y}).",
                latest=latest,
                due=state.due_at,
            )
        )
    data["reason"] = _need(
        params, "reason", "Phải ghi rõ lý do chậm trả kết quả trong phiếu xin lỗi."
    )
    new_due = params.get("new_due")
    if not isinstance(new_due, datetime):
        raise LifecycleError(t("Phải ghi ngày giờ hẹn trả kết quả mới."))
    new_due = new_due.replace(second=0, microsecond=0)
    if new_due <= state.due_at:
        raise LifecycleError(
            t("Ngày hẹn trả mới phải sau hạn hiện tại ({due:%H:%M %d/%m/%Y}).", due=state.due_at)
        )
    if not calendar.is_working_day(new_due.date()):
        raise LifecycleError(
            t("Ngày hẹn trả mới ({day:%d/%m/%Y}) không phải ngày làm việc.", day=new_due.date())
        )
    data["due"] = to_epoch(new_due)


# The TT 01/2018 scoring tool: 9 indicators × 0–2 points, plus a 5-level satisfaction answer.
EVALUATION_INDICATORS = 9
SATISFACTION_LEVELS = {
    5: "Rất hài lòng",
    4: "Hài lòng",
    3: "Bình thường",
    2: "Không hài lòng",
    1: "Rất không hài lòng",
}


def _evaluation(params: dict[str, Any]) -> dict[str, Any]:
    scores = params.get("scores")
    if not isinstance(scores, list | tuple) or len(scores) != EVALUATION_INDICATORS:
        raise LifecycleError(t("Phiếu đánh giá phải có đủ 9 tiêu chí, mỗi tiêu chí 0–2 điểm."))
    clean = []
    for i, s in enumerate(scores, start=1):
        if not isinstance(s, int) or isinstance(s, bool) or not 0 <= s <= 2:
            raise LifecycleError(t("Tiêu chí {i}: điểm phải là 0, 1 hoặc 2.", i=i))
        clean.append(s)
    level = params.get("satisfaction")
    if level not in SATISFACTION_LEVELS:
        raise LifecycleError(
            t("Mức độ hài lòng phải từ 1 (rất không hài lòng) đến 5 (rất hài lòng).")
        )
    return {"scores": clean, "satisfaction": level}


def _due(data: dict[str, Any]) -> datetime | None:
    value = data.get("due")
    return from_epoch(value) if isinstance(value, int) else None


def _evolve(state: DossierState, **changes: Any) -> DossierState:
    """``dataclasses.replace`` without re-running ``__init__`` over all 37 fields.

    ``apply`` runs once per event wherever a log is folded (the server's ingest folds every
    event it accepts): this is ~10x cheaper. Equivalent for DossierState, which has no
    ``__post_init__``, ``InitVar`` or ``init=False`` field (a test checks both give equal states).
    """
    new = object.__new__(DossierState)
    fields_of_new = new.__dict__
    fields_of_new.update(state.__dict__)
    fields_of_new.update(changes)
    return new


def apply(state: DossierState | None, event: Event) -> DossierState:
    """Fold one event into the dossier state. Pure data, no rules that could change over time."""
    d = event.data
    kind = event.kind
    if state is None:
        if kind not in (EventKind.RECEIVE, EventKind.REFUSE):
            raise ValueError(f"first event of {event.dossier} is {kind}, not receive/refuse")
        due = _due(d)
        applicant = d.get("applicant", {})
        return DossierState(
            code=event.dossier,
            owner_desk=event.desk_id,
            procedure_code=d.get("procedure", ""),
            procedure_version=int(d.get("procedure_version", 1)),
            procedure_name=d.get("procedure_name", ""),
            field=d.get("field", ""),
            time_unit=d.get("time_unit", TimeUnit.UNKNOWN.value),
            time_value=d.get("time_value"),
            applicant_name=applicant.get("name", ""),
            applicant_id=applicant.get("id", ""),
            applicant_phone=applicant.get("phone", ""),
            applicant_address=applicant.get("address", ""),
            applicant_email=applicant.get("email", ""),
            proxy=dict(d.get("proxy") or {}),
            channel=d.get("channel", Channel.IN_PERSON.value),
            documents=tuple(d.get("documents", ())),
            fee_vnd=int(d.get("fee", 0)),
            received_at=event.at,
            due_at=due,
            original_due_at=due,
            status=Status.RECEIVED if kind == EventKind.RECEIVE else Status.REFUSED,
            refusal_reason=d.get("reason", "") if kind == EventKind.REFUSE else "",
            finished_at=event.at if kind == EventKind.REFUSE else None,
            handler=event.actor,
            last_event_at=event.at,
            event_count=1,
        )

    if kind in SYSTEM_KINDS or is_unknown(kind):
        # A note about the log (services/conflicts.py) or a file manifest
        # (domain/attachments.py): never a change of the dossier's lifecycle state. An event
        # of a newer onestop (events.unknown_kind) stays out of the projection until this
        # program knows its kind; it is folded in after the update (store/replay.py).
        return state
    s = _evolve(state, last_event_at=event.at, event_count=state.event_count + 1)
    if set_aside(state, event):
        # Another desk's concurrent action got there first in the fold order and this one is
        # no longer legal (a withdrawal after a decision, a second payment of a fee already
        # paid, a second supplement request...): it stays in the log, changes nothing, and
        # services/sync/conflicts.py flags it to a person. Desk and server fold the same way.
        return s
    if kind == EventKind.REFUSE:
        return _evolve(
            s, status=Status.REFUSED, refusal_reason=d.get("reason", ""), finished_at=event.at
        )
    if kind == EventKind.FORWARD:
        status = Status.FORWARDED if s.status in (Status.RECEIVED, Status.FORWARDED) else s.status
        return _evolve(s, status=status, handler=d.get("to", ""))
    if kind == EventKind.START:
        return _evolve(s, status=Status.PROCESSING, handler=d.get("to") or event.actor)
    if kind == EventKind.REQUEST_SUPPLEMENT:
        return _evolve(
            s,
            status=Status.SUPPLEMENT_REQUESTED,
            paused_at=event.at,
            supplement_count=s.supplement_count + 1,
        )
    if kind == EventKind.RECORD_SUPPLEMENT:
        due = _due(d) or s.due_at
        return _evolve(s, status=Status.PROCESSING, paused_at=None, due_at=due)
    if kind == EventKind.REQUEST_PAYMENT:
        owed_total = max(s.fee_vnd, s.fee_paid + int(d.get("amount", 0)))
        return _evolve(
            s, status=Status.PAYMENT_REQUESTED, resume_status=s.status, fee_vnd=owed_total
        )
    if kind == EventKind.RECORD_PAYMENT:
        paid = s.fee_paid + counted_amount(state, event)
        if s.status == Status.PAYMENT_REQUESTED:
            return _evolve(
                s, fee_paid=paid, status=s.resume_status or Status.PROCESSING, resume_status=None
            )
        return _evolve(s, fee_paid=paid)
    if kind == EventKind.RESOLVE:
        return _evolve(
            s,
            status=Status.RESOLVED,
            # A decision stands over a concurrent withdrawal (TT 03/2025 Art. 7: withdrawal
            # only before a decision): the dossier is reinstated as decided.
            refusal_reason="" if s.status == Status.WITHDRAWN else s.refusal_reason,
            resume_status=None if s.status == Status.WITHDRAWN else s.resume_status,
            decision=d.get("decision"),
            decision_reason=d.get("reason", ""),
            resolved_at=event.at,
            finished_at=event.at,
        )
    if kind == EventKind.MARK_READY:
        return _evolve(s, status=Status.RESULT_READY, handler=event.actor)
    if kind == EventKind.RETURN_RESULT:
        return _evolve(
            s, status=Status.RETURNED, returned_at=event.at, return_channel=d.get("channel")
        )
    if kind == EventKind.WITHDRAW:
        # resume_status keeps the status the withdrawal interrupted: a concurrent decision
        # from a status that allowed one reinstates the dossier (see set_aside).
        return _evolve(
            s,
            status=Status.WITHDRAWN,
            refusal_reason=d.get("reason", ""),
            finished_at=event.at,
            resume_status=s.status,
        )
    if kind == EventKind.EXTEND:
        return _evolve(s, due_at=_due(d), extension_count=s.extension_count + 1)
    if kind == EventKind.EVALUATE:
        return _evolve(
            s,
            evaluation={"scores": list(d.get("scores", [])), "satisfaction": d.get("satisfaction")},
        )
    raise ValueError(f"unknown event kind {kind}")


# ----------------------------------------------------------------------------- merge rules
#
# Events are folded in (hlc, desk, seq) order on every machine. Two desks offline can each do
# an action that was legal on their own copy, but not both: the second in fold order is then
# judged against the state the first left. These two functions are the whole merge rule.

_DECIDABLE = frozenset({Status.RECEIVED, Status.FORWARDED, Status.PROCESSING})


def set_aside(state: DossierState, event: Event) -> bool:
    """True when the lifecycle would not allow ``event`` on ``state``: the fold skips it.

    The legality is the ``allowed_actions`` table (what ``decide`` checks when the clerk
    acts), with one rule on top: a decision stands over a concurrent withdrawal, so a
    ``resolve`` folded after a withdrawal that interrupted a status allowing a decision is
    applied (the dossier is reinstated as decided), not set aside.
    """
    kind = event.kind
    if kind in SYSTEM_KINDS or kind == EventKind.RECEIVE or is_unknown(kind):
        return False  # notes change nothing anyway; a second receive is an error in apply
    if (
        kind == EventKind.RESOLVE
        and state.status == Status.WITHDRAWN
        and state.decision is None
        and state.resume_status in _DECIDABLE
    ):
        return False
    return kind not in allowed_actions(state)


def counted_amount(state: DossierState, event: Event) -> int:
    """The part of a ``record_payment`` the fees count: capped at what is still owed.

    A payment recorded on two desks for one fee is counted once; the rest stays visible in the
    log (and flagged) until a person decides.
    """
    if event.kind != EventKind.RECORD_PAYMENT or set_aside(state, event):
        return 0
    amount = int(event.data.get("amount", 0))
    owed = max(state.fee_vnd - state.fee_paid, 0)
    return max(min(amount, owed), 0)


def replay(events: list[Event]) -> DossierState:
    state: DossierState | None = None
    for e in events:
        state = apply(state, e)
    if state is None:
        raise ValueError("no events")
    return state


def replay_or_none(events: Iterable[Event]) -> DossierState | None:
    """Fold events in order; None while the dossier's receive/refuse has not arrived yet (a
    synced log may hold a desk's later events before the one that opened the dossier)."""
    state: DossierState | None = None
    for e in events:
        if state is None and e.kind not in (EventKind.RECEIVE, EventKind.REFUSE):
            return None
        state = apply(state, e)
    return state
