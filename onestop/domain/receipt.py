"""Receipt claims: the payload of the signed QR on the "giấy tiếp nhận hồ sơ".

Pure code, no I/O. Three things live here:

1. The claims and their CBOR form (RFC 8949), integer keys as in
   ``shared/design-notes/QR-AND-SYNC.md`` ("Recommended design 1"), claims version 1::

       1 version          uint, 1
       2 province         uint 0..99       (restored as 2 digits: 38 -> "38", 1 -> "01")
       3 commune          uint 0..99999    (restored as 5 digits: 1606 -> "01606")
       4 dossier code     [YYMMDD uint, desk no 1..99, daily counter 1..10**10-1]
       5 procedure code   text: the national part only ("1.001193.000.00.00.H56" ->
                          "1.001193"); a local code ("LT.000001") as it is
       6 applicant name   text, NFC, in full
       7 received         uint, epoch seconds
       8 appointment      uint MINUTES after the received minute (floor(received / 60)), or null
       9 fee              uint, VND
       10 desk            uint: the desk's event sequence number of the "received" event, which
                          anchors the receipt in the desk's event log (the server can check it
                          was logged)
       11 official        text, NFC, may be empty

   The unit electronic ID (``000.00.14.H56``), which prefixes every dossier code, is NOT in
   the QR: the province issues one key per desk of a unit, so the unit is a property of the
   signing key and sits in its trust-list entry. Decoding therefore has two steps:
   ``RawClaims.from_cbor`` needs nothing but the bytes (what a verifier can show next to an
   "unknown key" warning, the code as ``…-261124-010001``), and ``RawClaims.with_unit`` (after
   the kid lookup, with ``entry.unit_eid``) gives the ``ReceiptClaims`` a caller works with,
   whose ``dossier_code`` is the full code again. ``ReceiptClaims.from_cbor(data, unit_eid)``
   does both.

   Why this shape (measured in tests/crypto/test_qr.py): the previous form with every code as
   text was 251 B of COSE for a realistic receipt, version 12 at level M. Codes as integers
   (−21 B for the dossier code, −14 B for the procedure code, −4 B for province and commune)
   and the appointment as an offset (−2 B: a 3-byte instead of a 5-byte CBOR integer while the
   appointment is within 45 days of receipt) bring it to 210 B: version 11 at level M even
   after a 24-character host. The appointment keeps its minute ("hẹn trả lúc 14:00 ngày …")
   because the slip prints it. The ID number and the phone number are never claims: the QR
   only repeats what is printed on the slip, and anyone holding the slip can read the QR.

   Times are naive datetimes in Vietnam local time (UTC+7, no DST), the convention of the whole
   app. On the wire they are the epoch of that instant, so a verifier anywhere gets the same
   instant back.

2. Strict CBOR decoding (``decode_cbor_strict``). cbor2 raises half a dozen exception types on
   junk and silently ignores trailing bytes; the verifier must turn *every* bad input into one
   ``MalformedError``. Decoding is also strict about encoding: a receipt must be the canonical
   (deterministic, RFC 8949 §4.2) encoding of its claims, so that one set of claims has exactly
   one byte form. That rejects bignum-tagged integers, duplicate keys, indefinite lengths,
   non-NFC strings and non-canonical codes that would otherwise display identically to
   different bytes.

3. The QR text: ``https://<host>/r1#<digits>``. The URL prefix goes in a byte-mode QR segment
   and the COSE bytes, written as decimal digits, in a numeric-mode segment (3.33 bits per
   digit). The payload sits in the ``#fragment``, which browsers never send to a server, so a
   phone camera opens the verify page and no server log ever sees the claims. ``/r1`` is the
   schema version of this text.

Numeric encoding ("r1 digits"), length-safe and bijective:
    The bytes are cut into groups of 7 (56 bits). Each full group is written as its big-endian
    unsigned value, zero-padded to 17 digits (2**56 - 1 has 17 digits). A final partial group
    of k = 1..6 bytes is written zero-padded to the width of 2**(8k) - 1, that is
    3, 5, 8, 10, 13 or 15 digits. Those widths are all distinct and shorter than 17, so the
    digit count alone says how many bytes there are (count = 17*q + w(k)); any other count is
    malformed, and so is any group whose value does not fit its byte count (e.g. "999" for one
    byte). Each byte string therefore has exactly one digit string and vice versa; truncating
    the digits always changes the byte count, which breaks the CBOR structure. 7 bytes -> 17
    digits costs 8.1 bits per byte in numeric mode, against 8 in byte mode, while staying
    inside characters every phone scanner and URL handler passes through untouched (Base45 is
    denser but contains space and "%", which cannot go in a URL).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from onestop.domain.cbor import MalformedError, decode_cbor_strict, encode_canonical
from onestop.domain.clock import VN_TZ
from onestop.domain.codes import (
    make_dossier_code,
    national_procedure_code,
    parse_dossier_code,
    validate_procedure_code,
)
from onestop.i18n import t

__all__ = [
    "MAX_RECEIPT_BYTES",
    "RECEIPT_PATH",
    "VN_TZ",
    "RawClaims",
    "ReceiptClaims",
    "bytes_from_digits",
    "digits_from_bytes",
    "parse_receipt_url",
    "receipt_url",
    "validate_host",
]


#: Path of the citizen verify page; "r1" is the version of the QR text scheme.
RECEIPT_PATH: Final = "/r1"

#: A receipt COSE message is about 200-250 bytes. Anything far larger is not ours and is refused
#: before any decoding work (version-40 QR codes hold at most 2,953 bytes).
MAX_RECEIPT_BYTES: Final = 1024

CLAIMS_VERSION: Final = 1

_GROUP: Final = 7
_FULL_WIDTH: Final = 17
# digit width of a final group of k bytes = number of digits of 2**(8k) - 1
_PARTIAL_WIDTH: Final = {k: len(str(2 ** (8 * k) - 1)) for k in range(1, _GROUP)}
_BYTES_FOR_WIDTH: Final = {w: k for k, w in _PARTIAL_WIDTH.items()} | {0: 0}
_MAX_DIGITS: Final = (MAX_RECEIPT_BYTES // _GROUP + 1) * _FULL_WIDTH

# Plausibility window for times on a receipt: 2000-01-01 .. 2100-01-01 (UTC). It keeps the
# integers within 4 bytes of CBOR and rejects absurd values early.
_EPOCH_MIN: Final = 946_684_800
_EPOCH_MAX: Final = 4_102_444_800

_HOST_RE: Final = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?(?::[0-9]{1,5})?$")
_URL_PREFIX_RE: Final = re.compile(
    r"^(?:(?:https?://)?[^/#]+)?" + re.escape(RECEIPT_PATH) + r"$", re.IGNORECASE
)


# --------------------------------------------------------------------------------------------
# strict CBOR
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# claims
# --------------------------------------------------------------------------------------------

# Parts of a dossier code's sequence (domain/codes.py): desk 01..99, daily counter >= 1.
_DESK_NO_RANGE: Final = (1, 99)
_COUNTER_MAX: Final = 10**10 - 1
_TAG_MAX: Final = 999_999


def _clean_text(name: str, value: object, *, max_len: int, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise ValueError(t("{name}: phải là chuỗi ký tự.", name=name))
    text = unicodedata.normalize("NFC", value).strip()
    if not text and not allow_empty:
        raise ValueError(t("{name}: không được để trống.", name=name))
    if len(text) > max_len:
        raise ValueError(t("{name}: dài quá {max_len} ký tự.", name=name, max_len=max_len))
    # Control characters (including ESC) would let a forged QR paint over a verifier's terminal
    # or break the slip layout; no legitimate name or code contains them.
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text):
        raise ValueError(t("{name}: chứa ký tự điều khiển.", name=name))
    return text


def _require_int(name: str, value: object, *, minimum: int = 0, maximum: int | None = None) -> int:
    # bool is an int subclass; True is not a fee.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(t("{name}: phải là số nguyên.", name=name))
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(
            t("{name}: giá trị {value} nằm ngoài phạm vi cho phép.", name=name, value=value)
        )
    return value


def _to_local_naive(name: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(t("{name}: phải là thời điểm (datetime).", name=name))
    if value.tzinfo is not None:
        value = value.astimezone(VN_TZ).replace(tzinfo=None)
    return value


def _epoch_seconds(local: datetime) -> int:
    return int(local.replace(tzinfo=VN_TZ).timestamp())


def _from_epoch_seconds(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, VN_TZ).replace(tzinfo=None)


def _check_epoch(name: str, seconds: int) -> None:
    if not _EPOCH_MIN <= seconds < _EPOCH_MAX:
        raise ValueError(t("{name}: thời điểm ngoài khoảng 2000-2099.", name=name))


def _procedure_claim(value: object) -> str:
    """The procedure code as claimed: the national ``d.dddddd`` part, or a local code as is."""
    text = _clean_text(t("Mã thủ tục"), value, max_len=64)
    code = validate_procedure_code(text)
    return national_procedure_code(code) or code


def _normalise_common(claims: RawClaims | ReceiptClaims) -> None:
    """Validate and normalise the fields both claim classes share (in place, frozen or not)."""

    def put(field: str, value: object) -> None:
        object.__setattr__(claims, field, value)

    if claims.version != CLAIMS_VERSION or isinstance(claims.version, bool):
        raise ValueError(
            t("Phiên bản biên nhận {version} không được hỗ trợ.", version=repr(claims.version))
        )
    put("province", _clean_text(t("Mã tỉnh"), claims.province, max_len=2))
    if not re.fullmatch(r"[0-9]{2}", claims.province):
        raise ValueError(t("Mã tỉnh phải gồm 2 chữ số."))
    put("commune", _clean_text(t("Mã xã"), claims.commune, max_len=5))
    if not re.fullmatch(r"[0-9]{5}", claims.commune):
        raise ValueError(t("Mã xã phải gồm 5 chữ số."))
    put("procedure_code", _procedure_claim(claims.procedure_code))
    put("applicant_name", _clean_text(t("Họ tên người nộp"), claims.applicant_name, max_len=120))
    put(
        "official",
        _clean_text(t("Cán bộ tiếp nhận"), claims.official, max_len=80, allow_empty=True),
    )
    received = _to_local_naive(t("Thời điểm tiếp nhận"), claims.received_at).replace(microsecond=0)
    _check_epoch(t("Thời điểm tiếp nhận"), _epoch_seconds(received))
    put("received_at", received)
    if claims.due_at is not None:
        due = _to_local_naive(t("Ngày hẹn trả"), claims.due_at).replace(second=0, microsecond=0)
        _check_epoch(t("Ngày hẹn trả"), _epoch_seconds(due))
        # On the wire the appointment is minutes after the received minute (a CBOR uint).
        if due < received.replace(second=0):
            raise ValueError(t("Ngày hẹn trả: không được trước thời điểm tiếp nhận."))
        put("due_at", due)
    _require_int(t("Lệ phí"), claims.fee_vnd, maximum=10**12)
    _require_int(t("Số thứ tự sự kiện của quầy"), claims.desk, maximum=2**32 - 1)


@dataclass(frozen=True, slots=True)
class RawClaims:
    """The claims exactly as signed: the dossier code without its unit electronic ID.

    What ``from_cbor`` gives without any trust list. ``with_unit(entry.unit_eid)`` turns it into
    ``ReceiptClaims`` once the signing key's trust-list entry is known. Validated and normalised
    on construction like ``ReceiptClaims``.
    """

    province: str
    commune: str
    code_day: date
    desk_no: int
    counter: int
    procedure_code: str
    applicant_name: str
    received_at: datetime
    due_at: datetime | None
    fee_vnd: int
    desk: int
    official: str = ""
    version: int = CLAIMS_VERSION
    #: Only for desk 00 (no number yet): the desk's 6-digit tag, part of the dossier code.
    tag: int | None = None

    def __post_init__(self) -> None:
        _normalise_common(self)
        if not isinstance(self.code_day, date) or isinstance(self.code_day, datetime):
            raise ValueError(t("Ngày trong mã hồ sơ: phải là một ngày (date)."))
        if not 2000 <= self.code_day.year <= 2099:
            raise ValueError(t("Ngày trong mã hồ sơ: ngoài khoảng năm 2000-2099."))
        _require_int(t("Số hiệu quầy"), self.desk_no, minimum=0, maximum=_DESK_NO_RANGE[1])
        if self.desk_no == 0:
            # A desk with no number yet: its codes are 00{tag:06}{counter:04} (domain/codes.py).
            _require_int(t("Mã tạm của quầy"), self.tag, maximum=_TAG_MAX)
            _require_int(t("Số thứ tự hồ sơ trong ngày"), self.counter, minimum=1, maximum=9_999)
        elif self.tag is not None:
            raise ValueError(t("Mã tạm chỉ dùng cho quầy chưa có số hiệu."))
        else:
            _require_int(
                t("Số thứ tự hồ sơ trong ngày"), self.counter, minimum=1, maximum=_COUNTER_MAX
            )

    @property
    def code_tail(self) -> str:
        """The dossier code after the unit e-ID, ``YYMMDD-DDNNNN`` (e.g. ``261124-010001``)."""
        return self.dossier_code("X")[2:]

    def dossier_code(self, unit_eid: str) -> str:
        """The full dossier code under ``unit_eid`` (the signing key's unit)."""
        return make_dossier_code(unit_eid, self.code_day, self.desk_no, self.counter, tag=self.tag)

    def with_unit(self, unit_eid: str) -> ReceiptClaims:
        """``ReceiptClaims`` with the full dossier code; ``ValueError`` for a bad unit e-ID."""
        return ReceiptClaims(
            province=self.province,
            commune=self.commune,
            dossier_code=self.dossier_code(unit_eid),
            procedure_code=self.procedure_code,
            applicant_name=self.applicant_name,
            received_at=self.received_at,
            due_at=self.due_at,
            fee_vnd=self.fee_vnd,
            desk=self.desk,
            official=self.official,
            version=self.version,
        )

    # -- wire form ---------------------------------------------------------------------------

    def _wire_counter(self) -> int:
        """The code's counter on the wire; for desk 00 the tag rides in front of it (tag × 10⁴ +
        counter, at most 10¹⁰, so a browser's JavaScript number still holds it exactly)."""
        return self.counter if self.tag is None else self.tag * 10_000 + self.counter

    def to_map(self) -> dict[int, object]:
        """The CBOR map with integer keys 1..11 (see the module docstring)."""
        received = _epoch_seconds(self.received_at)
        due = None if self.due_at is None else _epoch_seconds(self.due_at) // 60 - received // 60
        return {
            1: self.version,
            2: int(self.province),
            3: int(self.commune),
            4: [int(f"{self.code_day:%y%m%d}"), self.desk_no, self._wire_counter()],
            5: self.procedure_code,
            6: self.applicant_name,
            7: received,
            8: due,
            9: self.fee_vnd,
            10: self.desk,
            11: self.official,
        }

    def to_cbor(self) -> bytes:
        """Canonical (deterministic) CBOR: one set of claims, one byte string."""
        return encode_canonical(self.to_map())

    @classmethod
    def from_cbor(cls, data: bytes) -> RawClaims:
        """Decode claims, strictly. Any deviation is a ``MalformedError``.

        Unknown or missing keys, wrong types (a float, a bool or a bignum where an integer
        belongs), out-of-range values and non-canonical encodings are all refused: a verifier
        shows these fields to a citizen as proven, so there is no lenient mode.
        """
        value = decode_cbor_strict(data, max_depth=3)
        if not isinstance(value, dict):
            raise MalformedError(t("Nội dung biên nhận không phải là bảng CBOR."))
        if set(value) != set(range(1, 12)):
            raise MalformedError(t("Nội dung biên nhận thiếu hoặc thừa trường."))
        if value[1] != CLAIMS_VERSION or isinstance(value[1], bool):
            raise MalformedError(
                t("Phiên bản biên nhận {version} không được hỗ trợ.", version=repr(value[1]))
            )
        try:
            province = _require_int(t("Mã tỉnh"), value[2], maximum=99)
            commune = _require_int(t("Mã xã"), value[3], maximum=99_999)
            code = value[4]
            if not isinstance(code, list | tuple) or len(code) != 3:
                raise ValueError(t("Mã hồ sơ phải là mảng [YYMMDD, quầy, số thứ tự]."))
            ymd = _require_int(t("Ngày trong mã hồ sơ"), code[0], maximum=991_231)
            code_day = date(2000 + ymd // 10_000, ymd // 100 % 100, ymd % 100)
            received = _require_int(t("Thời điểm tiếp nhận"), value[7])
            _check_epoch(t("Thời điểm tiếp nhận"), received)
            due: datetime | None = None
            if value[8] is not None:
                offset = _require_int(t("Ngày hẹn trả"), value[8], maximum=2**32 - 1)
                due_seconds = (received // 60 + offset) * 60
                _check_epoch(t("Ngày hẹn trả"), due_seconds)
                due = _from_epoch_seconds(due_seconds)
            for key in (5, 6, 11):
                if not isinstance(value[key], str):
                    raise ValueError(t("Trường {key} phải là chuỗi ký tự.", key=key))
            claims = cls(
                province=f"{province:02d}",
                commune=f"{commune:05d}",
                code_day=code_day,
                desk_no=code[1],
                counter=code[2] % 10_000 if code[1] == 0 else code[2],
                tag=code[2] // 10_000 if code[1] == 0 else None,
                procedure_code=value[5],
                applicant_name=value[6],
                received_at=_from_epoch_seconds(received),
                due_at=due,
                fee_vnd=value[9],
                desk=value[10],
                official=value[11],
            )
        except MalformedError:
            raise
        except ValueError as exc:
            raise MalformedError(t("Nội dung biên nhận không hợp lệ: {error}", error=exc)) from exc
        if claims.to_cbor() != bytes(data):
            raise MalformedError(
                t("Nội dung biên nhận không ở dạng mã hóa chuẩn (canonical CBOR).")
            )
        return claims


@dataclass(frozen=True, slots=True)
class ReceiptClaims:
    """What a receipt QR asserts, with the full dossier code. Validated on construction.

    Strings are NFC and stripped; the dossier code is canonical (``parse_dossier_code``), the
    procedure code is cut to its national part (``1.001193``; local codes stay as they are),
    ``received_at`` is truncated to the second and ``due_at`` to the minute (their wire
    precision), so ``from_cbor(c.to_cbor(), unit_eid=c.unit_eid) == c`` always holds. Aware
    datetimes are converted to Vietnam local time. Invalid values raise ``ValueError``.
    """

    province: str
    commune: str
    dossier_code: str
    procedure_code: str
    applicant_name: str
    received_at: datetime
    due_at: datetime | None
    fee_vnd: int
    desk: int
    official: str = ""
    version: int = CLAIMS_VERSION

    def __post_init__(self) -> None:
        _normalise_common(self)
        code = _clean_text(t("Mã hồ sơ"), self.dossier_code, max_len=64)
        # Only codes of the national scheme fit the receipt (the unit e-ID goes to the trust
        # list, the rest is numeric); parse_dossier_code's message says what is wrong.
        object.__setattr__(self, "dossier_code", str(parse_dossier_code(code)))

    @property
    def unit_eid(self) -> str:
        """The unit electronic ID that prefixes the dossier code."""
        return parse_dossier_code(self.dossier_code).unit_eid

    def to_raw(self) -> RawClaims:
        """The signed form: the dossier code split into its parts, without the unit e-ID."""
        parts = parse_dossier_code(self.dossier_code)
        return RawClaims(
            province=self.province,
            commune=self.commune,
            code_day=parts.day,
            desk_no=parts.desk_no,
            counter=parts.counter,
            tag=parts.tag,
            procedure_code=self.procedure_code,
            applicant_name=self.applicant_name,
            received_at=self.received_at,
            due_at=self.due_at,
            fee_vnd=self.fee_vnd,
            desk=self.desk,
            official=self.official,
            version=self.version,
        )

    # -- wire form ---------------------------------------------------------------------------

    def to_map(self) -> dict[int, object]:
        """The CBOR map with integer keys 1..11 (see the module docstring)."""
        return self.to_raw().to_map()

    def to_cbor(self) -> bytes:
        """Canonical (deterministic) CBOR: one set of claims, one byte string."""
        return self.to_raw().to_cbor()

    @classmethod
    def from_cbor(cls, data: bytes, unit_eid: str) -> ReceiptClaims:
        """Decode claims strictly (``MalformedError``) and rebuild the dossier code under
        ``unit_eid``, the unit of the key that signed them (``TrustEntry.unit_eid``)."""
        return RawClaims.from_cbor(data).with_unit(unit_eid)


# --------------------------------------------------------------------------------------------
# QR text
# --------------------------------------------------------------------------------------------


def digits_from_bytes(data: bytes) -> str:
    """Write bytes as "r1 digits" (7 bytes -> 17 digits; see the module docstring)."""
    out: list[str] = []
    for start in range(0, len(data), _GROUP):
        chunk = data[start : start + _GROUP]
        width = _FULL_WIDTH if len(chunk) == _GROUP else _PARTIAL_WIDTH[len(chunk)]
        out.append(str(int.from_bytes(chunk, "big")).zfill(width))
    return "".join(out)


def bytes_from_digits(digits: str) -> bytes:
    """Inverse of ``digits_from_bytes``; refuses every digit string it could not have made."""
    if not digits or not digits.isascii() or not digits.isdigit():
        raise MalformedError(t("Phần mã số của QR phải là các chữ số 0-9."))
    if len(digits) > _MAX_DIGITS:
        raise MalformedError(t("Mã QR dài bất thường."))
    full, rest = divmod(len(digits), _FULL_WIDTH)
    if rest not in _BYTES_FOR_WIDTH:
        raise MalformedError(t("Độ dài phần mã số không hợp lệ (mã bị cắt hoặc thừa chữ số)."))
    out = bytearray()
    widths = [(_FULL_WIDTH, _GROUP)] * full
    if rest:
        widths.append((rest, _BYTES_FOR_WIDTH[rest]))
    pos = 0
    for width, nbytes in widths:
        value = int(digits[pos : pos + width])
        pos += width
        if value >= 1 << (8 * nbytes):
            raise MalformedError(t("Phần mã số chứa nhóm chữ số vượt giới hạn."))
        out += value.to_bytes(nbytes, "big")
    return bytes(out)


def validate_host(host: str) -> str:
    """A bare lowercase host name (optionally ``:port``) for the receipt URL, or ``ValueError``."""
    if not isinstance(host, str):
        raise ValueError(t("Tên máy chủ phải là chuỗi ký tự."))
    value = host.strip().lower()
    if not _HOST_RE.fullmatch(value):
        raise ValueError(t("Tên máy chủ {host} không hợp lệ cho mã QR.", host=repr(host)))
    return value


def receipt_url(host: str, cose_bytes: bytes) -> str:
    """``https://<host>/r1#<digits>``: the text of the receipt QR.

    ``host`` is a bare lowercase host name (optionally with a port), e.g. ``"qr.thanhhoa.gov.vn"``;
    every character of it costs a byte of QR capacity, so keep it short.
    """
    host = validate_host(host)
    if not cose_bytes or len(cose_bytes) > MAX_RECEIPT_BYTES:
        raise ValueError(t("Dữ liệu ký của biên nhận rỗng hoặc quá lớn."))
    return f"https://{host}{RECEIPT_PATH}#{digits_from_bytes(cose_bytes)}"


def parse_receipt_url(text: str) -> bytes:
    """Get the COSE bytes back from a scanned or typed receipt text.

    Accepted: the full URL (any host, http or https, any letter case, since some scanners
    upper-case), ``<host>/r1#<digits>``, ``/r1#<digits>``, ``#<digits>`` or the bare digits.
    All whitespace is ignored, so digits typed in groups or split over lines work. The host is
    not checked: it is not signed, and trust comes from the signature, not from where the link
    points. Anything else raises ``MalformedError``.
    """
    if not isinstance(text, str):
        raise MalformedError(t("Mã QR phải là văn bản."))
    if len(text) > 4 * _MAX_DIGITS:
        raise MalformedError(t("Mã QR dài bất thường."))
    compact = "".join(text.split())
    if not compact:
        raise MalformedError(t("Mã QR rỗng."))
    if "#" in compact:
        prefix, _, digits = compact.partition("#")
        if prefix and not _URL_PREFIX_RE.fullmatch(prefix):
            raise MalformedError(t("Đây không phải đường dẫn biên nhận (cần dạng https://…/r1#…)."))
    else:
        digits = compact
    return bytes_from_digits(digits)
