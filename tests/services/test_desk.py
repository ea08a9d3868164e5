"""The desk service on a real SQLite file: intake, actions, search, counts, rebuild."""

from __future__ import annotations

import sqlite3
import unicodedata
from datetime import date, datetime
from pathlib import Path

import pytest

from onestop.domain.calendar import DayKind
from onestop.domain.codes import parse_dossier_code
from onestop.domain.events import EventKind
from onestop.domain.lifecycle import Status
from onestop.services.desk import Applicant, Desk, DeskError, IntakeError, IntakeForm
from onestop.store.queries import DossierFilter
from tests.conftest import Clock


def form(
    name: str = "Nguyễn Văn An", cccd: str = "001099012345", proc: str = "2.001035", **kw
) -> IntakeForm:
    return IntakeForm(
        procedure_code=proc,
        applicant=Applicant(name=name, id_number=cccd, phone="0912 345 678"),
        **kw,
    )


def counts_of(path: Path) -> tuple[int, int]:
    con = sqlite3.connect(path)
    try:
        row = con.execute(
            "SELECT (SELECT count(*) FROM dossier), (SELECT count(*) FROM event)"
        ).fetchone()
        return int(row[0]), int(row[1])
    finally:
        con.close()


def test_receive_issues_code_due_and_event(desk: Desk):
    st = desk.receive(form())
    code = parse_dossier_code(st.code)
    assert (code.unit_eid, code.day, code.desk_no, code.counter) == (
        "000.00.14.H56",
        date(2026, 11, 20),
        1,
        1,
    )
    assert st.status == Status.RECEIVED
    # Fri 20 Nov 10:00 + 2 working days → Tue 24 Nov is a holiday (Ngày Văn hóa Việt Nam) → Wed 25 Nov 10:00.
    assert st.due_at == datetime(2026, 11, 25, 10, 0)
    assert st.applicant_phone == "0912345678"
    hist = desk.history(st.code)
    assert [e.kind for e in hist] == [EventKind.RECEIVE]
    assert hist[0].actor == "Lò Thị Mai" and hist[0].role == "clerk"
    assert desk.receive(form()).code.endswith("-010002")


def test_intake_errors_are_all_reported_and_nothing_is_saved(desk: Desk):
    before = counts_of(desk.store.path)
    bad = IntakeForm(
        procedure_code="9.999999",
        applicant=Applicant(name="", id_number="00109901234", phone="12345", email="not-an-email"),
    )
    with pytest.raises(IntakeError) as err:
        desk.receive(bad)
    assert set(err.value.errors) == {
        "procedure",
        "applicant_name",
        "applicant_id",
        "applicant_phone",
        "applicant_email",
    }
    assert "12 chữ số" in err.value.errors["applicant_id"]
    assert counts_of(desk.store.path) == before


def test_nfc_at_the_boundary_and_accent_insensitive_search(desk: Desk):
    nfd = unicodedata.normalize("NFD", "Trần Thị Đồng")
    # Chứng thực chữ ký: its name shares no word with the applicants (the search covers procedure names too).
    st = desk.receive(form(name=nfd, cccd="038301000123", proc="2.000884"))
    assert st.applicant_name == unicodedata.normalize("NFC", "Trần Thị Đồng")
    desk.receive(form(name="Nguyễn Văn An", proc="2.000884"))
    for query in ("tran thi dong", "ĐỒNG", "dong", "TRẦN", "038301"):
        rows = desk.page(DossierFilter(search=query)).rows
        assert [r.code for r in rows] == [st.code], query
    assert (
        desk.page(DossierFilter(search="nguyen van an")).rows[0].applicant_name == "Nguyễn Văn An"
    )
    assert desk.page(DossierFilter(search='"; DROP TABLE dossier; --')).rows == []


def test_refused_action_changes_nothing(desk: Desk):
    st = desk.receive(form())
    desk.act(st.code, "request_supplement", {"reason": "Thiếu tờ khai"})
    before = counts_of(desk.store.path)
    with pytest.raises(DeskError, match="Chờ bổ sung hồ sơ"):
        desk.act(st.code, "request_supplement", {"reason": "Lần hai"})
    with pytest.raises(DeskError, match="Không tìm thấy"):
        desk.act("000.00.14.H56-261120-019999", "forward", {"to": "x"})
    with pytest.raises(DeskError, match="không tồn tại"):
        desk.act(st.code, "approve_everything")
    assert counts_of(desk.store.path) == before


def test_supplement_pause_through_the_service(desk: Desk, clock: Clock):
    st = desk.receive(form())  # due Wed 25 Nov 10:00
    clock.now = datetime(2026, 11, 23, 9, 0)  # Mon
    desk.act(st.code, "request_supplement", {"reason": "Thiếu giấy tờ"})
    clock.now = datetime(2026, 11, 26, 9, 0)  # Thu; Tue 24 is a holiday
    after = desk.act(st.code, "record_supplement")
    # Paused Mon 09:00 → Thu 09:00 = Mon 6h (09:00–11:30, 13:30–17:00) + Wed 8h + Thu 2h = 16 office
    # hours (2 working days). Wed 25 10:00 + 16h = Wed 5h + Thu 8h + Fri 3h → Fri 27 Nov 10:00.
    assert after.due_at == datetime(2026, 11, 27, 10, 0)


def test_calendar_override_changes_deadlines(desk: Desk):
    _, due = desk.due_for("2.001035", datetime(2026, 11, 20, 10, 0))
    assert due == datetime(2026, 11, 25, 10, 0)
    desk.set_calendar_day(date(2026, 11, 23), DayKind.OFF, "Bão lũ")
    _, due = desk.due_for("2.001035", datetime(2026, 11, 20, 10, 0))
    assert due == datetime(2026, 11, 26, 10, 0)
    desk.set_calendar_day(date(2026, 11, 21), DayKind.WORK, "Làm bù")
    _, due = desk.due_for("2.001035", datetime(2026, 11, 20, 10, 0))
    assert due == datetime(2026, 11, 25, 10, 0)
    # Settings persist in the database: a new process sees the same calendar.
    again = Desk.open(desk.store.path)
    assert not again.calendar.is_working_day(date(2026, 11, 23))
    assert again.calendar.is_working_day(date(2026, 11, 21))
    again.close()


def test_dossier_is_pinned_to_the_procedure_version_in_force(
    desk: Desk, tmp_path: Path, clock: Clock
):
    csv_text = (
        "code,version,effective_from,effective_to,name_vi,field_vi,time_value,time_unit,same_day_cutoff,"
        "fee_vnd,fee_rule,handled_by,documents\n"
        "2.001035,2,2026-12-01,,Chứng thực giao dịch (sửa đổi),Chứng thực,1,working_days,,60000,,UBND xã,Dự thảo\n"
    )
    path = tmp_path / "cat.csv"
    path.write_text(csv_text, encoding="utf-8")
    assert desk.import_catalogue(path) == (1, 0)
    old = desk.receive(form())
    assert old.procedure_version == 1 and old.fee_vnd == 50000
    clock.now = datetime(2026, 12, 2, 9, 0)
    new = desk.receive(form())
    assert new.procedure_version == 2 and new.fee_vnd == 60000
    assert new.due_at == datetime(2026, 12, 3, 9, 0)
    assert desk.get(old.code).procedure_version == 1


def test_bad_catalogue_file_is_refused_whole(desk: Desk, tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "code,version,effective_from,effective_to,name_vi,field_vi,time_value,time_unit,same_day_cutoff,fee_vnd,fee_rule,handled_by,documents\n"
        "2.009999,1,2026-01-01,,Tốt,Chứng thực,1,working_days,,0,,,\n"
        "2.009998,1,2026-01-01,,Xấu,Chứng thực,-1,fortnights,,0,,,\n",
        encoding="utf-8",
    )
    with pytest.raises(DeskError, match="dòng 3"):
        desk.import_catalogue(path)
    assert desk.find_procedures("2.009999") == []


def test_counts_and_due_windows(desk: Desk, clock: Clock):
    clock.now = datetime(2026, 11, 16, 9, 0)
    late = desk.receive(form(proc="2.000884"))  # same day → due Mon 16 Nov 17:00
    clock.now = datetime(2026, 11, 20, 9, 0)
    today = desk.receive(form(proc="2.000884"))  # due today 17:00
    soon = desk.receive(
        form(proc="2.001035")
    )  # due Wed 25 (Tue is a holiday): within 2 working days
    sup = desk.receive(form())
    desk.act(sup.code, "request_supplement", {"reason": "Thiếu"})
    c = desk.counts()
    assert (c.overdue, c.due_today, c.due_soon, c.awaiting_supplement, c.received_today) == (
        1,
        1,
        1,
        1,
        3,
    )
    assert [r.code for r in desk.page(DossierFilter(due="overdue")).rows] == [late.code]
    assert [r.code for r in desk.page(DossierFilter(due="today")).rows] == [today.code]
    assert [r.code for r in desk.page(DossierFilter(due="soon")).rows] == [soon.code]


def test_keyset_pages_cover_everything_once(desk: Desk):
    codes = {desk.receive(form(name=f"Người {i}")).code for i in range(23)}
    seen: list[str] = []
    cursor = None
    while True:
        page = desk.page(DossierFilter(), after_id=cursor, limit=5)
        seen.extend(r.code for r in page.rows)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(codes) and len(seen) == len(set(seen))


def test_rebuild_equals_live_state_and_repairs_a_damaged_projection(desk: Desk, clock: Clock):
    for i in range(5):
        st = desk.receive(form(name=f"Hồ sơ {i}"))
        desk.act(st.code, "forward", {"to": "Công chức Tư pháp - Hộ tịch"})
        if i % 2:
            desk.act(st.code, "resolve", {"decision": "approved"})
    report = desk.rebuild(fix=False)
    assert report.ok and report.dossiers == 5 and report.events == 12
    con = sqlite3.connect(desk.store.path)
    con.execute("UPDATE dossier SET status='returned', applicant_name='X' WHERE id=2")
    con.commit()
    con.close()
    report = desk.rebuild(fix=True)
    assert len(report.fixed) == 1 and not report.chain_errors
    assert desk.rebuild(fix=False).ok


def test_rebuild_detects_a_tampered_event(desk: Desk):
    st = desk.receive(form())
    desk.act(st.code, "forward", {"to": "Công an xã"})
    con = sqlite3.connect(desk.store.path)
    body = con.execute("SELECT body FROM event WHERE seq=1").fetchone()[0]
    con.execute(
        "UPDATE event SET body=? WHERE seq=1", (body.replace("Nguyễn".encode(), "Nguyên".encode()),)
    )
    con.commit()
    con.close()
    report = desk.rebuild(fix=False)
    assert any("chuỗi băm sai" in e for e in report.chain_errors)


def test_refuse_intake_needs_reason_and_records_refusal(desk: Desk):
    with pytest.raises(IntakeError):
        desk.refuse_intake(form(cccd=""), "  ")
    st = desk.refuse_intake(form(cccd=""), "Không thuộc thẩm quyền của UBND xã")
    assert st.status == Status.REFUSED and st.due_at is None
    assert st.refusal_reason == "Không thuộc thẩm quyền của UBND xã"


def test_init_validates_identity(tmp_path: Path):
    with pytest.raises(DeskError, match="5 chữ số"):
        Desk.initialise(tmp_path / "a.sqlite", unit_eid="000.00.14.H56", commune_code="123")
    with pytest.raises(DeskError):
        Desk.initialise(tmp_path / "b.sqlite", unit_eid="bad id!", commune_code="16279")
    with pytest.raises(DeskError, match="34 tỉnh"):
        Desk.initialise(
            tmp_path / "c.sqlite",
            unit_eid="000.00.14.H56",
            commune_code="16279",
            province_code="99",
        )
    d = Desk.initialise(tmp_path / "d.sqlite", unit_eid="000.00.14.H56", commune_code="16279")
    d.close()
    with pytest.raises(DeskError, match="đã được khởi tạo"):
        Desk.initialise(tmp_path / "d.sqlite", unit_eid="000.00.14.H56", commune_code="16279")


def test_open_missing_database_says_what_to_do(tmp_path: Path):
    with pytest.raises(DeskError, match="onestop init"):
        Desk.open(tmp_path / "none.sqlite")


def test_fee_paid_at_intake_is_a_payment_event(desk: Desk):
    st = desk.receive(form(fee_paid_now=True))
    assert st.fee_paid == 50000
    assert [e.kind for e in desk.history(st.code)] == [EventKind.RECEIVE, EventKind.RECORD_PAYMENT]
    assert "record_payment" not in [a.value for a in st.allowed_actions()]


def test_due_override_only_without_legal_time(desk: Desk):
    with pytest.raises(IntakeError, match="thời hạn theo quy định"):
        desk.receive(form(due_override=datetime(2026, 11, 30, 9)))
    st = desk.receive(form(proc="1.004884", due_override=datetime(2026, 11, 30, 9), fee_vnd=0))
    assert st.due_at == datetime(2026, 11, 30, 9)
    assert desk.receive(form(proc="1.004884", fee_vnd=0)).due_at is None
