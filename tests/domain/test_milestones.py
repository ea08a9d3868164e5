"""Issue 19 §1: a dossier's Biểu 06 line at the end of any period, from the milestones the
server keeps as columns (domain/milestones.py), equals the line of its replayed snapshot
(``bieu06_line(snapshot(events, end))``) whenever the log is marked simple; logs it cannot
describe are marked not simple. Random legal histories through the lifecycle's own
``decide``/``apply``, with concurrent (set-aside) events and clocks going backwards mixed in."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from onestop.domain.calendar import WorkCalendar
from onestop.domain.events import Event, EventKind, to_epoch
from onestop.domain.lifecycle import DossierState, LifecycleError, apply, decide
from onestop.domain.milestones import Milestones, fold, line_at, step
from onestop.domain.reports import Period, bieu06_line, snapshot

CAL = WorkCalendar()
START = datetime(2026, 1, 5, 8, 0)
KINDS = (
    EventKind.FORWARD,
    EventKind.START,
    EventKind.REQUEST_SUPPLEMENT,
    EventKind.RECORD_SUPPLEMENT,
    EventKind.REQUEST_PAYMENT,
    EventKind.RECORD_PAYMENT,
    EventKind.RESOLVE,
    EventKind.MARK_READY,
    EventKind.RETURN_RESULT,
    EventKind.WITHDRAW,
    EventKind.EXTEND,
    EventKind.EVALUATE,
)


def _params(kind: EventKind, state: DossierState, at: datetime) -> dict[str, Any]:
    table: dict[EventKind, dict[str, Any]] = {
        EventKind.FORWARD: {"to": "Lan"},
        EventKind.REQUEST_SUPPLEMENT: {"reason": "Thiếu giấy tờ"},
        EventKind.REQUEST_PAYMENT: {"amount": 20000},
        EventKind.RESOLVE: {"decision": "approved"},
        EventKind.RETURN_RESULT: {"channel": "desk"},
        EventKind.WITHDRAW: {"reason": "Công dân rút hồ sơ"},
        EventKind.EXTEND: {
            "reason": "Cần xác minh thêm",
            "new_due": (state.due_at or at) + timedelta(days=3),
        },
        EventKind.EVALUATE: {"scores": [2] * 9, "satisfaction": 5},
    }
    return table.get(kind, {})


def random_log(rng: random.Random, n: int) -> list[Event]:
    """One dossier's log: a receive (or a refusal at intake), then ``n`` tries at actions."""
    at = START + timedelta(days=rng.randrange(0, 200), hours=rng.randrange(0, 9))
    seq = 1
    refuse = rng.random() < 0.05
    data: dict[str, Any] = {
        "procedure": "2.001035",
        "field": rng.choice(["Chứng thực", "Hộ tịch"]),
        "time_unit": "working_days",
        "time_value": 2,
        "channel": rng.choice(["in_person", "online", "post"]),
        "applicant": {"name": "Nguyễn Văn An"},
    }
    if refuse:
        data["reason"] = "Không thuộc thẩm quyền"
    elif rng.random() < 0.9:
        data["due"] = to_epoch(at + timedelta(days=rng.randrange(1, 20)))
    first = Event(
        "16279-01",
        seq,
        seq,
        EventKind.REFUSE if refuse else EventKind.RECEIVE,
        "R-1",
        at,
        "Mai",
        "clerk",
        "",
        data,
    )
    events = [first]
    state = apply(None, first)
    for _ in range(n):
        seq += 1
        step_h = rng.choice([0, 1, 5, 24, 24 * 4, 24 * 12, 24 * 40])
        if rng.random() < 0.04:
            step_h = -rng.choice([1, 24, 24 * 10])  # another desk's clock, behind
        at = at + timedelta(hours=step_h)
        kind = rng.choice(KINDS)
        try:
            payload = decide(state, kind, _params(kind, state, at), at, CAL)
        except LifecycleError:
            if rng.random() > 0.3:
                continue
            # A concurrent action of another desk the fold sets aside (or a decision that
            # reinstates a withdrawn dossier): appended as it would arrive by sync.
            payload = {k: v for k, v in _params(kind, state, at).items() if k != "new_due"}
        ev = Event("16279-02", seq, seq, kind, "R-1", at, "Lan", "clerk", "", payload)
        try:
            state = apply(state, ev)
        except (ValueError, KeyError, TypeError):
            continue
        events.append(ev)
    return events


def periods(rng: random.Random) -> list[tuple[Period, date | datetime | None]]:
    out: list[tuple[Period, date | datetime | None]] = []
    for _ in range(6):
        first = date(2026, 1, 1) + timedelta(days=rng.randrange(0, 330))
        length = rng.choice([0, 6, 29, 90, 364])
        p = Period(first, first + timedelta(days=length))
        today: date | datetime | None = rng.choice(
            [None, p.end, p.start + timedelta(days=length // 2), p.start_at + timedelta(hours=37)]
        )
        out.append((p, today))
    return out


def expected(events: list[Event], p: Period, today: date | datetime | None) -> Any:
    snap = snapshot(events, p.end_at)
    return None if snap is None else bieu06_line(snap, p, today=today)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=0, max_value=14))
def test_simple_logs_give_the_replayed_line_at_the_end_of_any_period(seed: int, n: int):
    rng = random.Random(seed)
    events = random_log(rng, n)
    state, m = fold(events)
    assert state is not None and m is not None
    # Incremental, one event at a time, read back from what the server stores in between
    # (its columns: Milestones.stored), equals the whole fold.
    inc: Milestones | None = None
    before: DossierState | None = None
    for e in events:
        after = apply(before, e)
        if inc is not None:
            if inc.simple:
                assert inc.last_at == before.last_event_at if before else True
            inc = Milestones.from_stored(inc.stored())
        inc = step(inc, before, after, e)
        before = after
    assert inc is not None
    assert inc == m if m.simple else not inc.simple
    if not m.simple:
        return
    for p, today in periods(rng):
        got = line_at(m, state.received_at, state.channel, p, today)
        assert got == expected(events, p, today), (p, today, m, [(e.kind, e.at) for e in events])


def test_most_logs_are_simple_and_odd_ones_are_not():
    rng = random.Random(19)
    logs = [random_log(rng, rng.randrange(0, 12)) for _ in range(400)]
    simple = [fold(log)[1] for log in logs]
    assert sum(1 for m in simple if m is not None and m.simple) > 0.6 * len(logs)
    # A clock that goes backwards between two events: the events before an instant are no
    # longer a prefix of the fold, so no milestone can stand for them.
    rec = Event(
        "16279-01",
        1,
        1,
        EventKind.RECEIVE,
        "R-9",
        START,
        "Mai",
        "clerk",
        "",
        {"field": "Chứng thực", "channel": "in_person", "due": to_epoch(START + timedelta(days=3))},
    )
    fwd = Event(
        "16279-02",
        2,
        2,
        EventKind.FORWARD,
        "R-9",
        START - timedelta(hours=1),
        "Lan",
        "clerk",
        "",
        {"to": "Lan"},
    )
    _s, m = fold([rec, fwd])
    assert m is not None and not m.simple
    # A withdrawal overridden by a concurrent decision moves finished_at: not simple.
    wd = Event(
        "16279-01",
        2,
        2,
        EventKind.WITHDRAW,
        "R-9",
        START + timedelta(hours=1),
        "Mai",
        "clerk",
        "",
        {"reason": "rút"},
    )
    rs = Event(
        "16279-02",
        3,
        3,
        EventKind.RESOLVE,
        "R-9",
        START + timedelta(hours=2),
        "Lan",
        "clerk",
        "",
        {"decision": "approved"},
    )
    _s, m = fold([rec, wd, rs])
    assert m is not None and not m.simple
    _s, m = fold([rec, wd])
    assert m is not None and m.simple and m.fin_outcome == "stopped"
