"""Pure report rules: periods, the as-of fold, Biểu 06 classification and identities, fees,
evaluations, indicators and the evaluation prefill. No database: events are built with the
lifecycle's own ``decide``/``apply``."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop.domain.calendar import WorkCalendar
from onestop.domain.events import Event, EventKind, to_epoch
from onestop.domain.lifecycle import DossierState, LifecycleError, apply, decide, replay
from onestop.domain.reports import (
    Bieu06Counts,
    EvaluationRecord,
    Finish,
    Payment,
    Period,
    ReportError,
    auto_scores,
    bieu06,
    bieu06_from_events,
    bieu06_line,
    evaluation_summary,
    fee_summary,
    period,
    service_indicators,
    snapshot,
    snapshot_from_state,
)

CAL = WorkCalendar()
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))


class Log:
    """One dossier's events, appended through the lifecycle rules like the desk does."""

    seq = 0

    def __init__(
        self,
        at: datetime,
        *,
        field: str = "Chứng thực",
        channel: str = "in_person",
        due: datetime | None = None,
        refuse: bool = False,
        code: str | None = None,
    ) -> None:
        Log.seq += 1
        self.code = code or f"X-{Log.seq:06d}"
        data: dict[str, Any] = {
            "procedure": "2.001035",
            "procedure_name": "Chứng thực giao dịch",
            "field": field,
            "time_unit": "working_days",
            "time_value": 2,
            "channel": channel,
            "fee": 50000,
            "applicant": {"name": "Nguyễn Văn An"},
        }
        if due is not None:
            data["due"] = to_epoch(due)
        if refuse:
            data = {**data, "reason": "Không thuộc thẩm quyền"}
            data.pop("due", None)
        self.events: list[Event] = []
        self.state: DossierState | None = None
        self._append(EventKind.REFUSE if refuse else EventKind.RECEIVE, at, data)

    def _append(self, kind: EventKind, at: datetime, data: dict[str, Any]) -> None:
        Log.seq += 1
        e = Event("16279-01", Log.seq, Log.seq, kind, self.code, at, "Mai", "clerk", "", data)
        self.state = apply(self.state, e)
        self.events.append(e)

    def act(self, kind: EventKind, at: datetime, **params: Any) -> Log:
        data = decide(self.state, kind, params, at, CAL)
        self._append(kind, at, data)
        return self


def line(log: Log, p: Period = MARCH, today: date | None = None) -> tuple[str, str, bool] | None:
    snap = snapshot(log.events, p.end_at)
    assert snap is not None
    return bieu06_line(snap, p, today=today)


# ------------------------------------------------------------------------------------------------
# Periods
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "year", "n", "cutoff", "expected"),
    [
        ("month", 2026, 2, False, (date(2026, 2, 1), date(2026, 2, 28))),
        ("month", 2028, 2, False, (date(2028, 2, 1), date(2028, 2, 29))),
        ("month", 2026, 1, True, (date(2025, 12, 15), date(2026, 1, 14))),
        ("quarter", 2026, 1, False, (date(2026, 1, 1), date(2026, 3, 31))),
        ("quarter", 2026, 4, False, (date(2026, 10, 1), date(2026, 12, 31))),
        ("quarter", 2026, 1, True, (date(2025, 12, 15), date(2026, 3, 14))),
        ("quarter", 2026, 2, True, (date(2026, 3, 15), date(2026, 6, 14))),
        ("quarter", 2026, 4, True, (date(2026, 9, 15), date(2026, 12, 14))),
        ("half", 2026, 1, True, (date(2025, 12, 15), date(2026, 6, 14))),
        ("half", 2026, 2, False, (date(2026, 7, 1), date(2026, 12, 31))),
        ("year", 2026, 1, False, (date(2026, 1, 1), date(2026, 12, 31))),
        ("year", 2026, 1, True, (date(2025, 12, 15), date(2026, 12, 14))),
    ],
)
def test_periods(kind: str, year: int, n: int, cutoff: bool, expected: tuple[date, date]):
    assert period(kind, year, n, cutoff=cutoff) == expected


def test_cut_off_periods_tile_the_year():
    days = [period("quarter", 2026, q, cutoff=True) for q in (1, 2, 3, 4)]
    for (_, end), (start, _) in zip(days, days[1:], strict=False):
        assert start == end + timedelta(days=1)
    assert (days[0][0], days[-1][1]) == period("year", 2026, cutoff=True)


@pytest.mark.parametrize(
    ("kind", "n"), [("quarter", 0), ("quarter", 5), ("month", 13), ("year", 2), ("week", 1)]
)
def test_bad_periods_are_refused(kind: str, n: int):
    with pytest.raises(ReportError):
        period(kind, 2026, n)


def test_period_bounds():
    with pytest.raises(ReportError, match="trước ngày đầu kỳ"):
        Period(date(2026, 3, 31), date(2026, 3, 1))
    assert MARCH.contains(datetime(2026, 3, 31, 23, 59, 59))
    assert not MARCH.contains(datetime(2026, 4, 1))
    assert not MARCH.contains(datetime(2026, 2, 28, 23, 59, 59))


# ------------------------------------------------------------------------------------------------
# The as-of fold
# ------------------------------------------------------------------------------------------------


def test_snapshot_ignores_what_happened_after():
    log = Log(datetime(2026, 3, 30, 9), due=datetime(2026, 4, 1, 9))
    log.act(EventKind.RESOLVE, datetime(2026, 4, 2, 10))
    snap = snapshot(log.events, MARCH.end_at)
    assert snap is not None
    assert snap.finish is None and snap.state.status == "received"
    assert snapshot(log.events, datetime(2026, 3, 1)) is None
    assert snapshot(log.events) is not None
    assert snapshot(log.events).finish == Finish.RESOLVED  # type: ignore[union-attr]


def test_decision_is_judged_against_the_due_in_force_when_decided():
    # Resolved on the due date, then (awaiting payment) extended: still "on time".
    log = Log(datetime(2026, 3, 2, 9), due=datetime(2026, 3, 20, 9))
    log.act(EventKind.RESOLVE, datetime(2026, 3, 4, 10))
    log.act(EventKind.REQUEST_PAYMENT, datetime(2026, 3, 4, 11), amount=10000)
    log.act(
        EventKind.EXTEND, datetime(2026, 3, 4, 12), reason="x", new_due=datetime(2026, 3, 25, 9)
    )
    snap = snapshot(log.events)
    assert snap is not None and snap.finish_due == datetime(2026, 3, 20, 9)
    assert snap.state.due_at == datetime(2026, 3, 25, 9)
    assert line(log) == ("direct", "early", False)


def test_legal_due_follows_supplement_pauses_not_extensions():
    log = Log(datetime(2026, 3, 2, 9), due=datetime(2026, 3, 4, 9))
    log.act(EventKind.REQUEST_SUPPLEMENT, datetime(2026, 3, 3, 9), reason="thiếu")
    log.act(EventKind.RECORD_SUPPLEMENT, datetime(2026, 3, 4, 9))
    moved = log.state.due_at if log.state else None
    assert moved == datetime(2026, 3, 5, 9)  # one working day paused
    log.act(EventKind.EXTEND, datetime(2026, 3, 4, 9), reason="x", new_due=datetime(2026, 3, 10, 9))
    snap = snapshot(log.events)
    assert snap is not None and snap.legal_due == moved


# ------------------------------------------------------------------------------------------------
# Biểu 06: one dossier at a time
# ------------------------------------------------------------------------------------------------


def test_line_intake_columns():
    assert line(Log(datetime(2026, 3, 2, 9), channel="online")) == ("online", "within", False)
    assert line(Log(datetime(2026, 3, 2, 9), channel="post")) == ("direct", "within", False)
    assert line(Log(datetime(2026, 3, 2, 9))) == ("direct", "within", False)
    assert line(Log(datetime(2026, 2, 27, 9))) == ("carried", "within", False)


def test_line_left_out():
    assert line(Log(datetime(2026, 3, 2, 9), refuse=True)) is None  # refused at intake
    done = Log(datetime(2026, 2, 2, 9), due=datetime(2026, 2, 4, 9))
    done.act(EventKind.RESOLVE, datetime(2026, 2, 27, 16))
    assert line(done) is None  # finished before the period
    late = Log(datetime(2026, 4, 1, 9))
    assert snapshot(late.events, MARCH.end_at) is None  # received after it


@pytest.mark.parametrize(
    ("resolved", "expected"),
    [
        (datetime(2026, 3, 3, 16, 59), "early"),
        (datetime(2026, 3, 4, 7, 0), "on_time"),
        (datetime(2026, 3, 4, 16, 0), "on_time"),  # after the hour, same date: on time
        (datetime(2026, 3, 5, 7, 0), "late"),
    ],
)
def test_line_timeliness_by_calendar_date(resolved: datetime, expected: str):
    log = Log(datetime(2026, 3, 2, 9), due=datetime(2026, 3, 4, 9))
    log.act(EventKind.RESOLVE, resolved)
    assert line(log) == ("direct", expected, False)


def test_line_denied_decision_is_resolved():
    log = Log(datetime(2026, 3, 2, 9), due=datetime(2026, 3, 4, 9))
    log.act(EventKind.RESOLVE, datetime(2026, 3, 3, 9), decision="denied", reason="Không đủ")
    assert line(log) == ("direct", "early", False)


def test_line_withdrawn_and_refused_after_receipt_count_on_time():
    w = Log(datetime(2026, 3, 2, 9), due=datetime(2026, 3, 4, 9))
    w.act(EventKind.WITHDRAW, datetime(2026, 3, 20, 9), reason="rút")  # even after the due date
    assert line(w) == ("direct", "on_time", True)
    r = Log(datetime(2026, 2, 27, 9), due=datetime(2026, 3, 3, 9))
    r.act(EventKind.REFUSE, datetime(2026, 3, 2, 9), reason="giả mạo")
    assert line(r) == ("carried", "on_time", True)


def test_line_open_dossiers():
    overdue = Log(datetime(2026, 3, 2, 9), due=datetime(2026, 3, 30, 9))
    assert line(overdue) == ("direct", "overdue", False)
    # Due at 16:00 on the last day and still open when the period ends: the due time passed
    # before the end of the period, so overdue (the Thanh Hóa boundary, issue 16 item 5).
    last_day = Log(datetime(2026, 3, 2, 9), due=datetime(2026, 3, 31, 16))
    assert line(last_day) == ("direct", "overdue", False)
    after_end = Log(datetime(2026, 3, 2, 9), due=datetime(2026, 4, 1, 9))
    assert line(after_end) == ("direct", "within", False)
    no_due = Log(datetime(2026, 3, 2, 9))
    assert line(no_due) == ("direct", "within", False)
    paused = Log(datetime(2026, 3, 2, 9), due=datetime(2026, 3, 4, 9))
    paused.act(EventKind.REQUEST_SUPPLEMENT, datetime(2026, 3, 3, 9), reason="thiếu")
    assert line(paused) == ("direct", "within", False)  # clock paused: within
    # A period not over yet is judged on today.
    assert line(overdue, today=date(2026, 3, 20)) == ("direct", "within", False)
    assert line(overdue, today=date(2026, 4, 20)) == ("direct", "overdue", False)


def test_line_needs_a_snapshot_at_the_end_of_the_period():
    log = Log(datetime(2026, 3, 2, 9))
    early = snapshot(log.events, datetime(2026, 3, 15))
    assert early is not None
    with pytest.raises(ReportError):
        bieu06_line(early, MARCH)
    log.act(EventKind.RESOLVE, datetime(2026, 4, 2, 9))
    whole = snapshot(log.events)
    assert whole is not None
    with pytest.raises(ReportError):
        bieu06_line(whole, MARCH)


def test_projection_snapshot_agrees_with_the_fold():
    logs = [
        Log(datetime(2026, 3, 2, 9), due=datetime(2026, 3, 4, 9)).act(
            EventKind.RESOLVE, datetime(2026, 3, 5, 9)
        ),
        Log(datetime(2026, 3, 2, 9), due=datetime(2026, 3, 4, 9)).act(
            EventKind.WITHDRAW, datetime(2026, 3, 3, 9), reason="rút"
        ),
        Log(datetime(2026, 3, 2, 9), refuse=True),
        Log(datetime(2026, 2, 26, 9), due=datetime(2026, 3, 2, 9)),
    ]
    for log in logs:
        folded = snapshot(log.events, MARCH.end_at)
        assert folded is not None
        projected = snapshot_from_state(replay(log.events))
        assert bieu06_line(projected, MARCH) == bieu06_line(folded, MARCH)


# ------------------------------------------------------------------------------------------------
# Biểu 06: the table
# ------------------------------------------------------------------------------------------------


def test_rows_by_field_and_total():
    logs = [
        Log(datetime(2026, 3, 2, 9), field="Hộ tịch"),
        Log(datetime(2026, 3, 2, 9), field="Chứng thực", channel="online"),
        Log(datetime(2026, 3, 2, 9), field="Đất đai"),
    ]
    b = bieu06_from_events([log.events for log in logs], MARCH)
    assert [r.field for r in b.rows] == ["Chứng thực", "Đất đai", "Hộ tịch"]  # Đ sorts as D
    assert b.total.columns() == (3, 1, 2, 0, 0, 0, 0, 0, 3, 3, 0)
    only = bieu06_from_events([log.events for log in logs], MARCH, field="Hộ tịch")
    assert [r.field for r in only.rows] == ["Hộ tịch"]


def test_broken_identities_are_refused():
    bad = Bieu06Counts(received=3, online=1, direct=1, carried=0, pending=3, within=3)
    with pytest.raises(ReportError, match=r"\(3\) 3 ≠ \(4\)\+\(5\)\+\(6\) 2"):
        bieu06([], MARCH, extra={"Hộ tịch": bad})
    bad = Bieu06Counts(received=2, direct=2, resolved=1, early=1, pending=2, within=2)
    with pytest.raises(ReportError, match=r"\(7\)\+\(11\)"):
        bieu06([], MARCH, extra={"Hộ tịch": bad})
    bad = Bieu06Counts(received=1, direct=1, pending=1, within=0, overdue=0)
    with pytest.raises(ReportError, match=r"\(11\)"):
        bieu06([], MARCH, extra={"Hộ tịch": bad})


def test_extra_counts_merge_with_replayed_ones():
    counts = Bieu06Counts()
    counts.add_lines("carried", "late", 2)
    log = Log(datetime(2026, 3, 2, 9))
    snap = snapshot(log.events, MARCH.end_at)
    assert snap is not None
    b = bieu06([snap], MARCH, extra={"Chứng thực": counts})
    assert b.total.columns() == (3, 0, 1, 2, 2, 0, 0, 2, 1, 1, 0)


# ------------------------------------------------------------------------------------------------
# Fees, evaluations, indicators, prefill
# ------------------------------------------------------------------------------------------------


def pay(day: int, amount: int, method: str = "cash", field: str = "Chứng thực") -> Payment:
    return Payment("X", datetime(2026, 3, day, 9), amount, method, "2.001035", "CT", field)


def test_fee_summary_and_reconciliation():
    payments = [pay(2, 50000), pay(2, 10000, "online"), pay(3, 8000, field="Hộ tịch")]
    outside = Payment("X", datetime(2026, 4, 1), 999, "cash", "2.001035", "CT", "Chứng thực")
    f = fee_summary([*payments, outside], MARCH, expected_amount=68000, expected_count=3)
    assert (f.payments, f.amount) == (3, 68000)
    assert [(g.key, g.amount) for g in f.by_field] == [("Chứng thực", 60000), ("Hộ tịch", 8000)]
    assert [(g.key, g.payments) for g in f.by_day] == [("2026-03-02", 2), ("2026-03-03", 1)]
    assert f.by_method["online"] == (1, 10000)
    with pytest.raises(ReportError, match="không khớp nhật ký"):
        fee_summary(payments, MARCH, expected_amount=68001, expected_count=3)
    with pytest.raises(ReportError, match="không khớp nhật ký"):
        fee_summary(payments, MARCH, expected_amount=68000, expected_count=4)


def test_evaluation_summary_rounds_and_counts_levels():
    recs = [
        EvaluationRecord("A", "Hộ tịch", datetime(2026, 3, 2), (2, 2, 2, 2, 2, 2, 2, 2, 1), 5),
        EvaluationRecord("B", "Hộ tịch", datetime(2026, 3, 3), (1, 2, 2, 2, 2, 2, 2, 2, 1), 4),
        EvaluationRecord("C", "Hộ tịch", datetime(2026, 3, 4), (0, 2, 2, 2, 2, 2, 2, 2, 0), 1),
        EvaluationRecord("D", "Hộ tịch", datetime(2026, 4, 4), (0, 0, 0, 0, 0, 0, 0, 0, 0), 1),
    ]
    e = evaluation_summary(recs, MARCH)
    assert e.total.count == 3
    assert e.total.averages[0] == 1.0 and e.total.averages[8] == 0.67
    assert dict(e.total.levels) == {5: 1, 4: 1, 3: 0, 2: 0, 1: 1}
    assert e.total.satisfied == 2
    empty = evaluation_summary([], MARCH, field="Đất đai")
    assert empty.rows[0].averages == (None,) * 9


def test_indicators_without_data_say_so():
    empty_fees = fee_summary([], MARCH)
    empty_eval = evaluation_summary([], MARCH)
    items = service_indicators(Bieu06Counts(), empty_fees, empty_eval)
    assert [i.key for i in items] == [
        "on_time_rate",
        "online_share",
        "online_payment_share",
        "digitised_share",
        "satisfaction_share",
    ]
    assert all(i.value is None and i.note for i in items)
    assert all(i.formula for i in items)
    b = Bieu06Counts()
    b.add_lines("online", "early", 1)
    b.add_lines("direct", "late", 3)
    on_time = service_indicators(b, empty_fees, empty_eval)[0]
    assert (on_time.numerator, on_time.denominator, on_time.value) == (1, 4, 0.25)
    assert on_time.as_json()["percent"] == 25.0


def test_auto_scores():
    log = Log(datetime(2026, 3, 2, 9), due=datetime(2026, 3, 4, 9))
    assert log.state is not None
    assert auto_scores(log.state, log.events) == [None, None, 2, None, 2, None, None, None, None]
    log.act(EventKind.REQUEST_SUPPLEMENT, datetime(2026, 3, 2, 10), reason="thiếu")
    log.act(EventKind.RECORD_SUPPLEMENT, datetime(2026, 3, 2, 11))
    log.act(EventKind.RESOLVE, datetime(2026, 3, 4, 12))
    assert log.state is not None
    assert auto_scores(log.state, log.events)[:5] == [1, None, 1, None, 2]
    late = Log(datetime(2026, 3, 2, 9), due=datetime(2026, 3, 4, 9))
    late.act(
        EventKind.EXTEND, datetime(2026, 3, 2, 10), reason="x", new_due=datetime(2026, 3, 10, 9)
    )
    late.act(EventKind.RESOLVE, datetime(2026, 3, 9, 9))
    assert late.state is not None
    assert auto_scores(late.state, late.events)[0] == 0  # after the legal limit


# ------------------------------------------------------------------------------------------------
# Property: any history satisfies the identities, and the projection agrees with the fold
# ------------------------------------------------------------------------------------------------

# Every action, with a decision three times as likely so that many dossiers finish.
_ACTIONS = [k for k in EventKind if k not in (EventKind.RECEIVE, EventKind.EVALUATE)] + [
    EventKind.RESOLVE
] * 3


def _params(kind: EventKind, now: datetime, draw: Any) -> dict[str, Any]:
    if kind == EventKind.EXTEND:
        day = now.date() + timedelta(days=draw(st.integers(1, 10)))
        while not CAL.is_working_day(day):
            day += timedelta(days=1)
        return {
            "reason": "x",
            "new_due": datetime.combine(day, datetime.min.time()).replace(hour=9),
        }
    if kind == EventKind.RESOLVE:
        return {"decision": draw(st.sampled_from(["approved", "denied"])), "reason": "r"}
    return {"reason": "r", "to": "Tư pháp", "method": "online", "channel": "desk"}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_histories_keep_the_identities(data: st.DataObject):
    draw = data.draw
    start = datetime(2026, 2, 23, 8)
    logs: list[Log] = []
    for _ in range(draw(st.integers(1, 10))):
        at = start + timedelta(minutes=draw(st.integers(0, 60 * 24 * 40)))
        due = at + timedelta(hours=draw(st.integers(1, 24 * 10)))
        log = Log(
            at,
            field=draw(st.sampled_from(["Chứng thực", "Hộ tịch"])),
            channel=draw(st.sampled_from(["in_person", "online", "post"])),
            due=draw(st.sampled_from([due, None])),
            refuse=draw(st.integers(0, 9)) == 0,
        )
        now = at
        for _ in range(draw(st.integers(0, 6))):
            now += timedelta(minutes=draw(st.integers(1, 60 * 24 * 6)))
            kind = draw(st.sampled_from(_ACTIONS))
            try:
                log.act(kind, now, **_params(kind, now, draw))
            except LifecycleError:
                pass
        logs.append(log)
    first = date(2026, 2, 20) + timedelta(days=draw(st.integers(0, 35)))
    p = Period(first, first + timedelta(days=draw(st.integers(3, 45))))
    today = draw(st.sampled_from([None, p.end - timedelta(days=3), p.end + timedelta(days=9)]))
    b = bieu06_from_events([log.events for log in logs], p, today=today)  # checks identities
    assert sum(r.counts.received for r in b.rows) == b.total.received
    assert b.total.received <= len(logs)
    for log in logs:
        folded = snapshot(log.events, p.end_at)
        if folded is None or log.events[-1].at >= p.end_at:
            continue
        projected = snapshot_from_state(replay(log.events))
        extended_after = projected.finish is not None and projected.state.extension_count > 0
        if not extended_after:
            assert bieu06_line(projected, p, today=today) == bieu06_line(folded, p, today=today)
