"""Issue 16, built from the rules (not from an example): the tracking book is a running register
kept per field, and Biểu 06 counts a dossier whose due time passed before the end of the period
as overdue. Pure: events through the lifecycle's own ``decide``/``apply``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop.domain.calendar import WorkCalendar
from onestop.domain.events import Event, EventKind, to_epoch
from onestop.domain.lifecycle import DossierState, apply, decide
from onestop.domain.reports import (
    BOOK_COLUMNS,
    Period,
    agency_name,
    bieu06_line,
    book_entry,
    book_rows,
    overdue_cut,
    snapshot,
)

CAL = WorkCalendar()
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))
APRIL = Period(date(2026, 4, 1), date(2026, 4, 30))
MAY = Period(date(2026, 5, 1), date(2026, 5, 31))
CT, CU_TRU = "Chứng thực", "Cư trú"


class Log:
    """One dossier's events, appended through the lifecycle rules like the desk does."""

    seq = 0

    def __init__(
        self,
        at: datetime,
        *,
        field: str = CT,
        due: datetime | None = None,
        refuse: bool = False,
    ) -> None:
        Log.seq += 1
        self.code = f"R-{Log.seq:06d}"
        data: dict[str, Any] = {
            "procedure": "2.001035",
            "procedure_name": "Chứng thực giao dịch",
            "field": field,
            "time_unit": "working_days",
            "time_value": 2,
            "channel": "in_person",
            "fee": 0,
            "applicant": {"name": "Nguyễn Văn An", "address": "Bản Na", "phone": "0912345678"},
        }
        if due is not None and not refuse:
            data["due"] = to_epoch(due)
        if refuse:
            data["reason"] = "Không thuộc thẩm quyền"
        self.events: list[Event] = []
        self.state: DossierState | None = None
        self._append(EventKind.REFUSE if refuse else EventKind.RECEIVE, at, data, "Mai")

    def _append(self, kind: EventKind, at: datetime, data: dict[str, Any], actor: str) -> None:
        Log.seq += 1
        e = Event("16279-01", Log.seq, Log.seq, kind, self.code, at, actor, "clerk", "", data)
        self.state = apply(self.state, e)
        self.events.append(e)

    def act(self, kind: EventKind, at: datetime, actor: str = "Mai", **params: Any) -> Log:
        self._append(kind, at, decide(self.state, kind, params, at, CAL), actor)
        return self

    def returned(self, at: datetime, actor: str = "Mai") -> Log:
        self.act(EventKind.RESOLVE, at - timedelta(hours=2))
        self.act(EventKind.MARK_READY, at - timedelta(hours=1))
        return self.act(EventKind.RETURN_RESULT, at, actor, channel="desk")


def book(logs: list[Log], p: Period, **kw: Any) -> list[Any]:
    entries = [book_entry(log.events) for log in logs]
    return book_rows([e for e in entries if e is not None], p, **kw)


# ------------------------------------------------------------------------------------------------
# The tracking book: a running register
# ------------------------------------------------------------------------------------------------


def test_received_in_one_month_and_returned_in_the_next():
    """Its return is filled in the book of the month it was received, and the book of the month
    of the return lists it too, marked, after that month's own receipts."""
    x = Log(datetime(2026, 3, 30, 9), due=datetime(2026, 4, 1, 9)).returned(
        datetime(2026, 4, 2, 11), actor="Lò Thị Mai"
    )
    april_own = Log(datetime(2026, 4, 3, 9), due=datetime(2026, 4, 7, 9))

    (march,) = book([x, april_own], MARCH)
    assert (march.code, march.earlier, march.returned_at) == (
        x.code,
        False,
        datetime(2026, 4, 2, 11),
    )
    cells = march.cells()
    assert cells["returned"] == "11:00 02/04/2026"
    assert cells["return_channel"] == "Tại Bộ phận Một cửa"
    assert cells["acknowledgement"] == "Đã trả kết quả; người trả: Lò Thị Mai"

    april = book([x, april_own], APRIL)
    assert [(r.code, r.stt, r.earlier) for r in april] == [
        (april_own.code, 1, False),
        (x.code, 2, True),
    ]
    assert april[1].cells()["received"] == "09:00 30/03/2026 (tiếp nhận kỳ trước)"
    assert april[1].cells()["returned"] == "11:00 02/04/2026"
    assert book([x, april_own], MAY) == []


def test_a_book_before_the_return_shows_it_open_and_fills_in_later():
    log = Log(datetime(2026, 3, 30, 9), due=datetime(2026, 4, 1, 9))
    (before,) = book([log], MARCH)
    assert before.returned_at is None
    assert before.cells()["returned"] == before.cells()["acknowledgement"] == ""
    log.returned(datetime(2026, 4, 20, 9))
    (after,) = book([log], MARCH)
    assert after.cells()["returned"] == "09:00 20/04/2026"


def test_stopped_in_a_later_month_is_listed_there_too():
    w = Log(datetime(2026, 3, 30, 9), due=datetime(2026, 4, 1, 9))
    w.act(EventKind.WITHDRAW, datetime(2026, 4, 6, 9), reason="Xin rút")
    (march,) = book([w], MARCH)
    assert march.result == "Dừng giải quyết 06/04/2026"
    (april,) = book([w], APRIL)
    assert april.earlier and april.result == "Dừng giải quyết 06/04/2026"


def test_an_open_dossier_from_an_earlier_month_is_not_relisted():
    old = Log(datetime(2026, 3, 2, 9), due=datetime(2026, 3, 4, 9))
    old.act(EventKind.RESOLVE, datetime(2026, 4, 2, 9))  # decided, not returned yet
    assert book([old], APRIL) == []


def test_an_extended_dossier_shows_both_appointments():
    log = Log(datetime(2026, 3, 2, 9), due=datetime(2026, 3, 4, 9))
    log.act(
        EventKind.EXTEND,
        datetime(2026, 3, 3, 15),
        reason="Xác minh",
        new_due=datetime(2026, 3, 10, 10),
    )
    (row,) = book([log], MARCH)
    assert (row.first_due_at, row.due_at) == (datetime(2026, 3, 4, 9), datetime(2026, 3, 10, 10))
    assert row.cells()["appointment"] == "09:00 04/03/2026; gia hạn đến 10:00 10/03/2026"
    plain = Log(datetime(2026, 3, 2, 9), due=datetime(2026, 3, 4, 9))
    (row,) = book([plain], MARCH)
    assert row.first_due_at is None and row.cells()["appointment"] == "09:00 04/03/2026"


def test_refused_at_intake_is_shown_refused_not_without_appointment():
    r = Log(datetime(2026, 3, 12, 10), refuse=True)
    (row,) = book([r], MARCH)
    assert row.refused_at_intake and row.due_at is None
    cells = row.cells()
    assert cells["appointment"] == "Từ chối tiếp nhận"
    assert cells["returned"] == "Từ chối tiếp nhận 10:00 12/03/2026"
    assert "Không có ngày hẹn" not in "".join(cells.values())
    # Refused after receipt: it had an appointment; the refusal is the return entry.
    n = Log(datetime(2026, 3, 13, 9), due=datetime(2026, 3, 13, 17))
    n.act(EventKind.REFUSE, datetime(2026, 3, 13, 10), reason="Giấy tờ giả mạo")
    (row,) = book([n], MARCH)
    assert not row.refused_at_intake
    assert row.cells()["appointment"] == "17:00 13/03/2026"
    assert row.result == "Từ chối giải quyết 13/03/2026"
    assert book([r, n], APRIL) == []  # both finished in March: nothing to relist


def test_one_book_per_field_numbered_from_one():
    logs = [
        Log(datetime(2026, 3, 2, 9), field=CU_TRU),
        Log(datetime(2026, 3, 3, 9), field=CT),
        Log(datetime(2026, 3, 4, 9), field=CU_TRU),
        Log(datetime(2026, 3, 5, 9), field=CT),
    ]
    rows = book(logs, MARCH)
    assert [(r.field, r.stt) for r in rows] == [(CT, 1), (CT, 2), (CU_TRU, 1), (CU_TRU, 2)]
    only = book(logs, MARCH, field=CU_TRU)
    assert [(r.code, r.stt) for r in only] == [(logs[0].code, 1), (logs[2].code, 2)]


def test_agency_column_from_handled_by():
    def by_field(s: DossierState) -> str:
        return agency_name("Công an xã" if s.field == CU_TRU else "UBND xã", "Xã Mường Lát")

    logs = [Log(datetime(2026, 3, 2, 9), field=CU_TRU), Log(datetime(2026, 3, 2, 10))]
    rows = {r.field: r for r in book(logs, MARCH, agency=by_field)}
    assert rows[CU_TRU].cells()["agency"] == "Công an xã Mường Lát"
    assert rows[CT].cells()["agency"] == "UBND xã Mường Lát"


@pytest.mark.parametrize(
    ("handled_by", "commune", "expected"),
    [
        ("Công an xã", "Xã Mường Lát", "Công an xã Mường Lát"),
        ("Công an xã", "Phường Hạc Thành", "Công an phường Hạc Thành"),
        ("UBND xã", "Xã Mường Lát", "UBND xã Mường Lát"),
        ("cấp xã", "Xã Mường Lát", "UBND xã Mường Lát"),
        ("", "Xã Mường Lát", "UBND xã Mường Lát"),
        ("liên thông (several agencies)", "Xã Mường Lát", "UBND xã Mường Lát (liên thông)"),
        (
            "Chi nhánh Văn phòng đăng ký đất đai",
            "Xã Mường Lát",
            "Chi nhánh Văn phòng đăng ký đất đai",
        ),
    ],
)
def test_agency_name(handled_by: str, commune: str, expected: str):
    assert agency_name(handled_by, commune) == expected


def test_every_row_has_the_eleven_cells():
    rows = book([Log(datetime(2026, 3, 2, 9), due=datetime(2026, 3, 4, 9))], MARCH)
    assert list(rows[0].cells()) == [k for k, _, _ in BOOK_COLUMNS]
    assert len(BOOK_COLUMNS) == 11


# ------------------------------------------------------------------------------------------------
# Biểu 06: open at the end of the period, overdue when the due time passed before the end
# ------------------------------------------------------------------------------------------------


def outcome(due: datetime | None, p: Period = MARCH, today: date | datetime | None = None) -> str:
    log = Log(datetime(2026, 3, 2, 9), due=due)
    snap = snapshot(log.events, p.end_at)
    assert snap is not None
    line = bieu06_line(snap, p, today=today)
    assert line is not None
    return line[1]


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (datetime(2026, 3, 31, 10), "overdue"),  # due 10:00 on the last day, still open
        (datetime(2026, 3, 31, 23, 59, 59), "overdue"),
        (datetime(2026, 4, 1, 0, 0), "within"),  # exactly the end of the period
        (datetime(2026, 4, 1, 9), "within"),  # after the end
        (datetime(2026, 3, 30, 9), "overdue"),
        (None, "within"),  # no fixed due date
    ],
)
def test_open_at_the_end_of_the_period(due: datetime | None, expected: str):
    assert outcome(due) == expected


def test_paused_for_a_supplement_stays_within():
    log = Log(datetime(2026, 3, 2, 9), due=datetime(2026, 3, 4, 9))
    log.act(EventKind.REQUEST_SUPPLEMENT, datetime(2026, 3, 3, 9), reason="Thiếu")
    snap = snapshot(log.events, MARCH.end_at)
    assert snap is not None
    assert bieu06_line(snap, MARCH) == ("direct", "within", False)


def test_a_running_period_is_cut_at_the_moment_of_the_report():
    due = datetime(2026, 3, 20, 10)
    assert outcome(due, today=datetime(2026, 3, 20, 12)) == "overdue"
    assert outcome(due, today=datetime(2026, 3, 20, 9)) == "within"
    assert outcome(due, today=date(2026, 3, 20)) == "within"  # a date: its first instant
    assert outcome(due, today=date(2026, 3, 21)) == "overdue"
    assert overdue_cut(MARCH, date(2026, 5, 1)) == MARCH.end_at  # past period: its end
    assert overdue_cut(MARCH, datetime(2026, 3, 20, 12, 0, 0, 1)) == datetime(2026, 3, 20, 12, 0, 1)


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=datetime(2026, 3, 29), max_value=datetime(2026, 4, 3)).map(
        lambda d: d.replace(microsecond=0)
    ),
    st.one_of(
        st.none(),
        st.datetimes(min_value=datetime(2026, 3, 3), max_value=datetime(2026, 4, 5)),
        st.dates(min_value=date(2026, 3, 3), max_value=date(2026, 4, 5)),
    ),
)
def test_overdue_exactly_when_the_due_time_is_before_the_cut(
    due: datetime, today: date | datetime | None
):
    end = MARCH.end_at
    if today is None:
        cut = end
    elif isinstance(today, datetime):
        cut = min(
            end,
            today if not today.microsecond else today.replace(microsecond=0) + timedelta(seconds=1),
        )
    else:
        cut = min(end, datetime.combine(today, time()))
    assert outcome(due, today=today) == ("overdue" if due < cut else "within")
