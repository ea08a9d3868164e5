"""Working-day calendar and office-time arithmetic.

Calendar facts are REFERENCE §8 (holidays 0.108+): Tết 2026 is Sat 14/2 - Sun 22/2 with the
holidays proper on Mon 16 - Fri 20; Sat 22/8/2026 is a make-up working day for Mon 31/8;
1-2/9, 24/11 and the observed Mon 27/4 are days off. The week of Mon 9 - Sun 15 March 2026
has no holiday and is used as the "plain week" below.
"""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from datetime import date, datetime, time, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop.domain.calendar import (
    CalendarOverride,
    DayKind,
    OfficeHours,
    WorkCalendar,
    parse_time_of_day,
)

CAL = WorkCalendar()
MINUTE = timedelta(minutes=1)

# Hypothesis budgets keep the whole file well under a second of test time; the year
# tables are built on first use, so no per-example deadline.
PROPERTY = settings(deadline=None, max_examples=50)
BRUTE_FORCE = settings(deadline=None, max_examples=40)


def dt(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s)


def in_closed_office(cal: WorkCalendar, at: datetime) -> bool:
    """On a working day and inside some session, session end included."""
    t = at.time()
    return cal.is_working_day(at.date()) and any(s <= t <= e for s, e in cal.hours.sessions)


def in_half_open_office(cal: WorkCalendar, at: datetime) -> bool:
    t = at.time()
    return cal.is_working_day(at.date()) and any(s <= t < e for s, e in cal.hours.sessions)


# -- holidays and overrides -----------------------------------------------------------------


def test_tet_2026_block() -> None:
    for day in range(16, 21):
        assert CAL.day_note(date(2026, 2, day)) is not None, day
    for day in range(14, 23):
        assert not CAL.is_working_day(date(2026, 2, day)), day
    assert CAL.is_working_day(date(2026, 2, 13))  # Friday before Tết
    assert CAL.is_working_day(date(2026, 2, 23))  # Monday after
    assert CAL.day_note(date(2026, 2, 17)) == "Tết Nguyên Đán"
    assert CAL.day_note(date(2026, 2, 14)) is None  # plain weekend inside the block


def test_2026_swaps_and_new_holiday() -> None:
    assert CAL.is_working_day(date(2026, 8, 22))  # make-up Saturday
    assert CAL.day_note(date(2026, 8, 22)) == "Ngày làm việc bù"
    assert not CAL.is_working_day(date(2026, 8, 29))  # an ordinary Saturday
    for off in (date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 2)):
        assert not CAL.is_working_day(off), off
    assert not CAL.is_working_day(date(2026, 11, 24))
    assert CAL.day_note(date(2026, 11, 24)) == "Ngày Văn hóa Việt Nam"
    assert not CAL.is_working_day(date(2026, 4, 27))  # Giỗ Tổ on Sunday 26/4, observed Monday
    assert CAL.day_note(date(2026, 4, 27)) == "Ngày Giỗ Tổ Hùng Vương (nghỉ bù)"
    assert CAL.is_working_day(date(2026, 4, 28))


def test_matches_the_holidays_package_day_by_day() -> None:
    vn = holidays.country_holidays("VN", years=range(2020, 2031))
    day = date(2020, 1, 1)
    while day.year <= 2030:
        assert CAL.is_working_day(day) == vn.is_working_day(day), day
        day += timedelta(days=1)


def test_notes_are_vietnamese_nfc() -> None:
    for day in (date(2026, 1, 1), date(2026, 2, 16), date(2026, 8, 31), date(2026, 11, 24)):
        note = CAL.day_note(day)
        assert note is not None
        assert unicodedata.is_normalized("NFC", note)
    assert CAL.day_note(date(2026, 3, 10)) is None


def test_working_day_counts() -> None:
    # 2026: 261 weekdays (365 days from a Thursday = 52 weeks + Thu), minus 13 weekday
    # holidays (1/1, 16-20/2, 27/4, 30/4, 1/5, 31/8, 1/9, 2/9, 24/11), plus Sat 22/8.
    assert CAL.working_days_in(date(2026, 1, 1), date(2026, 12, 31)) == 249
    # February 2026: 20 weekdays minus the five Tết weekdays.
    assert CAL.working_days_in(date(2026, 2, 1), date(2026, 2, 28)) == 15
    # Across the new year: Mon 29, Tue 30, Wed 31 Dec 2025, (Thu 1/1 off), Fri 2/1/2026.
    assert CAL.working_days_in(date(2025, 12, 29), date(2026, 1, 2)) == 4
    assert CAL.working_days_in(date(2026, 3, 10), date(2026, 3, 10)) == 1
    assert CAL.working_days_in(date(2026, 3, 11), date(2026, 3, 10)) == 0


def test_next_working_day_and_adding_days() -> None:
    assert CAL.next_working_day(date(2026, 2, 13)) == date(2026, 2, 23)  # over Tết
    assert CAL.next_working_day(date(2026, 8, 21)) == date(2026, 8, 22)  # make-up Saturday
    assert CAL.next_working_day(date(2026, 8, 22)) == date(2026, 8, 24)
    assert CAL.next_working_day(date(2026, 8, 28)) == date(2026, 9, 3)  # 31/8, 1/9, 2/9 off
    assert CAL.next_working_day(date(2025, 12, 31)) == date(2026, 1, 2)  # across the year
    assert CAL.add_working_days(date(2026, 2, 13), 3) == date(2026, 2, 25)
    assert CAL.add_working_days(date(2026, 2, 25), -3) == date(2026, 2, 13)
    assert CAL.add_working_days(date(2026, 2, 14), 0) == date(2026, 2, 14)


def test_off_override_closes_a_monday_and_work_override_opens_a_sunday() -> None:
    monday, sunday = date(2026, 3, 9), date(2026, 3, 15)
    assert CAL.is_working_day(monday) and not CAL.is_working_day(sunday)
    cal = WorkCalendar(
        [
            CalendarOverride(monday, DayKind.OFF, "Nghỉ bù theo Thông báo của UBND tỉnh"),
            CalendarOverride(sunday, DayKind.WORK),
        ]
    )
    assert not cal.is_working_day(monday)
    assert cal.is_working_day(sunday)
    assert cal.day_note(monday) == "Nghỉ bù theo Thông báo của UBND tỉnh"
    assert cal.day_note(sunday) == "Ngày làm việc theo lịch của đơn vị"
    # The counts and walks see the overrides too: Mon 9 .. Sun 15 loses Monday, gains Sunday.
    assert cal.working_days_in(monday, sunday) == 5
    assert cal.next_working_day(date(2026, 3, 13)) == sunday
    assert cal.add_working_minutes(dt(2026, 3, 13, 9), 480) == dt(2026, 3, 15, 9)
    # The shared package tables are not polluted by one calendar's overrides.
    assert CAL.is_working_day(monday)


def test_override_wins_over_a_holiday_and_last_override_wins() -> None:
    cal = WorkCalendar(
        [
            CalendarOverride(date(2026, 11, 24), DayKind.OFF, "trước"),
            CalendarOverride(date(2026, 11, 24), DayKind.WORK, "Đơn vị trực"),
        ]
    )
    assert cal.is_working_day(date(2026, 11, 24))
    assert cal.day_note(date(2026, 11, 24)) == "Đơn vị trực"
    assert len(cal.overrides) == 1


def test_override_validation() -> None:
    with pytest.raises(ValueError, match="phải là một ngày"):
        CalendarOverride(datetime(2026, 3, 9, 8), DayKind.OFF)
    with pytest.raises(ValueError, match="không hợp lệ"):
        CalendarOverride(date(2026, 3, 9), "holiday")  # type: ignore[arg-type]
    coerced = CalendarOverride(date(2026, 3, 9), "off", "  Nghỉ  ")  # type: ignore[arg-type]
    assert coerced.kind is DayKind.OFF and coerced.note == "Nghỉ"
    nfd = unicodedata.normalize("NFD", "Nghỉ bù")
    assert CalendarOverride(date(2026, 3, 9), DayKind.OFF, nfd).note == "Nghỉ bù"


def test_far_years_fall_back_to_monday_to_friday() -> None:
    # The package's Vietnam calendar stops at 2100; the desk must still answer.
    assert CAL.is_working_day(date(2200, 1, 1))  # a Wednesday
    assert not CAL.is_working_day(date(2200, 1, 4))  # a Saturday


# -- office hours -----------------------------------------------------------------------------


def test_default_office_hours() -> None:
    hours = OfficeHours()
    assert hours.minutes_per_day == 480
    assert hours.opening == time(7, 0) and hours.closing == time(17, 0)
    assert hours.same_day_cutoff == time(15, 0)
    assert hours.format() == "07:00-11:30,13:30-17:00"
    assert OfficeHours.parse("07:00-11:30,13:30-17:00") == hours


@pytest.mark.parametrize(
    ("text", "sessions", "minutes"),
    [
        ("07:30-11:30,13:00-17:00", ((time(7, 30), time(11, 30)), (time(13, 0), time(17, 0))), 480),
        (
            " 7:00 - 11:30 , 13:30 - 16:30 ",
            ((time(7), time(11, 30)), (time(13, 30), time(16, 30))),
            450,
        ),
        ("07:00–11:30,13:30–17:00", ((time(7), time(11, 30)), (time(13, 30), time(17))), 480),
        ("08:00-12:00", ((time(8), time(12)),), 240),
        # Touching sessions are legal: the same as one 07:00-17:00 session.
        ("07:00-11:30,11:30-17:00", ((time(7), time(11, 30)), (time(11, 30), time(17))), 600),
    ],
)
def test_parse_good(text: str, sessions: tuple[tuple[time, time], ...], minutes: int) -> None:
    hours = OfficeHours.parse(text, cutoff="14:30")
    assert hours.sessions == sessions
    assert hours.minutes_per_day == minutes
    assert hours.same_day_cutoff == time(14, 30)
    assert OfficeHours.parse(hours.format(), "14:30") == hours


@pytest.mark.parametrize(
    ("text", "cutoff", "message"),
    [
        ("", "15:00", "Không đọc được giờ làm việc"),
        ("07:00", "15:00", "Không đọc được giờ làm việc"),
        ("07:00-11:30;13:30-17:00", "15:00", "Không đọc được giờ làm việc"),
        ("07:00-11:30,", "15:00", "Không đọc được giờ làm việc"),
        ("7h-11h30", "15:00", "Không đọc được giờ làm việc"),
        ("07:00-24:00", "15:00", "không tồn tại"),
        ("07:60-08:00", "15:00", "không tồn tại"),
        ("11:30-07:00", "15:00", "giờ bắt đầu phải trước giờ kết thúc"),
        ("08:00-08:00", "15:00", "giờ bắt đầu phải trước giờ kết thúc"),
        ("07:00-12:00,11:00-17:00", "15:00", "không chồng lấn"),
        ("13:30-17:00,07:00-11:30", "15:00", "theo thứ tự thời gian"),
        ("07:00-11:30,13:30-17:00", "3pm", "giờ chốt tiếp nhận"),
        ("07:00-11:30,13:30-17:00", "", "giờ chốt tiếp nhận"),
    ],
)
def test_parse_bad(text: str, cutoff: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        OfficeHours.parse(text, cutoff)
    assert unicodedata.is_normalized("NFC", str(info.value))


def test_office_hours_constructor_validation() -> None:
    with pytest.raises(ValueError, match="ít nhất một buổi"):
        OfficeHours(sessions=())
    with pytest.raises(ValueError, match="tính đến phút"):
        OfficeHours(sessions=((time(7, 0, 30), time(11, 30)),))
    with pytest.raises(ValueError, match="tính đến phút"):
        OfficeHours(same_day_cutoff=time(15, 0, 1))
    # Lists are accepted and normalised, so the value stays hashable.
    hours = OfficeHours(sessions=[[time(7), time(11)]])  # type: ignore[arg-type]
    assert hours.sessions == ((time(7), time(11)),)
    assert hash(hours) == hash(OfficeHours(sessions=((time(7), time(11)),)))


def test_parse_time_of_day() -> None:
    assert parse_time_of_day(" 9:05 ") == time(9, 5)
    with pytest.raises(ValueError, match="Không đọc được giờ"):
        parse_time_of_day("9.05")


# -- moments ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (dt(2026, 3, 10, 9, 15, 42), dt(2026, 3, 10, 9, 15, 42)),  # inside: unchanged
        (dt(2026, 3, 10, 7, 0), dt(2026, 3, 10, 7, 0)),
        (dt(2026, 3, 10, 6, 0), dt(2026, 3, 10, 7, 0)),  # before opening
        (dt(2026, 3, 10, 11, 30), dt(2026, 3, 10, 13, 30)),  # lunch starts at 11:30 sharp
        (dt(2026, 3, 10, 12, 0), dt(2026, 3, 10, 13, 30)),
        (dt(2026, 3, 10, 16, 59, 59), dt(2026, 3, 10, 16, 59, 59)),
        (dt(2026, 3, 10, 17, 0), dt(2026, 3, 11, 7, 0)),  # closing is already closed
        (dt(2026, 3, 10, 18, 0), dt(2026, 3, 11, 7, 0)),
        (dt(2026, 3, 13, 17, 30), dt(2026, 3, 16, 7, 0)),  # Friday evening -> Monday
        (dt(2026, 3, 15, 10, 0), dt(2026, 3, 16, 7, 0)),  # Sunday
        (dt(2026, 2, 13, 17, 30), dt(2026, 2, 23, 7, 0)),  # Friday before Tết
        (dt(2026, 2, 17, 9, 0), dt(2026, 2, 23, 7, 0)),  # in Tết
    ],
)
def test_effective_start(at: datetime, expected: datetime) -> None:
    assert CAL.effective_start(at) == expected


def test_aware_datetimes_are_refused() -> None:
    from datetime import timezone

    aware = datetime(2026, 3, 10, 9, tzinfo=timezone(timedelta(hours=7)))
    with pytest.raises(ValueError, match="không kèm múi giờ"):
        CAL.effective_start(aware)
    with pytest.raises(ValueError, match="không kèm múi giờ"):
        CAL.add_working_minutes(aware, 10)
    with pytest.raises(ValueError, match="không kèm múi giờ"):
        CAL.working_minutes_between(aware, aware)


def test_end_of_working_day() -> None:
    assert CAL.end_of_working_day(date(2026, 3, 10)) == dt(2026, 3, 10, 17)
    short = WorkCalendar(hours=OfficeHours.parse("07:30-11:30,13:00-16:30"))
    assert short.end_of_working_day(date(2026, 3, 10)) == dt(2026, 3, 10, 16, 30)


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        # A full day from opening ends at closing the same day, not at 07:00 the next day.
        (dt(2026, 3, 10, 7), 480, dt(2026, 3, 10, 17)),
        # 09:00 + 150 = 11:30 exactly: stays on the end of the morning session.
        (dt(2026, 3, 10, 9), 150, dt(2026, 3, 10, 11, 30)),
        (dt(2026, 3, 10, 9), 151, dt(2026, 3, 10, 13, 31)),
        (dt(2026, 3, 10, 12), 1, dt(2026, 3, 10, 13, 31)),  # lunch start counts from 13:30
        (dt(2026, 3, 10, 17), 1, dt(2026, 3, 11, 7, 1)),
        (dt(2026, 3, 10, 12), 0, dt(2026, 3, 10, 12)),  # zero leaves the moment alone
        (dt(2026, 3, 13, 16), 60, dt(2026, 3, 13, 17)),
        (dt(2026, 3, 13, 16), 61, dt(2026, 3, 16, 7, 1)),  # Friday -> Monday
        # Fri 13/2 10:00 + 3 days: 300 min left on Friday, then Mon 23 and Tue 24 (960),
        # and 180 min into Wed 25 -> 10:00.
        (dt(2026, 2, 13, 10), 3 * 480, dt(2026, 2, 25, 10)),
        (dt(2026, 3, 10, 9, 0, 30), 60, dt(2026, 3, 10, 10, 0, 30)),  # seconds carried
    ],
)
def test_add_working_minutes(start: datetime, minutes: int, expected: datetime) -> None:
    assert CAL.add_working_minutes(start, minutes) == expected


@pytest.mark.parametrize(
    ("end", "minutes", "expected"),
    [
        (dt(2026, 3, 10, 17), 480, dt(2026, 3, 10, 7)),  # lands on opening: stays there
        (dt(2026, 3, 10, 17), 210, dt(2026, 3, 10, 13, 30)),
        (dt(2026, 3, 10, 17), 211, dt(2026, 3, 10, 11, 29)),
        (dt(2026, 3, 10, 12), 30, dt(2026, 3, 10, 11)),  # from lunch: back from 11:30
        (dt(2026, 3, 16, 7), 1, dt(2026, 3, 13, 16, 59)),  # Monday -> Friday
        (dt(2026, 2, 23, 7), 60, dt(2026, 2, 13, 16)),  # over Tết
        (dt(2026, 3, 10, 12), 0, dt(2026, 3, 10, 12)),
    ],
)
def test_subtract_working_minutes(end: datetime, minutes: int, expected: datetime) -> None:
    assert CAL.subtract_working_minutes(end, minutes) == expected


def test_negative_minutes_are_refused() -> None:
    with pytest.raises(ValueError, match="không được âm"):
        CAL.add_working_minutes(dt(2026, 3, 10, 9), -1)
    with pytest.raises(ValueError, match="không được âm"):
        CAL.subtract_working_minutes(dt(2026, 3, 10, 9), -1)


def test_working_minutes_between() -> None:
    # Tue 10/3 10:00 -> Mon 16/3 14:00: Tue 90 + 210, Wed-Fri 3 x 480, Mon 270 + 30 = 2040.
    assert CAL.working_minutes_between(dt(2026, 3, 10, 10), dt(2026, 3, 16, 14)) == 2040
    assert CAL.working_minutes_between(dt(2026, 3, 10, 11), dt(2026, 3, 10, 14)) == 60
    assert CAL.working_minutes_between(dt(2026, 3, 10, 12), dt(2026, 3, 10, 13)) == 0
    assert CAL.working_minutes_between(dt(2026, 3, 16, 14), dt(2026, 3, 10, 10)) == 0
    # Thu 12/2 10:00 -> Tue 24/2 10:00 over Tết: 300 + 480 (Fri) + 480 (Mon 23) + 180.
    assert CAL.working_minutes_between(dt(2026, 2, 12, 10), dt(2026, 2, 24, 10)) == 1440
    # Seconds are floored in minutes and kept exactly in working_time_between.
    a, b = dt(2026, 3, 10, 10), dt(2026, 3, 10, 10, 0, 59)
    assert CAL.working_minutes_between(a, b) == 0
    assert CAL.working_time_between(a, b) == timedelta(seconds=59)


def test_custom_hours_change_results() -> None:
    short = WorkCalendar(hours=OfficeHours.parse("07:30-11:30,13:00-16:30", cutoff="14:00"))
    assert short.hours.minutes_per_day == 450
    assert short.effective_start(dt(2026, 3, 10, 12)) == dt(2026, 3, 10, 13)  # not 13:30
    assert short.effective_start(dt(2026, 3, 10, 7, 10)) == dt(2026, 3, 10, 7, 30)
    # 16:45 is still office time by default, but after closing with the short hours.
    assert CAL.effective_start(dt(2026, 3, 10, 16, 45)) == dt(2026, 3, 10, 16, 45)
    assert short.effective_start(dt(2026, 3, 10, 16, 45)) == dt(2026, 3, 11, 7, 30)
    assert short.add_working_minutes(dt(2026, 3, 11, 7, 30), 450) == dt(2026, 3, 11, 16, 30)
    assert short.working_minutes_between(dt(2026, 3, 10, 7), dt(2026, 3, 11, 7)) == 450


def test_large_jump_is_exact_and_fast() -> None:
    # 20 years of office time in one call; checked against the independent day counter.
    start = dt(2026, 3, 10, 9)
    minutes = 480 * 5_000 + 17
    end = CAL.add_working_minutes(start, minutes)
    assert CAL.working_minutes_between(start, end) == minutes
    assert CAL.subtract_working_minutes(end, minutes) == start
    # 5 000 working days after Tue 10/3/2026, 09:00, then 17 more minutes.
    assert end.time() == time(9, 17)
    assert CAL.working_days_in(date(2026, 3, 11), end.date()) == 5_000


def test_calendar_module_is_pure() -> None:
    code = (
        "import sys, onestop.domain.calendar, onestop.domain.deadlines\n"
        "bad = {'textual', 'rich', 'sqlalchemy', 'sqlmodel', 'httpx'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- properties -------------------------------------------------------------------------------

moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31))
minute_moments = moments.map(lambda m: m.replace(second=0, microsecond=0))


@st.composite
def office_moments(draw: st.DrawFn, cal: WorkCalendar = CAL) -> datetime:
    """A moment in half-open office time on a working day, seconds included."""
    day = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)))
    if not cal.is_working_day(day):
        day = cal.next_working_day(day)
    offset = draw(st.integers(0, cal.hours.minutes_per_day * 60 - 1))  # seconds into the day
    for start, end in cal.hours.sessions:
        length = (end.hour * 60 + end.minute - start.hour * 60 - start.minute) * 60
        if offset < length:
            return datetime.combine(day, start) + timedelta(seconds=offset)
        offset -= length
    raise AssertionError


@st.composite
def office_hours(draw: st.DrawFn) -> OfficeHours:
    """1-3 sessions, touching ones (gap 0) included, all inside one day."""
    start = draw(st.integers(0, 12 * 60))
    sessions: list[tuple[time, time]] = []
    for _ in range(draw(st.integers(1, 3))):
        end = start + draw(st.integers(1, 300))
        if end > 1439:
            break
        sessions.append((time(start // 60, start % 60), time(end // 60, end % 60)))
        start = end + draw(st.integers(0, 240))
        if start > 1438:
            break
    if not sessions:
        sessions.append((time(7), time(17)))
    return OfficeHours(sessions=tuple(sessions))


def _spans(cal: WorkCalendar) -> list[tuple[int, int]]:
    return [(s.hour * 60 + s.minute, e.hour * 60 + e.minute) for s, e in cal.hours.sessions]


def _moment(day: date, minute_of_day: int) -> datetime:
    # minute_of_day may be 1440: midnight at the end of ``day``.
    return datetime.combine(day, time()) + timedelta(minutes=minute_of_day)


def reference_add(cal: WorkCalendar, start: datetime, minutes: int) -> datetime:
    """Minute-by-minute walk: the obviously correct, slow add_working_minutes."""
    spans = _spans(cal)
    day, m = start.date(), start.hour * 60 + start.minute
    while minutes:
        if not cal.is_working_day(day):
            day, m = day + timedelta(days=1), 0
        elif any(s <= m < e for s, e in spans):
            m += 1
            minutes -= 1
        else:
            later = [s for s, _ in spans if s > m]
            if later:
                m = later[0]
            else:
                day, m = day + timedelta(days=1), 0
    return _moment(day, m)


def reference_subtract(cal: WorkCalendar, end: datetime, minutes: int) -> datetime:
    """Minute-by-minute walk backwards: the slow subtract_working_minutes."""
    spans = _spans(cal)
    day, m = end.date(), end.hour * 60 + end.minute
    while minutes:
        if not cal.is_working_day(day):
            day, m = day - timedelta(days=1), 1440
        elif any(s < m <= e for s, e in spans):
            m -= 1
            minutes -= 1
        else:
            earlier = [e for _, e in spans if e < m]
            if earlier:
                m = earlier[-1]
            else:
                day, m = day - timedelta(days=1), 1440
    return _moment(day, m)


@PROPERTY
@given(start=moments, minutes=st.integers(0, 480 * 600))
def test_add_then_measure_gives_back_the_minutes(start: datetime, minutes: int) -> None:
    end = CAL.add_working_minutes(start, minutes)
    assert end >= start
    assert CAL.working_minutes_between(start, end) == minutes


@PROPERTY
@given(start=moments, a=st.integers(0, 480 * 100), b=st.integers(0, 480 * 100))
def test_add_is_monotonic(start: datetime, a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    assert CAL.add_working_minutes(start, lo) <= CAL.add_working_minutes(start, hi)


@PROPERTY
@given(start=moments, minutes=st.integers(1, 480 * 100))
def test_add_result_is_office_time(start: datetime, minutes: int) -> None:
    end = CAL.add_working_minutes(start, minutes)
    assert in_closed_office(CAL, end)
    # (s, e]: a positive walk never ends on a session start (the default has no touching ones).
    assert end.time() not in {s for s, _ in CAL.hours.sessions}


@PROPERTY
@given(start=office_moments(), minutes=st.integers(0, 480 * 300))
def test_subtract_undoes_add_in_office_time(start: datetime, minutes: int) -> None:
    end = CAL.add_working_minutes(start, minutes)
    assert CAL.subtract_working_minutes(end, minutes) == start


@PROPERTY
@given(end=moments, minutes=st.integers(0, 480 * 300))
def test_subtract_then_measure_gives_back_the_minutes(end: datetime, minutes: int) -> None:
    start = CAL.subtract_working_minutes(end, minutes)
    assert start <= end
    assert CAL.working_minutes_between(start, end) == minutes
    if minutes:
        assert in_half_open_office(CAL, start)


@BRUTE_FORCE
@given(hours=office_hours(), start=minute_moments, minutes=st.integers(0, 1500))
def test_add_matches_minute_by_minute_walk(
    hours: OfficeHours, start: datetime, minutes: int
) -> None:
    cal = WorkCalendar(hours=hours)
    assert cal.add_working_minutes(start, minutes) == reference_add(cal, start, minutes)


@BRUTE_FORCE
@given(hours=office_hours(), start=minute_moments, minutes=st.integers(0, 1500))
def test_between_matches_minute_count(hours: OfficeHours, start: datetime, minutes: int) -> None:
    cal = WorkCalendar(hours=hours)
    end = reference_add(cal, start, minutes)
    assert cal.working_minutes_between(start, end) == minutes


@BRUTE_FORCE
@given(hours=office_hours(), end=minute_moments, minutes=st.integers(0, 1500))
def test_subtract_matches_minute_by_minute_walk(
    hours: OfficeHours, end: datetime, minutes: int
) -> None:
    cal = WorkCalendar(hours=hours)
    assert cal.subtract_working_minutes(end, minutes) == reference_subtract(cal, end, minutes)


@PROPERTY
@given(
    a=st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)),
    span=st.integers(-5, 120),
)
def test_day_counting_matches_a_plain_loop(a: date, span: int) -> None:
    b = a + timedelta(days=span)
    expected = sum(CAL.is_working_day(a + timedelta(days=i)) for i in range(max(0, span + 1)))
    assert CAL.working_days_in(a, b) == expected
    nxt = a + timedelta(days=1)
    while not CAL.is_working_day(nxt):
        nxt += timedelta(days=1)
    assert CAL.next_working_day(a) == nxt
