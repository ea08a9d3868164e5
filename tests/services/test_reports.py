"""Reports on a scripted desk history (tests/services/report_history.py) with hand-worked answers.

Every cell of Biểu 06 for March and February 2026, the tracking books, the fee totals, the
evaluation summary and the indicators; the fast path against the full replay; a past report
that must not change when later events arrive; and the exports (``onestop report``) read back
from JSON, CSV, XLSX (openpyxl) and PDF (pdftotext) with the same numbers.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onestop.cli.reports import report
from onestop.domain.events import EventKind
from onestop.domain.lifecycle import Channel
from onestop.domain.reports import BIEU06_KEYS, Bieu06, Period, ReportError, auto_scores
from onestop.services import reports as svc
from onestop.services.desk import Applicant, Desk, DeskError, IntakeForm
from tests.conftest import TEMPLATES, Clock, muong_lat_desk
from tests.services.report_history import CT, FINAL, HT, MARCH_END, History, play

MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))
FEBRUARY = Period(date(2026, 2, 1), date(2026, 2, 28))

# Columns 3..13: received, online, direct+post, carried | resolved, early, on time, late |
# pending, within, overdue. Worked out in report_history.py's table.
MARCH_B06 = {
    CT: (8, 1, 5, 2, 6, 2, 3, 1, 2, 1, 1),
    HT: (4, 0, 3, 1, 1, 1, 0, 0, 3, 1, 2),
}
MARCH_TOTAL = (12, 1, 8, 3, 7, 3, 3, 1, 5, 2, 3)
# February, as of 28/02: C resolved on time; A (due 03/03) within, B (due 27/02) overdue;
# M (due 04/03) within.
FEB_B06 = {
    CT: (3, 0, 3, 0, 1, 0, 1, 0, 2, 1, 1),
    HT: (1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0),
}


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The whole history, played once per module (about a second) and copied for each test."""
    path = tmp_path_factory.mktemp("history") / "desk.sqlite"
    clock = Clock()
    desk = muong_lat_desk(path, clock)
    codes = play(desk, clock).codes
    desk.close()
    return path, codes


@pytest.fixture
def history(played: tuple[Path, dict[str, str]], tmp_path: Path) -> Iterator[History]:
    src, codes = played
    dst = tmp_path / "desk.sqlite"
    for suffix in ("", "-wal"):
        if Path(str(src) + suffix).exists():
            shutil.copyfile(str(src) + suffix, str(dst) + suffix)
    desk = Desk.open(dst, clock=Clock(FINAL), actor="Lò Thị Mai")
    yield History(desk, dict(codes))
    desk.close()


def b06(desk: Desk, p: Period, field: str | None = None) -> Bieu06:
    with desk.store.read() as db:
        return svc.bieu06_fast(db, p, field=field, today=desk.clock().date())


def cells(b: Bieu06) -> dict[str, tuple[int, ...]]:
    return {r.field: r.counts.columns() for r in b.rows}


# ------------------------------------------------------------------------------------------------
# Biểu 06
# ------------------------------------------------------------------------------------------------


def test_bieu06_march_every_cell(history: History):
    b = b06(history.desk, MARCH)
    assert cells(b) == MARCH_B06
    assert b.total.columns() == MARCH_TOTAL
    # H (withdrawn) and N (refused after receipt) are the two "on time" without a decision.
    assert [r.counts.stopped for r in b.rows] == [2, 0]
    assert b.total.stopped == 2


def test_bieu06_february_every_cell(history: History):
    b = b06(history.desk, FEBRUARY)
    assert cells(b) == FEB_B06
    assert b.total.columns() == (4, 0, 4, 0, 1, 0, 1, 0, 3, 2, 1)


def test_bieu06_one_field_and_a_quiet_field(history: History):
    only = b06(history.desk, MARCH, HT)
    assert cells(only) == {HT: MARCH_B06[HT]}
    assert only.total.columns() == MARCH_B06[HT]
    quiet = b06(history.desk, MARCH, "Đất đai")
    assert cells(quiet) == {"Đất đai": (0,) * 11}


def test_fast_path_equals_full_replay(history: History):
    today = FINAL.date()
    for p in (MARCH, FEBRUARY, Period(date(2026, 2, 15), date(2026, 4, 14))):
        for field in (None, CT, HT):
            with history.desk.store.read() as db:
                fast = svc.bieu06_fast(db, p, field=field, today=today)
                slow = svc.bieu06_replay(db, p, field=field, today=today)
            assert cells(fast) == cells(slow), (p, field)
            assert fast.total.as_dict() == slow.total.as_dict()


def test_the_index_plan_gives_the_same_answers(history: History):
    """With the recommended index on dossier(finished_at, received_at) (not in the schema yet),
    short periods take the index plan; every plan must agree with the full replay."""
    from sqlalchemy import text

    with history.desk.store.write() as db:
        db.execute(text("CREATE INDEX ix_test_finished ON dossier (finished_at, received_at)"))
    week = Period(date(2026, 3, 16), date(2026, 3, 24))
    today = FINAL.date()
    with history.desk.store.read() as db:
        assert svc.finished_index(db) == "ix_test_finished"
        assert "INDEXED BY" in svc.bieu06_sql(db, week, field=False)
        assert "NOT INDEXED" in svc.bieu06_sql(db, MARCH, field=False)  # most of the desk
        for p in (week, MARCH, Period(date(2026, 3, 30), date(2026, 4, 2))):
            for field in (None, HT):
                fast = svc.bieu06_fast(db, p, field=field, today=today)
                slow = svc.bieu06_replay(db, p, field=field, today=today)
                assert cells(fast) == cells(slow), (p, field)
        assert cells(svc.bieu06_fast(db, MARCH, today=today)) == MARCH_B06


def test_a_past_report_does_not_change_when_later_events_arrive(desk: Desk, clock: Clock):
    history = play(desk, clock, until=MARCH_END)
    before = b06(history.desk, MARCH)
    assert cells(before) == MARCH_B06
    # April: M and J resolved (J also returned), L received. March must read the same.
    play(desk, clock, after=MARCH_END, codes=history.codes)
    assert history.desk.get(history.codes["M"]).status.value == "resolved"
    after = b06(history.desk, MARCH)
    assert cells(after) == cells(before)
    assert after.total.as_dict() == before.total.as_dict()


def test_unfinished_period_judges_open_dossiers_by_today(desk: Desk, clock: Clock):
    history = play(desk, clock, until=datetime(2026, 3, 24, 12, 0))
    # On 24/03, K (due 26/03) is not overdue yet although the period ends on 31/03.
    b = b06(history.desk, MARCH, HT)
    k_open_within = b.total.within
    assert b.total.overdue == 1  # M (due 04/03) only
    assert k_open_within == 2  # G2 (paused) and K


# ------------------------------------------------------------------------------------------------
# The tracking book, fees, evaluations, indicators
# ------------------------------------------------------------------------------------------------


def test_tracking_book_rows(history: History):
    codes = history.codes
    with history.desk.store.read() as db:
        rows = svc.report_book(db, MARCH, field=CT, commune="Xã Mường Lát")
    assert [r.code for r in rows] == [codes[k] for k in ("D", "E", "F", "H", "I", "N", "J")]
    assert [r.stt for r in rows] == list(range(1, 8))
    assert not any(r.earlier for r in rows)
    by = {r.code: r for r in rows}
    d = by[codes["D"]]
    assert (d.received_at, d.due_at, d.returned_at) == (
        datetime(2026, 3, 2, 9),
        datetime(2026, 3, 4, 9),
        datetime(2026, 3, 5, 9),
    )
    assert d.return_channel == "Tại Bộ phận Một cửa"
    assert d.agency == "UBND xã Mường Lát"
    assert d.applicant == "Phạm Thị Dung"
    assert d.contact == "Bản D, xã Mường Lát / 0912345678"
    e = by[codes["E"]]
    assert (e.first_due_at, e.due_at) == (datetime(2026, 3, 5, 9), datetime(2026, 3, 10, 10))
    assert e.cells()["appointment"] == "09:00 05/03/2026; gia hạn đến 10:00 10/03/2026"
    assert e.return_channel == "Trực tuyến (bản điện tử)"
    assert by[codes["F"]].return_channel == "Qua bưu chính công ích"
    assert by[codes["H"]].result == "Dừng giải quyết 12/03/2026"
    i = by[codes["I"]]
    assert i.refused_at_intake and i.due_at is None
    assert i.cells()["appointment"] == "Từ chối tiếp nhận"
    assert i.result == "Từ chối tiếp nhận 10:00 12/03/2026"
    n = by[codes["N"]]
    assert not n.refused_at_intake and n.due_at is not None
    assert n.result == "Từ chối giải quyết 13/03/2026"
    # J was returned on 02/04: a running register fills its return in the March book.
    j = by[codes["J"]]
    assert (j.returned_at, j.result, j.status) == (
        datetime(2026, 4, 2, 11),
        "11:00 02/04/2026",
        "returned",
    )
    assert j.cells()["acknowledgement"] == "Đã trả kết quả; người trả: Lò Thị Mai"

    with history.desk.store.read() as db:
        ht = svc.report_book(db, MARCH, field=HT, commune="Xã Mường Lát")
    assert [r.code for r in ht] == [codes[k] for k in ("G", "G2", "K")]
    assert ht[0].due_at == datetime(2026, 3, 18, 9)  # moved by the supplement pause
    assert ht[0].first_due_at is None  # a supplement pause is not an extension
    assert ht[0].returned_at == datetime(2026, 3, 18, 9)


def test_fee_totals(history: History):
    with history.desk.store.read() as db:
        f = svc.report_fees(db, MARCH)
    assert (f.payments, f.amount) == (6, 218_000)
    assert [(g.key, g.payments, g.amount) for g in f.by_field] == [
        (CT, 5, 210_000),
        (HT, 1, 8_000),
    ]
    assert [(g.field, g.key, g.payments, g.amount) for g in f.by_procedure] == [
        (CT, "2.000884", 1, 10_000),
        (CT, "2.001035", 4, 200_000),
        (HT, "1.004873", 1, 8_000),
    ]
    assert [(g.key, g.amount) for g in f.by_day] == [
        ("2026-03-02", 50_000),
        ("2026-03-03", 50_000),
        ("2026-03-06", 10_000),
        ("2026-03-11", 50_000),
        ("2026-03-16", 8_000),
        ("2026-03-30", 50_000),
    ]
    assert dict(f.by_method) == {
        "cash": (4, 160_000),
        "online": (1, 50_000),
        "transfer": (1, 8_000),
    }
    with history.desk.store.read() as db:
        feb = svc.report_fees(db, FEBRUARY)
        ht = svc.report_fees(db, MARCH, field=HT)
    assert (feb.payments, feb.amount) == (2, 60_000)  # C 10.000 and A 50.000 at intake
    assert (ht.payments, ht.amount) == (1, 8_000)


def test_fees_refuse_when_projection_and_log_disagree(history: History):
    from sqlalchemy import text

    with history.desk.store.write() as db:
        db.execute(
            text("UPDATE dossier SET fee_paid = 1 WHERE code = :c"), {"c": history.codes["D"]}
        )
    with history.desk.store.read() as db, pytest.raises(ReportError, match="rebuild"):
        svc.report_fees(db, MARCH)


def test_evaluation_summary(history: History):
    with history.desk.store.read() as db:
        e = svc.report_evaluations(db, MARCH)
    assert [(r.field, r.count) for r in e.rows] == [(CT, 3), (HT, 1)]
    ct = e.rows[0]
    assert ct.averages == (1.33, 1.0, 1.67, 1.67, 2.0, 1.33, 1.67, 2.0, 1.33)
    assert dict(ct.levels) == {5: 1, 4: 1, 3: 0, 2: 1, 1: 0}
    assert e.rows[1].averages == (2.0, 2.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0)
    assert e.total.count == 4
    assert dict(e.total.levels) == {5: 1, 4: 1, 3: 1, 2: 1, 1: 0}
    assert e.total.satisfied == 2


def test_indicators(history: History):
    with history.desk.store.read() as db:
        r = svc.build_report(
            db,
            "indicators",
            MARCH,
            field=None,
            unit="TTPVHCC",
            commune="Xã Mường Lát",
            generated_at=FINAL,
        )
    items = {row["key"]: row for row in r.sections[0].rows}
    assert (items["on_time_rate"]["numerator"], items["on_time_rate"]["denominator"]) == (6, 7)
    assert items["on_time_rate"]["percent"] == 85.7
    assert (items["online_share"]["numerator"], items["online_share"]["denominator"]) == (1, 9)
    assert (
        items["online_payment_share"]["numerator"],
        items["online_payment_share"]["denominator"],
    ) == (1, 6)
    # No dossier of this desk has scanned papers: counted, and 0.
    assert items["digitised_share"]["numerator"] == 0
    assert items["digitised_share"]["denominator"] == 9
    assert (
        items["satisfaction_share"]["numerator"],
        items["satisfaction_share"]["denominator"],
    ) == (
        2,
        4,
    )
    assert set(r.extra["formulas"]) == set(items)


def test_auto_scores_from_the_log(history: History):
    desk, codes = history.desk, history.codes

    def scores(label: str) -> list[int | None]:
        return auto_scores(desk.get(codes[label]), desk.history(codes[label]))

    assert scores("D") == [1, None, 2, None, 2, None, None, None, None]
    # E was decided before its extended date but after the legal limit (05/03): 0.
    assert scores("E")[0] == 0
    assert scores("F")[0] == 0
    # G: one supplement request; decided 17/03 before the due date moved by the pause (18/03).
    assert scores("G")[:5] == [2, None, 1, None, 2]
    assert scores("K")[0] is None  # no decision yet


# ------------------------------------------------------------------------------------------------
# `onestop report`: every format shows the same numbers
# ------------------------------------------------------------------------------------------------


def run(db: Path, *args: str) -> Any:
    result = CliRunner().invoke(
        report,
        [*args, "--db", str(db)],
        env={"ONESTOP_NOW": FINAL.strftime("%Y-%m-%d %H:%M")},
        catch_exceptions=False,
    )
    return result


@pytest.fixture
def db_path(history: History) -> Path:
    history.desk.close()
    return Path(history.desk.store.path)


def b06_json(db: Path) -> dict[str, Any]:
    result = run(db, "bieu06", "--from", "2026-03-01", "--to", "2026-03-31", "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_cli_json_bieu06(db_path: Path):
    data = b06_json(db_path)
    section = data["sections"][0]
    assert [c["number"] for c in section["columns"]] == [f"({i})" for i in range(1, 14)]
    got = {r["field"]: tuple(r[k] for k in BIEU06_KEYS) for r in section["rows"]}
    assert got == MARCH_B06
    assert tuple(section["total"][k] for k in BIEU06_KEYS) == MARCH_TOTAL
    assert data["period"] == {"from": "2026-03-01", "to": "2026-03-31"}
    assert data["form"] == "Biểu số 06/VPCP/KSTT"
    assert any("Thanh Hóa" in n for n in data["notes"])
    assert any("ngày dương lịch" in n for n in data["notes"])
    # --json is --format json
    again = run(db_path, "bieu06", "--from", "01/03/2026", "--to", "31/03/2026", "--json")
    assert json.loads(again.stdout)["sections"] == data["sections"]


def test_cli_table_csv_and_period_options(db_path: Path):
    table = run(db_path, "bieu06", "--period", "month", "--year", "2026", "--n", "3")
    assert table.exit_code == 0
    assert "Tháng 3 năm 2026" in table.stdout
    assert "Từ ngày 01 tháng 3 năm 2026 đến ngày 31 tháng 3 năm 2026" in table.stdout
    total_line = next(line for line in table.stdout.splitlines() if "Tổng cộng" in line)
    assert [int(x) for x in re.findall(r"\d+", total_line)] == list(MARCH_TOTAL)

    out = run(db_path, "bieu06", "--from", "2026-03-01", "--to", "2026-03-31", "--format", "csv")
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0][2] == "Số hồ sơ nhận giải quyết - Tổng số (3)"
    assert [int(x) for x in rows[-1][2:]] == list(MARCH_TOTAL)

    # quarter with the ND 09/2019 cut-off: 15/12/2025 -> 14/03/2026
    q = run(
        db_path, "bieu06", "--period", "quarter", "--year", "2026", "--n", "1", "--cutoff", "--json"
    )
    assert json.loads(q.stdout)["period"] == {"from": "2025-12-15", "to": "2026-03-14"}
    assert json.loads(q.stdout)["period_label"] == "Quý I năm 2026"


def test_cli_refusals_and_usage_errors(db_path: Path):
    bad = run(db_path, "bieu06", "--from", "2026-03-31", "--to", "2026-03-01")
    assert bad.exit_code == 1
    assert "trước ngày đầu kỳ" in bad.stderr
    assert (
        run(db_path, "bieu06", "--period", "quarter", "--year", "2026", "--n", "5").exit_code == 1
    )
    assert run(db_path, "bieu06").exit_code == 2
    assert run(db_path, "bieu06", "--from", "2026-03-01", "--to", "xx").exit_code == 2
    mixed = run(db_path, "bieu06", "--from", "2026-03-01", "--to", "2026-03-31", "--year", "2026")
    assert mixed.exit_code == 2


def test_cli_xlsx_shows_the_json_numbers(db_path: Path, tmp_path: Path):
    from openpyxl import load_workbook

    data = b06_json(db_path)
    out = tmp_path / "b06.xlsx"
    result = run(
        db_path,
        "bieu06",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--format",
        "xlsx",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    wb = load_workbook(out)
    ws = wb.active
    assert ws is not None
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][0] == "Biểu số 06/VPCP/KSTT"
    section = data["sections"][0]
    for row in [*section["rows"], section["total"]]:
        line = next(v for v in values if v[1] == row["field"])
        assert line[2:13] == [row[k] for k in BIEU06_KEYS]
        assert all(isinstance(x, int) for x in line[2:13])
    # The heading is merged like the form: the three blocks over their columns.
    merged = {str(m) for m in ws.merged_cells.ranges}
    head = next(i for i, v in enumerate(values, start=1) if v[2] == "Số hồ sơ nhận giải quyết")
    assert {f"C{head}:F{head}", f"G{head}:J{head}", f"K{head}:M{head}"} <= merged
    assert f"A{head}:A{head + 1}" in merged


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_cli_pdf_shows_the_json_numbers(db_path: Path, tmp_path: Path):
    data = b06_json(db_path)
    out = tmp_path / "b06.pdf"
    result = run(
        db_path,
        "bieu06",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--format",
        "pdf",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "BIỂU SỐ 06/VPCP/KSTT" in text
    assert "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH" in text
    assert "Từ ngày 01 tháng 3 năm 2026 đến ngày 31 tháng 3 năm 2026" in text
    section = data["sections"][0]
    for row in [*section["rows"], section["total"]]:
        line = next(line for line in text.splitlines() if row["field"] in line)
        numbers = [int(x) for x in re.findall(r"\b\d+\b", line.split(row["field"], 1)[1])]
        assert numbers == [row[k] for k in BIEU06_KEYS], line


def test_cli_other_reports_in_every_format(db_path: Path, tmp_path: Path):
    for kind in ("book", "fees", "evaluation", "indicators"):
        js = run(db_path, kind, "--from", "2026-03-01", "--to", "2026-03-31", "--json")
        assert js.exit_code == 0, (kind, js.output)
        data = json.loads(js.stdout)
        assert data["report"] == kind
        for fmt in ("table", "csv", "xlsx", "pdf"):
            out = tmp_path / f"{kind}.{fmt}"
            r = run(
                db_path,
                kind,
                "--from",
                "2026-03-01",
                "--to",
                "2026-03-31",
                "--format",
                fmt,
                "--out",
                str(out),
            )
            assert r.exit_code == 0, (kind, fmt, r.output)
            assert out.stat().st_size > 0
    fees = json.loads(
        run(db_path, "fees", "--from", "2026-03-01", "--to", "2026-03-31", "--json").stdout
    )
    by_field = next(s for s in fees["sections"] if s["key"] == "by_field")
    assert by_field["total"]["amount"] == 218_000
    assert [r["amount"] for r in by_field["rows"]] == [210_000, 8_000]
    book = json.loads(
        run(
            db_path, "book", "--from", "2026-03-01", "--to", "2026-03-31", "--field", CT, "--json"
        ).stdout
    )
    assert len(book["sections"][0]["rows"]) == 7
    ind = json.loads(
        run(db_path, "indicators", "--from", "2026-03-01", "--to", "2026-03-31", "--json").stdout
    )
    assert set(ind["formulas"]) == {
        "on_time_rate",
        "online_share",
        "online_payment_share",
        "digitised_share",
        "reused_components_share",
        "digitised_results_share",
        "satisfaction_share",
    }


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_cli_fee_xlsx_and_pdf_totals(db_path: Path, tmp_path: Path):
    from openpyxl import load_workbook

    xlsx = tmp_path / "fees.xlsx"
    pdf = tmp_path / "fees.pdf"
    for fmt, out in (("xlsx", xlsx), ("pdf", pdf)):
        r = run(
            db_path,
            "fees",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-31",
            "--format",
            fmt,
            "--out",
            str(out),
        )
        assert r.exit_code == 0
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["Theo thủ tục", "Theo lĩnh vực", "Theo ngày", "Theo hình thức nộp"]
    ws = wb["Theo lĩnh vực"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert next(r for r in rows if r[0] == "Tổng cộng")[1:] == [6, 218_000]
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "218.000" in text


# ------------------------------------------------------------------------------------------------
# Property: random desk histories (real Desk, random actions and clock steps)
# ------------------------------------------------------------------------------------------------

_PROCEDURES = ("2.001035", "2.000884", "1.004873")
_ACTS = [k.value for k in EventKind if k is not EventKind.RECEIVE] + ["resolve"] * 3


def _act_params(action: str, now: datetime, draw: Any) -> dict[str, Any]:
    if action == "extend":
        day = now.date() + timedelta(days=draw(st.integers(1, 8)))
        return {"reason": "Chậm", "new_due": datetime.combine(day, time(9))}
    if action == "evaluate":
        return {
            "scores": draw(st.lists(st.integers(0, 2), min_size=9, max_size=9)),
            "satisfaction": draw(st.integers(1, 5)),
        }
    return {
        "reason": "Lý do",
        "to": "Công chức Tư pháp",
        "decision": draw(st.sampled_from(["approved", "approved", "denied"])),
        "method": draw(st.sampled_from(["cash", "online", "transfer"])),
        "channel": draw(st.sampled_from(["desk", "post", "electronic"])),
    }


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_random_desk_histories(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject):
    draw = data.draw
    clock = Clock(datetime(2026, 2, 23, 8, 0))
    desk = TEMPLATES.initialise(
        tmp_path_factory.mktemp("random") / "desk.sqlite",
        unit_eid="000.00.14.H56",
        commune_code="16279",
        commune_name="Xã Mường Lát",
        province_code="38",
        clock=clock,
    )
    try:
        codes: list[str] = []
        for _ in range(draw(st.integers(10, 40))):
            clock.now += timedelta(minutes=draw(st.integers(0, 60 * 24 * 3)))
            if not codes or draw(st.integers(0, 3)) == 0:
                form = IntakeForm(
                    procedure_code=(proc := draw(st.sampled_from(_PROCEDURES))),
                    applicant=Applicant(name="Nguyễn Văn An", id_number="001099012345"),
                    channel=draw(st.sampled_from(list(Channel))),
                    fee_paid_now=draw(st.booleans()),
                    fee_vnd=0 if proc == "1.004873" else None,  # set by the province
                )
                try:
                    if draw(st.integers(0, 9)) == 9:
                        codes.append(desk.refuse_intake(form, "Không hợp lệ").code)
                    else:
                        codes.append(desk.receive(form).code)
                except DeskError:
                    pass
                continue
            action = draw(st.sampled_from(_ACTS))
            try:
                desk.act(draw(st.sampled_from(codes)), action, _act_params(action, clock.now, draw))
            except DeskError:
                pass
        last = clock.now.date()
        first = date(2026, 2, 23) + timedelta(
            days=draw(st.integers(0, (last - date(2026, 2, 23)).days))
        )
        p = Period(first, first + timedelta(days=draw(st.integers(0, 40))))
        today = clock.now.date()
        with desk.store.read() as db:
            for field in (None, CT, HT):
                fast = svc.bieu06_fast(db, p, field=field, today=today)  # checks identities
                slow = svc.bieu06_replay(db, p, field=field, today=today)
                assert cells(fast) == cells(slow)
                assert fast.total.as_dict() == slow.total.as_dict()
            fees = svc.report_fees(db, p)  # reconciles, or raises
            evals = svc.report_evaluations(db, p)
        assert sum(g.amount for g in fees.by_field) == fees.amount
        assert sum(r.count for r in evals.rows) == evals.total.count
    finally:
        desk.close()
