"""Signing and verifying receipt QR codes: the entry points for the CLI, the desk and the server.

``verify_receipt`` follows QR-AND-SYNC.md ("Verify"): decode the text -> parse the COSE_Sign1
-> look up the kid in the trust list -> check the signature -> decode the claims -> check the
key's validity window, commune and revocation at the receipt's signed "received" time.

It never raises, whatever it is given (a scanner returns arbitrary text; a photo can contain
any QR): every failure becomes a ``Verdict`` with a Vietnamese ``detail``. Order matters:

* the signature is checked before the claims are trusted, so a tampered receipt is
  ``BAD_SIGNATURE`` (or ``MALFORMED`` if the change broke the structure; either is a failure);
* ``raw`` (the claims as signed, ``RawClaims``) is filled in for ``VALID``, ``UNKNOWN_KEY`` and
  ``REVOKED_KEY`` so a clerk can see what the paper claims next to the warning. ``claims``
  (``ReceiptClaims``, with the full dossier code) needs the unit e-ID of the signing key's
  trust-list entry, so it is there only when an entry verified the signature: ``VALID``,
  ``REVOKED_KEY``, and ``UNKNOWN_KEY`` for a key listed for another commune. An unknown kid
  gives ``raw`` only (the code shows as ``…-261124-010001``). Both are None for
  ``BAD_SIGNATURE`` (we do not display content we know was altered) and ``MALFORMED``. Only
  ``VALID`` claims are proven.
* a key is trusted for its own commune only: a receipt signed by commune A's desk key that
  claims commune B is ``UNKNOWN_KEY`` ("this key is not on the list for that commune"), as is a
  receipt for another province;
* a receipt signed *before* its key was revoked stays ``VALID``, and its detail adds "key
  since revoked at …" so whoever checks it knows (see ``onestop.crypto.trust`` for why old
  receipts of a retired desk stay valid, and ``strict_revocation`` to refuse them);
* a key that was revoked at or before the signed "received" time, or whose validity window
  [valid_from, valid_to) does not contain that time, gives ``REVOKED_KEY`` (the detail says
  which); there is no separate "expired" verdict because, for the citizen, both mean "this key
  could not sign a receipt at that moment".

Verdicts, exit codes (for ``onestop verify``; 0 only for VALID, distinct non-zero codes so a
script can tell a forgery from an outdated trust list) and labels are fixed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from onestop.crypto.cose import Sign1, parse_sign1, sign1, verify_sign1
from onestop.crypto.signer import InvalidPublicKeyError, Signer, public_key_from_bytes
from onestop.crypto.trust import STATUS_ACTIVE, TrustEntry, TrustList
from onestop.domain.cbor import MalformedError
from onestop.domain.clock import VN_TZ
from onestop.domain.codes import parse_dossier_code
from onestop.domain.receipt import (
    MAX_RECEIPT_BYTES,
    RawClaims,
    ReceiptClaims,
    parse_receipt_url,
    receipt_url,
)

__all__ = [
    "EXIT_CODES",
    "LABELS",
    "ReceiptIssueError",
    "Verdict",
    "VerifyResult",
    "check_issuable",
    "make_receipt_qr_text",
    "sign_receipt",
    "verify_receipt",
]


class Verdict(StrEnum):
    VALID = "valid"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    REVOKED_KEY = "revoked_key"
    MALFORMED = "malformed"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self]

    @property
    def label(self) -> str:
        return LABELS[self]


EXIT_CODES: Final[Mapping[Verdict, int]] = MappingProxyType(
    {
        Verdict.VALID: 0,
        Verdict.BAD_SIGNATURE: 3,
        Verdict.UNKNOWN_KEY: 4,
        Verdict.REVOKED_KEY: 5,
        Verdict.MALFORMED: 6,
    }
)

LABELS: Final[Mapping[Verdict, str]] = MappingProxyType(
    {
        Verdict.VALID: "Hợp lệ",
        Verdict.BAD_SIGNATURE: "Chữ ký sai — nội dung đã bị sửa",
        Verdict.UNKNOWN_KEY: "Khóa không có trong danh sách tin cậy",
        Verdict.REVOKED_KEY: "Khóa đã bị thu hồi",
        Verdict.MALFORMED: "Mã QR không đúng định dạng",
    }
)


class ReceiptIssueError(ValueError):
    """A receipt this key must not sign (Vietnamese message); nothing was signed."""


@dataclass(frozen=True, slots=True)
class VerifyResult:
    verdict: Verdict
    claims: ReceiptClaims | None
    kid: bytes | None
    detail: str
    #: The trust-list entry that verified the signature (desk label, commune), if any.
    entry: TrustEntry | None = None
    #: The claims as signed (no unit e-ID), also for a key that is not on the list.
    raw: RawClaims | None = None

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.VALID

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    @property
    def label(self) -> str:
        return LABELS[self.verdict]


def check_issuable(signer: Signer, claims: ReceiptClaims, entry: TrustEntry) -> None:
    """Refuse (``ReceiptIssueError``) a receipt that ``entry`` could never vouch for.

    ``entry`` is the signer's own trust-list entry. The QR does not carry the unit e-ID: a
    verifier rebuilds the dossier code from the entry's unit, so a code of another unit would
    verify as a *different* code. Refused too: a key that is not the entry's, a revoked entry,
    a commune the entry is not for (the verifier would answer "unknown key") and a received
    time outside the entry's validity window (the verifier would answer "revoked key").
    """
    if (
        entry.kid != signer.kid
        or entry.alg != signer.alg
        or entry.public_key != signer.public_key_bytes()
    ):
        raise ReceiptIssueError(
            f"Khóa ký {signer.kid.hex()} không phải khóa của mục {entry.kid.hex()} "
            "trong danh sách tin cậy."
        )
    if entry.status != STATUS_ACTIVE:
        raise ReceiptIssueError(f"Khóa {entry.kid.hex()} đã bị thu hồi, không được ký biên nhận.")
    unit = parse_dossier_code(claims.dossier_code).unit_eid
    if unit != entry.unit_eid:
        raise ReceiptIssueError(
            f"Mã hồ sơ {claims.dossier_code} không thuộc đơn vị {entry.unit_eid} của khóa "
            f"{entry.kid.hex()}; không ký được biên nhận này."
        )
    if claims.commune != entry.commune:
        raise ReceiptIssueError(
            f"Khóa {entry.kid.hex()} được cấp cho xã {entry.commune}, không ký được biên nhận "
            f"của xã {claims.commune}."
        )
    received = int(claims.received_at.replace(tzinfo=VN_TZ).timestamp())
    if received < entry.valid_from or (entry.valid_to is not None and received >= entry.valid_to):
        raise ReceiptIssueError(
            f"Thời điểm tiếp nhận {_fmt(received)} nằm ngoài thời hạn hiệu lực của khóa "
            f"{entry.kid.hex()}: mã QR sẽ không kiểm tra được."
        )


def sign_receipt(signer: Signer, claims: ReceiptClaims, entry: TrustEntry) -> bytes:
    """COSE_Sign1 bytes of the receipt (no content type: every byte counts in the QR).

    ``entry`` is the signer's trust-list entry; see ``check_issuable`` for what is refused.
    """
    check_issuable(signer, claims, entry)
    return sign1(signer, claims.to_cbor())


def make_receipt_qr_text(
    host: str, signer: Signer, claims: ReceiptClaims, entry: TrustEntry
) -> str:
    """The full QR text ``https://<host>/r1#<digits>`` for a receipt.

    Render it with ``onestop.forms.qr`` (byte + numeric segments); check ``qr_version``
    stays <= 11 if the slip prints the code at 25 mm.
    """
    return receipt_url(host, sign_receipt(signer, claims, entry))


def _fmt(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, VN_TZ).strftime("%H:%M %d/%m/%Y")


def _malformed(detail: str, kid: bytes | None = None) -> VerifyResult:
    return VerifyResult(Verdict.MALFORMED, None, kid, detail)


def _raw_or_none(payload: bytes) -> RawClaims | None:
    try:
        return RawClaims.from_cbor(payload)
    except MalformedError:
        return None


def _signature_entries(msg: Sign1, trust: TrustList) -> list[TrustEntry]:
    """Entries with the message's kid whose key verifies the signature (normally 0 or 1)."""
    good: list[TrustEntry] = []
    for entry in trust.entries_for(msg.kid):
        if entry.alg != msg.alg:
            continue
        try:
            key = public_key_from_bytes(entry.alg, entry.public_key)
        except InvalidPublicKeyError:
            continue
        if verify_sign1(msg, key):
            good.append(entry)
    return good


def _verify(data: str | bytes, trust: TrustList, strict_revocation: bool) -> VerifyResult:
    if isinstance(data, str):
        cose = parse_receipt_url(data)
    elif isinstance(data, bytes | bytearray | memoryview):
        cose = bytes(data)
    else:
        return _malformed("Dữ liệu cần kiểm tra phải là văn bản QR hoặc chuỗi byte.")

    msg = parse_sign1(cose, max_size=MAX_RECEIPT_BYTES)
    if msg.content_type is not None:
        # e.g. a signed trust list presented as a receipt
        return _malformed("Thông điệp ký này không phải biên nhận.", msg.kid)

    known = trust.entries_for(msg.kid)
    if not known:
        return VerifyResult(
            Verdict.UNKNOWN_KEY,
            None,
            msg.kid,
            f"Mã khóa {msg.kid.hex()} không có trong danh sách tin cậy phiên bản "
            f"{trust.version}; hãy cập nhật danh sách tin cậy của tỉnh.",
            raw=_raw_or_none(msg.payload),
        )

    verified = _signature_entries(msg, trust)
    if not verified:
        return VerifyResult(
            Verdict.BAD_SIGNATURE,
            None,
            msg.kid,
            "Chữ ký không khớp với nội dung: biên nhận đã bị sửa hoặc bị giả mạo.",
        )

    try:
        raw = RawClaims.from_cbor(msg.payload)
    except MalformedError as exc:
        return _malformed(f"Chữ ký đúng nhưng nội dung không đọc được: {exc}", msg.kid)

    signed_at = int(raw.received_at.replace(tzinfo=VN_TZ).timestamp())
    # ``raw.with_unit(entry.unit_eid)`` below completes the dossier code with the unit of the
    # entry that verified the signature; both sides are validated, so it cannot fail.
    in_scope = [e for e in verified if e.commune == raw.commune and trust.province == raw.province]
    if not in_scope:
        entry = verified[0]
        return VerifyResult(
            Verdict.UNKNOWN_KEY,
            raw.with_unit(entry.unit_eid),
            msg.kid,
            f"Khóa của {entry.desk_label} (xã {entry.commune}) không được cấp để ký biên nhận "
            f"của xã {raw.commune}, tỉnh {raw.province}.",
            entry,
            raw,
        )

    reasons: list[tuple[TrustEntry, str]] = []
    for entry in in_scope:
        revoked = trust.revocation_time(entry)
        if revoked is not None and (strict_revocation or signed_at >= revoked):
            reasons.append((entry, f"Khóa của {entry.desk_label} bị thu hồi từ {_fmt(revoked)}."))
            continue
        if signed_at < entry.valid_from or (
            entry.valid_to is not None and signed_at >= entry.valid_to
        ):
            reasons.append(
                (
                    entry,
                    f"Thời điểm tiếp nhận {_fmt(signed_at)} nằm ngoài thời hạn hiệu lực "
                    f"của khóa {entry.desk_label}.",
                )
            )
            continue
        detail = (
            f"Ký bởi {entry.desk_label} (xã {entry.commune}); theo danh sách tin cậy phiên bản "
            f"{trust.version} ngày {_fmt(trust.issued_at)}."
        )
        if revoked is not None:
            # Signed before the revocation: still valid, but say so (a stolen key can back-date).
            detail += (
                f" Lưu ý: khóa này đã bị thu hồi từ {_fmt(revoked)}, sau thời điểm tiếp nhận "
                "ghi trên biên nhận."
            )
        return VerifyResult(
            Verdict.VALID,
            raw.with_unit(entry.unit_eid),
            msg.kid,
            detail,
            entry,
            raw,
        )
    entry, reason = reasons[0]
    return VerifyResult(
        Verdict.REVOKED_KEY, raw.with_unit(entry.unit_eid), msg.kid, reason, entry, raw
    )


def verify_receipt(
    qr_text_or_cose: str | bytes, trust: TrustList, *, strict_revocation: bool = False
) -> VerifyResult:
    """Verify a receipt QR text (or raw COSE bytes) against a trust list. Never raises.

    ``strict_revocation=True`` rejects every receipt of a revoked key, even one signed before
    the revocation time (see ``onestop.crypto.trust`` for the trade-off).
    """
    try:
        return _verify(qr_text_or_cose, trust, strict_revocation)
    except MalformedError as exc:
        return _malformed(str(exc))
    except Exception as exc:  # noqa: BLE001
        # Fail closed: hostile input must never crash a verifier nor be taken as valid. Every
        # known failure is handled above; this only guards against the unknown.
        return _malformed(f"Không kiểm tra được mã QR ({type(exc).__name__}).")
