"""Working-day calendar and office hours for a commune one-stop desk.

Every ``datetime`` handled here is a *naive local Vietnam wall-clock* time (UTC+7, Vietnam has
no daylight saving time). Passing an aware ``datetime`` raises ``ValueError`` instead of
silently mixing clocks; convert at the boundary (``dt.astimezone(VN).replace(tzinfo=None)``).

Working days come from the ``holidays`` package's Vietnam calendar (statutory holidays, the
Tết block, observed days and the government's working-day swaps such as the make-up Saturday
22/8/2026), overlaid by local overrides that an administrator keeps (REFERENCE §8: the yearly
decisions arrive months ahead, so the desk must be able to correct the package). A local
override always wins.

Office time is a set of daily sessions (default 07:00-11:30 and 13:30-17:00, 480 minutes).
Arithmetic on office time follows two mirror-image rules, which make the results unique:

* ``add_working_minutes(start, m)`` returns the *earliest* moment ``t >= start`` such that the
  office time in ``[start, t)`` is ``m``: a walk that ends exactly on a session end stays there
  (Tue 07:00 + 480 min = Tue 17:00, not Wed 07:00).
* ``subtract_working_minutes(end, m)`` returns the *latest* moment ``t <= end`` such that the
  office time in ``[t, end)`` is ``m``: a walk that ends exactly on a session start stays there
  (Tue 17:00 - 480 min = Tue 07:00, not Mon 17:00).

The module is pure: no I/O, no database, no UI imports.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from itertools import accumulate
from types import MappingProxyType

from onestop.i18n import t

__all__ = [
    "CalendarOverride",
    "DayKind",
    "OfficeHours",
    "WorkCalendar",
    "package_year_table",
    "parse_time_of_day",
    "use_package_year_table",
]

# Office arithmetic runs on integer microseconds since midnight: exact for any input
# (seconds included), and plain int arithmetic keeps the hot loops cheap.
_US_PER_SECOND = 1_000_000
_US_PER_MINUTE = 60 * _US_PER_SECOND
_US_PER_HOUR = 60 * _US_PER_MINUTE
_US_PER_DAY = 24 * _US_PER_HOUR

# Marks a make-up Saturday in the cached package table; day_note() shows it through t().
_MAKE_UP_DAY_NOTE = "Ngày làm việc bù"

_CLOCK_RE = re.compile(r"(\d{1,2}):(\d{2})")
# Clerks type ranges with a hyphen; word processors turn it into an en dash.
_RANGE_RE = re.compile(r"\s*(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})\s*")


def _us_of_day(t: time | datetime) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _US_PER_SECOND + t.microsecond


def _time_of_us(us: int) -> time:
    hours, rest = divmod(us, _US_PER_HOUR)
    minutes, rest = divmod(rest, _US_PER_MINUTE)
    seconds, micro = divmod(rest, _US_PER_SECOND)
    return time(hours, minutes, seconds, micro)


def _at(d: date, us: int) -> datetime:
    hours, rest = divmod(us, _US_PER_HOUR)
    minutes, rest = divmod(rest, _US_PER_MINUTE)
    seconds, micro = divmod(rest, _US_PER_SECOND)
    return datetime(d.year, d.month, d.day, hours, minutes, seconds, micro)


def _hhmm(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


def _require_naive(at: datetime) -> None:
    if at.tzinfo is not None:
        raise ValueError(
            t(
                "Thời điểm {at} phải là giờ địa phương Việt Nam không kèm múi giờ.",
                at=at.isoformat(),
            )
        )


def parse_time_of_day(text: str) -> time:
    """Parse ``"HH:MM"`` (or ``"H:MM"``) into a ``time``; ``ValueError`` in Vietnamese otherwise."""
    match = _CLOCK_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            t("Không đọc được giờ {text}. Định dạng đúng, ví dụ: 15:00.", text=repr(text))
        )
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ValueError(t("Giờ {text} không tồn tại (giờ 0-23, phút 0-59).", text=repr(text)))
    return time(hour, minute)


@dataclass(frozen=True)
class OfficeHours:
    """The daily office sessions of a desk and its same-day cut-off.

    Sessions are half-open ``[start, end)`` intervals, at minute precision, sorted and not
    overlapping. The same schedule applies to every working day.
    """

    sessions: tuple[tuple[time, time], ...] = (
        (time(7, 0), time(11, 30)),
        (time(13, 30), time(17, 0)),
    )
    same_day_cutoff: time = time(15, 0)
    _spans: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)
    _minutes_per_day: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sessions = tuple(tuple(pair) for pair in self.sessions)
        if not sessions:
            raise ValueError(t("Giờ làm việc phải có ít nhất một buổi."))
        spans: list[tuple[int, int]] = []
        for pair in sessions:
            if len(pair) != 2 or not all(_is_plain_minute(x) for x in pair):
                raise ValueError(
                    t(
                        "Buổi làm việc {session} không hợp lệ: cần hai mốc giờ tính đến phút, "
                        "không kèm giây hay múi giờ.",
                        session=repr(pair),
                    )
                )
            start, end = pair
            if start >= end:
                raise ValueError(
                    t(
                        "Buổi làm việc {start}-{end} không hợp lệ: "
                        "giờ bắt đầu phải trước giờ kết thúc.",
                        start=_hhmm(start),
                        end=_hhmm(end),
                    )
                )
            if spans and _us_of_day(start) < spans[-1][1]:
                raise ValueError(
                    t(
                        "Các buổi làm việc phải theo thứ tự thời gian và không chồng lấn nhau "
                        "(buổi {start}-{end} bắt đầu trước khi buổi trước "
                        "kết thúc lúc {previous_end}).",
                        start=_hhmm(start),
                        end=_hhmm(end),
                        previous_end=_hhmm(_time_of_us(spans[-1][1])),
                    )
                )
            spans.append((_us_of_day(start), _us_of_day(end)))
        if not _is_plain_minute(self.same_day_cutoff):
            raise ValueError(
                t(
                    "Giờ chốt tiếp nhận trong ngày phải là một mốc giờ tính đến phút, "
                    "không kèm giây hay múi giờ."
                )
            )
        # Normalise lists to tuples so the value stays hashable whatever the caller passed.
        object.__setattr__(self, "sessions", sessions)
        object.__setattr__(self, "_spans", tuple(spans))
        object.__setattr__(self, "_minutes_per_day", sum(e - s for s, e in spans) // _US_PER_MINUTE)

    @property
    def minutes_per_day(self) -> int:
        """Office minutes in one working day (480 for the default hours)."""
        return self._minutes_per_day

    @property
    def opening(self) -> time:
        return self.sessions[0][0]

    @property
    def closing(self) -> time:
        return self.sessions[-1][1]

    @classmethod
    def parse(cls, text: str, cutoff: str = "15:00") -> OfficeHours:
        """Read ``"07:00-11:30,13:30-17:00"``; raise ``ValueError`` (Vietnamese) on bad text."""
        parts = text.split(",")
        sessions: list[tuple[time, time]] = []
        for part in parts:
            match = _RANGE_RE.fullmatch(part)
            if match is None:
                raise ValueError(
                    t(
                        "Không đọc được giờ làm việc {text}. "
                        "Định dạng đúng, ví dụ: 07:00-11:30,13:30-17:00.",
                        text=repr(text),
                    )
                )
            sessions.append((parse_time_of_day(match.group(1)), parse_time_of_day(match.group(2))))
        try:
            cutoff_time = parse_time_of_day(cutoff)
        except ValueError as exc:
            raise ValueError(
                t(
                    "Không đọc được giờ chốt tiếp nhận trong ngày {cutoff}. "
                    "Định dạng đúng, ví dụ: 15:00.",
                    cutoff=repr(cutoff),
                )
            ) from exc
        return cls(sessions=tuple(sessions), same_day_cutoff=cutoff_time)

    def format(self) -> str:
        """The sessions as ``parse`` reads them (the cut-off is kept apart, as in ``parse``)."""
        return ",".join(f"{_hhmm(s)}-{_hhmm(e)}" for s, e in self.sessions)


def _is_plain_minute(t: object) -> bool:
    return isinstance(t, time) and t.tzinfo is None and t.second == 0 and t.microsecond == 0


class DayKind(StrEnum):
    """Kind of a local calendar override."""

    OFF = "off"
    WORK = "work"


@dataclass(frozen=True)
class CalendarOverride:
    """An administrator's correction of one day: make it a day off or a working day."""

    day: date
    kind: DayKind
    note: str = ""

    def __post_init__(self) -> None:
        # datetime is a subclass of date but never equal to one, so it would silently miss.
        if not isinstance(self.day, date) or isinstance(self.day, datetime):
            raise ValueError(
                t("Ngày điều chỉnh lịch {day} phải là một ngày (date).", day=repr(self.day))
            )
        try:
            kind = DayKind(self.kind)
        except ValueError:
            raise ValueError(
                t(
                    "Loại điều chỉnh lịch {kind} không hợp lệ: chỉ nhận 'off' hoặc 'work'.",
                    kind=repr(self.kind),
                )
            ) from None
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "note", unicodedata.normalize("NFC", self.note.strip()))


@dataclass(frozen=True, slots=True)
class _PackageYear:
    work: bytes  # 1 = working day, indexed by day of year - 1
    names: Mapping[date, str]


@dataclass(frozen=True, slots=True)
class _Year:
    first: int  # ordinal of 1 January
    work: bytes
    cum: tuple[int, ...]  # cum[i] = working days among the first i days of the year


_PACKAGE_YEARS: dict[int, _PackageYear] = {}


def _package_year(year: int) -> _PackageYear:
    # Shared by every WorkCalendar and built once per process: one year costs ~1 ms, but the
    # package's first import costs ~0.1 s, which is why a table may also be handed in
    # (``use_package_year_table``, from the desk's cache of it).
    table = _PACKAGE_YEARS.get(year)
    if table is None:
        table = _PACKAGE_YEARS[year] = _build_package_year(year)
    return table


def _days_in(year: int) -> int:
    return (date(year + 1, 1, 1) - date(year, 1, 1)).days if year < 9999 else 365


def _build_package_year(year: int) -> _PackageYear:
    import holidays

    vn = holidays.country_holidays("VN", years=year, language="vi")
    first = date(year, 1, 1)
    length = _days_in(year)
    work = bytes(1 if vn.is_working_day(first + timedelta(days=i)) else 0 for i in range(length))
    names: dict[date, str] = {
        day: unicodedata.normalize("NFC", str(name)) for day, name in vn.items() if day.year == year
    }
    for i, flag in enumerate(work):
        day = first + timedelta(days=i)
        if flag and day.weekday() >= 5:
            names.setdefault(day, _MAKE_UP_DAY_NOTE)
    return _PackageYear(work=work, names=MappingProxyType(names))


def package_year_table(year: int) -> tuple[str, dict[str, str]]:
    """The package's working days of ``year`` ("1"/"0" per day from 1 January) and the names of
    its special days (ISO date -> name): what ``use_package_year_table`` takes back."""
    table = _package_year(year)
    return (
        "".join("1" if flag else "0" for flag in table.work),
        {day.isoformat(): name for day, name in table.names.items()},
    )


def use_package_year_table(year: int, work: str, names: Mapping[str, str]) -> None:
    """Take a year's table made earlier by ``package_year_table`` instead of importing the
    package. ``ValueError`` if it cannot be that year's table (then nothing is taken)."""
    if len(work) != _days_in(year) or set(work) - {"0", "1"}:
        raise ValueError(f"not a working-day table of {year}")
    days = {date.fromisoformat(day): str(name) for day, name in names.items()}
    if any(day.year != year for day in days):
        raise ValueError(f"names outside {year}")
    _PACKAGE_YEARS.setdefault(
        year,
        _PackageYear(work=bytes(int(c) for c in work), names=MappingProxyType(days)),
    )


class WorkCalendar:
    """Working days (package calendar + local overrides) and office-time arithmetic.

    Immutable once built: editing the calendar means building a new instance. Year tables are
    built lazily and cached, so ``is_working_day`` is a dict lookup plus a byte index, and
    jumps over many working days use prefix sums instead of walking day by day.
    """

    def __init__(
        self,
        overrides: Iterable[CalendarOverride] = (),
        hours: OfficeHours = OfficeHours(),
    ) -> None:
        self._hours = hours
        by_day: dict[date, CalendarOverride] = {}
        for override in overrides:
            # Later entries replace earlier ones, like successive edits by the administrator.
            by_day[override.day] = override
        self._overrides: Mapping[date, CalendarOverride] = MappingProxyType(by_day)
        self._overrides_by_year: dict[int, list[CalendarOverride]] = {}
        for override in by_day.values():
            self._overrides_by_year.setdefault(override.day.year, []).append(override)
        self._years: dict[int, _Year] = {}
        self._spans = hours._spans
        self._spans_reversed = tuple(reversed(hours._spans))
        self._day_us = hours.minutes_per_day * _US_PER_MINUTE

    @property
    def hours(self) -> OfficeHours:
        """The desk's office hours (read-only: the office-time tables derive from them)."""
        return self._hours

    @property
    def overrides(self) -> Mapping[date, CalendarOverride]:
        """The local overrides in force, by day (read-only)."""
        return self._overrides

    def __repr__(self) -> str:
        return (
            f"WorkCalendar(overrides={len(self._overrides)}, hours={self.hours.format()!r}, "
            f"cutoff={_hhmm(self.hours.same_day_cutoff)!r})"
        )

    # -- days ---------------------------------------------------------------------------

    def _year(self, year: int) -> _Year:
        table = self._years.get(year)
        if table is None:
            table = self._build_year(year)
            self._years[year] = table
        return table

    def _build_year(self, year: int) -> _Year:
        work = bytearray(_package_year(year).work)
        first = date(year, 1, 1).toordinal()
        for override in self._overrides_by_year.get(year, ()):
            work[override.day.toordinal() - first] = 1 if override.kind is DayKind.WORK else 0
        return _Year(first=first, work=bytes(work), cum=tuple(accumulate(work, initial=0)))

    def is_working_day(self, d: date) -> bool:
        """Local override first, else the package's Vietnam calendar (swaps included)."""
        table = self._years.get(d.year)
        if table is None:
            table = self._year(d.year)
        return table.work[d.toordinal() - table.first] == 1

    def day_note(self, d: date) -> str | None:
        """Why a day is special: override note, holiday name (Vietnamese), or ``None``."""
        day = d.date() if isinstance(d, datetime) else d
        override = self._overrides.get(day)
        if override is not None:
            if override.note:
                return override.note
            if override.kind is DayKind.WORK:
                return t("Ngày làm việc theo lịch của đơn vị")
            return t("Ngày nghỉ theo lịch của đơn vị")
        name = _package_year(day.year).names.get(day)
        # The package's names are cached for every language; only our own note is translated.
        return t("Ngày làm việc bù") if name == _MAKE_UP_DAY_NOTE else name

    def _nth_working_after(self, ordinal: int, n: int) -> int:
        """Ordinal of the n-th (n >= 1) working day strictly after ``ordinal``."""
        year = date.fromordinal(ordinal).year
        table = self._year(year)
        base = table.cum[ordinal - table.first + 1]
        while True:
            available = table.cum[-1] - base
            if n <= available:
                return table.first + bisect_left(table.cum, base + n) - 1
            n -= available
            year += 1
            table = self._year(year)
            base = 0

    def _nth_working_before(self, ordinal: int, n: int) -> int:
        """Ordinal of the n-th (n >= 1) working day strictly before ``ordinal``."""
        year = date.fromordinal(ordinal).year
        table = self._year(year)
        available = table.cum[ordinal - table.first]
        while True:
            if n <= available:
                return table.first + bisect_left(table.cum, available - n + 1) - 1
            n -= available
            year -= 1
            table = self._year(year)
            available = table.cum[-1]

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return date.fromordinal(self._nth_working_after(d.toordinal(), 1))

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after ``d`` (n > 0), before it (n < 0), or ``d`` itself (0)."""
        if n > 0:
            return date.fromordinal(self._nth_working_after(d.toordinal(), n))
        if n < 0:
            return date.fromordinal(self._nth_working_before(d.toordinal(), -n))
        return d

    def working_days_in(self, start: date, end: date) -> int:
        """Number of working days in ``[start, end]`` (both included); 0 if ``end < start``."""
        lo, hi = start.toordinal(), end.toordinal()
        total = 0
        for year in range(start.year, end.year + 1):
            table = self._year(year)
            last = table.first + len(table.work) - 1
            a = max(lo, table.first) - table.first
            b = min(hi, last) - table.first
            if a <= b:
                total += table.cum[b + 1] - table.cum[a]
        return total

    # -- moments ------------------------------------------------------------------------

    def end_of_working_day(self, d: date) -> datetime:
        """Closing time of the office on day ``d``."""
        return datetime.combine(d, self.hours.closing)

    def effective_start(self, at: datetime) -> datetime:
        """Clamp a moment forward into office time (sessions are half-open ``[start, end)``).

        Inside a session on a working day: unchanged. Before opening: opening. In a gap such as
        lunch: the next session's start. At or after closing, or on a non-working day: the next
        working day's opening.
        """
        _require_naive(at)
        day = at.date()
        if self.is_working_day(day):
            t = _us_of_day(at)
            for start, end in self._spans:
                if t < start:
                    return _at(day, start)
                if t < end:
                    return at
        return datetime.combine(self.next_working_day(day), self.hours.opening)

    def add_working_minutes(self, start: datetime, minutes: int) -> datetime:
        """The earliest moment ``t >= start`` with exactly ``minutes`` of office time in
        ``[start, t)``.

        Non-office time before the first office minute is skipped (a start in the lunch break
        counts from 13:30). A result that lands on a session end stays there: Tue 07:00 + 480
        = Tue 17:00. Zero minutes returns ``start`` unchanged. Whole working days are skipped
        with prefix sums, so the cost does not grow with ``minutes``.
        """
        _require_naive(start)
        if minutes < 0:
            raise ValueError(t("Số phút làm việc cần cộng thêm không được âm."))
        return self._add_us(start, minutes * _US_PER_MINUTE)

    def subtract_working_minutes(self, end: datetime, minutes: int) -> datetime:
        """The latest moment ``t <= end`` with exactly ``minutes`` of office time in ``[t, end)``.

        Mirror of ``add_working_minutes``: a result that lands on a session start stays there
        (Tue 17:00 - 480 = Tue 07:00, not Mon 17:00). Zero minutes returns ``end`` unchanged.
        """
        _require_naive(end)
        if minutes < 0:
            raise ValueError(t("Số phút làm việc cần trừ đi không được âm."))
        return self._subtract_us(end, minutes * _US_PER_MINUTE)

    def working_minutes_between(self, a: datetime, b: datetime) -> int:
        """Whole office minutes in ``[a, b)`` (seconds are floored); 0 if ``b <= a``."""
        return self._between_us(a, b) // _US_PER_MINUTE

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Exact office time in ``[a, b)``; ``timedelta(0)`` if ``b <= a``."""
        return timedelta(microseconds=self._between_us(a, b))

    def _add_us(self, start: datetime, us: int) -> datetime:
        if us == 0:
            return start
        day = start.date()
        if self.is_working_day(day):
            t = _us_of_day(start)
            for s, e in self._spans:
                if e <= t:
                    continue
                from_ = s if s > t else t
                available = e - from_
                if us <= available:
                    return _at(day, from_ + us)
                us -= available
        # rest lies in (0, one day]: the last day is used up to its end rather than spilling
        # into the next morning, which keeps the "stay on the session end" rule.
        full_days, rest = divmod(us - 1, self._day_us)
        rest += 1
        target = date.fromordinal(self._nth_working_after(day.toordinal(), full_days + 1))
        for s, e in self._spans:
            if rest <= e - s:
                return _at(target, s + rest)
            rest -= e - s
        raise AssertionError("unreachable: rest never exceeds one office day")

    def _subtract_us(self, end: datetime, us: int) -> datetime:
        if us == 0:
            return end
        day = end.date()
        if self.is_working_day(day):
            t = _us_of_day(end)
            for s, e in self._spans_reversed:
                if s >= t:
                    continue
                until = e if e < t else t
                available = until - s
                if us <= available:
                    return _at(day, until - us)
                us -= available
        full_days, rest = divmod(us - 1, self._day_us)
        rest += 1
        target = date.fromordinal(self._nth_working_before(day.toordinal(), full_days + 1))
        for s, e in self._spans_reversed:
            if rest <= e - s:
                return _at(target, e - rest)
            rest -= e - s
        raise AssertionError("unreachable: rest never exceeds one office day")

    def _office_us_in_day(self, day: date, t1: int, t2: int) -> int:
        if t2 <= t1 or not self.is_working_day(day):
            return 0
        total = 0
        for s, e in self._spans:
            lo = s if s > t1 else t1
            hi = e if e < t2 else t2
            if hi > lo:
                total += hi - lo
        return total

    def _between_us(self, a: datetime, b: datetime) -> int:
        _require_naive(a)
        _require_naive(b)
        if b <= a:
            return 0
        da, db = a.date(), b.date()
        if da == db:
            return self._office_us_in_day(da, _us_of_day(a), _us_of_day(b))
        total = self._office_us_in_day(da, _us_of_day(a), _US_PER_DAY)
        total += self._office_us_in_day(db, 0, _us_of_day(b))
        if (db - da).days > 1:
            inner = self.working_days_in(da + timedelta(days=1), db - timedelta(days=1))
            total += inner * self._day_us
        return total
