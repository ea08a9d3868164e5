"""Issue 16 (9), the pure merge rule: two desks act on their own copies of one dossier while
offline, every action legal there (``decide``); the merged log is folded in an order that
interleaves them any way the clocks allow. No interleaving may produce a state the law forbids,
a decision stands over a concurrent withdrawal, and a payment made on both desks counts once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from onestop.domain.calendar import WorkCalendar
from onestop.domain.events import Event, EventKind, to_epoch
from onestop.domain.lifecycle import (
    DossierState,
    LifecycleError,
    Status,
    apply,
    counted_amount,
    decide,
    replay,
    set_aside,
)

CAL = WorkCalendar()
T0 = datetime(2026, 3, 2, 9, 0)
DUE = datetime(2026, 3, 9, 9, 0)
CODE = "000.00.14.H56-260302-010001"
PARAMS: dict[EventKind, dict[str, Any]] = {
    EventKind.FORWARD: {"to": "Công chức Tư pháp - Hộ tịch"},
    EventKind.START: {},
    EventKind.REQUEST_SUPPLEMENT: {"reason": "Thiếu tờ khai"},
    EventKind.RECORD_SUPPLEMENT: {},
    EventKind.REQUEST_PAYMENT: {"amount": 20000},
    EventKind.RECORD_PAYMENT: {},
    EventKind.RESOLVE: {"decision": "approved"},
    EventKind.MARK_READY: {},
    EventKind.RETURN_RESULT: {"channel": "desk"},
    EventKind.WITHDRAW: {"reason": "Công dân rút hồ sơ"},
    EventKind.EXTEND: {"reason": "Cần xác minh", "new_due": datetime(2026, 3, 12, 9, 0)},
    EventKind.EVALUATE: {"scores": [2] * 9, "satisfaction": 5},
}
DECIDED = (Status.RESOLVED, Status.RESULT_READY, Status.RETURNED)


def _receive(fee: int) -> Event:
    data = {
        "procedure": "2.001035",
        "procedure_version": 1,
        "procedure_name": "Chứng thực",
        "field": "Chứng thực",
        "time_unit": "working_days",
        "time_value": 5,
        "applicant": {"name": "Nguyễn Văn An", "id": "001099012345"},
        "channel": "in_person",
        "documents": ["Tờ khai"],
        "fee": fee,
        "due": to_epoch(DUE),
    }
    return Event("16279-01", 1, 1, EventKind.RECEIVE, CODE, T0, "A", "clerk", "", data)


def _desk_actions(
    desk: str, base: DossierState, picks: list[int], first_seq: int
) -> list[tuple[EventKind, datetime, dict[str, Any]]]:
    """Legal actions on one desk's own copy: each pick chooses among the allowed ones."""
    state, at, out = base, T0 + timedelta(hours=1), []
    for i, pick in enumerate(picks):
        allowed = [a for a in state.allowed_actions() if a in PARAMS]
        if not allowed:
            break
        kind = allowed[pick % len(allowed)]
        at += timedelta(minutes=7)
        try:
            data = decide(state, kind, dict(PARAMS[kind]), at, CAL)
        except LifecycleError:
            continue
        state = apply(state, Event(desk, first_seq + i, 0, kind, CODE, at, desk, "clerk", "", data))
        out.append((kind, at, data))
    return out


def _check_legal(state: DossierState) -> None:
    if state.status == Status.WITHDRAWN:
        assert state.decision is None  # withdrawal only before a decision
    if state.status in DECIDED:
        assert state.decision is not None
    assert state.fee_paid <= state.fee_vnd  # never more paid than owed
    assert state.supplement_count <= 1 and state.extension_count <= 1
    if state.evaluation:
        assert state.status == Status.RETURNED


@settings(max_examples=300, deadline=None)
@given(
    fee=st.sampled_from([0, 20000]),
    prefix=st.lists(st.integers(0, 20), max_size=3),
    picks_a=st.lists(st.integers(0, 20), min_size=1, max_size=5),
    picks_b=st.lists(st.integers(0, 20), min_size=1, max_size=5),
    interleave=st.lists(st.booleans(), min_size=10, max_size=10),
)
def test_no_interleaving_of_two_offline_desks_gives_a_forbidden_state(
    fee: int, prefix: list[int], picks_a: list[int], picks_b: list[int], interleave: list[bool]
) -> None:
    receive = _receive(fee)
    shared = [receive]
    base = apply(None, receive)
    for kind, at, data in _desk_actions("16279-01", base, prefix, 2):
        shared.append(
            Event(
                "16279-01", len(shared) + 1, len(shared) + 1, kind, CODE, at, "A", "clerk", "", data
            )
        )
        base = apply(base, shared[-1])
    hlc0 = len(shared) + 1
    a = _desk_actions("16279-01", base, picks_a, len(shared) + 1)
    b = _desk_actions("16279-02", base, picks_b, 1)
    # An interleaving = HLCs: each desk's own order kept, the two merged as the booleans say.
    merged, ia, ib, hlc = [], 0, 0, hlc0
    flips = iter(interleave * 2)
    while ia < len(a) or ib < len(b):
        take_a = ib >= len(b) or (ia < len(a) and next(flips, True))
        if take_a:
            kind, at, data = a[ia]
            merged.append(Event("16279-01", hlc0 + ia, hlc, kind, CODE, at, "A", "clerk", "", data))
            ia += 1
        else:
            kind, at, data = b[ib]
            merged.append(Event("16279-02", 1 + ib, hlc, kind, CODE, at, "B", "clerk", "", data))
            ib += 1
        hlc += 1
    log = shared + merged
    state: DossierState | None = None
    for e in log:
        state = apply(state, e)
        assert state is not None
        _check_legal(state)
    assert state == replay(log)  # the fold is a function of the log: desk and server agree
    # A decision made on either desk stands over a withdrawal on the other.
    resolved = any(e.kind == EventKind.RESOLVE for e in merged)
    withdrew = any(e.kind == EventKind.WITHDRAW for e in merged)
    if (
        resolved
        and withdrew
        and base.status in (Status.RECEIVED, Status.FORWARDED, Status.PROCESSING)
    ):
        first_resolve = next(e for e in merged if e.kind == EventKind.RESOLVE)
        before = replay(shared + merged[: merged.index(first_resolve)])
        if not set_aside(before, first_resolve):
            assert state.decision is not None and state.status != Status.WITHDRAWN


def _two_desks(first: Event, second: Event, fee: int = 20000) -> DossierState:
    return replay([_receive(fee), first, second])


def test_a_decision_stands_over_a_concurrent_withdrawal_in_either_order() -> None:
    at = T0 + timedelta(hours=2)
    resolve = Event(
        "16279-01", 2, 10, EventKind.RESOLVE, CODE, at, "A", "clerk", "", {"decision": "approved"}
    )
    withdraw = Event(
        "16279-02", 1, 11, EventKind.WITHDRAW, CODE, at, "B", "clerk", "", {"reason": "Rút"}
    )
    for first, second in ((resolve, withdraw), (withdraw, resolve)):
        s = _two_desks(first, second)
        assert (s.status, s.decision, s.refusal_reason) == (Status.RESOLVED, "approved", "")


def test_a_payment_recorded_on_both_desks_counts_once() -> None:
    at = T0 + timedelta(hours=2)
    pay_a = Event(
        "16279-01", 2, 10, EventKind.RECORD_PAYMENT, CODE, at, "A", "clerk", "", {"amount": 20000}
    )
    pay_b = Event(
        "16279-02", 1, 11, EventKind.RECORD_PAYMENT, CODE, at, "B", "clerk", "", {"amount": 20000}
    )
    s = _two_desks(pay_a, pay_b)
    assert s.fee_paid == 20000  # not 40.000 on a 20.000 fee
    after_a = replay([_receive(20000), pay_a])
    assert set_aside(after_a, pay_b) and counted_amount(after_a, pay_b) == 0
    # A partial overlap is capped at what is still owed.
    half = Event(
        "16279-02", 1, 11, EventKind.RECORD_PAYMENT, CODE, at, "B", "clerk", "", {"amount": 15000}
    )
    part = Event(
        "16279-01", 2, 10, EventKind.RECORD_PAYMENT, CODE, at, "A", "clerk", "", {"amount": 10000}
    )
    s = _two_desks(part, half)
    assert s.fee_paid == 20000
