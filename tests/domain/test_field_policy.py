"""The one field policy (domain/fields.py): lengths, characters, the size guarantee, escaping."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop.domain import fields
from onestop.domain.events import Event, EventKind
from onestop.domain.fields import (
    FIELDS,
    MAX_DOCUMENTS,
    MAX_EVENT_BYTES,
    FieldError,
    check_event,
    check_text,
    clean_documents,
    clean_field,
    escape_display,
    forbidden_char,
)
from onestop.wire import base as wire_base

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
FOUR_BYTES = "\U0001f600"  # 😀, 4 bytes of UTF-8


# --- the guarantee -------------------------------------------------------------------------------


def test_wire_limit_is_the_policy_limit() -> None:
    assert wire_base.MAX_EVENT_BYTES == MAX_EVENT_BYTES == 64 * 1024


def test_sum_of_maxima_in_four_byte_utf8_fits_one_event() -> None:
    # The text fields of the biggest event (a refusal at intake, which carries every intake
    # field and a reason), each at its maximum in 4-byte characters, plus framing.
    person = ("name", "id", "phone", "address", "email")
    chars = (
        sum(FIELDS[k].max_len for k in ("procedure", "procedure_name", "field"))
        + 2 * sum(FIELDS[k].max_len for k in person)
        + FIELDS["paper"].max_len
        + MAX_DOCUMENTS * FIELDS["document"].max_len
        + sum(FIELDS[k].max_len for k in ("reason", "note", "actor", "role", "dossier"))
    )
    overhead = 2048  # CBOR keys, string heads (≤ 3 bytes each), integers, enum strings
    assert chars * 4 + overhead < MAX_EVENT_BYTES


def test_the_largest_event_really_encodes_below_the_limit() -> None:
    size = fields.max_event_body_bytes()
    assert 40_000 < size < MAX_EVENT_BYTES


def test_every_rule_is_positive_and_named() -> None:
    for key, rule in FIELDS.items():
        assert rule.key == key and rule.max_len > 0 and rule.label


# --- lengths -----------------------------------------------------------------------------------


def test_over_long_reason_names_the_field_and_the_numbers() -> None:
    with pytest.raises(FieldError) as e:
        clean_field("reason", "a" * 90_000)
    assert str(e.value) == "Lý do dài quá 1.000 ký tự (đang có 90.000)."
    assert e.value.field == "reason"


@pytest.mark.parametrize("key", sorted(FIELDS))
def test_exactly_the_maximum_is_accepted_one_more_is_not(key: str) -> None:
    n = FIELDS[key].max_len
    assert clean_field(key, FOUR_BYTES * n) == FOUR_BYTES * n
    with pytest.raises(FieldError, match="dài quá"):
        clean_field(key, FOUR_BYTES * (n + 1))


def test_length_is_counted_after_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "ễ") * 200  # 600 code points, 200 after NFC
    assert clean_field("to", nfd) == "ễ" * 200


def test_documents_are_bounded_in_number_too() -> None:
    assert len(clean_documents(["Tờ khai"] * MAX_DOCUMENTS)) == MAX_DOCUMENTS
    with pytest.raises(FieldError, match="Danh sách giấy tờ dài quá 40 mục"):
        clean_documents(["Tờ khai"] * (MAX_DOCUMENTS + 1))


# --- characters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", ["\x1b[2J", "\x00", "\x7f", "\x85", "\x9b31m", "\ud800", *BIDI], ids=repr
)
def test_control_bidi_and_surrogates_are_refused(bad: str) -> None:
    with pytest.raises(FieldError) as e:
        clean_field("to", f"Công chức {bad} Tư pháp")
    assert str(e.value).startswith("Nơi nhận hồ sơ chứa ký tự điều khiển không được phép")
    with pytest.raises(FieldError):
        check_text("to", f"x{bad}")


def test_soft_whitespace_and_invisibles_are_normalised_not_refused() -> None:
    assert clean_field("name", "  Nguyễn\tVăn\r\n An\u200b ") == "Nguyễn Văn An"
    assert clean_field("name", None) == ""


def test_stored_text_must_be_nfc() -> None:
    with pytest.raises(FieldError, match="NFC"):
        check_text("name", unicodedata.normalize("NFD", "Nguyễn"))


# --- properties ----------------------------------------------------------------------------------

_ANY_TEXT = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), max_size=300
) | st.text(alphabet=st.sampled_from(["a", " ", "\t", "ễ", "\u0301", "\x1b", "\u202e"]))


@settings(max_examples=300)
@given(key=st.sampled_from(sorted(FIELDS) + ["unknown"]), value=_ANY_TEXT)
def test_whatever_clean_field_accepts_the_server_check_accepts(key: str, value: str) -> None:
    try:
        cleaned = clean_field(key, value)
    except FieldError:
        return
    check_text(key, cleaned)  # what the server runs: never refuses what the desk kept
    assert clean_field(key, cleaned) == cleaned  # idempotent
    assert forbidden_char(cleaned) is None


@settings(max_examples=300)
@given(value=_ANY_TEXT)
def test_escape_display_leaves_nothing_a_terminal_obeys(value: str) -> None:
    shown = escape_display(value)
    assert forbidden_char(shown) is None
    if forbidden_char(value) is None:
        assert shown == value


def test_escape_display_makes_escapes_visible() -> None:
    assert escape_display("a\x1b[2Jb") == "a\u241b[2Jb"  # ␛
    assert escape_display("x\u202ey") == "x\\u202ey"
    assert escape_display("\x9b") == "\\u009b"
    assert escape_display(12) == "12"


# --- whole events ----------------------------------------------------------------------------------


def _event(note: str = "", **data: Any) -> tuple[dict[str, Any], int]:
    ev = Event(
        "16279-01", 1, 1, EventKind.FORWARD, "C", datetime(2026, 1, 1), "A", "clerk", note, data
    )
    return {"dossier": "C", "actor": "A", "role": "clerk", "note": note, "data": data}, len(
        ev.body()
    )


def test_check_event_walks_nested_data() -> None:
    args, n = _event(applicant={"name": "B" * 100}, documents=["x"] * MAX_DOCUMENTS)
    check_event(body_len=n, **args)
    args, n = _event(applicant={"name": "B" * 101})
    with pytest.raises(FieldError, match="Họ tên dài quá 100"):
        check_event(body_len=n, **args)
    args, n = _event(documents=["x"] * (MAX_DOCUMENTS + 1))
    with pytest.raises(FieldError, match="Danh sách giấy tờ"):
        check_event(body_len=n, **args)
    args, n = _event(note="\x1b]0;pwned\x07")
    with pytest.raises(FieldError, match="Ghi chú chứa ký tự điều khiển"):
        check_event(body_len=n, **args)
    args, n = _event(mystery="z" * 1001)
    with pytest.raises(FieldError, match="Nội dung dài quá 1.000"):
        check_event(body_len=n, **args)
    args, _ = _event()
    with pytest.raises(FieldError, match="Sự kiện quá lớn"):
        check_event(body_len=MAX_EVENT_BYTES + 1, **args)


def test_lifecycle_refuses_over_long_and_control_text() -> None:
    from onestop.domain.lifecycle import LifecycleError, _text

    with pytest.raises(LifecycleError, match="Nơi nhận hồ sơ dài quá 200 ký tự"):
        _text({"to": "x" * 201}, "to")
    with pytest.raises(LifecycleError, match="Hình thức nộp tiền chứa ký tự điều khiển"):
        _text({"method": "cash\x1b"}, "method")
