"""Checking the PAdES signatures of a PDF offline: who signed, when, intact, trusted.

Verdicts and exit codes follow ``onestop verify`` (crypto/verify.py): 0 valid, 3 the document
was changed after signing (or a signature is broken), 4 the certificate does not chain to a
trusted root (unknown issuer) or has expired, 5 the certificate is revoked, 6 no signature at
all or not a PDF. A document's verdict is the worst of its signatures' (3 > 5 > 4 > 6 > 0).

Trust anchors: the province CA certificate for the demo and tests; in production the national
CA roots the province configures (a folder of certificates, see services/signing.py). CRLs the
province hands out are used offline; nothing is fetched from the network (an offline desk must
give the same answer as a connected one).

"Changed after signing" covers both ways a PDF can be altered: bytes inside the signed range
(one flipped byte: the digest no longer matches, ``intact`` is false) and a later revision
appended after the signature that changes content (pyHanko's difference analysis: anything
beyond filling in a later signature field or adding validation data). A later revision that
only adds another signature (the agency's after the official's) is not a change.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from onestop.crypto.certs import official_name
from onestop.crypto.pdfsign import asn1_cert, page_index, pyhanko
from onestop.domain.clock import VN_TZ

__all__ = [
    "PDF_EXIT_CODES",
    "PdfReport",
    "PdfVerdict",
    "SignatureReport",
    "verify_pdf",
]


class PdfVerdict(StrEnum):
    VALID = "valid"
    ALTERED = "altered"
    UNTRUSTED = "untrusted"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNSIGNED = "unsigned"

    @property
    def exit_code(self) -> int:
        return PDF_EXIT_CODES[self]

    @property
    def label(self) -> str:
        return PDF_LABELS[self]


PDF_EXIT_CODES: Final = MappingProxyType(
    {
        PdfVerdict.VALID: 0,
        PdfVerdict.ALTERED: 3,
        PdfVerdict.UNTRUSTED: 4,
        PdfVerdict.EXPIRED: 4,
        PdfVerdict.REVOKED: 5,
        PdfVerdict.UNSIGNED: 6,
    }
)

PDF_LABELS: Final = MappingProxyType(
    {
        PdfVerdict.VALID: "Chữ ký số hợp lệ, văn bản còn nguyên vẹn",
        PdfVerdict.ALTERED: "Văn bản đã bị sửa sau khi ký — chữ ký không còn giá trị",
        PdfVerdict.UNTRUSTED: "Chứng thư số không do tổ chức tin cậy cấp",
        PdfVerdict.EXPIRED: "Chứng thư số đã hết hạn",
        PdfVerdict.REVOKED: "Chứng thư số đã bị thu hồi",
        PdfVerdict.UNSIGNED: "Văn bản không có chữ ký số",
    }
)

# Worst first: what a document with several signatures reports.
_SEVERITY: Final = (
    PdfVerdict.ALTERED,
    PdfVerdict.REVOKED,
    PdfVerdict.EXPIRED,
    PdfVerdict.UNTRUSTED,
    PdfVerdict.UNSIGNED,
    PdfVerdict.VALID,
)


@dataclass(frozen=True, slots=True)
class SignatureReport:
    field: str
    signer: str
    title: str
    agency: str
    signed_at: datetime | None
    intact: bool
    trusted: bool
    verdict: PdfVerdict
    detail: str
    whole_document: bool
    box: tuple[float, float, float, float] | None = None
    page: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "signer": self.signer,
            "title": self.title,
            "agency": self.agency,
            "signed_at": None
            if self.signed_at is None
            else self.signed_at.astimezone(VN_TZ).isoformat(timespec="seconds"),
            "intact": self.intact,
            "trusted": self.trusted,
            "whole_document": self.whole_document,
            "verdict": self.verdict.value,
            "label": self.verdict.label,
            "detail": self.detail,
            "page": self.page,
            "box": list(self.box) if self.box else None,
        }


@dataclass(frozen=True, slots=True)
class PdfReport:
    verdict: PdfVerdict
    detail: str
    signatures: tuple[SignatureReport, ...] = field(default_factory=tuple)
    empty_fields: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "label": self.verdict.label,
            "exit_code": self.exit_code,
            "detail": self.detail,
            "signatures": [s.to_json() for s in self.signatures],
            "unsigned_fields": list(self.empty_fields),
        }


def _worst(verdicts: Sequence[PdfVerdict]) -> PdfVerdict:
    return next(v for v in _SEVERITY if v in verdicts)


def _context(
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    mode: str = "soft-fail",
) -> Any:
    ph = pyhanko()
    return ph["cv_context"].ValidationContext(
        trust_roots=[asn1_cert(c) for c in roots],
        crls=[c.public_bytes(serialization.Encoding.DER) for c in crls],
        allow_fetching=False,
        revocation_mode=mode,
    )


def _revoked(sig: Any, roots: Sequence[x509.Certificate], crls: Sequence[Any]) -> bool:
    """Whether the CRLs we hold list the signer's certificate.

    pyHanko only consults CRLs in "require" mode (measured: "soft-fail" and "hard-fail" passed a
    listed serial), and "require" fails every certificate we hold no CRL for, which offline B-B
    signatures of the national CAs would be. So: validate leniently first, then ask "require"
    only whether the certificate is revoked.
    """
    if not crls:
        return False
    ph = pyhanko()
    try:
        status = ph["validation"].validate_pdf_signature(
            sig, signer_validation_context=_context(roots, crls, "require")
        )
    except Exception:
        return False
    return bool(status.revoked)


def verify_pdf(
    data: bytes,
    trust_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList] = (),
) -> PdfReport:
    """Check every signature of a PDF; never raises on bad input (the verdict says it)."""
    ph = pyhanko()
    if not isinstance(data, bytes) or b"%PDF-" not in data[:1024]:
        return PdfReport(PdfVerdict.UNSIGNED, "Tệp không phải PDF.")
    try:
        reader = ph["reader"].PdfFileReader(io.BytesIO(data), strict=False)
        embedded = list(reader.embedded_signatures)
        empty = tuple(
            str(name)
            for name, value, _ref in ph["fields"].enumerate_sig_fields(reader)
            if value is None
        )
    except Exception:
        if b"/ByteRange" in data:
            return PdfReport(
                PdfVerdict.ALTERED,
                "Tệp PDF có chữ ký nhưng đã bị hỏng hoặc bị sửa nên không đọc được.",
            )
        return PdfReport(PdfVerdict.UNSIGNED, "Tệp PDF bị hỏng, không đọc được.")
    if not embedded:
        detail = (
            f"Văn bản chưa ký số (còn ô chữ ký trống: {', '.join(empty)})."
            if empty
            else "Văn bản không có chữ ký số."
        )
        return PdfReport(PdfVerdict.UNSIGNED, detail, (), empty)
    reports = [_check_one(sig, roots=trust_roots, crls=crls) for sig in embedded]
    verdict = _worst([r.verdict for r in reports])
    detail = next((r.detail for r in reports if r.verdict is verdict), "")
    if verdict is PdfVerdict.VALID and empty:
        detail = f"Các chữ ký hợp lệ; còn ô chữ ký chưa ký: {', '.join(empty)}."
    return PdfReport(verdict, detail, tuple(reports), empty)


def _widget_box(sig: Any) -> tuple[tuple[float, float, float, float] | None, int | None]:
    try:
        field_obj = sig.sig_field
        kids = field_obj.get("/Kids")
        widget = kids[0].get_object() if kids else field_obj
        rect = widget.get("/Rect")
        page = page_index(sig.reader, widget)
        if rect is None or len(rect) != 4:
            return None, page
        x1, y1, x2, y2 = (float(v) for v in rect)
        return (x1, y1, x2, y2), page
    except Exception:
        return None, None


def _check_one(
    sig: Any,
    *,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
) -> SignatureReport:
    ph = pyhanko()
    name = str(sig.field_name)
    box, page = _widget_box(sig)
    signer = title = agency = ""
    try:
        cert = x509.load_der_x509_certificate(sig.signer_cert.dump())
        who = official_name(cert)
        signer, title, agency = who.name, who.title, who.agency
    except Exception:
        cert = None
    try:
        status = ph["validation"].validate_pdf_signature(
            sig, signer_validation_context=_context(roots, crls)
        )
    except Exception as exc:
        return SignatureReport(
            name,
            signer,
            title,
            agency,
            None,
            intact=False,
            trusted=False,
            verdict=PdfVerdict.ALTERED,
            detail=f"Chữ ký «{name}» bị hỏng, không kiểm tra được ({type(exc).__name__}).",
            whole_document=False,
            box=box,
            page=page,
        )
    signed_at = status.signer_reported_dt
    level = ph["validation"].status.SignatureCoverageLevel
    whole = status.coverage == level.ENTIRE_FILE
    modified = _changed_after(status, ph)
    indic = str(getattr(status.trust_problem_indic, "name", "") or "")
    if not status.intact or not status.valid:
        verdict = PdfVerdict.ALTERED
        detail = (
            f"Nội dung văn bản đã bị thay đổi sau khi «{signer}» ký (dù chỉ một byte): "
            "chữ ký không còn khớp."
        )
    elif modified:
        verdict = PdfVerdict.ALTERED
        detail = (
            f"Sau chữ ký của «{signer}», văn bản đã bị thêm một phiên bản sửa nội dung: "
            "không dùng được bản này."
        )
    elif status.revoked or "REVOKED" in indic or _revoked(sig, roots, crls):
        verdict = PdfVerdict.REVOKED
        detail = f"Chứng thư số của «{signer}» đã bị thu hồi."
    elif "EXPIRED" in indic or (cert is not None and _expired(cert)):
        verdict = PdfVerdict.EXPIRED
        detail = (
            f"Chứng thư số của «{signer}» đã hết hạn"
            + (
                f" ngày {cert.not_valid_after_utc.astimezone(VN_TZ):%d/%m/%Y}"
                if cert is not None
                else ""
            )
            + "; chữ ký không có dấu thời gian chứng minh văn bản được ký trước ngày đó, "
            "nên không được công nhận."
        )
    elif not status.trusted:
        verdict = PdfVerdict.UNTRUSTED
        detail = (
            f"Chứng thư số của «{signer}» không do tổ chức tin cậy cấp (không có trong danh "
            "sách CA gốc đã cấu hình): không xác nhận được người ký."
        )
    else:
        verdict = PdfVerdict.VALID
        when = f" lúc {signed_at.astimezone(VN_TZ):%H:%M %d/%m/%Y}" if signed_at else ""
        detail = f"«{signer}» đã ký{when}; văn bản còn nguyên vẹn."
    return SignatureReport(
        name,
        signer,
        title,
        agency,
        signed_at,
        intact=bool(status.intact and status.valid),
        trusted=bool(status.trusted),
        verdict=verdict,
        detail=detail,
        whole_document=whole,
        box=box,
        page=page,
    )


def _expired(cert: x509.Certificate) -> bool:
    return cert.not_valid_after_utc < datetime.now(VN_TZ)


def _changed_after(status: Any, ph: dict[str, Any]) -> bool:
    """A later revision that does more than sign another field or add validation data."""
    level_enum = ph["validation"].status.SignatureCoverageLevel
    if status.coverage == level_enum.ENTIRE_FILE:
        return False
    from pyhanko.sign.diff_analysis import ModificationLevel

    level = status.modification_level
    if level is None:
        return True
    return bool(level > ModificationLevel.FORM_FILLING)
