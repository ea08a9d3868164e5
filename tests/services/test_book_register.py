"""Issue 16 on a real desk, built from the rules: the tracking book as a running register per
field (every export showing the same cells), the agency column from the catalogue version the
receipt pinned, and Biểu 06's end-of-period boundary equal on the fast and the replay path."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from onestop.domain.lifecycle import Channel, Status
from onestop.domain.reports import BOOK_COLUMNS, Period
from onestop.forms.report_files import to_csv, to_json, to_pdf, to_text, to_xlsx
from onestop.services import reports as svc
from onestop.services.desk import Applicant, Desk, DeskError, IntakeForm
from tests.conftest import Clock, muong_lat_desk

MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))
APRIL = Period(date(2026, 4, 1), date(2026, 4, 30))
CT, CU_TRU = "Chứng thực", "Cư trú"
COMMUNE = "Xã Mường Lát"


def new_desk(path: Path, clock: Clock) -> Desk:
    return muong_lat_desk(path, clock)


def receive(desk: Desk, clock: Clock, at: datetime, procedure: str, name: str) -> str:
    clock.now = at
    form = IntakeForm(
        procedure_code=procedure,
        applicant=Applicant(name=name, id_number="001099012345", address="Bản Na"),
        fee_vnd=0,
    )
    return desk.receive(form).code


def give_back(desk: Desk, clock: Clock, code: str, at: datetime) -> None:
    for step, when in (
        ("resolve", at - timedelta(hours=2)),
        ("mark_ready", at - timedelta(hours=1)),
    ):
        clock.now = when
        desk.act(code, step, {})
    clock.now = at
    desk.act(code, "return_result", {"channel": "desk"})


@pytest.fixture
def register(tmp_path: Path) -> Iterator[tuple[Desk, Clock, dict[str, str]]]:
    """Residence (Công an xã) and attestation (UBND xã) dossiers around the March/April turn."""
    clock = Clock(datetime(2026, 3, 2, 8))
    desk = new_desk(tmp_path / "desk.sqlite", clock)
    codes = {
        # residence, received 30/03, returned 02/04
        "R": receive(desk, clock, datetime(2026, 3, 30, 9), "1.004222", "Vũ Văn Cư"),
        # attestation, received 23/03, extended, returned 27/03
        "X": receive(desk, clock, datetime(2026, 3, 23, 9), "2.001035", "Hà Thị Gia"),
        # attestation in April
        "A": receive(desk, clock, datetime(2026, 4, 1, 9), "2.001035", "Đỗ Văn Tư"),
    }
    clock.now = datetime(2026, 3, 24, 15)
    desk.act(codes["X"], "extend", {"reason": "Cần xác minh", "new_due": datetime(2026, 3, 27, 10)})
    clock.now = datetime(2026, 3, 25, 9)
    refused = desk.refuse_intake(
        IntakeForm(
            procedure_code="2.001035",
            applicant=Applicant(name="Lương Văn Ích", id_number="001099012353"),
            fee_vnd=0,
        ),
        "Hồ sơ không thuộc thẩm quyền",
    )
    codes["I"] = refused.code
    give_back(desk, clock, codes["X"], datetime(2026, 3, 27, 9))
    give_back(desk, clock, codes["R"], datetime(2026, 4, 2, 11))
    clock.now = datetime(2026, 4, 3, 10)
    yield desk, clock, codes
    desk.close()


def book(desk: Desk, p: Period, field: str | None = None) -> list[Any]:
    with desk.store.read() as db:
        return svc.report_book(db, p, field=field, commune=COMMUNE)


def test_returned_next_month_is_filled_in_and_relisted(
    register: tuple[Desk, Clock, dict[str, str]],
):
    desk, _, codes = register
    march = {r.code: r for r in book(desk, MARCH, CU_TRU)}
    r = march[codes["R"]]
    assert r.returned_at == datetime(2026, 4, 2, 11) and not r.earlier
    assert r.cells()["returned"] == "11:00 02/04/2026"
    assert r.cells()["acknowledgement"] == "Đã trả kết quả; người trả: Lò Thị Mai"
    april = book(desk, APRIL, CU_TRU)
    assert [(x.code, x.stt, x.earlier) for x in april] == [(codes["R"], 1, True)]
    # Attestation in April: its own dossier only (X was returned in March).
    assert [x.code for x in book(desk, APRIL, CT)] == [codes["A"]]


def test_extension_refusal_and_agency(register: tuple[Desk, Clock, dict[str, str]]):
    desk, _, codes = register
    rows = {r.code: r for r in book(desk, MARCH)}
    x = rows[codes["X"]]
    assert x.first_due_at is not None and x.due_at == datetime(2026, 3, 27, 10)
    assert x.first_due_at < x.due_at
    assert x.cells()["appointment"] == (
        f"{x.first_due_at:%H:%M %d/%m/%Y}; gia hạn đến 10:00 27/03/2026"
    )
    i = rows[codes["I"]]
    assert i.cells()["appointment"] == "Từ chối tiếp nhận"
    assert i.cells()["returned"] == "Từ chối tiếp nhận 09:00 25/03/2026"
    assert i.status == Status.REFUSED.value
    assert rows[codes["R"]].agency == "Công an xã Mường Lát"  # catalogue: handled_by Công an xã
    assert x.agency == "UBND xã Mường Lát"


def test_agency_follows_the_pinned_catalogue_version(register: tuple[Desk, Clock, dict[str, str]]):
    desk, _, codes = register
    with desk.store.write() as db:
        # A later version of the residence procedure handled elsewhere must not rewrite the
        # book of a dossier received under version 1; a change of version 1 itself does.
        db.execute(
            text(
                "INSERT INTO procedure (code, version, name, field, time_value, time_unit, "
                "same_day_cutoff, fee_vnd, fee_rule, handled_by, documents, effective_from, "
                "effective_to, search_key) SELECT code, 2, name, field, time_value, time_unit, "
                "same_day_cutoff, fee_vnd, fee_rule, 'UBND xã', documents, '2026-05-01', NULL, "
                "search_key FROM procedure WHERE code = '1.004222' AND version = 1"
            )
        )
    (r,) = [x for x in book(desk, MARCH) if x.code == codes["R"]]
    assert r.agency == "Công an xã Mường Lát"
    with desk.store.write() as db:
        db.execute(
            text(
                "UPDATE procedure SET handled_by = 'Công an xã' "
                "WHERE code = '2.001035' AND version = 1"
            )
        )
    (x,) = [y for y in book(desk, MARCH) if y.code == codes["X"]]
    assert x.agency == "Công an xã Mường Lát"


def test_one_book_per_field_and_every_export_agrees(
    register: tuple[Desk, Clock, dict[str, str]], tmp_path: Path
):
    desk, clock, codes = register
    with desk.store.read() as db:
        report = svc.build_report(
            db,
            "book",
            MARCH,
            field=None,
            unit="TTPVHCC",
            commune=COMMUNE,
            generated_at=clock.now,
        )
    assert [s.title for s in report.sections] == [CT, CU_TRU]
    expected = {r.code: r.cells() for r in report.book_rows}
    assert [r["stt"] for s in report.sections for r in s.rows] == [1, 2, 1]
    keys = [k for k, _, _ in BOOK_COLUMNS]
    # JSON: the cells under the column keys.
    data = json.loads(json.dumps(to_json(report), default=str))
    for section in data["sections"]:
        assert [c["key"] for c in section["columns"]] == keys
        for row in section["rows"]:
            assert {k: str(row[k]) for k in keys} == expected[row["code"]]
    # CSV: one header per field's book, the same cells.
    lines = list(csv.reader(io.StringIO(to_csv(report))))
    for cells in expected.values():
        assert [cells[k] for k in keys] in lines
    # XLSX: a sheet per field, the same cells.
    from openpyxl import load_workbook

    out = tmp_path / "book.xlsx"
    out.write_bytes(to_xlsx(report))
    wb = load_workbook(out)
    assert wb.sheetnames == [CT, CU_TRU]
    values = [
        ["" if c.value is None else str(c.value) for c in row]
        for ws in wb.worksheets
        for row in ws.iter_rows()
    ]
    for cells in expected.values():
        assert [cells[k] for k in keys] in values
    # The table.
    table = to_text(report)
    assert "Công an xã Mường Lát" in table and "Từ chối tiếp nhận" in table
    # The PDF: both books, the catalogue's agency, both appointments, the late return.
    if shutil.which("pdftotext") is None:
        return
    pdf = to_pdf(report, identity=desk.identity, now=clock.now)
    flat = " ".join(
        subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
        .stdout.decode()
        .split()
    )
    for needle in (
        f"Lĩnh vực: {CT}",
        f"Lĩnh vực: {CU_TRU}",
        "Công an xã Mường Lát",
        "gia hạn đến",
        "Từ chối tiếp",  # "Từ chối tiếp nhận", wrapped in its narrow cell
        "02/04/2026",
        codes["R"],
        codes["X"],
    ):
        assert needle in flat, needle
    assert "Không có ngày hẹn cụ thể" not in flat


def test_book_json_through_the_cli_shape(register: tuple[Desk, Clock, dict[str, str]]):
    desk, clock, _ = register
    with desk.store.read() as db:
        report = svc.build_report(
            db, "book", MARCH, field=CU_TRU, unit="TTPVHCC", commune=COMMUNE, generated_at=clock.now
        )
    (section,) = report.sections
    assert section.title == CU_TRU
    assert [c.number for c in section.columns] == [f"({i})" for i in range(1, 12)]


# ------------------------------------------------------------------------------------------------
# Biểu 06 at the end of the period: fast path == replay == the rule
# ------------------------------------------------------------------------------------------------


def counts(desk: Desk, p: Period, today: date | datetime) -> tuple[Any, Any]:
    with desk.store.read() as db:
        fast = svc.bieu06_fast(db, p, today=today)
        slow = svc.bieu06_replay(db, p, today=today)
    return fast.total, slow.total


def test_due_at_ten_on_the_last_day_and_still_open_is_overdue(tmp_path: Path):
    clock = Clock(datetime(2026, 3, 27, 10))
    desk = new_desk(tmp_path / "desk.sqlite", clock)
    try:
        # 2.001035: 2 working days. Received Fri 27/03 10:00 -> due Tue 31/03 10:00.
        code = receive(desk, clock, datetime(2026, 3, 27, 10), "2.001035", "Hà Văn Hẹn")
        assert desk.get(code).due_at == datetime(2026, 3, 31, 10)
        clock.now = datetime(2026, 4, 3, 10)
        fast, slow = counts(desk, MARCH, clock.now.date())
        assert fast.as_dict() == slow.as_dict()
        assert (fast.pending, fast.within, fast.overdue) == (1, 0, 1)
        # The period ending the day before: due after its end -> within.
        fast, slow = counts(desk, Period(date(2026, 3, 1), date(2026, 3, 30)), clock.now.date())
        assert fast.as_dict() == slow.as_dict()
        assert (fast.within, fast.overdue) == (1, 0)
        # A report made on 31/03 itself: at 12:00 the due time has passed, at 09:00 not yet.
        for now, overdue in ((datetime(2026, 3, 31, 12), 1), (datetime(2026, 3, 31, 9), 0)):
            fast, slow = counts(desk, MARCH, now)
            assert fast.as_dict() == slow.as_dict()
            assert fast.overdue == overdue, now
    finally:
        desk.close()


_PROCEDURES = ("2.001035", "2.000884", "1.004873")


@settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a failure prints its draws as is
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_fast_equals_replay_at_the_end_of_the_period(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
):
    """Periods that end on the due date of an open dossier, at random moments of the report."""
    draw = data.draw
    clock = Clock(datetime(2026, 3, 2, 8))
    desk = new_desk(tmp_path_factory.mktemp("edge") / "desk.sqlite", clock)
    try:
        codes: list[str] = []
        for _ in range(draw(st.integers(3, 12))):
            clock.now += timedelta(minutes=draw(st.integers(30, 60 * 24 * 2)))
            form = IntakeForm(
                procedure_code=draw(st.sampled_from(_PROCEDURES)),
                applicant=Applicant(name="Nguyễn Văn An", id_number="001099012345"),
                channel=draw(st.sampled_from(list(Channel))),
                fee_vnd=0,
            )
            codes.append(desk.receive(form).code)
            if draw(st.booleans()):
                clock.now += timedelta(minutes=draw(st.integers(10, 60 * 24 * 4)))
                with contextlib.suppress(DeskError):  # already decided: nothing to do
                    desk.act(draw(st.sampled_from(codes)), "resolve", {})
        dues = [d for d in (desk.get(c).due_at for c in codes) if d is not None]
        assert dues
        last = draw(st.sampled_from(dues)).date() + timedelta(days=draw(st.integers(-1, 1)))
        p = Period(date(2026, 3, 2), max(last, date(2026, 3, 2)))
        now = datetime.combine(p.end, datetime.min.time()) + timedelta(
            minutes=draw(st.integers(-60 * 24, 60 * 24 * 3))
        )
        for today in (now, now.date()):
            fast, slow = counts(desk, p, today)
            assert fast.as_dict() == slow.as_dict(), (p, today)
        # The rule itself, on the projection (no event after the end here matters for dues).
        cut = min(p.end_at, now)
        with desk.store.read() as db:
            fast = svc.bieu06_fast(db, p, today=now).total
        open_at_end = []
        for c in codes:
            s = desk.get(c)
            if s.received_at >= p.end_at or (
                s.finished_at is not None and s.finished_at < p.end_at
            ):
                continue
            open_at_end.append(s)
        if now >= p.end_at:
            overdue = sum(1 for s in open_at_end if s.due_at is not None and s.due_at < cut)
            assert fast.overdue == overdue
    finally:
        desk.close()
