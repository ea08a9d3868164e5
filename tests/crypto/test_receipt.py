"""Receipt claims <-> canonical CBOR, and the r1 digit/URL text."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop.domain.receipt import (
    MalformedError,
    ReceiptClaims,
    bytes_from_digits,
    digits_from_bytes,
    parse_receipt_url,
    receipt_url,
)
from tests.crypto.conftest import realistic_claims

# Text a clerk could type: letters (incl. all Vietnamese), digits, punctuation, plain spaces.
_text = st.text(
    alphabet=st.characters(categories=["L", "M", "N", "P"], include_characters=" "),
    min_size=1,
    max_size=40,
).filter(lambda s: unicodedata.normalize("NFC", s).strip() != "")
_times = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2098, 1, 1))

claims_strategy = st.builds(
    ReceiptClaims,
    province=st.from_regex(r"\A[0-9]{2}\Z"),
    commune=st.from_regex(r"\A[0-9]{5}\Z"),
    dossier_code=_text,
    procedure_code=_text,
    applicant_name=_text,
    received_at=_times,
    due_at=st.none() | _times,
    fee_vnd=st.integers(0, 10**9),
    desk=st.integers(0, 2**32 - 1),
    official=st.just("") | _text,
)


@given(claims_strategy)
@settings(max_examples=150)
def test_claims_cbor_round_trip(claims: ReceiptClaims) -> None:
    data = claims.to_cbor()
    assert ReceiptClaims.from_cbor(data) == claims
    assert cbor2.dumps(cbor2.loads(data), canonical=True) == data


def test_wire_form_uses_integer_keys_and_epoch_instants(claims: ReceiptClaims) -> None:
    decoded = cbor2.loads(claims.to_cbor())
    assert sorted(decoded) == list(range(1, 12))
    # 14:35:12 in Vietnam (UTC+7) is 07:35:12 UTC.
    assert decoded[7] == int(datetime(2024, 11, 26, 7, 35, 12, tzinfo=UTC).timestamp())
    assert decoded[8] * 60 == int(datetime(2024, 11, 29, 9, 0, tzinfo=UTC).timestamp())
    assert decoded[2] == "38" and decoded[3] == "16066"
    assert decoded[6] == "Nguyễn Thị Phương Thảo Tôn Nữ Hoàng Anh"
    assert decoded[1] == 1 and decoded[9] == 50_000 and decoded[10] == 10_001


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
    ],
)
def test_invalid_claims_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        realistic_claims(**overrides)


def _map(claims: ReceiptClaims, **changes: object) -> dict[int, object]:
    m = claims.to_map()
    for key, value in changes.items():
        m[int(key.lstrip("k"))] = value
    return m


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
        pytest.param(lambda m: cbor2.dumps(m | {3: 16066}, canonical=True), id="int-commune"),
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
        ReceiptClaims.from_cbor(data)


@given(st.binary(max_size=300))
@settings(max_examples=300)
def test_from_cbor_raises_only_malformed(data: bytes) -> None:
    try:
        ReceiptClaims.from_cbor(data)
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
    assert ReceiptClaims.from_cbor(c.to_cbor()).received_at == datetime(2024, 1, 1, 12, 30)
