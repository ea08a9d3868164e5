"""Every allowed and every refused transition of the lifecycle, plus the once-only rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop.domain.calendar import WorkCalendar
from onestop.domain.events import Event, EventKind, to_epoch
from onestop.domain.lifecycle import (
    ALLOWED,
    DossierState,
    LifecycleError,
    Status,
    action_label,
    apply,
    decide,
    replay,
    replay_or_none,
    status_label,
)

CAL = WorkCalendar()
T0 = datetime(2026, 3, 2, 9, 0)  # a Monday with no holiday around
DUE = datetime(2026, 3, 9, 9, 0)  # 5 working days later

GOOD_PARAMS: dict[EventKind, dict[str, Any]] = {
    EventKind.REFUSE: {"reason": "Không thuộc thẩm quyền"},
    EventKind.FORWARD: {"to": "Công chức Tư pháp - Hộ tịch"},
    EventKind.START: {},
    EventKind.REQUEST_SUPPLEMENT: {"reason": "Thiếu tờ khai"},
    EventKind.RECORD_SUPPLEMENT: {},
    EventKind.REQUEST_PAYMENT: {"amount": 50000},
    EventKind.RECORD_PAYMENT: {"amount": 50000},
    EventKind.RESOLVE: {"decision": "approved"},
    EventKind.MARK_READY: {},
    EventKind.RETURN_RESULT: {"channel": "desk"},
    EventKind.WITHDRAW: {"reason": "Công dân rút hồ sơ"},
    EventKind.EXTEND: {"reason": "Cần xác minh", "new_due": datetime(2026, 3, 12, 9, 0)},
    EventKind.EVALUATE: {"scores": [2] * 9, "satisfaction": 5},
    # Written by the software (services/conflicts.py), never allowed as an action.
    EventKind.CONFLICT: {},
    EventKind.CONFLICT_SEEN: {},
    # File manifests (services/attachments.py), never lifecycle actions either.
    EventKind.ATTACH: {},
    EventKind.DETACH: {},
}

_seq = iter(range(1, 10**9))


def ev(kind: EventKind, data: dict[str, Any], at: datetime) -> Event:
    n = next(_seq)
    return Event("16279-01", n, n, kind, "X-260302-010001", at, "Lò Thị Mai", "clerk", "", data)


def received(fee: int = 50000) -> DossierState:
    data = {
        "procedure": "2.001035",
        "procedure_version": 1,
        "procedure_name": "Chứng thực giao dịch",
        "field": "Chứng thực",
        "time_unit": "working_days",
        "time_value": 5,
        "applicant": {"name": "Nguyễn Văn An", "id": "001099012345"},
        "channel": "in_person",
        "documents": ["Tờ khai"],
        "fee": fee,
        "due": to_epoch(DUE),
    }
    return apply(None, ev(EventKind.RECEIVE, data, T0))


def walk(
    *steps: tuple[EventKind, dict[str, Any]], state: DossierState | None = None
) -> DossierState:
    """Drive a dossier through ``steps`` with the real decide+apply, one minute apart."""
    s = state or received()
    at = T0
    for kind, params in steps:
        at += timedelta(minutes=1)
        s = apply(s, ev(kind, decide(s, kind, params, at, CAL), at))
    return s


F, S, RS, RP = (
    EventKind.FORWARD,
    EventKind.START,
    EventKind.REQUEST_SUPPLEMENT,
    EventKind.REQUEST_PAYMENT,
)
P = GOOD_PARAMS

STATES: dict[Status, DossierState] = {
    Status.RECEIVED: received(),
    Status.FORWARDED: walk((F, P[F])),
    Status.PROCESSING: walk((F, P[F]), (S, {})),
    Status.SUPPLEMENT_REQUESTED: walk((F, P[F]), (S, {}), (RS, P[RS])),
    Status.PAYMENT_REQUESTED: walk((F, P[F]), (S, {}), (RP, P[RP])),
    Status.RESOLVED: walk((F, P[F]), (S, {}), (EventKind.RESOLVE, P[EventKind.RESOLVE])),
    Status.RESULT_READY: walk(
        (F, P[F]),
        (S, {}),
        (EventKind.RESOLVE, {"decision": "approved"}),
        (EventKind.MARK_READY, {}),
    ),
    Status.RETURNED: walk(
        (EventKind.RESOLVE, {"decision": "approved"}),
        (EventKind.MARK_READY, {}),
        (EventKind.RETURN_RESULT, {"channel": "post"}),
    ),
    Status.REFUSED: walk((EventKind.REFUSE, P[EventKind.REFUSE])),
    Status.WITHDRAWN: walk((EventKind.WITHDRAW, P[EventKind.WITHDRAW])),
}


def test_every_status_is_reachable():
    assert {s.status for s in STATES.values()} == set(Status)
    for status, state in STATES.items():
        assert state.status == status


CASES = [(status, kind) for status in Status for kind in EventKind if kind != EventKind.RECEIVE]


@pytest.mark.parametrize(("status", "kind"), CASES, ids=[f"{s.value}-{k.value}" for s, k in CASES])
def test_transition_allowed_or_refused_with_reason(status: Status, kind: EventKind):
    state = STATES[status]
    now = T0 + timedelta(hours=1)
    if kind in state.allowed_actions():
        data = decide(state, kind, GOOD_PARAMS[kind], now, CAL)
        after = apply(state, ev(kind, data, now))
        assert after.event_count == state.event_count + 1
    else:
        with pytest.raises(LifecycleError) as err:
            decide(state, kind, GOOD_PARAMS[kind], now, CAL)
        msg = str(err.value)
        # The message names the current status and every action still allowed.
        assert status_label(status) in msg
        for allowed in state.allowed_actions():
            assert action_label(allowed) in msg
        assert err.value.status == status


def test_transition_table_matches_reference_terminal_states():
    assert ALLOWED[Status.REFUSED] == ()
    assert ALLOWED[Status.WITHDRAWN] == ()
    assert ALLOWED[Status.RETURNED] == (EventKind.EVALUATE,)
    assert ALLOWED[None] == (EventKind.RECEIVE, EventKind.REFUSE)


def test_only_one_supplement_request():
    s = walk((RS, P[RS]), (EventKind.RECORD_SUPPLEMENT, {}))
    assert s.status == Status.PROCESSING and s.supplement_count == 1
    assert RS not in s.allowed_actions()
    with pytest.raises(LifecycleError, match="một lần"):
        decide(s, RS, P[RS], T0 + timedelta(hours=2), CAL)


def test_supplement_pauses_the_clock():
    # Paused Mon 09:01, resumed Wed 09:01 → 2 working days (960 office minutes) added to the due.
    s = walk((RS, P[RS]))
    resume = datetime(2026, 3, 4, 9, 1)
    data = decide(s, EventKind.RECORD_SUPPLEMENT, {}, resume, CAL)
    after = apply(s, ev(EventKind.RECORD_SUPPLEMENT, data, resume))
    assert after.due_at == datetime(2026, 3, 11, 9, 0)
    assert after.original_due_at == DUE


def test_only_one_extension_and_only_one_working_day_before_due():
    s = walk((F, P[F]))
    # Due Mon 9 Mar 09:00: the last day to extend is Fri 6 Mar, all of it (one working day
    # before, counted in days); Saturday is already too late.
    ok_at = datetime(2026, 3, 6, 16, 30)
    late_at = datetime(2026, 3, 7, 8, 0)
    with pytest.raises(LifecycleError, match="01 ngày làm việc"):
        decide(s, EventKind.EXTEND, P[EventKind.EXTEND], late_at, CAL)
    data = decide(s, EventKind.EXTEND, P[EventKind.EXTEND], ok_at, CAL)
    s2 = apply(s, ev(EventKind.EXTEND, data, ok_at))
    assert s2.due_at == datetime(2026, 3, 12, 9, 0) and s2.extension_count == 1
    assert EventKind.EXTEND not in s2.allowed_actions()
    with pytest.raises(LifecycleError):
        decide(
            s2,
            EventKind.EXTEND,
            {**P[EventKind.EXTEND], "new_due": datetime(2026, 3, 13, 9)},
            ok_at,
            CAL,
        )


def test_extension_must_move_the_date_later_to_a_working_day():
    s = walk((F, P[F]))
    with pytest.raises(LifecycleError, match="sau hạn hiện tại"):
        decide(s, EventKind.EXTEND, {"reason": "x", "new_due": DUE}, T0, CAL)
    with pytest.raises(LifecycleError, match="không phải ngày làm việc"):
        decide(s, EventKind.EXTEND, {"reason": "x", "new_due": datetime(2026, 3, 14, 9)}, T0, CAL)
    with pytest.raises(LifecycleError, match="lý do"):
        decide(s, EventKind.EXTEND, {"new_due": datetime(2026, 3, 12, 9)}, T0, CAL)


@pytest.mark.parametrize(
    ("kind", "params", "needle"),
    [
        (EventKind.REFUSE, {}, "lý do từ chối"),
        (EventKind.FORWARD, {}, "chuyển hồ sơ cho ai"),
        (EventKind.REQUEST_SUPPLEMENT, {"reason": "  "}, "cần bổ sung"),
        (EventKind.WITHDRAW, {}, "dừng giải quyết"),
        (EventKind.RESOLVE, {"decision": "denied"}, "lý do"),
        (EventKind.RESOLVE, {"decision": "maybe"}, "approved"),
    ],
)
def test_required_reasons(kind: EventKind, params: dict[str, Any], needle: str):
    with pytest.raises(LifecycleError, match=needle):
        state = STATES[Status.RECEIVED if kind == EventKind.REFUSE else Status.PROCESSING]
        decide(state, kind, params, T0, CAL)


def test_withdraw_only_before_a_decision():
    s = walk((EventKind.RESOLVE, {"decision": "approved"}), (RP, {"amount": 1000}))
    assert s.status == Status.PAYMENT_REQUESTED and s.decision == "approved"
    with pytest.raises(LifecycleError):
        decide(s, EventKind.WITHDRAW, P[EventKind.WITHDRAW], T0, CAL)
    # Paying (what is owed: the unpaid 50.000 đ fee, which covers the 1.000 đ asked for)
    # returns to the status the request interrupted.
    s2 = walk((EventKind.RECORD_PAYMENT, {"amount": 50000}), state=s)
    assert s2.status == Status.RESOLVED


def test_evaluation_validated_and_once():
    s = STATES[Status.RETURNED]
    with pytest.raises(LifecycleError, match="9 tiêu chí"):
        decide(s, EventKind.EVALUATE, {"scores": [2] * 8, "satisfaction": 5}, T0, CAL)
    with pytest.raises(LifecycleError, match="Tiêu chí 3"):
        decide(
            s,
            EventKind.EVALUATE,
            {"scores": [2, 2, 3, 2, 2, 2, 2, 2, 2], "satisfaction": 5},
            T0,
            CAL,
        )
    with pytest.raises(LifecycleError, match="hài lòng"):
        decide(s, EventKind.EVALUATE, {"scores": [2] * 9, "satisfaction": 9}, T0, CAL)
    s2 = walk((EventKind.EVALUATE, P[EventKind.EVALUATE]), state=s)
    assert EventKind.EVALUATE not in s2.allowed_actions()


def test_event_body_round_trip_and_canonical():
    e = ev(EventKind.FORWARD, {"to": "Công an xã"}, T0)
    assert Event.from_body(e.desk_id, e.body()) == e


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([k for k in EventKind if k != EventKind.RECEIVE]), max_size=25))
def test_random_action_sequences_keep_invariants(kinds: list[EventKind]):
    """Whatever a clerk tries, refused actions change nothing and the once-only rules hold."""
    s = received()
    events = [ev(EventKind.RECEIVE, {}, T0)]  # placeholder for counting only
    at = T0
    for kind in kinds:
        at += timedelta(minutes=7)
        try:
            data = decide(s, kind, GOOD_PARAMS[kind], at, CAL)
        except LifecycleError:
            continue
        s = apply(s, ev(kind, data, at))
        events.append(ev(kind, data, at))
        assert s.supplement_count <= 1
        assert s.extension_count <= 1
        assert s.fee_paid >= 0
        if s.status == Status.WITHDRAWN:
            assert s.decision is None
    assert s.event_count == len(events)


def test_replay_equals_incremental_state():
    steps = [
        (F, P[F]),
        (S, {}),
        (RS, P[RS]),
        (EventKind.RECORD_SUPPLEMENT, {}),
        (EventKind.RESOLVE, {"decision": "approved"}),
    ]
    s = received()
    events = []
    at = T0
    first = ev(
        EventKind.RECEIVE,
        {"procedure": "2.001035", "fee": 0, "due": to_epoch(DUE), "applicant": {"name": "A"}},
        T0,
    )
    s = apply(None, first)
    events.append(first)
    for kind, params in steps:
        at += timedelta(hours=3)
        e = ev(kind, decide(s, kind, params, at, CAL), at)
        events.append(e)
        s = apply(s, e)
    assert replay(events) == s
    # What desk and province fold a synced log with: the same, and None while the opening
    # receive has not arrived (later events of the dossier came first), or for no events.
    assert replay_or_none(events) == s
    assert replay_or_none(iter(events)) == s
    assert replay_or_none(events[1:]) is None
    assert replay_or_none([]) is None
    refused = ev(EventKind.REFUSE, {"reason": "Không thuộc thẩm quyền"}, T0)
    assert replay_or_none([refused]) == apply(None, refused)


def test_system_kinds_are_never_actions_and_change_no_state():
    s = walk((F, P[F]))
    for kind in (EventKind.CONFLICT, EventKind.CONFLICT_SEEN, EventKind.ATTACH, EventKind.DETACH):
        assert all(kind not in acts for acts in ALLOWED.values())
        assert apply(s, ev(kind, {"events": []}, T0 + timedelta(hours=3))) == s
