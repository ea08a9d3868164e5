"""The payment rule and the fee basis (issue 16, items 3 and 4), without a database."""

from __future__ import annotations

import csv
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onestop.domain.calendar import WorkCalendar
from onestop.domain.catalogue import (
    FeeBasis,
    clerk_sets_fee,
    fee_basis,
    fee_basis_label,
    parse_catalogue,
)
from onestop.domain.events import Event, EventKind, to_epoch
from onestop.domain.lifecycle import DossierState, LifecycleError, apply, decide
from onestop.domain.payments import (
    PaymentError,
    PaymentMethod,
    check_payment,
    partial_allowed,
    payment_method,
    payment_method_label,
)
from onestop.i18n import set_language
from onestop.paths import asset_path

CAL = WorkCalendar()
T0 = datetime(2026, 3, 2, 9, 0)


def received(fee: int = 50_000) -> DossierState:
    data: dict[str, Any] = {
        "procedure": "2.001035",
        "procedure_name": "Chứng thực giao dịch",
        "field": "Chứng thực",
        "time_unit": "working_days",
        "time_value": 5,
        "applicant": {"name": "Nguyễn Văn An", "id": "001099012345"},
        "fee": fee,
        "due": to_epoch(datetime(2026, 3, 9, 9, 0)),
    }
    ev = Event("16279-01", 1, 1, EventKind.RECEIVE, "X-260302-010001", T0, "A", "clerk", "", data)
    return apply(None, ev)


def pay(state: DossierState, params: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    return decide(state, EventKind.RECORD_PAYMENT, params, T0, CAL, partial_payment=partial)


# ------------------------------------------------------------------ the amount rule


def test_overpayment_refused() -> None:
    with pytest.raises(LifecycleError, match="lớn hơn số còn phải nộp"):
        pay(received(), {"amount": 500_000})
    with pytest.raises(LifecycleError, match="lớn hơn số còn phải nộp"):
        pay(received(), {"amount": 50_001}, partial=True)


def test_full_amount_by_default_and_exactly() -> None:
    assert pay(received(), {}) == {"amount": 50_000, "method": "cash"}
    assert pay(received(), {"amount": 50_000, "method": "online"})["method"] == "online"


def test_partial_only_when_allowed() -> None:
    with pytest.raises(LifecycleError, match="nộp đủ một lần"):
        pay(received(), {"amount": 20_000})
    assert pay(received(), {"amount": 20_000}, partial=True)["amount"] == 20_000


def test_nothing_or_negative_refused() -> None:
    for amount in (0, -1):
        with pytest.raises(LifecycleError):
            pay(received(), {"amount": amount}, partial=True)


@given(
    fee=st.integers(1, 10**7),
    amount=st.integers(-10, 2 * 10**7),
    paid=st.integers(0, 10**7),
    partial=st.booleans(),
)
def test_check_payment_property(fee: int, amount: int, paid: int, partial: bool) -> None:
    owed = fee - paid
    ok = amount > 0 and owed > 0 and amount <= owed and (partial or amount == owed)
    if ok:
        check_payment(amount, owed, partial=partial)
    else:
        with pytest.raises(PaymentError):
            check_payment(amount, owed, partial=partial)


def test_partial_allowed_by_basis_or_province() -> None:
    assert partial_allowed(FeeBasis.PER_UNIT)
    assert partial_allowed("per_unit")
    for basis in (FeeBasis.FIXED, FeeBasis.FREE, FeeBasis.PROVINCIAL, None, "garbage"):
        assert not partial_allowed(basis)
        assert partial_allowed(basis, province_allows=True)


# ------------------------------------------------------------------ methods


def test_payment_methods() -> None:
    assert payment_method(None) == PaymentMethod.CASH
    assert payment_method(" Transfer ") == PaymentMethod.TRANSFER
    with pytest.raises(PaymentError, match="tiền mặt|Tiền mặt"):
        payment_method("bitcoin")
    with pytest.raises(LifecycleError, match="Hình thức nộp"):
        pay(received(), {"method": "séc"})
    assert [payment_method_label(m) for m in PaymentMethod] == [
        "Tiền mặt",
        "Chuyển khoản",
        "Thanh toán trực tuyến",
    ]
    assert payment_method_label("an old value") == "an old value"
    set_language("en")
    try:
        assert payment_method_label("cash") == "Cash"
    finally:
        set_language("vi")


# ------------------------------------------------------------------ fee basis from the catalogue


def test_fee_basis_of_the_shipped_catalogue() -> None:
    text = asset_path("catalogue", "procedures.csv").read_text(encoding="utf-8")
    by_code = {p.code: p for p in parse_catalogue(text)}
    expected = {
        "1.004837": FeeBasis.FREE,  # Exempt
        "1.001776": FeeBasis.FREE,
        "2.001035": FeeBasis.FIXED,  # 50.000 đ/giao dịch
        "2.000884": FeeBasis.FIXED,  # 10.000 đ/trường hợp
        "2.000635": FeeBasis.PER_UNIT,  # 8.000 đ/bản
        "2.000815": FeeBasis.PER_UNIT,  # 2.000 đ/trang ..., no flat amount
        "1.004873": FeeBasis.PROVINCIAL,  # Set by HĐND tỉnh
        "1.001612": FeeBasis.PROVINCIAL,
        "1.001193": FeeBasis.CONDITIONAL,  # Exempt if on time; other cases: HĐND tỉnh
        "1.000894": FeeBasis.CONDITIONAL,
        "1.004222": FeeBasis.UNKNOWN,  # amount not given
        "2.000908": FeeBasis.UNKNOWN,  # "None listed"
        "1.003583": FeeBasis.UNKNOWN,  # empty
    }
    for code, basis in expected.items():
        assert by_code[code].fee_basis == basis, code
    # Every fee without a catalogue amount is typed by the clerk; no label shows the note.
    for p in by_code.values():
        assert clerk_sets_fee(p.fee_basis) == (p.fee_basis not in (FeeBasis.FREE, FeeBasis.FIXED))
        if p.fee_vnd is None:
            assert clerk_sets_fee(p.fee_basis)
        if p.fee_basis != FeeBasis.FREE:
            assert p.fee_label != "Miễn phí"
        assert "Exempt" not in p.fee_label and "Set by" not in p.fee_label


def test_fee_labels() -> None:
    assert fee_basis_label(FeeBasis.FREE) == "Miễn phí"
    assert fee_basis_label(FeeBasis.FIXED, 50_000) == "50.000 đồng"
    assert "HĐND tỉnh" in fee_basis_label(FeeBasis.PROVINCIAL)
    assert "8.000 đồng" in fee_basis_label(FeeBasis.PER_UNIT, 8_000)
    assert fee_basis(None, "") == FeeBasis.UNKNOWN
    assert fee_basis(0, "whatever") == FeeBasis.FREE


def test_labels_have_english_entries() -> None:
    set_language("en")
    try:
        for basis in FeeBasis:
            label = fee_basis_label(basis, 8_000)
            assert "HĐND" not in label and "cán bộ" not in label, label
    finally:
        set_language("vi")


def test_catalogue_csv_rows_are_read_as_documented() -> None:
    text = asset_path("catalogue", "procedures.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    flat = [r for r in rows if r["fee_vnd"] not in ("", "0")]
    assert flat and all(int(r["fee_vnd"]) > 0 for r in flat)
