"""Fees at the desk (issue 16, items 3, 4 and 11): what is owed, what the clerk must type,
what the slips and reports print.

Decisions (README "Lifecycle"): a payment never exceeds what is owed; it settles the whole
amount unless the fee is charged per copy / per page or the province allows instalments (the
admin-only desk setting ``partial_payments``). A fee the catalogue does not fix must be typed
by the clerk at intake, and only a procedure the catalogue says is free prints "Miễn phí".
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from onestop.cli.main import main
from onestop.domain.events import EventKind
from onestop.domain.reports import Period
from onestop.domain.roles import Role
from onestop.forms.report_files import Column, Report, Section, to_csv, to_pdf, to_text, to_xlsx
from onestop.i18n import set_language
from onestop.services.desk import (
    S_CONTACT_PHONE,
    S_HEAD_OF_UNIT,
    S_PARTIAL_PAYMENTS,
    Applicant,
    Desk,
    DeskError,
    IntakeError,
    IntakeForm,
)
from onestop.services.receipts import render_signed_slip
from onestop.store.keyring import Account
from tests.cli.login import LOGIN, init_desk

NOW = {"ONESTOP_NOW": "2026-11-20 10:00"}
PDFTOTEXT = shutil.which("pdftotext")


def form(proc: str = "2.001035", **kw: object) -> IntakeForm:
    return IntakeForm(
        procedure_code=proc,
        applicant=Applicant(name="Nguyễn Văn An", id_number="001099012345"),
        **kw,  # type: ignore[arg-type]
    )


def counts_of(path: Path) -> tuple[int, int, int]:
    con = sqlite3.connect(path)
    try:
        row = con.execute(
            "SELECT (SELECT count(*) FROM dossier), (SELECT count(*) FROM event),"
            " (SELECT coalesce(sum(fee_paid), 0) FROM dossier)"
        ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])
    finally:
        con.close()


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    assert PDFTOTEXT is not None
    src = tmp_path / "slip.pdf"
    src.write_bytes(pdf)
    out = subprocess.run(
        [PDFTOTEXT, "-layout", str(src), "-"], capture_output=True, text=True, check=True
    )
    return out.stdout


# ------------------------------------------------------------------ item 3: what is owed


def test_overpayment_is_refused_and_nothing_changes(desk: Desk):
    st = desk.receive(form())  # 50.000 đ per transaction
    before = counts_of(desk.store.path)
    with pytest.raises(DeskError, match="lớn hơn số còn phải nộp"):
        desk.act(st.code, EventKind.RECORD_PAYMENT, {"amount": 500_000})
    assert counts_of(desk.store.path) == before
    assert desk.get(st.code).fee_paid == 0
    # The exact amount (the default) is taken; then nothing more is owed.
    paid = desk.act(st.code, EventKind.RECORD_PAYMENT, {})
    assert paid.fee_paid == 50_000
    with pytest.raises(DeskError):
        desk.act(st.code, EventKind.RECORD_PAYMENT, {"amount": 1})


def test_fixed_fee_is_paid_in_full_not_in_instalments(desk: Desk):
    st = desk.receive(form())
    before = counts_of(desk.store.path)
    with pytest.raises(DeskError, match="nộp đủ một lần 50.000 đồng"):
        desk.act(st.code, EventKind.RECORD_PAYMENT, {"amount": 20_000})
    assert counts_of(desk.store.path) == before


def test_per_copy_fee_may_be_paid_in_parts_never_beyond(desk: Desk):
    # 2.000635: 8.000 đ per copy; three copies, typed by the clerk.
    st = desk.receive(form("2.000635", fee_vnd=24_000))
    assert desk.history(st.code)[0].data["fee_basis"] == "per_unit"
    st = desk.act(st.code, EventKind.RECORD_PAYMENT, {"amount": 8_000, "method": "transfer"})
    assert st.fee_paid == 8_000
    with pytest.raises(DeskError, match="lớn hơn số còn phải nộp"):
        desk.act(st.code, EventKind.RECORD_PAYMENT, {"amount": 16_001})
    st = desk.act(st.code, EventKind.RECORD_PAYMENT, {"amount": 16_000})
    assert st.fee_paid == 24_000


def test_province_setting_allows_instalments_and_is_admin_only(desk: Desk):
    st = desk.receive(form())
    desk.account = Account("u", "Lò Thị Mai", (Role.CLERK.value,))
    with pytest.raises(DeskError):
        desk.set_setting(S_PARTIAL_PAYMENTS, "1")
    desk.account = Account("a", "Quản trị", (Role.ADMIN.value, Role.CLERK.value))
    with pytest.raises(DeskError):
        desk.set_setting(S_PARTIAL_PAYMENTS, "yes")
    desk.set_setting(S_PARTIAL_PAYMENTS, "1")
    desk.account = None
    st = desk.act(st.code, EventKind.RECORD_PAYMENT, {"amount": 20_000})
    assert st.fee_paid == 20_000
    with pytest.raises(DeskError, match="lớn hơn"):
        desk.act(st.code, EventKind.RECORD_PAYMENT, {"amount": 30_001})


def test_unknown_payment_method_is_refused(desk: Desk):
    st = desk.receive(form())
    with pytest.raises(DeskError, match="Hình thức nộp"):
        desk.act(st.code, EventKind.RECORD_PAYMENT, {"method": "bitcoin"})
    assert desk.act(st.code, EventKind.RECORD_PAYMENT, {"method": "online"}).fee_paid == 50_000


# ------------------------------------------------------------------ item 4: fees not fixed


@pytest.mark.parametrize(
    ("proc", "label"),
    [
        ("1.004873", "HĐND tỉnh"),  # set by the provincial council
        ("1.001193", "HĐND tỉnh"),  # exempt if on time, else the council's fee
        ("2.000815", "số bản, số trang"),  # per page, with a cap
        ("2.000635", "số bản, số trang"),  # 8.000 đ per copy
        ("1.004222", "chưa có mức thu"),  # no amount known
    ],
)
def test_fee_not_fixed_needs_the_clerks_amount(desk: Desk, proc: str, label: str):
    before = counts_of(desk.store.path)
    with pytest.raises(IntakeError) as err:
        desk.receive(form(proc))
    message = err.value.errors["fee"]
    assert label in message and "Nhập số tiền" in message
    assert counts_of(desk.store.path) == before
    # Refusing a dossier needs no fee.
    desk.refuse_intake(form(proc), "Không thuộc thẩm quyền")


def test_receipt_says_free_only_for_a_free_procedure(desk: Desk, tmp_path: Path):
    if PDFTOTEXT is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    zero = desk.receive(form("1.004873", fee_vnd=0))  # the clerk applied an exemption
    text = pdf_text(render_signed_slip(desk, zero.code, "receipt", None), tmp_path)
    assert "Miễn phí" not in text and "Phí, lệ phí: 0 đồng" in text
    typed = desk.receive(form("1.004873", fee_vnd=15_000))
    text = pdf_text(render_signed_slip(desk, typed.code, "receipt", None), tmp_path)
    assert "Phí, lệ phí: 15.000 đồng" in text and "Miễn phí" not in text
    free = desk.receive(form("1.004837"))  # the catalogue's unconditional exemption
    text = pdf_text(render_signed_slip(desk, free.code, "receipt", None), tmp_path)
    assert "Phí, lệ phí: Miễn phí" in text


def test_catalogue_note_is_never_shown(desk: Desk):
    english = ("Exempt", "Set by", "per-province", "None", "amount not given", "TT ", "[S]")
    procedures = desk.find_procedures("", limit=100)
    assert len(procedures) > 20
    for proc in procedures:
        assert not any(word in proc.fee_label for word in english), proc.fee_label
        if proc.fee_rule and len(proc.fee_rule) > 12:
            assert proc.fee_rule not in proc.fee_label


# ------------------------------------------------------------------ item 11: slips


def test_supplement_slip_prints_the_configured_phone(desk: Desk, tmp_path: Path):
    if PDFTOTEXT is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    st = desk.receive(form())
    desk.act(st.code, EventKind.REQUEST_SUPPLEMENT, {"reason": "Thiếu tờ khai"})
    desk.account = Account("u", "Lò Thị Mai", (Role.CLERK.value,))
    with pytest.raises(DeskError):
        desk.set_setting(S_CONTACT_PHONE, "0237 3812 345")
    desk.account = Account("a", "Quản trị", (Role.ADMIN.value,))
    with pytest.raises(DeskError, match="Số điện thoại"):
        desk.set_setting(S_CONTACT_PHONE, "12345")
    desk.set_setting(S_CONTACT_PHONE, "0237 3812 345")
    desk.account = None
    text = " ".join(
        pdf_text(render_signed_slip(desk, st.code, "supplement", None), tmp_path).split()
    )
    assert "số điện thoại 02373812345 để được hướng dẫn" in text


def test_apology_letter_never_names_the_desk_user(desk: Desk, clock, tmp_path: Path):
    if PDFTOTEXT is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    st = desk.receive(form())
    desk.act(
        st.code,
        EventKind.EXTEND,
        {"reason": "Cần xác minh thêm", "new_due": datetime(2026, 11, 30, 10, 0)},
    )
    assert desk.actor == "Lò Thị Mai"
    pdf = render_signed_slip(desk, st.code, "apology", None, official=desk.actor)
    text = pdf_text(pdf, tmp_path)
    assert "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ" in text and "Lò Thị Mai" not in text
    desk.set_setting(S_HEAD_OF_UNIT, "Hà Văn Sơn")
    text = pdf_text(render_signed_slip(desk, st.code, "apology", None, official="x"), tmp_path)
    assert "Hà Văn Sơn" in text and "Lò Thị Mai" not in text


def test_apology_signature_line_names_the_desk_not_the_user(desk: Desk, tmp_path: Path):
    if PDFTOTEXT is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    from onestop.forms.slips import SlipKind, SlipSignature, render_slip

    st = desk.receive(form())
    st = desk.act(
        st.code,
        EventKind.EXTEND,
        {"reason": "Cần xác minh thêm", "new_due": datetime(2026, 11, 30, 10, 0)},
    )
    sig = SlipSignature("ab12cd34", desk.actor, desk.clock())
    pdf = render_slip(
        SlipKind.APOLOGY,
        st,
        desk.history(st.code),
        desk.identity,
        now=desk.clock(),
        signature=sig,
        official=desk.actor,
    )
    text = pdf_text(pdf, tmp_path)
    assert "Mã khóa quầy ab12cd34" in text and "Ký số:" not in text
    assert "Lò Thị Mai" not in text


# ------------------------------------------------------------------ item 11: payment methods


def _fees_report() -> Report:
    money = [Column("payments", "Số lần nộp"), Column("amount", "Số tiền", kind="money")]
    section = Section(
        "by_method",
        "Theo hình thức nộp",
        [Column("method", "Hình thức", kind="text"), *money],
        [
            {"method": "cash", "payments": 2, "amount": 60_000},
            {"method": "online", "payments": 1, "amount": 50_000},
            {"method": "transfer", "payments": 1, "amount": 8_000},
        ],
        {"method": "Tổng cộng", "payments": 4, "amount": 118_000},
    )
    return Report(
        kind="fees",
        form="",
        title="THU PHÍ, LỆ PHÍ",
        period=Period(date(2026, 3, 1), date(2026, 3, 31)),
        period_label="",
        field=None,
        unit="UBND xã Mường Lát",
        sections=[section],
        notes=[],
        generated_at=datetime(2026, 4, 1, 8, 0),
    )


VI_METHODS = ("Tiền mặt", "Thanh toán trực tuyến", "Chuyển khoản")


def test_payment_methods_in_vietnamese_in_every_export(desk: Desk, tmp_path: Path):
    r = _fees_report()
    raw = ("cash", "online", "transfer")
    text = to_text(r)
    assert all(m in text for m in VI_METHODS)
    rows = list(csv.reader(io.StringIO(to_csv(r))))
    assert [row[0] for row in rows[1:4]] == list(VI_METHODS)
    wb = load_workbook(io.BytesIO(to_xlsx(r)))
    values = {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row}
    assert set(VI_METHODS) <= values and not set(raw) & values
    if PDFTOTEXT is not None:
        pdf = pdf_text(to_pdf(r, identity=desk.identity, now=datetime(2026, 4, 1, 8)), tmp_path)
        assert all(m in pdf for m in VI_METHODS)
        assert not any(f" {m} " in f" {pdf} " for m in raw)
    # English mode prints the English names.
    set_language("en")
    try:
        assert "Cash" in to_text(r) and "Bank transfer" in to_text(r)
    finally:
        set_language("vi")


# ------------------------------------------------------------------ CLI


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, list(args), env={**NOW, **LOGIN, **(env or {})}, catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "desk.sqlite")
    init_desk(run, path)
    return path


RECEIVE = ("receive", "--name", "Nguyễn Văn An", "--id", "001099012345", "--json")


def _events(db: str, code: str) -> list[str]:
    _, out, _ = run("dossier", "show", "--db", db, code, "--json")
    return [e["kind"] for e in json.loads(out)["events"]]


def test_cli_overpayment_exits_1_and_changes_nothing(db: str):
    code, out, err = run(*RECEIVE, "--db", db, "--procedure", "2.001035")
    assert code == 0, err
    c = json.loads(out)["code"]
    code, _, err = run("act", "--db", db, c, "record_payment", "--amount", "500000")
    assert code == 1 and "lớn hơn số còn phải nộp" in err
    assert _events(db, c) == ["receive"]
    code, _, err = run("act", "--db", db, c, "record_payment", "--amount", "20000")
    assert code == 1 and "nộp đủ một lần" in err
    assert _events(db, c) == ["receive"]
    code, _, _ = run("act", "--db", db, c, "record_payment", "--method", "transfer")
    assert code == 0 and _events(db, c) == ["receive", "record_payment"]


def test_cli_receive_needs_fee_when_not_fixed(db: str):
    code, _, err = run(*RECEIVE, "--db", db, "--procedure", "1.004873")
    assert code == 1 and "HĐND tỉnh" in err
    code, out, err = run(*RECEIVE, "--db", db, "--procedure", "1.004873", "--fee", "15000")
    assert code == 0, err
    assert json.loads(out)["fee_vnd"] == 15_000
