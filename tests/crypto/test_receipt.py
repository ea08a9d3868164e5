"""Receipt claims <-> canonical CBOR (RawClaims / ReceiptClaims), and the r1 digit/URL text."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop.domain.cbor import MalformedError
from onestop.domain.codes import make_dossier_code
from onestop.domain.receipt import (
    RawClaims,
    ReceiptClaims,
    bytes_from_digits,
    digits_from_bytes,
    parse_receipt_url,
    receipt_url,
)
from tests.crypto.conftest import UNIT, realistic_claims

# Text a clerk could type: letters (incl. all Vietnamese), digits, punctuation, plain spaces.
_text = st.text(
    alphabet=st.characters(categories=["L", "M", "N", "P"], include_characters=" "),
    min_size=1,
    max_size=40,
).filter(lambda s: unicodedata.normalize("NFC", s).strip() != "")
_times = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2098, 1, 1))
_units = st.sampled_from([UNIT, "H56.14", "000.00.99.H56", "A1B2C3D4E5F6G7H8I9J0K1L2M3N4O5P6Q7R"])
_dossier_codes = st.builds(
    make_dossier_code,
    _units,
    st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    st.integers(1, 99),
    st.integers(1, 10**10 - 1),
)
# National codes, localised national codes (cut to the national part on the wire), local codes.
_procedure_codes = st.one_of(
    st.from_regex(r"\A[0-9]\.[0-9]{6}\Z"),
    st.from_regex(r"\A[0-9]\.[0-9]{6}(\.000\.00\.00)?\.H[0-9]{2}\Z"),
    st.from_regex(r"\A[A-Z]{2,10}\.[0-9]{6}\Z"),
)


@st.composite
def claims_strategy(draw: st.DrawFn) -> ReceiptClaims:
    received = draw(_times)
    due = draw(
        st.none()
        | st.builds(
            lambda m: received + timedelta(minutes=m),
            st.integers(0, 400 * 24 * 60),  # 0 .. 400 days (3-byte and 5-byte offsets)
        )
    )
    return ReceiptClaims(
        province=draw(st.from_regex(r"\A[0-9]{2}\Z")),
        commune=draw(st.from_regex(r"\A[0-9]{5}\Z")),
        dossier_code=draw(_dossier_codes),
        procedure_code=draw(_procedure_codes),
        applicant_name=draw(_text),
        received_at=received,
        due_at=due,
        fee_vnd=draw(st.integers(0, 10**9)),
        desk=draw(st.integers(0, 2**32 - 1)),
        official=draw(st.just("") | _text),
    )


@given(claims_strategy())
@settings(max_examples=150)
def test_claims_cbor_round_trip(claims: ReceiptClaims) -> None:
    data = claims.to_cbor()
    raw = RawClaims.from_cbor(data)
    assert raw == claims.to_raw()
    assert raw.with_unit(claims.unit_eid) == claims
    assert ReceiptClaims.from_cbor(data, claims.unit_eid) == claims
    assert cbor2.dumps(cbor2.loads(data), canonical=True) == data


def test_wire_form_uses_integers_and_epoch_instants(claims: ReceiptClaims) -> None:
    decoded = cbor2.loads(claims.to_cbor())
    assert sorted(decoded) == list(range(1, 12))
    assert decoded[1] == 1
    # Province and commune as integers; the dossier code without its unit e-ID.
    assert decoded[2] == 38 and decoded[3] == 16066
    assert decoded[4] == [241126, 1, 1]  # "000.00.14.H56-241126-010001"
    assert decoded[5] == "1.001193"  # from "1.001193.000.00.00.H56": the national part only
    assert decoded[6] == "Nguyễn Thị Phương Thảo Tôn Nữ Hoàng Anh"
    # 14:35:12 in Vietnam (UTC+7) is 07:35:12 UTC.
    received = int(datetime(2024, 11, 26, 7, 35, 12, tzinfo=UTC).timestamp())
    assert decoded[7] == received
    # The appointment is minutes after the received minute: 16:00 on the 29th.
    due = int(datetime(2024, 11, 29, 9, 0, tzinfo=UTC).timestamp())
    assert decoded[8] == due // 60 - received // 60 == 3 * 24 * 60 + 85
    assert decoded[9] == 50_000 and decoded[10] == 10_001
    assert decoded[11] == "Lê Thị Hồng Nhung"
    # Nothing of the unit e-ID, the ID number or the phone is in the bytes.
    assert b"H56" not in claims.to_cbor()


def test_raw_claims_need_the_unit_for_the_full_code(claims: ReceiptClaims) -> None:
    raw = RawClaims.from_cbor(claims.to_cbor())
    assert raw.code_tail == "241126-010001"
    assert (raw.code_day, raw.desk_no, raw.counter) == (date(2024, 11, 26), 1, 1)
    assert raw.dossier_code(UNIT) == claims.dossier_code == "000.00.14.H56-241126-010001"
    assert raw.with_unit("H56.14").dossier_code == "H56.14-241126-010001"
    assert ReceiptClaims.from_cbor(claims.to_cbor(), UNIT) == claims
    assert claims.unit_eid == UNIT
    with pytest.raises(ValueError):
        raw.with_unit("not a unit")


def test_leading_zeros_and_long_counters_round_trip() -> None:
    c = realistic_claims(
        province="01",
        commune="00106",
        dossier_code="H01.2-050107-0912345",
        procedure_code="lt.000001",
    )
    assert c.procedure_code == "LT.000001" and c.dossier_code == "H01.2-050107-0912345"
    decoded = cbor2.loads(c.to_cbor())
    assert decoded[2] == 1 and decoded[3] == 106 and decoded[4] == [50107, 9, 12345]
    back = ReceiptClaims.from_cbor(c.to_cbor(), "H01.2")
    assert back == c and back.province == "01" and back.commune == "00106"


def test_constructor_normalises() -> None:
    nfd = unicodedata.normalize("NFD", "  Nguyễn Văn An ")
    aware = datetime(2024, 11, 26, 7, 35, 12, 999, tzinfo=UTC)
    c = realistic_claims(
        applicant_name=nfd, received_at=aware, due_at=datetime(2024, 12, 2, 8, 0, 59)
    )
    assert c.applicant_name == "Nguyễn Văn An"
    assert unicodedata.is_normalized("NFC", c.applicant_name)
    assert c.received_at == datetime(2024, 11, 26, 14, 35, 12)
    assert c.due_at == datetime(2024, 12, 2, 8, 0)
    # Codes are canonical: upper case, national procedure part only.
    c = realistic_claims(
        dossier_code=" 000.00.14.h56-241126-010001 ", procedure_code="2.002621.H56"
    )
    assert c.dossier_code == "000.00.14.H56-241126-010001"
    assert c.procedure_code == "2.002621"
    # An appointment in the received minute is fine (offset 0).
    c = realistic_claims(due_at=datetime(2024, 11, 26, 14, 35))
    assert cbor2.loads(c.to_cbor())[8] == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"commune": "1606"},
        {"province": "thanh hoa"},
        {"applicant_name": "   "},
        {"applicant_name": "Evil\x1b[2J"},
        {"applicant_name": "A\u202eB"},
        {"fee_vnd": -1},
        {"fee_vnd": True},
        {"fee_vnd": 1.5},
        {"desk": -3},
        {"received_at": datetime(1999, 12, 31)},
        {"received_at": "2024-11-26"},
        {"dossier_code": "x" * 65},
        {"dossier_code": "000.00.14.H56-261124-000001"},  # desk 00
        {"dossier_code": "HS-2024-001"},  # an imported code of another shape
        {"procedure_code": "thủ tục"},
        {"procedure_code": "1.00119"},
        {"due_at": datetime(2024, 11, 26, 14, 34)},  # before the received minute
    ],
)
def test_invalid_claims_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        realistic_claims(**overrides)


def _dump(m: dict[int, object], **changes: object) -> bytes:
    return cbor2.dumps(_map_with(m, **changes), canonical=True)


def _map_with(m: dict[int, object], **changes: object) -> dict[int, object]:
    out = dict(m)
    for key, value in changes.items():
        out[int(key.lstrip("k"))] = value
    return out


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(
            lambda m: cbor2.dumps({k: v for k, v in m.items() if k != 6}, canonical=True),
            id="missing",
        ),
        pytest.param(lambda m: cbor2.dumps(m | {12: "x"}, canonical=True), id="extra-key"),
        pytest.param(lambda m: cbor2.dumps(m | {9: True}, canonical=True), id="bool-fee"),
        pytest.param(lambda m: cbor2.dumps(m | {9: 5.0}, canonical=True), id="float-fee"),
        pytest.param(lambda m: cbor2.dumps(m | {1: 2}, canonical=True), id="version-2"),
        pytest.param(lambda m: _dump(m, k3="16066"), id="text-commune"),
        pytest.param(lambda m: _dump(m, k2="38"), id="text-province"),
        pytest.param(lambda m: _dump(m, k2=100), id="province-3-digits"),
        pytest.param(lambda m: _dump(m, k3=100_000), id="commune-6-digits"),
        pytest.param(lambda m: _dump(m, k4="000.00.14.H56-241126-010001"), id="text-code"),
        pytest.param(lambda m: _dump(m, k4=[241126, 1]), id="code-2-parts"),
        pytest.param(lambda m: _dump(m, k4=[241126, 1, 1, 1]), id="code-4-parts"),
        pytest.param(lambda m: _dump(m, k4=[261131, 1, 1]), id="code-bad-date"),
        pytest.param(lambda m: _dump(m, k4=[1261124, 1, 1]), id="code-7-digit-date"),
        # Desk 00 (no number yet) is valid with its tag in the counter; a zero counter is not.
        pytest.param(lambda m: _dump(m, k4=[241126, 0, 47110000]), id="code-desk-0-counter-0"),
        pytest.param(lambda m: _dump(m, k4=[241126, 100, 1]), id="code-desk-100"),
        pytest.param(lambda m: _dump(m, k4=[241126, 1, 0]), id="code-counter-0"),
        pytest.param(lambda m: _dump(m, k4=[241126, True, 1]), id="code-bool-desk"),
        pytest.param(lambda m: _dump(m, k4={1: 261124}), id="code-map"),
        pytest.param(lambda m: _dump(m, k5="1.001193.000.00.00.H56"), id="localised-procedure"),
        pytest.param(lambda m: _dump(m, k5="lt.000001"), id="lower-case-procedure"),
        pytest.param(lambda m: _dump(m, k5="x"), id="junk-procedure"),
        pytest.param(lambda m: _dump(m, k8=-1), id="negative-due-offset"),
        pytest.param(lambda m: _dump(m, k8=10**11), id="huge-due-offset"),
        pytest.param(lambda m: cbor2.dumps(m | {6: b"bytes"}, canonical=True), id="bytes-name"),
        pytest.param(lambda m: cbor2.dumps(m | {7: -1}, canonical=True), id="negative-time"),
        pytest.param(lambda m: cbor2.dumps(m | {7: 10**12}, canonical=True), id="far-future"),
        pytest.param(
            lambda m: cbor2.dumps(m | {6: unicodedata.normalize("NFD", str(m[6]))}, canonical=True),
            id="nfd-name",
        ),
        pytest.param(
            lambda m: cbor2.dumps(dict(reversed(list(m.items())))), id="non-canonical-order"
        ),
        pytest.param(
            lambda m: cbor2.dumps(m, canonical=True).replace(
                b"\x09\x19\xc3\x50", b"\x09\xc2\x42\xc3\x50"
            ),
            id="bignum-fee",
        ),
        pytest.param(lambda m: cbor2.dumps([m], canonical=True), id="array"),
        pytest.param(lambda m: cbor2.dumps(m, canonical=True) + b"\x00", id="trailing"),
        pytest.param(lambda m: b"", id="empty"),
    ],
)
def test_from_cbor_is_strict(
    claims: ReceiptClaims, build: Callable[[dict[int, object]], bytes]
) -> None:
    data = build(claims.to_map())
    with pytest.raises(MalformedError):
        RawClaims.from_cbor(data)
    with pytest.raises(MalformedError):
        ReceiptClaims.from_cbor(data, UNIT)


@given(st.binary(max_size=300))
@settings(max_examples=300)
def test_from_cbor_raises_only_malformed(data: bytes) -> None:
    try:
        ReceiptClaims.from_cbor(data, UNIT)
    except MalformedError:
        pass


# --- r1 digits -------------------------------------------------------------------------------


def test_digit_widths() -> None:
    assert digits_from_bytes(b"\xff" * 7) == "72057594037927935"  # 2**56 - 1, 17 digits
    assert digits_from_bytes(b"\x00" * 7) == "0" * 17
    assert [len(digits_from_bytes(b"\x01" * k)) for k in range(1, 8)] == [3, 5, 8, 10, 13, 15, 17]
    assert len(digits_from_bytes(b"\x01" * 200)) == 28 * 17 + 10


@given(st.binary(min_size=1, max_size=1024))
@settings(max_examples=300)
def test_digits_round_trip(data: bytes) -> None:
    digits = digits_from_bytes(data)
    assert digits.isdigit()
    assert bytes_from_digits(digits) == data


@given(st.text(alphabet="0123456789", min_size=1, max_size=200))
@settings(max_examples=300)
def test_digits_are_bijective(digits: str) -> None:
    # Every accepted digit string is the encoding of exactly what it decodes to.
    try:
        data = bytes_from_digits(digits)
    except MalformedError:
        return
    assert digits_from_bytes(data) == digits


@pytest.mark.parametrize(
    "digits",
    [
        "",
        "1",
        "12",
        "1234",
        "123456789012345678",
        "256",
        "65536",
        "72057594037927936",
        "12a",
        "١٢٣",
    ],
)
def test_bad_digit_strings(digits: str) -> None:
    with pytest.raises(MalformedError):
        bytes_from_digits(digits)


def test_receipt_url_and_parse_variants() -> None:
    cose = bytes(range(200))
    url = receipt_url("QR.HT.gov.vn", cose)
    assert url.startswith("https://qr.ht.gov.vn/r1#")
    digits = url.partition("#")[2]
    spaced = " ".join(digits[i : i + 5] for i in range(0, len(digits), 5))
    for text in [
        url,
        url.upper(),
        "  " + url + "\n",
        url.replace("https://", "http://"),
        url.replace("https://", ""),
        "/r1#" + digits,
        "#" + digits,
        digits,
        spaced,
        "https://qr.ht.gov.vn/r1#\n" + spaced,
    ]:
        assert parse_receipt_url(text) == cose, text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "https://qr.ht.gov.vn/r2#000",
        "https://qr.ht.gov.vn/r1",
        "https://qr.ht.gov.vn/r1#",
        "https://qr.ht.gov.vn/x/r1#000",
        "hello",
        "HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH",
        "0" * 100_000,
    ],
)
def test_parse_receipt_url_junk(text: str) -> None:
    with pytest.raises(MalformedError):
        parse_receipt_url(text)


def test_receipt_url_refuses_bad_host() -> None:
    for host in ["", "a/b", "a#b", "a b", "exa mple.vn"]:
        with pytest.raises(ValueError):
            receipt_url(host, b"\x01")


@given(st.text(max_size=300))
@settings(max_examples=300)
def test_parse_receipt_url_raises_only_malformed(text: str) -> None:
    try:
        parse_receipt_url(text)
    except MalformedError:
        pass


def test_received_at_round_trips_across_timezones() -> None:
    c = realistic_claims(
        received_at=datetime(2024, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=-5)))
    )
    assert c.received_at == datetime(2024, 1, 1, 12, 30)
    assert ReceiptClaims.from_cbor(c.to_cbor(), UNIT).received_at == datetime(2024, 1, 1, 12, 30)


def test_a_receipt_of_a_desk_with_no_number_yet_round_trips() -> None:
    """Desk 00 (not yet numbered by the province) issues codes 00{tag}{counter}: its receipts
    carry the tag inside the counter and give the same code back."""
    from datetime import date

    from onestop.domain.codes import make_dossier_code, parse_dossier_code

    code = make_dossier_code("000.00.14.H56", date(2026, 11, 20), 0, 7, tag=4711)
    parts = parse_dossier_code(code)
    raw = RawClaims(
        province="38",
        commune="16279",
        code_day=parts.day,
        desk_no=0,
        counter=parts.counter,
        tag=parts.tag,
        procedure_code="2.001035",
        applicant_name="Nguyễn Văn An",
        received_at=datetime(2026, 11, 20, 10, 0),
        due_at=None,
        fee_vnd=0,
        desk=3,
    )
    back = RawClaims.from_cbor(raw.to_cbor())
    assert back.tag == 4711 and back.counter == 7
    assert back.dossier_code("000.00.14.H56") == code
    assert raw._wire_counter() < 2**53  # a browser's number holds it exactly
