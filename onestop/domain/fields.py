"""The one length and character policy for every text a desk writes into an event.

Part of the desk<->server contract (``wire/`` re-exports :data:`MAX_EVENT_BYTES` from here; it
lives in ``domain`` because the lifecycle, the intake service and the event store below
``wire`` all apply it). The desk applies :func:`clean_field` at every input boundary (the
service layer the CLI and the TUI both go through) and :func:`check_event` once more on the
event it is about to append; the provincial server runs the very same :func:`check_event` on
every event it ingests. Anything a desk can write is therefore something the server accepts:
one over-long field can no longer block a desk's sync for ever (its events are hash-chained
and cannot be removed).

**Lengths** are in characters (code points, after NFC), chosen from the legal forms they fill
(NĐ 118/2025 and TT 01/2018 slips, CCCD data):

==================  =====  ==========================================================
field               max    why
==================  =====  ==========================================================
name                100    a person's full name (CCCD prints far fewer; slips, QR ≤ 120)
id                  20     CCCD is 12 digits; room for an old CMND/passport number
phone               20     10–11 digits after normalising
address             250    house, street, hamlet, commune, province, on one slip line
email               254    RFC 5321 path limit
paper               200    the proxy's authorisation paper (number, date, issuer)
reason              1000   refusal, supplement, withdrawal, extension, denial reasons
note                1000   the clerk's note on any event
to                  200    recipient of a forward/start (unit or official)
method              50     payment method (cash, transfer, online ...)
document            250    one line of the document checklist
procedure           64     catalogue code
procedure_name      300    catalogue name (the longest real one is ~60)
field               100    catalogue field (lĩnh vực)
dossier             64     dossier code
actor               80     the official's display name (keyring caps it at 80 too)
role                32     role name
desk_name           100    desk name (the server's enrolment code refuses > 100)
commune_name        100    commune name (desk settings)
calendar_note       200    note on a local day off / make-up day (desk settings)
(any other string)  1000   a key this table does not name (identifiers, statuses ...)
==================  =====  ==========================================================

At most :data:`MAX_DOCUMENTS` documents per dossier. A text key appearing inside ``applicant``
or ``proxy`` uses the row of its own name.

**Characters**: NFC; no control character (C0, DEL, C1), no lone surrogate, and no
bidirectional formatting character (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069:
the "Trojan Source" reordering marks). At input, tabs and line breaks collapse into one space
and zero-width characters are dropped (a USB scanner or a spreadsheet paste brings them); any
other forbidden character is refused with a message naming the field. Stored text therefore
never contains a control character, and the server refuses one.

**The guarantee** (:func:`max_event_body_bytes`, asserted by a test): the largest event a desk
can produce under this policy — every field at its maximum, every character 4 bytes of UTF-8 —
encodes to fewer than :data:`MAX_EVENT_BYTES`. Sum of the maxima of a ``receive``: 64 + 300 +
100 + 2 × (100 + 20 + 20 + 250 + 254) + 200 + 40 × 250 + 1000 (note) + 80 + 32 + 64 = 13 128
characters (a ``refuse`` at intake adds a 1000-character reason: 14 128), × 4 = 56 512 bytes,
plus < 1 KiB of CBOR framing: below 65 536. Every other kind writes fewer text fields.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from onestop.i18n import t

__all__ = [
    "FIELDS",
    "MAX_DOCUMENTS",
    "MAX_EVENT_BYTES",
    "FieldError",
    "FieldRule",
    "check_event",
    "check_text",
    "clean_documents",
    "clean_field",
    "escape_display",
    "forbidden_char",
    "rule",
]

#: One event body on the wire (and in the desk's log). Defined here, re-exported by ``wire``.
MAX_EVENT_BYTES: Final = 64 * 1024

#: Documents listed in one dossier's checklist.
MAX_DOCUMENTS: Final = 40


@dataclass(frozen=True)
class FieldRule:
    key: str
    label: str  # Vietnamese, as the clerk knows the field (translated through t())
    max_len: int


_RULES = (
    FieldRule("name", "Họ tên", 100),
    FieldRule("id", "Số định danh cá nhân", 20),
    FieldRule("phone", "Số điện thoại", 20),
    FieldRule("address", "Địa chỉ", 250),
    FieldRule("email", "Email", 254),
    FieldRule("paper", "Giấy ủy quyền", 200),
    FieldRule("reason", "Lý do", 1000),
    FieldRule("note", "Ghi chú", 1000),
    FieldRule("to", "Nơi nhận hồ sơ", 200),
    FieldRule("method", "Hình thức nộp tiền", 50),
    FieldRule("document", "Tên giấy tờ", 250),
    FieldRule("procedure", "Mã thủ tục", 64),
    FieldRule("procedure_name", "Tên thủ tục", 300),
    FieldRule("field", "Lĩnh vực", 100),
    FieldRule("dossier", "Mã hồ sơ", 64),
    FieldRule("actor", "Tên cán bộ", 80),
    FieldRule("role", "Vai trò", 32),
    FieldRule("desk_name", "Tên quầy", 100),
    FieldRule("commune_name", "Tên xã", 100),
    FieldRule("calendar_note", "Ghi chú ngày nghỉ, ngày làm bù", 200),
)

#: field name -> rule. The wire contract: desk and server read this one table.
FIELDS: Final[Mapping[str, FieldRule]] = {r.key: r for r in _RULES}

#: Any string in an event under a key the table does not name.
DEFAULT_RULE: Final = FieldRule("text", "Nội dung", 1000)

# Bidirectional formatting characters (Unicode UAX #9): embeddings/overrides, isolates, marks.
_BIDI: Final = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# At input only: dropped (zero-width space/joiners, word joiner, BOM, soft hyphen).
_INVISIBLE: Final = str.maketrans(dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad")))


class FieldError(ValueError):
    """A text refused by the policy; ``str(e)`` is a Vietnamese sentence naming the field."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def rule(key: str) -> FieldRule:
    return FIELDS.get(key, DEFAULT_RULE)


def _n(n: int) -> str:
    return f"{n:,}".replace(",", ".")


# The refused characters as one character class: the C0/C1 controls and DEL (general category
# Cc, fixed by Unicode's stability policy), the surrogates (Cs) and _BIDI. Every event's texts
# pass through here at least twice (input, then the last guard before the hash chain); a
# per-character ``unicodedata.category`` loop cost ~0.3 ms an intake. A test checks the class
# against ``unicodedata`` over every code point.
_FORBIDDEN_RE: Final = re.compile(
    r"[\x00-\x1f\x7f-\x9f\ud800-\udfff" + "".join(sorted(_BIDI)) + "]"
)
# At input only, tab, line feed and carriage return are allowed: they become a space (see the
# module docstring).
_FORBIDDEN_INPUT_RE: Final = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff" + "".join(sorted(_BIDI)) + "]"
)


def forbidden_char(s: str) -> str | None:
    """The first character the policy refuses in stored text, or ``None``."""
    m = _FORBIDDEN_RE.search(s)
    return m.group() if m else None


def _char_error(r: FieldRule, ch: str) -> FieldError:
    return FieldError(
        t(
            "{label} chứa ký tự điều khiển không được phép (mã U+{code}).",
            label=t(r.label),
            code=f"{ord(ch):04X}",
        ),
        field=r.key,
    )


def _length_error(r: FieldRule, n: int) -> FieldError:
    return FieldError(
        t(
            "{label} dài quá {max_len} ký tự (đang có {n}).",
            label=t(r.label),
            max_len=_n(r.max_len),
            n=_n(n),
        ),
        field=r.key,
    )


def clean_field(key: str | FieldRule, value: object, *, max_len: int | None = None) -> str:
    """Clean one text the clerk typed for field ``key``: the single input door of the policy.

    NFC, whitespace runs -> one space, zero-width characters dropped, then refused
    (:class:`FieldError`) if a forbidden character remains or it is longer than the field's
    maximum. ``None`` is the empty string; other non-strings are refused.
    """
    r = key if isinstance(key, FieldRule) else rule(key)
    if max_len is not None:
        r = FieldRule(r.key, r.label, min(max_len, r.max_len))
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FieldError(t("{label} phải là chữ.", label=t(r.label)), field=r.key)
    bad = _FORBIDDEN_INPUT_RE.search(value)
    if bad is not None:
        raise _char_error(r, bad.group())
    # str.split() with no argument splits on every Unicode whitespace run (incl. NBSP, U+2028).
    out = unicodedata.normalize("NFC", " ".join(value.translate(_INVISIBLE).split()))
    if len(out) > r.max_len:
        raise _length_error(r, len(out))
    return out


def clean_documents(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """A document checklist: each line cleaned, empty lines dropped, at most MAX_DOCUMENTS."""
    docs = tuple(d for d in (clean_field("document", v) for v in values) if d)
    if len(docs) > MAX_DOCUMENTS:
        raise FieldError(
            t(
                "Danh sách giấy tờ dài quá {max_n} mục (đang có {n}).",
                max_n=MAX_DOCUMENTS,
                n=len(docs),
            ),
            field="documents",
        )
    return docs


def check_text(key: str, value: str) -> None:
    """Check a *stored* text (nothing is cleaned): what the server and the desk's log accept."""
    _check_text(key, value)


# Texts already accepted are not checked again: an intake's event repeats its procedure's name,
# field and document list (the catalogue's) on every dossier, and the server checks each
# event of a batch. Only acceptances are remembered (a refusal raises, which lru_cache never
# stores), so a refused text is refused with the current language's message every time.
@lru_cache(maxsize=1024)
def _check_text(key: str, value: str) -> None:
    r = rule(key)
    ch = forbidden_char(value)
    if ch is not None:
        raise _char_error(r, ch)
    if len(value) > r.max_len:
        raise _length_error(r, len(value))
    if not unicodedata.is_normalized("NFC", value):
        raise FieldError(t("{label} không ở dạng chuẩn NFC.", label=t(r.label)), field=r.key)


def _check_value(key: str, value: Any, depth: int = 0) -> None:
    if isinstance(value, str):
        check_text(key, value)
    elif isinstance(value, Mapping):
        if depth > 4:
            raise FieldError(t("Dữ liệu sự kiện lồng quá sâu."), field=key)
        for k, v in value.items():
            _check_value(str(k), v, depth + 1)
    elif isinstance(value, list | tuple):
        if key == "documents":
            if len(value) > MAX_DOCUMENTS:
                raise FieldError(
                    t(
                        "Danh sách giấy tờ dài quá {max_n} mục (đang có {n}).",
                        max_n=MAX_DOCUMENTS,
                        n=len(value),
                    ),
                    field="documents",
                )
            key = "document"
        if depth > 4:
            raise FieldError(t("Dữ liệu sự kiện lồng quá sâu."), field=key)
        for v in value:
            _check_value(key, v, depth + 1)


def check_event(
    *, dossier: str, actor: str, role: str, note: str, data: Mapping[str, Any], body_len: int
) -> None:
    """Every text of one event, and its encoded size, against the policy (:class:`FieldError`).

    The desk runs it before appending an event, the server on every event it ingests: the
    same function on both sides.
    """
    if body_len > MAX_EVENT_BYTES:
        raise FieldError(
            t(
                "Sự kiện quá lớn: {n} byte (tối đa {max_n}).",
                n=_n(body_len),
                max_n=_n(MAX_EVENT_BYTES),
            ),
            field="event",
        )
    check_text("dossier", dossier)
    check_text("actor", actor)
    check_text("role", role)
    check_text("note", note)
    for k, v in data.items():
        _check_value(str(k), v)


def max_event_body_bytes() -> int:
    """The encoded size of the largest ``receive`` event the policy allows (see the docstring).

    Built for real and encoded with ``Event.body()``: every text at its maximum length in a
    4-byte UTF-8 character, every integer at 64 bits, every list full.
    """
    from datetime import datetime

    from onestop.domain.events import Event, EventKind

    def big(key: str) -> str:
        return "\U0001f600" * rule(key).max_len

    person = {k: big(k) for k in ("name", "id", "phone", "address", "email")}
    data: dict[str, Any] = {
        "procedure": big("procedure"),
        "procedure_version": 2**63 - 1,
        "procedure_name": big("procedure_name"),
        "field": big("field"),
        "time_unit": "working_days",
        "time_value": 2**63 - 1,
        "applicant": person,
        "proxy": {**person, "paper": big("paper")},
        "channel": "in_person",
        "documents": [big("document")] * MAX_DOCUMENTS,
        "fee": 2**63 - 1,
        "due": 2**63 - 1,
        "reason": big("reason"),
    }
    event = Event(
        desk_id="x",
        seq=2**63 - 1,
        hlc=2**63 - 1,
        kind=EventKind.REFUSE,
        dossier=big("dossier"),
        at=datetime(9999, 12, 31, 23, 59),
        actor=big("actor"),
        role=big("role"),
        note=big("note"),
        data=data,
    )
    return len(event.body())


_VISIBLE_C0: Final = {i: chr(0x2400 + i) for i in range(0x20)} | {0x7F: "\u2421"}


def escape_display(value: object) -> str:
    """Text from an event (possibly another desk's, possibly forged) made safe for a terminal.

    C0 controls and DEL become their visible Unicode pictures (ESC -> ␛), C1 controls, bidi
    formatting characters and lone surrogates become ``\\uXXXX``. Everything else is unchanged.
    """
    s = value if isinstance(value, str) else str(value)
    if forbidden_char(s) is None:
        return s
    out = []
    for ch in s:
        o = ord(ch)
        if o in _VISIBLE_C0:
            out.append(_VISIBLE_C0[o])
        elif ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cs"):
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    return "".join(out)
