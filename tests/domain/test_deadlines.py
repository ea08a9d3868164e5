"""Due dates, supplement pauses, the extension window and timeliness classes.

Hand-worked examples use the default office hours 07:00-11:30 / 13:30-17:00 (480 min a day).
The week Mon 9 - Sun 15 March 2026 has no holiday and is the "plain week"; Tết 2026 closes
Sat 14/2 - Sun 22/2; Sat 22/8/2026 is a make-up working day; Tue 24/11/2026 is a day off.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop.domain.calendar import OfficeHours, WorkCalendar
from onestop.domain.catalogue import parse_catalogue
from onestop.domain.deadlines import (
    TimeLimit,
    Timeliness,
    TimeUnit,
    can_extend,
    classify,
    compute_due,
    extension_deadline,
    resume_due,
    working_days_left,
)
from onestop.paths import asset_path

CAL = WorkCalendar()

# Hypothesis budgets keep the whole file well under a second of test time; the year
# tables are built on first use, so no per-example deadline.
PROPERTY = settings(deadline=None, max_examples=50)


def dt(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s)


def wd(n: int | None) -> TimeLimit:
    return TimeLimit(TimeUnit.WORKING_DAYS, n)


def cd(n: int | None) -> TimeLimit:
    return TimeLimit(TimeUnit.CALENDAR_DAYS, n)


SAME_DAY = TimeLimit(TimeUnit.SAME_DAY, cutoff=time(15, 0))
IMMEDIATE = TimeLimit(TimeUnit.IMMEDIATE)


# -- working days -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "received", "due"),
    [
        # Mon 09:00 + 3 working days = Thu 09:00 (the README example).
        (wd(3), dt(2026, 3, 9, 9), dt(2026, 3, 12, 9)),
        # Fri 13/2 10:00 over Tết: Friday has 300 min left (10:00-11:30, 13:30-17:00); the next
        # working days are Mon 23 and Tue 24 (960 min); the last 180 min end Wed 25 at 10:00.
        (wd(3), dt(2026, 2, 13, 10), dt(2026, 2, 25, 10)),
        # The make-up Saturday counts: Fri 21/8 10:00 + 1 day = Sat 22/8 10:00 ...
        (wd(1), dt(2026, 8, 21, 10), dt(2026, 8, 22, 10)),
        (wd(2), dt(2026, 8, 21, 10), dt(2026, 8, 24, 10)),
        # ... and the day it pays for does not: after Thu 27/8 come Fri 28/8, then (31/8, 1/9,
        # 2/9 off) Thu 3/9 and Fri 4/9.
        (wd(3), dt(2026, 8, 27, 10), dt(2026, 9, 4, 10)),
        # 24/11/2026 (Ngày Văn hóa Việt Nam) is skipped: Mon 23 + 2 = Wed 25 (1), Thu 26 (2).
        (wd(2), dt(2026, 11, 23, 9), dt(2026, 11, 26, 9)),
        # Observed Giỗ Tổ on Mon 27/4: Fri 24/4 + 1 = Tue 28/4.
        (wd(1), dt(2026, 4, 24, 9), dt(2026, 4, 28, 9)),
        # Before opening counts from 07:00; 07:00 + one day ends at 17:00 the same day.
        (wd(1), dt(2026, 3, 10, 6), dt(2026, 3, 10, 17)),
        # After closing and on Sunday: from the next working day's opening.
        (wd(1), dt(2026, 3, 10, 18), dt(2026, 3, 11, 17)),
        (wd(1), dt(2026, 3, 15, 10), dt(2026, 3, 16, 17)),
        # Received in the lunch break, 2 working days: the clock starts at 13:30 Tue. Tue
        # gives 210 min, Wed 480, and the last 270 min are Thu's whole morning, so the walk
        # ends on a session end: Thu 11:30 (the same office moment as Thu 13:30).
        (wd(2), dt(2026, 3, 10, 12), dt(2026, 3, 12, 11, 30)),
        (wd(2), dt(2026, 3, 10, 13, 30), dt(2026, 3, 12, 11, 30)),
        (wd(2), dt(2026, 3, 10, 11), dt(2026, 3, 12, 11)),
        # Zero days is the effective start itself.
        (wd(0), dt(2026, 3, 10, 12), dt(2026, 3, 10, 13, 30)),
    ],
)
def test_working_days(limit: TimeLimit, received: datetime, due: datetime) -> None:
    assert compute_due(limit, received, CAL) == due


def test_due_is_rounded_up_to_the_minute() -> None:
    # Tue 09:00:30 + 1 day = Wed 09:00:30, shown as 09:01 (never earlier than the exact due).
    assert compute_due(wd(1), dt(2026, 3, 10, 9, 0, 30), CAL) == dt(2026, 3, 11, 9, 1)
    # Rounding up 11:29:30 reaches the end of the morning session, not 13:30.
    assert compute_due(wd(1), dt(2026, 3, 10, 11, 29, 30), CAL) == dt(2026, 3, 11, 11, 30)
    exact = datetime(2026, 3, 10, 9, 15, 0, 1)
    assert compute_due(wd(1), exact, CAL) == dt(2026, 3, 11, 9, 16)


# -- calendar days ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "received", "due"),
    [
        (cd(10), dt(2026, 3, 10, 9), dt(2026, 3, 20, 9)),
        # Tue 10/3 + 5 = Sun 15/3, pushed to Mon 16/3 at the same time.
        (cd(5), dt(2026, 3, 10, 9), dt(2026, 3, 16, 9)),
        # Received Saturday: counts from Mon 16/3 07:00; + 3 = Thu 19/3 07:00.
        (cd(3), dt(2026, 3, 14, 10), dt(2026, 3, 19, 7)),
        # Lunch receipt keeps the effective start's 13:30.
        (cd(1), dt(2026, 3, 10, 12), dt(2026, 3, 11, 13, 30)),
        # Tue 10/2 + 7 = Tue 17/2, inside Tết: next working day Mon 23/2.
        (cd(7), dt(2026, 2, 10, 9), dt(2026, 2, 23, 9)),
        (cd(1), dt(2026, 3, 10, 9, 10, 5), dt(2026, 3, 11, 9, 11)),
    ],
)
def test_calendar_days(limit: TimeLimit, received: datetime, due: datetime) -> None:
    assert compute_due(limit, received, CAL) == due


# -- same day and immediate -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (dt(2026, 3, 10, 14, 59), dt(2026, 3, 10, 17)),
        (dt(2026, 3, 10, 14, 59, 59), dt(2026, 3, 10, 17)),  # still before 15:00
        (dt(2026, 3, 10, 15, 0), dt(2026, 3, 10, 17)),  # at 15:00 sharp: not "after 15:00"
        (dt(2026, 3, 10, 15, 0, 1), dt(2026, 3, 11, 17)),  # after it: next working day
        (dt(2026, 3, 10, 16, 30), dt(2026, 3, 11, 17)),
        (dt(2026, 3, 13, 15, 30), dt(2026, 3, 16, 17)),  # Friday after 15:00 -> Monday
        (dt(2026, 3, 10, 6, 0), dt(2026, 3, 10, 17)),  # before opening
        (dt(2026, 3, 10, 12, 0), dt(2026, 3, 10, 17)),  # lunch break
        (dt(2026, 3, 10, 18, 0), dt(2026, 3, 11, 17)),  # after closing
        # On a day off the next working day is "the day of receipt": its cut-off is unused.
        (dt(2026, 3, 15, 16, 0), dt(2026, 3, 16, 17)),
        (dt(2026, 2, 13, 15, 30), dt(2026, 2, 23, 17)),  # over Tết
        (dt(2026, 8, 21, 15, 30), dt(2026, 8, 22, 17)),  # the make-up Saturday
    ],
)
def test_same_day_cutoff(received: datetime, due: datetime) -> None:
    assert compute_due(SAME_DAY, received, CAL) == due


def test_same_day_cutoff_sources() -> None:
    received = dt(2026, 3, 10, 14, 30)
    # The procedure's own cut-off wins over the desk's.
    early = TimeLimit(TimeUnit.SAME_DAY, cutoff=time(14, 0))
    assert compute_due(early, received, CAL) == dt(2026, 3, 11, 17)
    # Without one, the desk's OfficeHours.same_day_cutoff applies.
    plain = TimeLimit(TimeUnit.SAME_DAY)
    assert compute_due(plain, received, CAL) == dt(2026, 3, 10, 17)
    assert compute_due(plain, dt(2026, 3, 10, 15), CAL) == dt(2026, 3, 10, 17)  # 15:00 sharp
    assert compute_due(plain, dt(2026, 3, 10, 15, 1), CAL) == dt(2026, 3, 11, 17)
    late_desk = WorkCalendar(hours=OfficeHours.parse("07:00-11:30,13:30-17:00", "16:00"))
    assert compute_due(plain, dt(2026, 3, 10, 15, 30), late_desk) == dt(2026, 3, 10, 17)
    short = WorkCalendar(hours=OfficeHours.parse("07:30-11:30,13:00-16:30", "14:00"))
    assert compute_due(plain, received, short) == dt(2026, 3, 11, 16, 30)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (dt(2026, 3, 10, 16, 0), dt(2026, 3, 10, 17)),  # no 15:00 rule
        (dt(2026, 3, 10, 6, 0), dt(2026, 3, 10, 17)),
        (dt(2026, 3, 10, 18, 0), dt(2026, 3, 11, 17)),
        (dt(2026, 3, 14, 9, 0), dt(2026, 3, 16, 17)),  # Saturday
    ],
)
def test_immediate(received: datetime, due: datetime) -> None:
    assert compute_due(IMMEDIATE, received, CAL) == due


def test_no_fixed_due() -> None:
    received = dt(2026, 3, 10, 9)
    assert compute_due(TimeLimit(TimeUnit.UNKNOWN), received, CAL) is None
    assert compute_due(wd(None), received, CAL) is None
    assert compute_due(cd(None), received, CAL) is None
    composite = TimeLimit(TimeUnit.WORKING_DAYS, None, time(15, 0))
    assert compute_due(composite, received, CAL) is None


# -- TimeLimit ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "text"),
    [
        (wd(3), "3 ngày làm việc"),
        (cd(15), "15 ngày (tính cả ngày nghỉ)"),
        (SAME_DAY, "Trong ngày (sau 15 giờ: ngày làm việc tiếp theo)"),
        (
            TimeLimit(TimeUnit.SAME_DAY, cutoff=time(14, 30)),
            "Trong ngày (sau 14 giờ 30: ngày làm việc tiếp theo)",
        ),
        (TimeLimit(TimeUnit.SAME_DAY), "Trong ngày"),
        (IMMEDIATE, "Ngay sau khi nhận đủ giấy tờ theo quy định"),
        (TimeLimit(TimeUnit.UNKNOWN), "Không có ngày hẹn trả cụ thể theo quy định"),
        (wd(None), "Không có ngày hẹn trả cụ thể theo quy định"),
    ],
)
def test_describe_vi(limit: TimeLimit, text: str) -> None:
    assert limit.describe_vi() == text
    assert unicodedata.is_normalized("NFC", limit.describe_vi())


def test_describe_vi_uses_the_desk_cutoff_when_the_limit_has_none() -> None:
    assert (
        TimeLimit(TimeUnit.SAME_DAY).describe_vi(CAL.hours.same_day_cutoff)
        == "Trong ngày (sau 15 giờ: ngày làm việc tiếp theo)"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"unit": "weeks"}, "Đơn vị thời hạn"),
        ({"unit": TimeUnit.SAME_DAY, "value": 1}, "không có số ngày"),
        ({"unit": TimeUnit.WORKING_DAYS, "value": -1}, "không được âm"),
        ({"unit": TimeUnit.WORKING_DAYS, "value": True}, "số nguyên"),
        ({"unit": TimeUnit.WORKING_DAYS, "value": 1.5}, "số nguyên"),
        ({"unit": TimeUnit.SAME_DAY, "cutoff": time(15, 0, 30)}, "tính đến phút"),
    ],
)
def test_time_limit_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TimeLimit(**kwargs)  # type: ignore[arg-type]


def test_unit_given_as_text_is_coerced() -> None:
    assert TimeLimit("working_days", 2).unit is TimeUnit.WORKING_DAYS  # type: ignore[arg-type]


def test_every_catalogue_row_gives_a_limit() -> None:
    procedures = parse_catalogue(asset_path("catalogue", "procedures.csv").read_text("utf-8"))
    assert procedures
    received = dt(2026, 3, 10, 9)
    for info in procedures:
        due = compute_due(info.limit, received, CAL)
        assert (due is None) == (not info.limit.has_fixed_due), info.name
        assert info.limit.describe_vi()


# -- supplement pause ---------------------------------------------------------------------------


def test_pause_of_several_days_shifts_by_the_office_minutes() -> None:
    paused, resumed = dt(2026, 3, 10, 10), dt(2026, 3, 16, 14)
    # Tue 10:00-17:00 = 300 min; Wed-Fri = 1440; Mon 07:00-14:00 = 300 -> 2040 min
    # (4 working days + 120 min).
    assert CAL.working_minutes_between(paused, resumed) == 2040
    due = dt(2026, 3, 12, 10)
    # Thu 12/3 10:00 + 4 days = Wed 18/3 10:00; + 120 min = 11:30 (90) + 30 -> 14:00.
    new_due = resume_due(due, paused, resumed, TimeUnit.WORKING_DAYS, CAL)
    assert new_due == dt(2026, 3, 18, 14)
    assert CAL.working_minutes_between(due, new_due) == 2040


def test_pause_over_tet() -> None:
    # Thu 12/2 10:00 -> Tue 24/2 10:00 is 300 + 480 + 480 + 180 = 1440 min = 3 days; from
    # Wed 25/2 10:00 that is Thu 26, Fri 27, Mon 2/3 -> Mon 2/3 10:00.
    new_due = resume_due(
        dt(2026, 2, 25, 10), dt(2026, 2, 12, 10), dt(2026, 2, 24, 10), TimeUnit.WORKING_DAYS, CAL
    )
    assert new_due == dt(2026, 3, 2, 10)


def test_pause_edge_cases() -> None:
    due = dt(2026, 3, 12, 17)
    for unit in TimeUnit:
        assert resume_due(due, dt(2026, 3, 10, 9), dt(2026, 3, 10, 9), unit, CAL) == due
        assert resume_due(due, dt(2026, 3, 10, 9), dt(2026, 3, 9, 9), unit, CAL) == due
    # A pause wholly outside office time (Fri evening -> Mon before opening) moves nothing.
    outside = resume_due(
        due, dt(2026, 3, 13, 17, 30), dt(2026, 3, 16, 6, 45), TimeUnit.WORKING_DAYS, CAL
    )
    assert outside == due
    # 30 seconds of pause cost the office a whole minute, never less: 17:00 + 1 -> Fri 07:01.
    short = resume_due(due, dt(2026, 3, 10, 9), dt(2026, 3, 10, 9, 0, 30), TimeUnit.SAME_DAY, CAL)
    assert short == dt(2026, 3, 13, 7, 1)


def test_pause_in_calendar_days() -> None:
    due = dt(2026, 3, 20, 9)
    # Paused Tue 10/3 16:00, resumed Thu 12/3 08:00: 2 calendar days -> Sun 22/3 -> Mon 23/3.
    new_due = resume_due(due, dt(2026, 3, 10, 16), dt(2026, 3, 12, 8), TimeUnit.CALENDAR_DAYS, CAL)
    assert new_due == dt(2026, 3, 23, 9)
    same_date = resume_due(
        due, dt(2026, 3, 10, 8), dt(2026, 3, 10, 16), TimeUnit.CALENDAR_DAYS, CAL
    )
    assert same_date == due


# -- extension ----------------------------------------------------------------------------------


def test_extension_window_is_counted_in_days() -> None:
    """Issue 16.1: any time on the working day before the due's date is in time (also after
    the due's clock time), nothing on the due day itself (also before the due's clock time)."""
    for due in (dt(2026, 3, 12, 10), dt(2026, 3, 12, 17), dt(2026, 3, 12, 7)):  # Thu
        assert extension_deadline(due, CAL) == dt(2026, 3, 11, 23, 59)
        assert can_extend(due, dt(2026, 3, 10, 10), CAL)  # two working days before
        assert can_extend(due, dt(2026, 3, 11, 7), CAL)
        assert can_extend(due, dt(2026, 3, 11, 16, 59), CAL)  # after the due's clock time
        assert can_extend(due, dt(2026, 3, 11, 21, 0), CAL)  # working late on that day
        assert not can_extend(due, dt(2026, 3, 12, 6, 30), CAL)  # the due day, even early
        assert not can_extend(due, dt(2026, 3, 13, 8), CAL)  # already late


def test_extension_window_across_a_weekend() -> None:
    due = dt(2026, 3, 16, 10)  # Mon
    assert extension_deadline(due, CAL) == dt(2026, 3, 13, 23, 59)  # the Friday before
    assert can_extend(due, dt(2026, 3, 13, 16, 0), CAL)
    assert not can_extend(due, dt(2026, 3, 14, 9), CAL)  # Saturday is not a working day
    assert not can_extend(due, dt(2026, 3, 15, 9), CAL)


def test_extension_window_across_tet() -> None:
    assert extension_deadline(dt(2026, 2, 23, 10), CAL) == dt(2026, 2, 13, 23, 59)
    assert can_extend(dt(2026, 2, 23, 10), dt(2026, 2, 13, 16, 30), CAL)
    assert not can_extend(dt(2026, 2, 23, 10), dt(2026, 2, 16, 9), CAL)  # inside Tết


# -- classification -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("done", "expected"),
    [
        (dt(2026, 3, 11, 16), Timeliness.EARLY),
        (dt(2026, 3, 12, 8), Timeliness.ON_TIME),
        (dt(2026, 3, 12, 16), Timeliness.ON_TIME),  # after the hour, same date: on time
        (dt(2026, 3, 13, 8), Timeliness.LATE),
    ],
)
def test_classify_by_date(done: datetime, expected: Timeliness) -> None:
    assert classify(done, dt(2026, 3, 12, 10)) is expected


def test_classify_without_due() -> None:
    assert classify(dt(2030, 1, 1), None) is Timeliness.ON_TIME


@pytest.mark.parametrize(
    ("now", "due", "left"),
    [
        (dt(2026, 3, 9, 9), dt(2026, 3, 12, 10), 3),  # Tue, Wed, Thu
        (dt(2026, 3, 12, 16), dt(2026, 3, 12, 10), 0),  # due today (past the hour)
        (dt(2026, 3, 13, 9), dt(2026, 3, 12, 10), -1),
        (dt(2026, 3, 14, 9), dt(2026, 3, 13, 17), -1),  # Saturday after a Friday due
        (dt(2026, 3, 16, 9), dt(2026, 3, 13, 17), -1),
        (dt(2026, 3, 17, 9), dt(2026, 3, 13, 17), -2),
        (dt(2026, 2, 13, 9), dt(2026, 2, 25, 10), 3),  # 23, 24, 25 Feb over Tết
    ],
)
def test_working_days_left(now: datetime, due: datetime, left: int) -> None:
    assert working_days_left(now, due, CAL) == left


# -- properties ---------------------------------------------------------------------------------

moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31))
limits = st.one_of(
    st.builds(TimeLimit, st.just(TimeUnit.WORKING_DAYS), st.integers(0, 60)),
    st.builds(TimeLimit, st.just(TimeUnit.CALENDAR_DAYS), st.integers(0, 90)),
    st.builds(
        TimeLimit,
        st.just(TimeUnit.SAME_DAY),
        st.none(),
        st.one_of(st.none(), st.sampled_from([time(12), time(15), time(16, 30)])),
    ),
    st.just(IMMEDIATE),
)


def _in_closed_office(at: datetime) -> bool:
    t = at.time()
    return CAL.is_working_day(at.date()) and any(s <= t <= e for s, e in CAL.hours.sessions)


@PROPERTY
@given(limit=limits, received=moments)
def test_due_is_never_before_receipt_and_is_office_time(
    limit: TimeLimit, received: datetime
) -> None:
    due = compute_due(limit, received, CAL)
    assert due is not None
    assert due >= received
    assert due.second == 0 and due.microsecond == 0
    assert _in_closed_office(due)


@PROPERTY
@given(limit=limits, received=moments, paused=moments)
def test_zero_pause_keeps_the_due(limit: TimeLimit, received: datetime, paused: datetime) -> None:
    due = compute_due(limit, received, CAL)
    assert due is not None
    assert resume_due(due, paused, paused, limit.unit, CAL) == due


@PROPERTY
@given(received=moments, days=st.integers(1, 30), paused=moments, pause=st.integers(0, 20_000))
def test_pause_adds_exactly_the_paused_office_minutes(
    received: datetime, days: int, paused: datetime, pause: int
) -> None:
    due = compute_due(wd(days), received, CAL)
    assert due is not None
    paused = paused.replace(second=0, microsecond=0)
    resumed = paused + timedelta(minutes=pause)
    elapsed = CAL.working_minutes_between(paused, resumed)
    new_due = resume_due(due, paused, resumed, TimeUnit.WORKING_DAYS, CAL)
    assert new_due >= due
    assert CAL.working_minutes_between(due, new_due) == elapsed


@PROPERTY
@given(received=moments, days=st.integers(1, 20), now=moments)
def test_can_extend_iff_a_working_day_lies_between_today_and_the_due_day(
    received: datetime, days: int, now: datetime
) -> None:
    due = compute_due(wd(days), received, CAL)
    assert due is not None
    # The rule restated: some working day d with today <= d < the due's date.
    allowed = CAL.working_days_in(now.date(), due.date() - timedelta(days=1)) >= 1
    assert can_extend(due, now, CAL) == allowed


@PROPERTY
@given(now=moments, due=moments)
def test_days_left_agrees_with_classify(now: datetime, due: datetime) -> None:
    left = working_days_left(now, due, CAL)
    timeliness = classify(now, due)
    assert (left < 0) == (timeliness is Timeliness.LATE)
    assert (left == 0) == (now.date() == due.date()) or not CAL.is_working_day(due.date())
