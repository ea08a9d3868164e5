"""Legal deadlines of a dossier: due date, supplement pause, extension window, timeliness.

Every ``datetime`` here is a *naive local Vietnam wall-clock* time (UTC+7, no daylight saving
time), as in :mod:`onestop.domain.calendar`. The module is pure: no I/O, no database.

Rules of ``compute_due`` (REFERENCE §2.3; the README copies them):

1. ``start = cal.effective_start(received_at)``: a receipt before opening counts from opening,
   one in the lunch break from 13:30, one at/after closing or on a day off from the next
   working day's opening.
2. ``WORKING_DAYS`` N: ``start`` + N × ``minutes_per_day`` of office time
   (``cal.add_working_minutes``). Received Mon 09:00 with 3 working days: Thu 09:00. A result
   that lands exactly on a session end stays there (07:00 + 1 day = 17:00 the same day).
3. ``CALENDAR_DAYS`` N: the date N calendar days after ``start``'s date, at ``start``'s time of
   day; if that date is not a working day, the next working day at the same time.
4. ``SAME_DAY``: cut-off = ``limit.cutoff`` or ``cal.hours.same_day_cutoff`` (15:00). Received
   on a working day before the cut-off (before opening and in the lunch break included): the
   closing time of that day. Received on a working day after the cut-off: the closing time
   of the next working day. Received after closing or on a day off: the next working day is
   "the day of receipt", so the closing time of that day (its own cut-off never bites).
5. ``IMMEDIATE`` ("immediately once the papers are complete"): the closing time of the
   receiving working day (``start``'s date), with no cut-off. Reports still need a deadline,
   and the close of the receiving working day is the latest legal moment.
6. ``UNKNOWN``, or ``WORKING_DAYS``/``CALENDAR_DAYS`` without a value (composite rules):
   ``None``, meaning "no fixed appointment".
7. The computation uses the exact receipt time; the result is then rounded *up* to the whole
   minute (seconds and microseconds zero), so a due date is never earlier than the exact one.
   A receipt at 14:59:30 is still before a 15:00 cut-off.

``limit.cutoff`` only matters for ``SAME_DAY``; on other units it is informative (it shows in
``describe_vi``) and does not move the due date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from onestop.domain.calendar import WorkCalendar
from onestop.i18n import t, tn

__all__ = [
    "TimeLimit",
    "TimeUnit",
    "Timeliness",
    "can_extend",
    "classify",
    "compute_due",
    "extension_deadline",
    "resume_due",
    "working_days_left",
]

_US_PER_MINUTE = 60_000_000


class TimeUnit(StrEnum):
    """Unit of a procedure's legal time limit (the ``time_unit`` column of procedures.csv)."""

    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"
    SAME_DAY = "same_day"
    IMMEDIATE = "immediate"
    UNKNOWN = "unknown"


_UNITS_WITH_VALUE = frozenset({TimeUnit.WORKING_DAYS, TimeUnit.CALENDAR_DAYS})


def _coerce_unit(unit: str) -> TimeUnit:
    try:
        return TimeUnit(unit)
    except ValueError:
        raise ValueError(
            t(
                "Đơn vị thời hạn {unit} không hợp lệ; chỉ nhận: {units}.",
                unit=repr(unit),
                units=", ".join(u.value for u in TimeUnit),
            )
        ) from None


def _format_clock_vi(clock: time) -> str:
    # The slips write "15 giờ", "15 giờ 30", as the publication decisions do.
    if clock.minute == 0:
        return t("{hour} giờ", hour=clock.hour)
    return t("{hour} giờ {minute}", hour=clock.hour, minute=f"{clock.minute:02d}")


@dataclass(frozen=True)
class TimeLimit:
    """A procedure's legal time limit.

    ``value`` is a number of days for ``WORKING_DAYS``/``CALENDAR_DAYS`` (``None`` when the
    published rule is composite) and must be ``None`` for the other units. ``cutoff`` is the
    after-15:00 rule when the procedure states it.
    """

    unit: TimeUnit
    value: int | None = None
    cutoff: time | None = None

    def __post_init__(self) -> None:
        unit = _coerce_unit(self.unit)
        object.__setattr__(self, "unit", unit)
        if self.value is not None:
            if isinstance(self.value, bool) or not isinstance(self.value, int):
                raise ValueError(
                    t("Thời hạn {value} phải là một số nguyên ngày.", value=repr(self.value))
                )
            if unit not in _UNITS_WITH_VALUE:
                raise ValueError(
                    t(
                        "Thời hạn loại {unit} không có số ngày (nhận được {value}).",
                        unit=repr(unit.value),
                        value=self.value,
                    )
                )
            if self.value < 0:
                raise ValueError(
                    t("Số ngày của thời hạn không được âm (nhận được {value}).", value=self.value)
                )
        if self.cutoff is not None and (
            not isinstance(self.cutoff, time)
            or self.cutoff.tzinfo is not None
            or self.cutoff.second
            or self.cutoff.microsecond
        ):
            raise ValueError(t("Giờ chốt tiếp nhận phải là một mốc giờ tính đến phút."))

    @property
    def has_fixed_due(self) -> bool:
        """Whether ``compute_due`` gives a date for this limit."""
        if self.unit in _UNITS_WITH_VALUE:
            return self.value is not None
        return self.unit is not TimeUnit.UNKNOWN

    def describe_vi(self, default_cutoff: time | None = None) -> str:
        """Vietnamese wording for slips and screens, e.g. "3 ngày làm việc".

        ``default_cutoff`` (usually ``cal.hours.same_day_cutoff``) is shown for a same-day
        limit that does not carry its own cut-off, since ``compute_due`` applies it anyway.
        """
        if not self.has_fixed_due:
            return t("Không có ngày hẹn trả cụ thể theo quy định")
        if self.unit is TimeUnit.WORKING_DAYS:
            return tn("{n} ngày làm việc", self.value or 0)
        if self.unit is TimeUnit.CALENDAR_DAYS:
            return tn("{n} ngày (tính cả ngày nghỉ)", self.value or 0)
        if self.unit is TimeUnit.SAME_DAY:
            cutoff = self.cutoff if self.cutoff is not None else default_cutoff
            if cutoff is None:
                return t("Trong ngày")
            return t(
                "Trong ngày (sau {clock}: ngày làm việc tiếp theo)",
                clock=_format_clock_vi(cutoff),
            )
        return t("Ngay sau khi nhận đủ giấy tờ theo quy định")


def _ceil_minute(at: datetime) -> datetime:
    if at.second == 0 and at.microsecond == 0:
        return at
    return at.replace(second=0, microsecond=0) + timedelta(minutes=1)


def _on_working_day(day: date, cal: WorkCalendar) -> date:
    return day if cal.is_working_day(day) else cal.next_working_day(day)


def compute_due(limit: TimeLimit, received_at: datetime, cal: WorkCalendar) -> datetime | None:
    """The due date (ngày hẹn trả) of a dossier; ``None`` when the law fixes none.

    See the module docstring for the rules.
    """
    unit = limit.unit
    if unit is TimeUnit.UNKNOWN:
        return None
    start = cal.effective_start(received_at)
    if unit is TimeUnit.WORKING_DAYS or unit is TimeUnit.CALENDAR_DAYS:
        if limit.value is None:
            return None
        if unit is TimeUnit.WORKING_DAYS:
            due = cal.add_working_minutes(start, limit.value * cal.hours.minutes_per_day)
        else:
            day = _on_working_day(start.date() + timedelta(days=limit.value), cal)
            due = datetime.combine(day, start.time())
    elif unit is TimeUnit.SAME_DAY:
        cutoff = limit.cutoff if limit.cutoff is not None else cal.hours.same_day_cutoff
        day = start.date()
        # Only a receipt on the working day itself can be "after the cut-off"; one that was
        # moved to a later day by effective_start starts that day fresh.
        # "After 15:00" (ND 118): a receipt at 15:00 sharp is still received that day.
        if day == received_at.date() and received_at.time() > cutoff:
            day = cal.next_working_day(day)
        due = cal.end_of_working_day(day)
    else:  # IMMEDIATE
        due = cal.end_of_working_day(start.date())
    return _ceil_minute(due)


def resume_due(
    due: datetime, paused_at: datetime, resumed_at: datetime, unit: TimeUnit, cal: WorkCalendar
) -> datetime:
    """New due date after the clock was paused for a supplement request.

    Office-time units: the old due plus the office time that elapsed in
    ``[paused_at, resumed_at)``, rounded up to the minute and added with
    ``cal.add_working_minutes`` from ``due``. ``CALENDAR_DAYS``: the old due plus the whole
    calendar days between the dates of ``paused_at`` and ``resumed_at``, pushed to a working
    day at the same time. A zero or negative pause leaves ``due`` unchanged.
    """
    if resumed_at <= paused_at:
        return due
    if unit is TimeUnit.CALENDAR_DAYS:
        days = (resumed_at.date() - paused_at.date()).days
        if days == 0:
            return due
        day = _on_working_day(due.date() + timedelta(days=days), cal)
        return datetime.combine(day, due.time())
    paused_us = cal.working_time_between(paused_at, resumed_at) // timedelta(microseconds=1)
    minutes = -(-paused_us // _US_PER_MINUTE)  # ceil: the applicant's time is never shortened
    return cal.add_working_minutes(due, minutes)


def extension_last_day(due: datetime, cal: WorkCalendar) -> date:
    """The last day an apology + extension (Phiếu xin lỗi) may still be issued.

    The rule is "no later than 01 working day before the deadline" (ND 118 Art. 23), counted in
    days, not in office minutes: any time on the working day before the due's date is in time,
    and nothing on the due day itself is. For a due at 10:00 or at 17:00 on Thu, the whole of
    Wed; for a due on Mon, the whole of the Friday before (the weekend is not a working day, so
    Saturday is already too late); across Tết, the last working day before it.
    """
    return cal.add_working_days(due.date(), -1)


def extension_deadline(due: datetime, cal: WorkCalendar) -> datetime:
    """The last moment an extension may be issued: the end of ``extension_last_day``."""
    return datetime.combine(extension_last_day(due, cal), time(23, 59))


def can_extend(due: datetime, now: datetime, cal: WorkCalendar) -> bool:
    """Whether an extension may still be issued at ``now`` (its date, whatever the hour)."""
    return now.date() <= extension_last_day(due, cal)


class Timeliness(StrEnum):
    """Report classes: trước hạn / đúng hạn / quá hạn."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


def classify(done_at: datetime, due: datetime | None) -> Timeliness:
    """Early / on time / late, by calendar *date* (REFERENCE §2.3 recommendation).

    Finished on a date before the due date: EARLY; on the due date (at any hour): ON_TIME;
    after it: LATE. No due date (no fixed appointment): ON_TIME.
    """
    if due is None:
        return Timeliness.ON_TIME
    done_day, due_day = done_at.date(), due.date()
    if done_day < due_day:
        return Timeliness.EARLY
    if done_day == due_day:
        return Timeliness.ON_TIME
    return Timeliness.LATE


def working_days_left(now: datetime, due: datetime, cal: WorkCalendar) -> int:
    """Working days left before the due date, by date; negative when overdue.

    0: due today. n > 0: the working days after today up to the due date (both counted).
    n < 0: late by -n working days, counted after the due date up to today; a day that is
    late but not yet a working day later (e.g. the Saturday after a Friday due) counts as -1,
    so the sign always agrees with ``classify``.
    """
    today, due_day = now.date(), due.date()
    if due_day == today:
        return 0
    if due_day > today:
        return cal.working_days_in(today + timedelta(days=1), due_day)
    return -max(1, cal.working_days_in(due_day + timedelta(days=1), today))


def due_soon_until(calendar: WorkCalendar, now: datetime) -> datetime:
    """End of the second working day after today: the dashboard's "due soon" horizon."""
    d = calendar.next_working_day(calendar.next_working_day(now.date()))
    return calendar.end_of_working_day(d)
