"""Periodic reports (REFERENCE.md §4): Biểu 06, the tracking book, fees, evaluations, indicators.

Pure computations: the input is each dossier's events (or its state as of a moment), the
output is counts and rows. No database, no clock, no files; :mod:`onestop.services.reports`
does the reading and the exporting.

**A report is computed as of the end of its period.** Every dossier is folded from its event
log up to (excluding) the first instant after the period, so a report for last quarter never
changes because a dossier was resolved today. :func:`snapshot` is that fold.

Rules of Biểu 06 (REFERENCE §4.1; the README copies them):

1. Period ``[start, end]`` are whole calendar days; internally ``[start 00:00, end+1 00:00)``.
2. A dossier **refused at intake** (its first event is ``refuse``) was never "received for
   resolution" and appears nowhere in Biểu 06.
3. Received (3) = new online (4) + new in person or by public post (5) + carried over (6).
   Carried over: received before the period start and not finished before it.
4. Finished in the period (7): a ``resolve`` event (decision time) in the period, classified
   by **calendar date** against the due date in force at that moment (REFERENCE §2.3
   recommendation, the same rule as :func:`onestop.domain.deadlines.classify`): before the
   due date early (8), on it on time (9), after it late (10). No fixed due date: on time.
5. A dossier **withdrawn** (stop notice) or **refused after it was received** in the period is
   finished without a decision. It counts in (7) and as on time (9) at the date it stopped, as
   Thanh Hóa's Biểu II.06a does (REFERENCE §2.3), so that 3 = 7 + 11 still holds; how many of
   (9) these are is given separately (``stopped``).
6. Not finished at the end of the period: in progress (11). Overdue (13) when the due time in
   force has passed before the period ends -- ``due_at < end_at``, the first instant after the
   last day -- as the Thanh Hóa system counts it (NgayHenTra before the end of the period): a
   dossier due at 10:00 on the last day and still open at its end is overdue. Within the
   deadline (12) otherwise: due at or after ``end_at``, the clock paused for a supplement, or
   no fixed due date. For a period that has not ended yet the cut is the moment of the report
   (``today``: a datetime, or a date meaning its first instant), see :func:`overdue_cut`.
7. Identities checked on every row and the total: 3 = 4 + 5 + 6, 7 = 8 + 9 + 10,
   11 = 12 + 13, 3 = 7 + 11. A violation raises :class:`ReportError`.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from operator import itemgetter
from typing import Any, Protocol

from onestop.domain.clock import VN_TZ
from onestop.domain.deadlines import Timeliness, classify
from onestop.domain.events import Event, EventKind
from onestop.domain.lifecycle import (
    EVALUATION_INDICATORS,
    RETURN_CHANNEL_LABELS,
    SATISFACTION_LEVELS,
    Channel,
    DossierState,
    ReturnChannel,
    Status,
    apply,
)
from onestop.domain.scans import DossierScanSummary
from onestop.domain.text import month_name, search_key
from onestop.i18n import t

__all__ = [
    "period_label",
    "BIEU06_COLUMNS",
    "Bieu06",
    "Bieu06Counts",
    "Bieu06Row",
    "BOOK_COLUMNS",
    "BookEntry",
    "BookRow",
    "EvaluationRecord",
    "EvaluationRow",
    "EvaluationSummary",
    "FeeGroup",
    "FeeSummary",
    "Finish",
    "Indicator",
    "Payment",
    "Period",
    "PeriodKind",
    "ReportError",
    "Snapshot",
    "agency_name",
    "auto_scores",
    "book_closed_at",
    "book_entry",
    "bieu06",
    "bieu06_line",
    "book_rows",
    "evaluation_summary",
    "fee_summary",
    "field_order",
    "overdue_cut",
    "period",
    "refused_at_intake",
    "scan_indicators",
    "service_indicators",
    "snapshot",
]


class ReportError(ValueError):
    """A report that cannot be right: bad period, broken identity, unreconciled totals."""


# ------------------------------------------------------------------------------------------------
# Periods
# ------------------------------------------------------------------------------------------------


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"


_PERIOD_COUNT = {
    PeriodKind.MONTH: 12,
    PeriodKind.QUARTER: 4,
    PeriodKind.HALF: 2,
    PeriodKind.YEAR: 1,
}
_PERIOD_MONTHS = {
    PeriodKind.MONTH: 1,
    PeriodKind.QUARTER: 3,
    PeriodKind.HALF: 6,
    PeriodKind.YEAR: 12,
}
CUTOFF_DAY = 15  # ND 09/2019/NĐ-CP Art. 12: a period runs from the 15th to the 14th


def _last_day(year: int, month: int) -> date:
    return date(year, month, _calendar.monthrange(year, month)[1])


def period(
    kind: PeriodKind | str, year: int, n: int = 1, *, cutoff: bool = False
) -> tuple[date, date]:
    """First and last day (both included) of the ``n``-th month/quarter/half of ``year``.

    ``cutoff=True`` gives the legal data cut-off of Nghị định 09/2019/NĐ-CP, Art. 12
    (REFERENCE §4.1, tagged [S], so it is an option, not the default): a period ends on the
    14th of its last month and starts on the 15th of the month before its first month.
    Quarter 1 of 2026 is then 15/12/2025 → 14/03/2026, and the year 2026 is
    15/12/2025 → 14/12/2026.
    """
    try:
        k = PeriodKind(kind)
    except ValueError:
        raise ReportError(
            t(
                "Loại kỳ báo cáo không hợp lệ: {kind} (chọn month, quarter, half hoặc year).",
                kind=kind,
            )
        ) from None
    count = _PERIOD_COUNT[k]
    if not 1 <= n <= count:
        raise ReportError(
            t("Số thứ tự kỳ phải từ 1 đến {count} (nhận được {n}).", count=count, n=n)
        )
    if not 1900 <= year <= 9998:
        raise ReportError(t("Năm báo cáo không hợp lệ: {year}.", year=year))
    months = _PERIOD_MONTHS[k]
    first_month = (n - 1) * months + 1
    last_month = first_month + months - 1
    if not cutoff:
        return date(year, first_month, 1), _last_day(year, last_month)
    end = date(year, last_month, CUTOFF_DAY - 1)
    prev_year, prev_month = (year - 1, 12) if first_month == 1 else (year, first_month - 1)
    return date(prev_year, prev_month, CUTOFF_DAY), end


_ROMAN = ("I", "II", "III", "IV")


def period_label(kind: PeriodKind | str, year: int, n: int = 1) -> str:
    """The ``n``-th month/quarter/half of ``year`` named as on the forms ("Quý II năm 2026")."""
    if kind == PeriodKind.MONTH:
        return t("Tháng {month} năm {year}", month=month_name(n), year=year)
    if kind == PeriodKind.QUARTER:
        return t("Quý {q} năm {year}", q=_ROMAN[n - 1], year=year)
    if kind == PeriodKind.HALF:
        return (
            t("6 tháng đầu năm {year}", year=year)
            if n == 1
            else t("6 tháng cuối năm {year}", year=year)
        )
    return t("Năm {year}", year=year)


@dataclass(frozen=True)
class Period:
    """Whole calendar days ``start``..``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ReportError(
                t(
                    "Ngày cuối kỳ ({end:%d/%m/%Y}) trước ngày đầu kỳ ({start:%d/%m/%Y}).",
                    end=self.end,
                    start=self.start,
                )
            )

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time())

    @property
    def end_at(self) -> datetime:
        """The first instant *after* the period (exclusive bound)."""
        return datetime.combine(self.end + timedelta(days=1), time())

    def contains(self, at: datetime) -> bool:
        return self.start_at <= at < self.end_at

    def as_json(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


# ------------------------------------------------------------------------------------------------
# A dossier as of a moment
# ------------------------------------------------------------------------------------------------


class Finish(StrEnum):
    """How a received dossier left the "in progress" set."""

    RESOLVED = "resolved"  # a decision (approved or denied)
    WITHDRAWN = "withdrawn"  # stop notice at the applicant's request
    REFUSED = "refused"  # refused after it had been received


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One dossier as its event log knew it just before ``as_of``.

    ``finish_due`` is the due date in force at the moment it finished (a later extension while
    awaiting payment does not change how the decision is classified). ``legal_due`` is the due
    date without apology extensions (the receipt's, moved only by supplement pauses): the "legal
    limit" of evaluation indicator 1.
    """

    state: DossierState
    as_of: datetime | None
    received: bool
    finish: Finish | None = None
    finish_due: datetime | None = None
    legal_due: datetime | None = None

    @property
    def finished_at(self) -> datetime | None:
        return self.state.finished_at if self.finish is not None else None


def snapshot(events: Iterable[Event], as_of: datetime | None = None) -> Snapshot | None:
    """Fold a dossier's events (in causal order) that happened before ``as_of``.

    ``None`` when no event happened before ``as_of``. ``as_of=None`` folds the whole log.
    """
    state: DossierState | None = None
    received = False
    finish: Finish | None = None
    finish_due: datetime | None = None
    legal_due: datetime | None = None
    for e in events:
        if as_of is not None and e.at >= as_of:
            continue
        first = state is None
        state = apply(state, e)
        kind = e.kind
        if first:
            received = kind == EventKind.RECEIVE
            legal_due = state.due_at
            continue
        if kind == EventKind.RECORD_SUPPLEMENT:
            legal_due = state.due_at if state.extension_count == 0 else legal_due
        if finish is None and received:
            if kind == EventKind.RESOLVE:
                finish = Finish.RESOLVED
            elif kind == EventKind.WITHDRAW:
                finish = Finish.WITHDRAWN
            elif kind == EventKind.REFUSE:
                finish = Finish.REFUSED
            if finish is not None:
                finish_due = state.due_at
    if state is None:
        return None
    return Snapshot(state, as_of, received, finish, finish_due, legal_due)


def snapshot_from_state(state: DossierState) -> Snapshot:
    """A snapshot from a projection row whose log holds nothing the row does not show.

    Valid only when the caller knows the projection *is* the state at the moment of the report
    (its last event is before the report's end) and that the due date did not move after the
    dossier finished (no extension, or none after the decision): then the row's ``due_at`` is
    the due date in force at the finish.
    """
    refused_at_intake = state.status == Status.REFUSED and state.event_count == 1
    finish: Finish | None = None
    if state.finished_at is not None and not refused_at_intake:
        if state.resolved_at is not None:
            finish = Finish.RESOLVED
        elif state.status == Status.WITHDRAWN:
            finish = Finish.WITHDRAWN
        else:
            finish = Finish.REFUSED
    return Snapshot(
        state,
        None,
        not refused_at_intake,
        finish,
        state.due_at if finish is not None else None,
        state.due_at if state.extension_count == 0 else None,
    )


# ------------------------------------------------------------------------------------------------
# Biểu 06/VPCP/KSTT
# ------------------------------------------------------------------------------------------------

# (form column, key, group, label). Columns 1 (STT) and 2 (Lĩnh vực) are the row heading.
BIEU06_COLUMNS: tuple[tuple[int, str, str, str], ...] = (
    (3, "received", "Số hồ sơ nhận giải quyết", "Tổng số"),
    (4, "online", "Số hồ sơ nhận giải quyết", "Trực tuyến"),
    (5, "direct", "Số hồ sơ nhận giải quyết", "Trực tiếp, dịch vụ bưu chính"),
    (6, "carried", "Số hồ sơ nhận giải quyết", "Từ kỳ trước"),
    (7, "resolved", "Số hồ sơ đã giải quyết", "Tổng số"),
    (8, "early", "Số hồ sơ đã giải quyết", "Trước hạn"),
    (9, "on_time", "Số hồ sơ đã giải quyết", "Đúng hạn"),
    (10, "late", "Số hồ sơ đã giải quyết", "Quá hạn"),
    (11, "pending", "Số hồ sơ đang giải quyết", "Tổng số"),
    (12, "within", "Số hồ sơ đang giải quyết", "Trong hạn"),
    (13, "overdue", "Số hồ sơ đang giải quyết", "Quá hạn"),
)
BIEU06_KEYS: tuple[str, ...] = tuple(c[1] for c in BIEU06_COLUMNS)
_OUTCOME_KEYS = frozenset({"early", "on_time", "late", "within", "overdue"})


@dataclass(slots=True)
class Bieu06Counts:
    """One row of Biểu 06 (columns 3..13) plus ``stopped``, the part of (9) that had no decision.

    Counts are added a dossier (or a bucket of identical dossiers) at a time, so the identities
    hold by construction; :meth:`check` verifies them anyway, on every row and on the total,
    because a row can also be built or merged from numbers computed elsewhere (SQL)."""

    received: int = 0
    online: int = 0
    direct: int = 0
    carried: int = 0
    resolved: int = 0
    early: int = 0
    on_time: int = 0
    late: int = 0
    pending: int = 0
    within: int = 0
    overdue: int = 0
    stopped: int = 0  # of (9): withdrawn or refused after receipt, no decision

    def columns(self) -> tuple[int, ...]:
        """Columns 3..13 in form order."""
        return tuple(getattr(self, k) for k in BIEU06_KEYS)

    def as_dict(self) -> dict[str, int]:
        out = {k: getattr(self, k) for k in BIEU06_KEYS}
        out["stopped"] = self.stopped
        return out

    def add(self, other: Bieu06Counts) -> None:
        for k in (*BIEU06_KEYS, "stopped"):
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def add_line(self, intake: str, outcome: str, stopped: bool) -> None:
        """One dossier: its intake column (4/5/6) and outcome column (8/9/10/12/13)."""
        self.add_lines(intake, outcome, 1, stopped=stopped)

    def add_lines(self, intake: str, outcome: str, n: int, *, stopped: bool = False) -> None:
        if intake not in ("online", "direct", "carried") or outcome not in _OUTCOME_KEYS:
            raise ReportError(f"Biểu 06: unknown bucket {intake}/{outcome}")
        self.received += n
        setattr(self, intake, getattr(self, intake) + n)
        if outcome in ("early", "on_time", "late"):
            self.resolved += n
        else:
            self.pending += n
        setattr(self, outcome, getattr(self, outcome) + n)
        if stopped:
            self.stopped += n

    def check(self, label: str) -> None:
        """The identities of REFERENCE §4.1; ``ReportError`` names the row and the numbers."""
        problems = []
        if self.received != self.online + self.direct + self.carried:
            problems.append(
                f"(3) {self.received} ≠ (4)+(5)+(6) {self.online + self.direct + self.carried}"
            )
        if self.resolved != self.early + self.on_time + self.late:
            problems.append(
                f"(7) {self.resolved} ≠ (8)+(9)+(10) {self.early + self.on_time + self.late}"
            )
        if self.pending != self.within + self.overdue:
            problems.append(f"(11) {self.pending} ≠ (12)+(13) {self.within + self.overdue}")
        if self.received != self.resolved + self.pending:
            problems.append(f"(3) {self.received} ≠ (7)+(11) {self.resolved + self.pending}")
        if self.stopped > self.on_time or min(self.as_dict().values()) < 0:
            problems.append(t("số âm hoặc số dừng giải quyết vượt cột (9)"))
        if problems:
            raise ReportError(
                t(
                    "Biểu 06 sai đẳng thức ở dòng «{row}»: {problems}.",
                    row=label,
                    problems="; ".join(problems),
                )
            )


@dataclass(frozen=True)
class Bieu06Row:
    field: str
    counts: Bieu06Counts


@dataclass(frozen=True)
class Bieu06:
    period: Period
    rows: tuple[Bieu06Row, ...]
    total: Bieu06Counts

    def check(self) -> None:
        summed = Bieu06Counts()
        for row in self.rows:
            row.counts.check(row.field)
            summed.add(row.counts)
        self.total.check(t("Tổng cộng"))
        if summed.as_dict() != self.total.as_dict():
            raise ReportError(t("Biểu 06: dòng tổng cộng khác tổng các lĩnh vực."))


def bieu06_line(
    snap: Snapshot, p: Period, *, today: date | datetime | None = None
) -> tuple[str, str, bool] | None:
    """Where one dossier goes in Biểu 06 for ``p``: (intake column, outcome column, stopped).

    ``None`` when it is not in the report (refused at intake, received after the period, or
    finished before it). ``snap`` must be the state at the end of ``p`` (see module rules).
    ``today`` matters only for a period that has not ended yet: an open dossier is then overdue
    if its due time is before the moment of the report (:func:`overdue_cut`), not before the
    (future) end of the period.
    """
    s = snap.state
    end_at = p.end_at
    if snap.as_of is not None and snap.as_of != end_at:
        raise ReportError(
            t("Ảnh trạng thái hồ sơ {code} không đúng thời điểm cuối kỳ.", code=s.code)
        )
    if snap.as_of is None and s.last_event_at is not None and s.last_event_at >= end_at:
        raise ReportError(
            t("Ảnh trạng thái hồ sơ {code} không đúng thời điểm cuối kỳ.", code=s.code)
        )
    if not snap.received or s.received_at >= end_at:
        return None
    finished_at = snap.finished_at
    if finished_at is not None and finished_at < p.start_at:
        return None
    if s.received_at < p.start_at:
        intake = "carried"
    elif s.channel == Channel.ONLINE:
        intake = "online"
    else:
        intake = "direct"
    if finished_at is not None:
        if snap.finish != Finish.RESOLVED:
            return intake, "on_time", True
        timeliness = classify(finished_at, snap.finish_due)
        return intake, _OUTCOME[timeliness], False
    if (
        s.status == Status.SUPPLEMENT_REQUESTED
        or s.due_at is None
        or s.due_at >= overdue_cut(p, today)
    ):
        return intake, "within", False
    return intake, "overdue", False


def overdue_cut(p: Period, today: date | datetime | None = None) -> datetime:
    """The instant an open dossier's due time must be before to count as overdue (column 13).

    The end of the period (``p.end_at``, the first instant after its last day); for a period
    that has not ended yet, the moment of the report if that is earlier: ``today`` as a
    datetime (rounded up to the whole second, the precision of the stored times), or a date,
    meaning its first instant (a dossier due later that day is not overdue yet).
    """
    if today is None:
        return p.end_at
    if isinstance(today, datetime):
        at = today if today.tzinfo is None else today.astimezone(VN_TZ).replace(tzinfo=None)
        if at.microsecond:
            at = at.replace(microsecond=0) + timedelta(seconds=1)
    else:
        at = datetime.combine(today, time())
    return min(p.end_at, at)


_OUTCOME = {Timeliness.EARLY: "early", Timeliness.ON_TIME: "on_time", Timeliness.LATE: "late"}


def field_order(name: str) -> tuple[str, str]:
    """Sort key for field names: accent-insensitive, so "Đất đai" sorts with the D's."""
    return search_key(name), name


def bieu06(
    snapshots: Iterable[Snapshot],
    p: Period,
    *,
    field: str | None = None,
    extra: Mapping[str, Bieu06Counts] | None = None,
    fields: Iterable[str] = (),
    today: date | datetime | None = None,
) -> Bieu06:
    """Biểu 06 for ``p`` from dossier snapshots taken at ``p.end_at``.

    ``extra`` adds counts computed elsewhere for other dossiers (the service's fast path over
    projection rows); ``fields`` lists fields to show even with no dossier (a filtered report
    of a quiet field still prints its row). Rows are by field, with the total; every identity is
    checked before returning.
    """
    by_field: dict[str, Bieu06Counts] = {}
    for name in fields:
        by_field.setdefault(name, Bieu06Counts())
    if field:
        by_field.setdefault(field, Bieu06Counts())
    for name, counts in (extra or {}).items():
        if field and name != field:
            continue
        by_field.setdefault(name, Bieu06Counts()).add(counts)
    for snap in snapshots:
        if field and snap.state.field != field:
            continue
        line = bieu06_line(snap, p, today=today)
        if line is None:
            continue
        by_field.setdefault(snap.state.field, Bieu06Counts()).add_line(*line)
    rows = tuple(Bieu06Row(name, by_field[name]) for name in sorted(by_field, key=field_order))
    total = Bieu06Counts()
    for row in rows:
        total.add(row.counts)
    report = Bieu06(p, rows, total)
    report.check()
    return report


def bieu06_from_events(
    logs: Iterable[Sequence[Event]],
    p: Period,
    *,
    field: str | None = None,
    today: date | datetime | None = None,
) -> Bieu06:
    """The reference computation: replay every dossier's log up to the end of ``p``."""
    snaps = (snapshot(events, p.end_at) for events in logs)
    return bieu06((s for s in snaps if s is not None), p, field=field, today=today)


# ------------------------------------------------------------------------------------------------
# BM.06 Sổ theo dõi hồ sơ
# ------------------------------------------------------------------------------------------------

# The 11 columns of the form (key, label, group): one list for the table, JSON, CSV, XLSX and
# the PDF (forms/slips.py), so every rendering shows the same cells (:meth:`BookRow.cells`).
BOOK_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("stt", "STT", ""),
    ("code", "Mã hồ sơ", ""),
    ("procedure_name", "Tên TTHC", ""),
    ("applicant", "Tên tổ chức, cá nhân", ""),
    ("contact", "Địa chỉ/SĐT", ""),
    ("agency", "Cơ quan chủ trì giải quyết", ""),
    ("received", "Nhận hồ sơ", "Nhận và trả kết quả"),
    ("appointment", "Hẹn trả kết quả", "Nhận và trả kết quả"),
    ("returned", "Trả kết quả", "Nhận và trả kết quả"),
    ("return_channel", "Phương thức nhận kết quả", ""),
    ("acknowledgement", "Ký nhận", ""),
)


class BookDossier(Protocol):
    """What the book reads of a dossier. A ``DossierState`` has all of it; the desk's report
    builds lighter records from these columns only (``services/reports.py``: a 28k-row book
    built full states for ~40 % of its time, issue 19 §2)."""

    @property
    def code(self) -> str: ...
    @property
    def field(self) -> str: ...
    @property
    def procedure_code(self) -> str: ...
    @property
    def procedure_version(self) -> int: ...
    @property
    def procedure_name(self) -> str: ...
    @property
    def applicant_name(self) -> str: ...
    @property
    def applicant_address(self) -> str: ...
    @property
    def applicant_phone(self) -> str: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def original_due_at(self) -> datetime | None: ...
    @property
    def returned_at(self) -> datetime | None: ...
    @property
    def finished_at(self) -> datetime | None: ...
    @property
    def status(self) -> Status: ...
    @property
    def event_count(self) -> int: ...
    @property
    def extension_count(self) -> int: ...
    @property
    def return_channel(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class BookEntry:
    """A dossier for the tracking book: its state and what the state alone does not keep."""

    state: BookDossier
    first_due_at: datetime | None = None  # the appointment in force before the extension
    returned_by: str = ""  # who recorded the return of the result


def book_entry(events: Iterable[Event]) -> BookEntry | None:
    """Fold a dossier's whole log (causal order) for the book; ``None`` for an empty log."""
    state: DossierState | None = None
    first_due: datetime | None = None
    returned_by = ""
    for e in events:
        if state is not None and e.kind == EventKind.EXTEND and state.extension_count == 0:
            first_due = state.due_at
        state = apply(state, e)
        if e.kind == EventKind.RETURN_RESULT:
            returned_by = e.actor
    return None if state is None else BookEntry(state, first_due, returned_by)


def _entry(x: BookEntry | BookDossier) -> BookEntry:
    if isinstance(x, BookEntry):
        return x
    # From a state alone: the receipt's appointment stands for the one before the extension.
    return BookEntry(x, x.original_due_at if x.extension_count else None)


def refused_at_intake(s: BookDossier) -> bool:
    """Refused at the desk (its first event was a refusal): it has a code, no appointment."""
    return s.status == Status.REFUSED and s.event_count == 1


def book_closed_at(s: BookDossier) -> datetime | None:
    """When the "Trả kết quả" cell got its entry: the return, or the stop (withdrawn, refused)."""
    if s.returned_at is not None:
        return s.returned_at
    if s.status in (Status.WITHDRAWN, Status.REFUSED):
        return s.finished_at
    return None


def _book_dt(dt: datetime) -> str:
    return f"{dt:%H:%M %d/%m/%Y}"


@dataclass(frozen=True)
class BookRow:
    """One line of the tracking book: the dossier as it stands when the book is produced."""

    stt: int
    code: str
    field: str
    procedure_code: str
    procedure_name: str
    applicant: str
    contact: str  # "address / phone"
    agency: str
    received_at: datetime
    due_at: datetime | None  # the appointment in force (after an extension)
    first_due_at: datetime | None  # the appointment before the extension; None if not extended
    returned_at: datetime | None
    closed_at: datetime | None  # when the "Trả kết quả" cell was filled (see book_closed_at)
    return_channel: str
    returned_by: str
    status: str
    refused_at_intake: bool
    earlier: bool  # received before the period; listed because its return was made in it

    @property
    def result(self) -> str:
        """The "Trả kết quả" cell."""
        return self.cells()["returned"]

    def cells(self) -> dict[str, str]:
        """The text of the 11 form columns, as every rendering prints them."""
        received = _book_dt(self.received_at)
        if self.earlier:
            received = t("{at} (tiếp nhận kỳ trước)", at=received)
        if self.refused_at_intake:
            appointment = t("Từ chối tiếp nhận")
        elif self.due_at is None:
            appointment = t("Không có ngày hẹn cụ thể")
        elif self.first_due_at is not None and self.first_due_at != self.due_at:
            appointment = t(
                "{first}; gia hạn đến {due}",
                first=_book_dt(self.first_due_at),
                due=_book_dt(self.due_at),
            )
        else:
            appointment = _book_dt(self.due_at)
        returned = ""
        if self.returned_at is not None:
            returned = _book_dt(self.returned_at)
        elif self.closed_at is not None and self.refused_at_intake:
            returned = t("Từ chối tiếp nhận {at}", at=_book_dt(self.closed_at))
        elif self.closed_at is not None and self.status == Status.REFUSED:
            returned = t("Từ chối giải quyết {day:%d/%m/%Y}", day=self.closed_at)
        elif self.closed_at is not None and self.status == Status.WITHDRAWN:
            returned = t("Dừng giải quyết {day:%d/%m/%Y}", day=self.closed_at)
        ack = ""
        if self.returned_at is not None:
            ack = (
                t("Đã trả kết quả; người trả: {who}", who=self.returned_by)
                if self.returned_by
                else t("Đã trả kết quả")
            )
        return {
            "stt": str(self.stt),
            "code": self.code,
            "procedure_name": self.procedure_name,
            "applicant": self.applicant,
            "contact": self.contact,
            "agency": self.agency,
            "received": received,
            "appointment": appointment,
            "returned": returned,
            "return_channel": t(self.return_channel)
            if self.return_channel in RETURN_CHANNEL_LABELS.values()
            else self.return_channel,
            "acknowledgement": ack,
        }

    def as_json(self) -> dict[str, Any]:
        """The raw values and, under the column keys, the cells as printed."""

        def fmt(dt: datetime | None) -> str | None:
            return dt.isoformat(sep=" ", timespec="minutes") if dt else None

        return {
            "field": self.field,
            "procedure_code": self.procedure_code,
            "received_at": fmt(self.received_at),
            "due_at": fmt(self.due_at),
            "first_due_at": fmt(self.first_due_at),
            "returned_at": fmt(self.returned_at),
            "closed_at": fmt(self.closed_at),
            "returned_by": self.returned_by,
            "status": self.status,
            "refused_at_intake": self.refused_at_intake,
            "earlier": self.earlier,
            **self.cells(),
            "stt": self.stt,
        }


# The form's names by stored value: a dict lookup per row, not an Enum call (~1 us each).
_RETURN_CHANNEL_NAMES = {c.value: RETURN_CHANNEL_LABELS[c] for c in ReturnChannel}


def _return_channel(s: BookDossier) -> str:
    """The form's name of the return channel (Vietnamese; :meth:`BookRow.cells` translates)."""
    channel = s.return_channel
    if not channel:
        return ""
    return _RETURN_CHANNEL_NAMES.get(channel, channel)


def agency_name(handled_by: str, commune: str) -> str:
    """ "Cơ quan chủ trì giải quyết" from the catalogue's ``handled_by`` and the commune's name.

    The name of a Vietnamese body, so it is not translated.

    "Công an xã" -> "Công an xã Mường Lát" (cư trú); "UBND xã", "cấp xã" or nothing -> "UBND xã
    Mường Lát"; "liên thông ..." -> the commune's UBND, which leads the inter-agency package;
    any other named body is printed as the catalogue names it.
    """
    place = commune.strip()
    place = place[:1].lower() + place[1:]
    key = search_key(handled_by)
    if key.startswith("cong an"):
        return f"Công an {place}".strip()
    if not key or key in ("ubnd xa", "cap xa", "ubnd cap xa") or key.startswith("lien thong"):
        suffix = " (liên thông)" if key.startswith("lien thong") else ""
        return f"UBND {place}".strip() + suffix
    return handled_by


def book_rows(
    entries: Iterable[BookEntry | BookDossier],
    p: Period,
    *,
    field: str | None = None,
    agency: Callable[[BookDossier], str] | str = "",
) -> list[BookRow]:
    """The tracking book for ``p``: one book per field (lĩnh vực), each numbered from 1.

    A running register, not a snapshot: ``entries`` are the dossiers as they stand when the book
    is produced, so the return and acknowledgement cells of a dossier received in ``p`` are
    filled in once its result is returned, whenever that is. Each book lists, in order:

    * every dossier received in ``p`` (by time of receipt), refused at intake included (it got a
      code and a refusal slip, and is shown refused);
    * then every dossier received before ``p`` whose return entry was made in ``p`` (result
      returned, or stopped: withdrawn or refused after receipt), by time of that entry, marked
      "tiếp nhận kỳ trước", so the book of the month of a return has the line to sign.

    ``agency``: the text of column 6, or a function of the dossier giving it.
    """
    # Tens of thousands of rows for a month of a big desk: the period's bounds are computed once
    # and each entry's closing time once (issue 19 §2).
    start, end = p.start_at, p.end_at
    own: dict[str, list[tuple[datetime, str, BookEntry, datetime | None]]] = {}
    earlier: dict[str, list[tuple[datetime, str, BookEntry, datetime | None]]] = {}
    for x in entries:
        e = x if isinstance(x, BookEntry) else _entry(x)
        s = e.state
        if field and s.field != field:
            continue
        closed = book_closed_at(s)
        received = s.received_at
        if start <= received < end:
            own.setdefault(s.field, []).append((received, s.code, e, closed))
        elif received < start and closed is not None and start <= closed < end:
            earlier.setdefault(s.field, []).append((closed, s.code, e, closed))
    rows: list[BookRow] = []
    append = rows.append
    for name in sorted(set(own) | set(earlier), key=field_order):
        # (time, code) is unique per dossier: the sort never compares the entries themselves.
        first = sorted(own.get(name, ()), key=_first_two)
        later = sorted(earlier.get(name, ()), key=_first_two)
        for i, (_, _, e, closed) in enumerate([*first, *later], start=1):
            s = e.state
            refused = s.status == Status.REFUSED and s.event_count == 1  # refused_at_intake
            received = s.received_at
            address, phone = s.applicant_address, s.applicant_phone
            append(
                BookRow(
                    stt=i,
                    code=s.code,
                    field=s.field,
                    procedure_code=s.procedure_code,
                    procedure_name=s.procedure_name,
                    applicant=s.applicant_name,
                    contact=f"{address} / {phone}" if address and phone else address or phone,
                    agency=agency(s) if callable(agency) else agency,
                    received_at=received,
                    due_at=None if refused else s.due_at,
                    first_due_at=e.first_due_at if s.extension_count else None,
                    returned_at=s.returned_at,
                    closed_at=closed,
                    return_channel=_return_channel(s),
                    returned_by=e.returned_by if s.returned_at is not None else "",
                    status=s.status.value,
                    refused_at_intake=refused,
                    earlier=not start <= received < end,
                )
            )
    return rows


_first_two = itemgetter(0, 1)


# ------------------------------------------------------------------------------------------------
# Fees
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Payment:
    """One ``record_payment`` event with the dossier's procedure and field."""

    dossier: str
    at: datetime
    amount: int
    method: str
    procedure_code: str
    procedure_name: str
    field: str


@dataclass(frozen=True)
class FeeGroup:
    key: str
    label: str
    field: str
    payments: int
    amount: int


@dataclass(frozen=True)
class FeeSummary:
    period: Period
    by_procedure: tuple[FeeGroup, ...]
    by_field: tuple[FeeGroup, ...]
    by_day: tuple[FeeGroup, ...]
    by_method: Mapping[str, tuple[int, int]]  # method -> (payments, amount)
    payments: int
    amount: int


def fee_summary(
    payments: Iterable[Payment],
    p: Period,
    *,
    expected_amount: int | None = None,
    expected_count: int | None = None,
) -> FeeSummary:
    """Fees collected in ``p`` by procedure, field, day and method; reconciled.

    Every grouping must add up to the same total, and that total to ``expected_amount`` /
    ``expected_count`` (the caller's own sum over the ``record_payment`` events it read);
    otherwise :class:`ReportError`.
    """
    proc: dict[tuple[str, str], list[Any]] = {}
    fld: dict[str, list[int]] = {}
    day: dict[date, list[int]] = {}
    method: dict[str, list[int]] = {}
    count = amount = 0
    for pay in payments:
        if not p.contains(pay.at):
            continue
        count += 1
        amount += pay.amount
        g = proc.setdefault((pay.field, pay.procedure_code), [pay.procedure_name, 0, 0])
        g[1] += 1
        g[2] += pay.amount
        for bucket, key in ((fld, pay.field), (method, pay.method)):
            b = bucket.setdefault(key, [0, 0])
            b[0] += 1
            b[1] += pay.amount
        d = day.setdefault(pay.at.date(), [0, 0])
        d[0] += 1
        d[1] += pay.amount
    by_procedure = tuple(
        FeeGroup(code, str(v[0]), f, int(v[1]), int(v[2]))
        for (f, code), v in sorted(proc.items(), key=lambda kv: (field_order(kv[0][0]), kv[0][1]))
    )
    by_field = tuple(
        FeeGroup(f, f, f, v[0], v[1])
        for f, v in sorted(fld.items(), key=lambda kv: field_order(kv[0]))
    )
    by_day = tuple(
        FeeGroup(d.isoformat(), f"{d:%d/%m/%Y}", "", v[0], v[1]) for d, v in sorted(day.items())
    )
    summary = FeeSummary(
        p,
        by_procedure,
        by_field,
        by_day,
        {k: (v[0], v[1]) for k, v in sorted(method.items())},
        count,
        amount,
    )
    _reconcile(summary, expected_amount, expected_count)
    return summary


def _reconcile(s: FeeSummary, expected_amount: int | None, expected_count: int | None) -> None:
    totals = {
        t("theo thủ tục"): (
            sum(g.payments for g in s.by_procedure),
            sum(g.amount for g in s.by_procedure),
        ),
        t("theo lĩnh vực"): (
            sum(g.payments for g in s.by_field),
            sum(g.amount for g in s.by_field),
        ),
        t("theo ngày"): (sum(g.payments for g in s.by_day), sum(g.amount for g in s.by_day)),
        t("theo hình thức nộp"): (
            sum(v[0] for v in s.by_method.values()),
            sum(v[1] for v in s.by_method.values()),
        ),
    }
    for name, (n, amount) in totals.items():
        if (n, amount) != (s.payments, s.amount):
            raise ReportError(
                t(
                    "Báo cáo phí, lệ phí không khớp: tổng {name} là {amount} đồng ({n} lần nộp), "
                    "tổng chung là {total} đồng ({count} lần nộp).",
                    name=name,
                    amount=amount,
                    n=n,
                    total=s.amount,
                    count=s.payments,
                )
            )
    if (expected_amount is not None and expected_amount != s.amount) or (
        expected_count is not None and expected_count != s.payments
    ):
        raise ReportError(
            t(
                "Báo cáo phí, lệ phí không khớp nhật ký: báo cáo {total} đồng ({count} lần nộp), "
                "các sự kiện ghi nhận nộp phí cộng lại {amount} đồng ({n} lần nộp).",
                total=s.amount,
                count=s.payments,
                amount=expected_amount,
                n=expected_count,
            )
        )


# ------------------------------------------------------------------------------------------------
# The citizen's evaluation (TT 01/2018 tool: 9 indicators x 0-2 points, 5 satisfaction levels)
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvaluationRecord:
    dossier: str
    field: str
    at: datetime
    scores: tuple[int, ...]
    satisfaction: int


@dataclass(frozen=True)
class EvaluationRow:
    field: str
    count: int
    averages: tuple[float | None, ...]  # per indicator, 2 decimals; None without answers
    levels: Mapping[int, int]  # satisfaction level 5..1 -> answers

    @property
    def satisfied(self) -> int:
        return self.levels.get(5, 0) + self.levels.get(4, 0)


@dataclass(frozen=True)
class EvaluationSummary:
    period: Period
    rows: tuple[EvaluationRow, ...]
    total: EvaluationRow


def _evaluation_row(name: str, records: Sequence[EvaluationRecord]) -> EvaluationRow:
    sums = [0] * EVALUATION_INDICATORS
    for r in records:
        for i, s in enumerate(r.scores[:EVALUATION_INDICATORS]):
            sums[i] += s
    n = len(records)
    averages = tuple(round(v / n, 2) if n else None for v in sums)
    levels = dict.fromkeys(sorted(SATISFACTION_LEVELS, reverse=True), 0)
    for r in records:
        levels[r.satisfaction] = levels.get(r.satisfaction, 0) + 1
    return EvaluationRow(name, n, averages, levels)


def evaluation_summary(
    records: Iterable[EvaluationRecord], p: Period, *, field: str | None = None
) -> EvaluationSummary:
    """Average of each indicator and the satisfaction distribution, by field and in total."""
    by_field: dict[str, list[EvaluationRecord]] = {}
    if field:
        by_field[field] = []
    for r in records:
        if p.contains(r.at) and (not field or r.field == field):
            by_field.setdefault(r.field, []).append(r)
    rows = tuple(_evaluation_row(f, by_field[f]) for f in sorted(by_field, key=field_order))
    everything = [r for f in by_field.values() for r in f]
    total = _evaluation_row(t("Tổng cộng"), everything)
    if sum(r.count for r in rows) != total.count:  # pragma: no cover - by construction
        raise ReportError(t("Tổng hợp đánh giá: dòng tổng cộng khác tổng các lĩnh vực."))
    return EvaluationSummary(p, rows, total)


def auto_scores(state: DossierState, events: Sequence[Event]) -> list[int | None]:
    """What the log already knows of the 9 indicators; ``None`` = ask the citizen.

    1. Resolution time against the legal limit: decision before the due date 2, on it 1,
       after it 0 (calendar dates; the due date without apology extensions, moved only by
       supplement pauses). ``None`` while there is no decision.
    3. Times the applicant had to come back to complete the dossier: no supplement request 2,
       one 1, more 0.
    5. The commune desk receives, resolves and returns in one place: 2.
    """
    scores: list[int | None] = [None] * EVALUATION_INDICATORS
    snap = snapshot(events) if events else None
    resolved_at = state.resolved_at
    if resolved_at is not None:
        due = snap.legal_due if snap is not None else state.original_due_at
        scores[0] = {Timeliness.EARLY: 2, Timeliness.ON_TIME: 1, Timeliness.LATE: 0}[
            classify(resolved_at, due)
        ]
    supplements = state.supplement_count
    scores[2] = 2 if supplements == 0 else 1 if supplements == 1 else 0
    scores[4] = 2
    return scores


# ------------------------------------------------------------------------------------------------
# Service indicators in the spirit of QĐ 766/QĐ-TTg
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    numerator: int | None
    denominator: int | None
    formula: str
    note: str = ""

    @property
    def value(self) -> float | None:
        """The ratio (0..1), ``None`` when not available or the denominator is 0."""
        if self.numerator is None or not self.denominator:
            return None
        return self.numerator / self.denominator

    def as_json(self) -> dict[str, Any]:
        v = self.value
        return {
            "key": self.key,
            "label": self.label,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": None if v is None else round(v, 4),
            "percent": None if v is None else round(100 * v, 1),
            "formula": self.formula,
            "note": self.note,
        }


def _digitised_unknown() -> Indicator:
    return Indicator(
        "digitised_share",
        t("Tỷ lệ hồ sơ được số hóa"),
        None,
        None,
        t("hồ sơ có thành phần được số hóa / hồ sơ tiếp nhận trong kỳ"),
        t(
            "Chưa tính được: quầy chưa lưu bản quét thành phần hồ sơ và kết quả "
            "(TT 01/2023/TT-VPCP), nên không có dữ liệu số hóa."
        ),
    )


def scan_indicators(scans: Sequence[DossierScanSummary]) -> list[Indicator]:
    """The three "Số hóa" indicators over the dossiers received in a period, with numerator and
    denominator: the rules of ``domain.scans`` (``digitised_share``, ``reused_components_share``,
    ``digitised_results_share``; Thanh Hóa implementation of QĐ 766/QĐ-TTg, not verified against
    the appendix)."""
    no_data = t("không có dữ liệu trong kỳ (mẫu số bằng 0)")
    done = sum(1 for d in scans if d.components_scanned + d.components_reused >= d.components)
    reused = sum(d.components_reused for d in scans)
    needed = sum(d.components for d in scans)
    issued = [d for d in scans if d.has_result]
    results = sum(1 for d in issued if d.result_digitised)
    return [
        Indicator(
            "digitised_share",
            t("Tỷ lệ hồ sơ được số hóa"),
            done,
            len(scans),
            t(
                "số hồ sơ có mọi thành phần đã số hóa (quét hoặc tái sử dụng) / số hồ sơ tiếp "
                "nhận trong kỳ"
            ),
            "" if scans else no_data,
        ),
        Indicator(
            "reused_components_share",
            t("Tỷ lệ thành phần hồ sơ được tái sử dụng"),
            reused,
            needed,
            t(
                "số thành phần hồ sơ được tái sử dụng / tổng số thành phần hồ sơ cần số hóa của "
                "các hồ sơ tiếp nhận trong kỳ"
            ),
            "" if needed else no_data,
        ),
        Indicator(
            "digitised_results_share",
            t("Tỷ lệ kết quả được số hóa"),
            results,
            len(issued),
            t(
                "số hồ sơ đã có kết quả giải quyết được số hóa / số hồ sơ tiếp nhận trong kỳ đã "
                "có kết quả giải quyết"
            ),
            "" if issued else no_data,
        ),
    ]


def service_indicators(
    b06: Bieu06Counts,
    fees: FeeSummary,
    evaluations: EvaluationSummary,
    scans: Sequence[DossierScanSummary] | None = None,
) -> list[Indicator]:
    """The indicators of a period (REFERENCE §4.3), each with its formula. Without ``scans`` the
    digitised share is one row that says it cannot be computed; with them, the three rows of
    :func:`scan_indicators`."""
    online_payments = fees.by_method.get("online", (0, 0))[0]
    new = b06.online + b06.direct
    no_data = t("không có dữ liệu trong kỳ (mẫu số bằng 0)")
    return [
        Indicator(
            "on_time_rate",
            t("Tỷ lệ hồ sơ giải quyết đúng hạn"),
            b06.early + b06.on_time,
            b06.resolved,
            t("(cột 8 + cột 9) / cột 7 của Biểu 06: (trước hạn + đúng hạn) / đã giải quyết"),
            "" if b06.resolved else no_data,
        ),
        Indicator(
            "online_share",
            t("Tỷ lệ hồ sơ tiếp nhận trực tuyến"),
            b06.online,
            new,
            t("cột 4 / (cột 4 + cột 5) của Biểu 06: trực tuyến / hồ sơ mới tiếp nhận trong kỳ"),
            "" if new else no_data,
        ),
        Indicator(
            "online_payment_share",
            t("Tỷ lệ thanh toán trực tuyến"),
            online_payments,
            fees.payments,
            t(
                "số lần nộp phí, lệ phí có hình thức «online» / tổng số lần nộp phí, lệ phí "
                "ghi nhận trong kỳ"
            ),
            "" if fees.payments else no_data,
        ),
        *(scan_indicators(scans) if scans is not None else [_digitised_unknown()]),
        Indicator(
            "satisfaction_share",
            t("Tỷ lệ hài lòng"),
            evaluations.total.satisfied,
            evaluations.total.count,
            t(
                "số phiếu đánh giá mức «Hài lòng» (4) hoặc «Rất hài lòng» (5) / tổng số phiếu "
                "đánh giá ghi nhận trong kỳ"
            ),
            "" if evaluations.total.count else no_data,
        ),
    ]
