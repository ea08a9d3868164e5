"""Signed receipts at the desk: the receipt QR and the signed slips.

A receipt is signed with the desk key under the province trust list (both kept by
services/keys.py): ``receipt_qr_text(desk, code, passphrase)`` / ``issue_receipt`` sign one.

The receipt host (``https://<host>/r1#...``) is, in this order: the desk setting
``receipt_host`` (an explicit local override), the host the province put in the trust list,
``DEFAULT_HOST``. Every character of the host costs QR capacity: with the realistic receipt
(210 B signed) version 11 at level M allows a host of up to 24 characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from onestop.crypto.signer import (
    ALG_NAMES,
    Signer,
)
from onestop.crypto.trust import (
    STATUS_ACTIVE,
    TrustEntry,
    TrustList,
)
from onestop.crypto.verify import ReceiptIssueError, make_receipt_qr_text
from onestop.domain.events import EventKind
from onestop.domain.lifecycle import DossierState, Status
from onestop.domain.receipt import ReceiptClaims
from onestop.forms.qr import qr_version
from onestop.forms.slips import (
    SlipDocument,
    SlipError,
    SlipKind,
    SlipSignature,
    pdf_only,
    render_slip_document,
)
from onestop.i18n import t
from onestop.services.desk import S_CONTACT_PHONE, S_HEAD_OF_UNIT, Desk
from onestop.services.keys import ReceiptError, receipt_host, trust_list, unlock_desk_key
from onestop.services.lockdown import check_signing

if TYPE_CHECKING:
    from onestop.services.signing import Secret, SlipSigning


def receipt_claims(desk: Desk, state: DossierState, official: str = "") -> ReceiptClaims:
    """The claims of ``state``'s receipt, exactly what its slip prints.

    ``official`` is the clerk named on the receipt (default: whoever recorded the intake).
    ``desk`` (claim 10) is the desk sequence number of the intake event.
    """
    ident = desk.identity
    if state.status == Status.REFUSED:
        raise ReceiptError(
            t("Hồ sơ {code} đã bị từ chối tiếp nhận nên không có biên nhận.", code=state.code)
        )
    if state.owner_desk != ident.desk_id:
        raise ReceiptError(
            t(
                "Hồ sơ {code} do quầy {owner} tiếp nhận; chỉ quầy đó ký được biên nhận.",
                code=state.code,
                owner=state.owner_desk,
            )
        )
    intake = [e for e in desk.history(state.code) if e.kind == EventKind.RECEIVE]
    if not intake or intake[0].desk_id != ident.desk_id:
        raise ReceiptError(
            t("Không tìm thấy sự kiện tiếp nhận của hồ sơ {code} tại quầy này.", code=state.code)
        )
    try:
        return ReceiptClaims(
            province=ident.province_code,
            commune=ident.commune_code,
            dossier_code=state.code,
            procedure_code=state.procedure_code,
            applicant_name=state.applicant_name,
            received_at=state.received_at,
            due_at=state.due_at,
            fee_vnd=state.fee_vnd,
            desk=intake[0].seq,
            official=official.strip() or intake[0].actor,
        )
    except ValueError as e:
        raise ReceiptError(
            t("Không lập được biên nhận của hồ sơ {code}: {e}", code=state.code, e=str(e))
        ) from e


@dataclass(frozen=True)
class IssuedReceipt:
    code: str
    qr_text: str
    qr_version: int
    claims: ReceiptClaims
    kid: bytes
    signature: SlipSignature  # what the slip prints in its footer and metadata


def _signing_entry(signer: Signer, tl: TrustList | None) -> TrustEntry:
    if tl is None:
        raise ReceiptError(
            t(
                "Quầy chưa có danh sách tin cậy của tỉnh: gửi tệp yêu cầu (onestop keys "
                "export-public) cho tỉnh rồi nhập danh sách tỉnh cấp (onestop keys import-trust)."
            )
        )
    found = [e for e in tl.entries_for(signer.kid) if e.public_key == signer.public_key_bytes()]
    found.sort(key=lambda e: e.status != STATUS_ACTIVE)
    if not found:
        raise ReceiptError(
            t(
                "Khóa quầy {kid} chưa có trong danh sách tin cậy phiên bản {v}: gửi tệp yêu cầu "
                "(onestop keys export-public) cho tỉnh rồi nhập danh sách mới.",
                kid=signer.kid.hex(),
                v=tl.version,
            )
        )
    return found[0]


def issue_receipt(desk: Desk, code: str, signer: Signer, *, official: str = "") -> IssuedReceipt:
    """Sign the receipt QR of dossier ``code`` with an unlocked desk key.

    ``official`` names the receiving official in the claims (default: whoever recorded the
    intake); the slip signature names the desk's current operator (``desk.actor``).

    Deterministic ECDSA (RFC 6979): reprinting a receipt gives the same QR. Refused
    (``ReceiptError``) when the key is not on the imported trust list, is revoked, or the
    receipt could not verify (another unit, commune, or a time outside the key's validity).
    """
    check_signing(desk)  # a revoked desk signs nothing (services/lockdown.py)
    state = desk.get(code)
    tl = trust_list(desk)
    entry = _signing_entry(signer, tl)
    claims = receipt_claims(desk, state, official)
    try:
        text = make_receipt_qr_text(receipt_host(desk, tl), signer, claims, entry)
    except (ReceiptIssueError, ValueError) as e:
        raise ReceiptError(str(e)) from e
    return IssuedReceipt(
        code=state.code,
        qr_text=text,
        qr_version=qr_version(text),
        claims=claims,
        kid=signer.kid,
        signature=slip_signature(desk, signer, desk.actor),
    )


def receipt_qr_text(desk: Desk, code: str, passphrase: str) -> str:
    """The signed receipt QR text of dossier ``code`` (unlocks the desk key for this call).

    For the TUI: show it with ``qr_terminal(text)`` (black on white), print the dossier code
    and the applicant's name next to it.
    """
    return issue_receipt(desk, code, unlock_desk_key(desk, passphrase)).qr_text


def slip_signature(desk: Desk, signer: Signer, official: str) -> SlipSignature:
    """Signature metadata for a slip signed now with ``signer`` on behalf of ``official``."""
    check_signing(desk)  # a revoked desk signs nothing (services/lockdown.py)
    return SlipSignature(
        signer_kid_hex=signer.kid.hex(),
        signer_name=official.strip() or desk.actor,
        signed_at=desk.clock(),
        algorithm=ALG_NAMES.get(signer.alg, str(signer.alg)),
    )


def render_receipt_pdf(
    desk: Desk, issued: IssuedReceipt, *, pdf_secret: Secret | None = None
) -> bytes:
    """The "giấy tiếp nhận hồ sơ" (two copies) with the signed QR and signature metadata.

    The receiving official printed on the slip is the one in the QR claims, so paper and QR
    always agree. The receiving official's PAdES signature is added as ``sign_slip`` says."""
    return sign_slip(desk, _render_receipt(desk, issued), SlipKind.RECEIPT, pdf_secret).pdf


def _render_receipt(desk: Desk, issued: IssuedReceipt) -> SlipDocument:
    return _render(
        desk,
        issued.code,
        SlipKind.RECEIPT,
        issued.qr_text,
        issued.signature,
        issued.claims.official,
    )


def sign_slip(
    desk: Desk, doc: SlipDocument, kind: SlipKind, pdf_secret: Secret | None
) -> SlipSigning:
    """Add the legal signer's signature field to a rendered slip and sign it when their key is
    on this desk and ``pdf_secret`` gives the passphrase/PIN; a demo desk signs with the demo
    secrets out of the box. Otherwise the slip stays "(Chưa ký số)", to be signed later."""
    from onestop.services import signing

    if pdf_secret is None and desk.setting("demo") == "1":
        pdf_secret = signing.demo_secret
    return signing.sign_slip_document(desk, doc, kind, pdf_secret)


def render_slip_signing(
    desk: Desk,
    code: str,
    kind: SlipKind | str,
    signer: Signer | None,
    *,
    official: str = "",
    pdf_secret: Secret | None = None,
) -> SlipSigning:
    """``render_signed_slip`` with the outcome of the PAdES step: whether the legal signer
    signed, and if not why (the caller tells the clerk how to sign it later)."""
    slip, doc = prepare_slip(desk, code, kind, signer, official=official)
    return sign_slip(desk, doc, slip, pdf_secret)


render_signed_slip = pdf_only(
    render_slip_signing,
    "render_signed_slip",
    """Any slip of dossier ``code``. With ``signer`` (an unlocked desk key) the slip carries the
    desk-key metadata (key id, time) and the receipt also its signed QR; ``None`` prints it
    without. The legal signer's PAdES signature: see ``sign_slip``.""",
)


def prepare_slip(
    desk: Desk,
    code: str,
    kind: SlipKind | str,
    signer: Signer | None,
    *,
    official: str = "",
) -> tuple[SlipKind, SlipDocument]:
    """The rendered slip before its PAdES step (``sign_slip``), so a desk that asks the legal
    signer's PIN can retry a wrong one without rendering the slip again."""
    try:
        slip = SlipKind(kind)
    except ValueError:
        raise ReceiptError(t("Loại phiếu {k} không có.", k=kind)) from None
    if signer is None:
        doc = _render(desk, code, slip, None, None, official)
    elif slip == SlipKind.RECEIPT:
        doc = _render_receipt(desk, issue_receipt(desk, code, signer, official=official))
    else:
        doc = _render(desk, code, slip, None, slip_signature(desk, signer, desk.actor), official)
    return slip, doc


def _render(
    desk: Desk,
    code: str,
    kind: SlipKind,
    qr_text: str | None,
    signature: SlipSignature | None,
    official: str,
) -> SlipDocument:
    state = desk.get(code)
    try:
        return render_slip_document(
            kind,
            state,
            desk.history(state.code),
            desk.identity,
            now=desk.clock(),
            qr_text=qr_text,
            signature=signature,
            official=official,
            contact_phone=desk.setting(S_CONTACT_PHONE),
            head_of_unit=desk.setting(S_HEAD_OF_UNIT),
        )
    except SlipError as e:
        raise ReceiptError(str(e)) from e
