"""The official one-stop slips as A4 PDFs (REFERENCE.md §1.2, forms BM.01-BM.06 + stop notice).

Pure rendering: a dossier's state, its event log and the desk identity go in, PDF bytes come
out. No database, no clock (the caller passes ``now``), no translation (the forms are always
printed in Vietnamese, with the TT 03/2025 wording and the ND 30/2020 date rule).

Layout decisions, shared by every slip:

* A4 portrait, Liberation Serif (metric twin of Times New Roman, embedded and subset), 13 pt
  body at 1.3 line pitch; side margins 20/15 mm. The header is the ND 30/2020 two-column block:
  "UBND XÃ …" / bold "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG" with a short rule on the left, the
  national title and motto on the right, then "Số: …/…-TTPVHCC" and the italic place-date.
* One-page forms are fitted: when the content (a long list of papers, a long reason) would spill
  onto a second page, the whole slip is redrawn 0.5 pt smaller, down to 10 pt. The receipt is
  exactly two pages: "Liên 1: Lưu" and "Liên 2: Giao người nộp hồ sơ".
* The control slip and the tracking book are tables (fpdf2 ``table()``) that may run over
  several pages, repeating their heading rows, with "Trang x/y" in the footer. The tracking
  book is landscape for its 11 columns.
* Digital signatures are real PAdES signatures added after rendering (services/signing.py):
  each form's legal signer has a signature block whose blank is the signature field
  (``SIGNATURE_FIELDS``), marked "(Chưa ký số)" until signed; the signature's appearance (name,
  title, time, the seal where the form asks for it) covers that mark. The printed text never
  claims a signature, and never names whoever printed the slip instead of the legal signer.
  The footer carries the desk key id of the signed QR / metadata (if any) and the print time;
  the desk key data also goes into the PDF metadata (subject/keywords).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, ParamSpec, Protocol

from onestop import __version__
from onestop.domain.catalogue import FeeBasis, format_dong
from onestop.domain.clock import VN_TZ
from onestop.domain.deadlines import TimeUnit
from onestop.domain.desk import DeskIdentity
from onestop.domain.events import Event, EventKind, from_epoch
from onestop.domain.lifecycle import (
    RETURN_CHANNEL_LABELS,
    DossierState,
    ReturnChannel,
    Status,
    apply,
)
from onestop.domain.numbering import number_for
from onestop.domain.payments import PAYMENT_METHOD_LABELS, PaymentMethod
from onestop.domain.reports import BOOK_COLUMNS, BookRow, Period, book_rows
from onestop.domain.text import date_vi, datetime_vi
from onestop.forms.page import nfc
from onestop.forms.pdf import (
    DOTS,
    TN_TKQ,
    Signer,
    Writer,
    draw_barcode,
    line_height,
    new_pdf,
    qr_image,
)
from onestop.i18n import get_language, set_language, t

if TYPE_CHECKING:
    from onestop.forms.pdf_doc import SignatureBlock, SlipPDF

P = ParamSpec("P")

__all__ = [
    "SIGNATURE_FIELDS",
    "SLIP_TITLES",
    "SlipDocument",
    "SlipError",
    "SlipKind",
    "SlipSignature",
    "applicable_slips",
    "pdf_only",
    "render_book_rows",
    "render_slip",
    "render_slip_document",
    "render_tracking_book",
]


class SlipKind(StrEnum):
    RECEIPT = "receipt"
    SUPPLEMENT = "supplement"
    REFUSAL = "refusal"
    APOLOGY = "apology"
    STOP = "stop"
    CONTROL = "control"


SLIP_TITLES: dict[SlipKind, str] = {
    SlipKind.RECEIPT: "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    SlipKind.SUPPLEMENT: "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
    SlipKind.REFUSAL: "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
    SlipKind.APOLOGY: "PHIẾU XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT",
    SlipKind.STOP: "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ",
    SlipKind.CONTROL: "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
}
BOOK_TITLE = "SỔ THEO DÕI HỒ SƠ"

# The symbol after the number, per form (REFERENCE §1.2). The stop notice has no published
# template ([?]); "TB" is the ND 30/2020 abbreviation for a "Thông báo".
_NUMBER_SYMBOL: dict[SlipKind, str] = {
    SlipKind.RECEIPT: "TN-TTPVHCC",
    SlipKind.SUPPLEMENT: "PBS-TTPVHCC",
    SlipKind.REFUSAL: "PTC-TTPVHCC",
    SlipKind.APOLOGY: "PXL",
    SlipKind.STOP: "TB-TTPVHCC",
    SlipKind.CONTROL: "PKS-TTPVHCC",
}
_BOOK_SYMBOL = "STD-TTPVHCC"

#: The PDF signature field of each form's legal signer (ASCII: field names are PDF names).
#: Receipt, refusal and control slip: the receiving clerk; supplement request: the official who
#: guided the applicant; apology/extension letter and stop notice: the head of the unit (BM.04,
#: with the seal).
SIGNATURE_FIELDS: dict[SlipKind, str] = {
    SlipKind.RECEIPT: "ChuKySo_NguoiTiepNhan",
    SlipKind.SUPPLEMENT: "ChuKySo_NguoiHuongDan",
    SlipKind.REFUSAL: "ChuKySo_NguoiTiepNhan",
    SlipKind.APOLOGY: "ChuKySo_ThuTruong",
    SlipKind.STOP: "ChuKySo_ThuTruong",
    SlipKind.CONTROL: "ChuKySo_BoPhanTNTKQ",
}

_APPLICANT = "Người nộp hồ sơ"
_NO_DUE = "Không có ngày hẹn trả cụ thể theo quy định"
_FIT_SIZES = (13.0, 12.5, 12.0, 11.5, 11.0, 10.5, 10.0)


class SlipError(ValueError):
    """The slip does not apply to this dossier; ``str(e)`` is a Vietnamese sentence."""


@dataclass(frozen=True)
class SlipDocument:
    """A rendered slip and where its digital signature goes (``blocks``, usually one)."""

    pdf: bytes
    blocks: tuple[SignatureBlock, ...]


@dataclass(frozen=True)
class SlipSignature:
    """Who digitally signed the slip: printed in the footer and stored in the PDF metadata."""

    signer_kid_hex: str
    signer_name: str
    signed_at: datetime
    algorithm: str = "ES256"


# ------------------------------------------------------------------------------------------------
# Public API
# ------------------------------------------------------------------------------------------------


def applicable_slips(dossier: DossierState, events: list[Event]) -> list[SlipKind]:
    """The slips this dossier can print now, in form order."""
    evs = _own_events(dossier, events)
    kinds = {e.kind for e in evs}
    # Refused at the counter = never received; refused after receipt keeps its receipt.
    received = EventKind.RECEIVE in kinds or dossier.status != Status.REFUSED
    out: list[SlipKind] = []
    if received:
        out.append(SlipKind.RECEIPT)
    if EventKind.REQUEST_SUPPLEMENT in kinds:
        out.append(SlipKind.SUPPLEMENT)
    if dossier.status == Status.REFUSED:
        out.append(SlipKind.REFUSAL)
    if EventKind.EXTEND in kinds:
        out.append(SlipKind.APOLOGY)
    if dossier.status == Status.WITHDRAWN:
        out.append(SlipKind.STOP)
    if received:
        out.append(SlipKind.CONTROL)
    return out


def render_slip_document(
    kind: SlipKind,
    dossier: DossierState,
    events: list[Event],
    desk: DeskIdentity,
    *,
    now: datetime,
    qr_text: str | None = None,
    signature: SlipSignature | None = None,
    official: str = "",
    contact_phone: str = "",
    head_of_unit: str = "",
) -> SlipDocument:
    """Render one official slip of ``dossier`` as A4 PDF bytes, with its signature blocks.

    ``official`` is the name printed under the desk's signature block (the clerk); when empty,
    the actor of the event that produced the slip is printed instead. The apology letter is
    signed by the head of the unit (BM.04), never by the desk user: it prints ``head_of_unit``
    (a desk setting; empty leaves the line to be written by hand) and its signature line names
    the desk, not the person logged in; so does the stop notice. ``contact_phone`` is the phone on
    the supplement request.
    ``qr_text`` puts the signed receipt QR on the receipt. Raises :class:`SlipError` when the
    slip does not apply.
    """
    kind = SlipKind(kind)
    evs = _own_events(dossier, events)
    if kind not in applicable_slips(dossier, evs):
        raise SlipError(_not_applicable(kind, dossier))
    if kind == SlipKind.APOLOGY:
        official = head_of_unit
        if signature is not None:
            signature = replace(signature, signer_name=desk.desk_name)
    ctx = _Ctx(
        kind,
        dossier,
        evs,
        desk,
        _local(now),
        qr_text,
        signature,
        official.strip(),
        contact_phone.strip(),
        head_of_unit.strip(),
    )
    if kind == SlipKind.CONTROL:
        pdf = _new_pdf(ctx, page_numbers=True)
        try:
            _draw_control(Writer(pdf, 13.0), ctx)
            return _finish(pdf, ctx, SLIP_TITLES[kind])
        finally:
            pdf.close_fonts()

    draw = _DRAWERS[kind]
    copies = ("Liên 1: Lưu", "Liên 2: Giao người nộp hồ sơ") if kind == SlipKind.RECEIPT else ("",)
    size = _fit_size(ctx, draw, copies[0])
    pdf = _new_pdf(ctx)
    try:
        for label in copies:
            pdf.add_page()
            draw(Writer(pdf, size), ctx, label)
        return _finish(pdf, ctx, SLIP_TITLES[kind])
    finally:
        pdf.close_fonts()


class _Rendered(Protocol):
    @property
    def pdf(self) -> bytes: ...


def pdf_only(render: Callable[P, _Rendered], name: str, doc: str) -> Callable[P, bytes]:
    """``render`` returning only its result's PDF bytes, under ``name`` with ``doc``.

    One parameter list serves the function that returns the whole result (a SlipDocument, a
    SlipSigning) and the one that returns the bytes: mypy checks the callers of both against it.
    """

    def pdf(*args: P.args, **kwargs: P.kwargs) -> bytes:
        return render(*args, **kwargs).pdf

    pdf.__name__ = pdf.__qualname__ = name
    pdf.__doc__ = doc
    return pdf


render_slip = pdf_only(
    render_slip_document,
    "render_slip",
    "The PDF bytes of :func:`render_slip_document` (unsigned; see services/signing.py).",
)


def render_tracking_book(
    dossiers: list[DossierState],
    desk: DeskIdentity,
    *,
    field: str,
    start: date,
    end: date,
    now: datetime,
    signature: SlipSignature | None = None,
) -> bytes:
    """BM.06 "Sổ theo dõi hồ sơ" of one field (lĩnh vực) for dossiers received in [start, end].

    Dossiers of other fields or received outside the period are left out, so the printed book
    always matches its heading. Rows are in order of receipt; the agency column is the commune's
    UBND (no catalogue here: ``onestop report book`` prints :func:`render_book_rows` from the
    catalogue). ``signature`` (optional, an addition to the agreed signature) is printed and
    stored as on the slips.
    """
    chosen = [
        d
        for d in dossiers
        if (not field or d.field == field) and start <= d.received_at.date() <= end
    ]
    rows = book_rows(chosen, Period(start, end), field=field or None, agency=_agency(desk))
    return render_book_rows(
        rows, desk, field=field, start=start, end=end, now=now, signature=signature
    )


def render_book_rows(
    rows: Sequence[BookRow],
    desk: DeskIdentity,
    *,
    field: str,
    start: date,
    end: date,
    now: datetime,
    signature: SlipSignature | None = None,
) -> bytes:
    """BM.06 from the rows of ``domain.reports.book_rows``: one book per field, each starting on
    a new page with its own heading, the cells exactly as ``BookRow.cells`` gives them (in
    Vietnamese, like every form)."""
    books: dict[str, list[BookRow]] = {}
    if field:
        books[field] = []
    for r in rows:
        books.setdefault(r.field, []).append(r)
    if not books:
        books[field] = []
    now = _local(now)
    pdf = _make_pdf(signature, now, landscape=True, page_numbers=True)
    language = get_language()
    set_language("vi")
    try:
        for name, book in books.items():
            pdf.add_page()
            w = Writer(pdf, 13.0)
            w.header(
                unit=desk.agency_name,
                office="Trung tâm Phục vụ hành chính công",
                number=f"Số: {DOTS}/{_BOOK_SYMBOL}",
                place_date=f"{_place(desk)}, {date_vi(now.date())}",
            )
            w.title(BOOK_TITLE, size=15)
            w.centered(f"Lĩnh vực: {name or 'Tất cả các lĩnh vực'}", style="B")
            w.centered(f"Từ {date_vi(start)} đến {date_vi(end)}", style="I")
            w.gap(2)
            _book_table(w, book)
            if not book:
                w.gap(3)
                w.para("Không có hồ sơ nào trong kỳ.", style="I", align="C")
        _metadata(
            pdf,
            title=BOOK_TITLE,
            kind="book",
            code=f"{field or 'all'} {start:%d/%m/%Y}-{end:%d/%m/%Y}",
            author=desk.agency_name,
            sig=signature,
        )
        return pdf.to_bytes()
    finally:
        set_language(language)
        pdf.close_fonts()


# ------------------------------------------------------------------------------------------------
# Shared plumbing
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ctx:
    kind: SlipKind
    dossier: DossierState
    events: list[Event]
    desk: DeskIdentity
    now: datetime
    qr_text: str | None
    signature: SlipSignature | None
    official: str
    contact_phone: str = ""
    head_of_unit: str = ""

    def last(self, kind: EventKind) -> Event | None:
        found = [e for e in self.events if e.kind == kind]
        return found[-1] if found else None

    def signer_name(self, kind: EventKind | None) -> str:
        if self.official:
            return self.official
        ev = self.last(kind) if kind is not None else None
        return ev.actor if ev is not None else ""


_Drawer = Callable[[Writer, _Ctx, str], None]


def _own_events(dossier: DossierState, events: Sequence[Event]) -> list[Event]:
    """This dossier's events in time order (the caller may hand over a wider log)."""
    return sorted((e for e in events if e.dossier == dossier.code), key=lambda e: (e.at, e.hlc))


def _not_applicable(kind: SlipKind, dossier: DossierState) -> str:
    code = dossier.code
    messages = {
        SlipKind.RECEIPT: "Hồ sơ {code} đã bị từ chối tiếp nhận nên không có Giấy tiếp nhận hồ sơ và hẹn trả kết quả.",
        SlipKind.SUPPLEMENT: "Hồ sơ {code} chưa có yêu cầu bổ sung, hoàn thiện nên không lập được Phiếu yêu cầu bổ sung.",
        SlipKind.REFUSAL: "Hồ sơ {code} không bị từ chối tiếp nhận nên không lập được Phiếu từ chối.",
        SlipKind.APOLOGY: "Hồ sơ {code} chưa gia hạn thời gian giải quyết nên không lập được Phiếu xin lỗi.",
        SlipKind.STOP: "Hồ sơ {code} chưa dừng giải quyết (người nộp chưa rút hồ sơ) nên không lập được Thông báo dừng.",
        SlipKind.CONTROL: "Hồ sơ {code} chưa được tiếp nhận nên không có Phiếu kiểm soát quá trình giải quyết.",
    }
    return t(messages[kind], code=code)


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=VN_TZ) if dt.tzinfo is None else dt


def _local(dt: datetime) -> datetime:
    """Naive Vietnam wall-clock time (the convention of the whole app)."""
    return dt if dt.tzinfo is None else dt.astimezone(VN_TZ).replace(tzinfo=None)


def _short_dt(dt: datetime) -> str:
    return f"{dt:%H:%M} {dt:%d/%m/%Y}"


def _table_dt(dt: datetime) -> str:
    """Inside table cells: "10 giờ 05 phút, / ngày 05/02/2026" (the BM.05 cell format, on two
    lines so that the time column stays narrow)."""
    return f"{dt.hour:02d} giờ {dt.minute:02d} phút,\nngày {dt:%d/%m/%Y}"


def _place(desk: DeskIdentity) -> str:
    """The place name of the date line: the commune name without "Xã"/"Phường"/"Đặc khu"."""
    name = nfc(desk.commune_name).strip()
    for prefix in ("Xã ", "Phường ", "Đặc khu ", "Thị trấn "):
        if name.casefold().startswith(prefix.casefold()):
            return name[len(prefix) :].strip()
    return name


def _commune_in_text(desk: DeskIdentity) -> str:
    """ "Xã Mường Lát" as it reads inside a sentence: "xã Mường Lát"."""
    name = nfc(desk.commune_name).strip()
    return name[:1].lower() + name[1:] if name else name


def _office(desk: DeskIdentity) -> str:
    return f"Trung tâm Phục vụ hành chính công {_commune_in_text(desk)}"


def _agency(desk: DeskIdentity) -> str:
    """The resolving agency inside a sentence or a cell: "UBND xã Mường Lát"."""
    return f"UBND {_commune_in_text(desk)}"


def _number(ctx: _Ctx) -> str:
    """The form number stored in the event that produced the slip (domain/numbering.py), e.g.
    "Số: 12-03/PXL": the 12th apology letter of the year at desk 03. A slip of an event written
    before numbering existed leaves the number to be written by hand."""
    number = number_for(ctx.kind.value, ctx.events)
    return f"Số: {number or DOTS}/{_NUMBER_SYMBOL[ctx.kind]}"


def _dong(amount: int) -> str:
    return format_dong(amount)


def _fee_text(ctx: _Ctx) -> str:
    """The fee line: "Miễn phí" only for a procedure the catalogue says is free; any other
    zero (an exemption the clerk applied, an old dossier without its fee basis) is "0 đồng"."""
    d = ctx.dossier
    if d.fee_vnd <= 0:
        intake = ctx.last(EventKind.RECEIVE)
        basis = intake.data.get("fee_basis") if intake is not None else None
        return "Miễn phí" if basis == FeeBasis.FREE.value else _dong(0)
    text = _dong(d.fee_vnd)
    if d.fee_paid >= d.fee_vnd:
        text += " (đã nộp)"
    elif d.fee_paid > 0:
        text += f" (đã nộp {_dong(d.fee_paid)})"
    return text


def _duration_text(d: DossierState) -> str:
    """ "03 ngày làm việc", "Trong ngày", or the no-appointment sentence."""
    unit = d.time_unit
    value = d.time_value
    if unit == TimeUnit.WORKING_DAYS and value:
        return f"{value:02d} ngày làm việc"
    if unit == TimeUnit.CALENDAR_DAYS and value:
        return f"{value:02d} ngày"
    if unit == TimeUnit.SAME_DAY:
        return "Trong ngày"
    if unit == TimeUnit.IMMEDIATE:
        return "Giải quyết ngay khi nhận đủ hồ sơ hợp lệ"
    return _NO_DUE


def _due_text(due: datetime | None) -> str:
    return datetime_vi(due) if due is not None else _NO_DUE


def _applicant_title(d: DossierState) -> str:
    return d.applicant_name or DOTS


def _proxy_lines(d: DossierState) -> list[tuple[str, str]]:
    p = {k: str(v).strip() for k, v in (d.proxy or {}).items() if v and str(v).strip()}
    if not p:
        return []
    out = [("Người nộp hồ sơ thay (được ủy quyền)", f"Ông (Bà) {p.get('name') or DOTS}")]
    if "id" in p:
        out.append(("Số định danh cá nhân", p["id"]))
    if "address" in p:
        out.append(("Địa chỉ", p["address"]))
    if "phone" in p:
        out.append(("Số điện thoại", p["phone"]))
    if "email" in p:
        out.append(("Email", p["email"]))
    if "paper" in p:
        out.append(("Giấy ủy quyền", p["paper"]))
    return out


def _timeline(ctx: _Ctx) -> list[tuple[Event, datetime | None]]:
    """Each event with the due date in force once it happened (folding the log)."""
    out: list[tuple[Event, datetime | None]] = []
    state: DossierState | None = None
    for e in ctx.events:
        try:
            state = apply(state, e)
            due = state.due_at
        except (ValueError, KeyError, TypeError):
            # A partial log (no receive event first): keep the dossier's current due date.
            due = ctx.dossier.due_at
        out.append((e, due))
    return out


def _due_before(ctx: _Ctx, event: Event) -> datetime | None:
    """The appointment in force just before ``event`` (the original one for an extension)."""
    due: datetime | None = None
    for e, d in _timeline(ctx):
        if e is event:
            break
        due = d
    return due or ctx.dossier.original_due_at or ctx.dossier.due_at


def _signed_line(sig: SlipSignature | None) -> str:
    """The footer line: the desk key that signed the QR/metadata, or nothing.

    It used to read "Ký số: {tên}…" with the name of whoever printed the slip, which is not the
    legal signer; the digital signature itself now lives in the signature block.
    """
    if sig is None:
        return ""
    return f"Mã khóa quầy {sig.signer_kid_hex}"


def _make_pdf(
    sig: SlipSignature | None, now: datetime, *, landscape: bool = False, page_numbers: bool = False
) -> SlipPDF:
    pdf = new_pdf(
        landscape=landscape,
        footer_left=_signed_line(sig),
        footer_right=f"In lúc {_short_dt(now)}",
        page_numbers=page_numbers,
    )
    pdf.set_creation_date(_aware(now))
    return pdf


def _new_pdf(ctx: _Ctx, *, page_numbers: bool = False) -> SlipPDF:
    return _make_pdf(ctx.signature, ctx.now, page_numbers=page_numbers)


def _metadata(
    pdf: SlipPDF, *, title: str, kind: str, code: str, author: str, sig: SlipSignature | None
) -> None:
    """Title/author/creator, and the signature (key id, time, algorithm) in subject/keywords."""
    pdf.set_title(nfc(f"{title} - {code}"))
    pdf.set_author(nfc(author))
    pdf.set_creator(f"onestop {__version__}")
    if sig is None:
        pdf.set_subject(nfc(f"{title}; {code}; chưa ký số"))
        pdf.set_keywords(nfc(f"onestop {kind} {code} unsigned"))
        return
    at = _aware(sig.signed_at).isoformat()
    pdf.set_subject(
        nfc(
            f"{title}; {code}; dữ liệu ký {sig.algorithm} bằng khóa quầy {sig.signer_kid_hex}, "
            f"lúc {at}"
        )
    )
    pdf.set_keywords(
        nfc(
            f"onestop {kind} {code} signed alg={sig.algorithm} "
            f"kid={sig.signer_kid_hex} signed_at={at}"
        )
    )


def _finish(pdf: SlipPDF, ctx: _Ctx, title: str) -> SlipDocument:
    _metadata(
        pdf,
        title=title,
        kind=ctx.kind.value,
        code=ctx.dossier.code,
        author=ctx.official or ctx.desk.agency_name,
        sig=ctx.signature,
    )
    blocks = tuple(pdf.signature_blocks)
    return SlipDocument(pdf.to_bytes(), blocks)


def _fit_size(ctx: _Ctx, draw: _Drawer, label: str) -> float:
    """The largest body size at which one copy of the slip fits on one page.

    All trials go into one scratch document (one page run per size), so the fonts are parsed
    once: a receipt with 15 papers needs 4 trials and costs about 0.1 s instead of 0.5 s.
    """
    trial = _new_pdf(ctx)
    try:
        for size in _FIT_SIZES:
            first = trial.page_no() + 1
            trial.add_page()
            draw(Writer(trial, size), ctx, label)
            if trial.page_no() == first:
                return size
    finally:
        trial.close_fonts()
    return _FIT_SIZES[-1]


def _header(w: Writer, ctx: _Ctx, when: datetime, copy_label: str = "") -> None:
    w.header(
        unit=ctx.desk.agency_name,
        office="Trung tâm Phục vụ hành chính công",
        number=_number(ctx),
        place_date=f"{_place(ctx.desk)}, {date_vi(when.date())}",
        copy_label=copy_label,
    )


def _digital(kind: SlipKind) -> str:
    return SIGNATURE_FIELDS[kind]


# ------------------------------------------------------------------------------------------------
# BM.01 Giấy tiếp nhận hồ sơ và hẹn trả kết quả
# ------------------------------------------------------------------------------------------------


def _draw_receipt(w: Writer, ctx: _Ctx, copy_label: str) -> None:
    d = ctx.dossier
    _header(w, ctx, d.received_at, copy_label)
    w.title(SLIP_TITLES[SlipKind.RECEIPT])
    w.rich(
        [("", "Mã hồ sơ: "), ("B", d.code)], indent=_center_indent(w, f"Mã hồ sơ: {d.code}", "B")
    )
    w.gap(1.5)
    w.para(f"{_office(ctx.desk)} ({ctx.desk.desk_name}).")
    w.field("Tiếp nhận hồ sơ của Ông (Bà)/Tổ chức", _applicant_title(d), strong=True)
    w.field("Số định danh cá nhân/tổ chức", d.applicant_id)
    w.field("Địa chỉ", d.applicant_address)
    w.fields_row([("Số điện thoại", d.applicant_phone), ("Email", d.applicant_email)])
    for label, value in _proxy_lines(d):
        w.field(label, value)
    w.rich(
        [
            ("", "Nội dung yêu cầu giải quyết: "),
            ("B", d.procedure_name or DOTS),
            ("", _proc_code(d)),
        ]
    )
    w.para("Thành phần hồ sơ nộp gồm:", align="L")
    w.numbered(list(d.documents) or [DOTS])
    w.field("Số lượng hồ sơ", "01 (bộ)")
    w.field("Thời gian giải quyết hồ sơ theo quy định là", _duration_text(d))
    w.field("Thời gian nhận hồ sơ", datetime_vi(d.received_at))
    w.field("Thời gian trả kết quả giải quyết hồ sơ", _due_text(d.due_at), strong=True)
    w.field("Đăng ký nhận kết quả tại", f"{ctx.desk.desk_name}, {_office(ctx.desk)}")
    w.field("Phí, lệ phí", _fee_text(ctx))
    w.para(f"Vào Sổ theo dõi hồ sơ, Quyển số {DOTS}, Số thứ tự {DOTS}")
    submitter = (d.proxy or {}).get("name") or d.applicant_name
    w.signatures(
        Signer("NGƯỜI NỘP HỒ SƠ", name=submitter),
        Signer(
            "NGƯỜI TIẾP NHẬN HỒ SƠ",
            name=ctx.signer_name(EventKind.RECEIVE),
            digital=_digital(SlipKind.RECEIPT),
        ),
        blank=16,
    )
    w.para(
        "Ghi chú: Ông (Bà) có thể nhận kết quả trực tiếp tại Trung tâm Phục vụ hành chính công "
        "hoặc đăng ký nhận kết quả tại nhà qua dịch vụ bưu chính công ích. Khi đến nhận kết quả, "
        "vui lòng mang theo Giấy này; người nhận thay phải có giấy ủy quyền.",
        style="I",
        size=w.size - 2,
    )
    _receipt_codes(w, ctx)


def _proc_code(d: DossierState) -> str:
    return f" (Mã TTHC: {d.procedure_code})" if d.procedure_code else ""


def _center_indent(w: Writer, text: str, style: str) -> float:
    w.font(style)
    width = w.pdf.get_string_width(nfc(text))
    w.font()
    return max(0.0, (w.pdf.text_width - width) / 2)


def _receipt_codes(w: Writer, ctx: _Ctx) -> None:
    """Bottom band: the signed QR (left) and the Code 128 of the dossier code (right)."""
    pdf = w.pdf
    qr_size = 28.0
    band = qr_size + 6 if ctx.qr_text else 20.0
    top = max(pdf.get_y() + 2, pdf.bottom - band)
    if top + band > pdf.bottom + 0.01:
        pdf.add_page()  # only ever happens in a fitting trial: the caller then shrinks the text
        top = pdf.get_y()
    x0 = pdf.l_margin
    code = ctx.dossier.code
    if ctx.qr_text:
        pdf.image(qr_image(ctx.qr_text), x=x0, y=top, w=qr_size, h=qr_size)
        w.font("I", 9)
        pdf.set_xy(x0 - 6, top + qr_size + 0.5)
        pdf.cell(qr_size + 12, 4, "Quét mã để kiểm tra biên nhận", align="C")
        bx = x0 + qr_size + 12
        by = top + 5
    else:
        bx = x0
        by = top + 1
    max_w = pdf.w - pdf.r_margin - bx
    bar_w = draw_barcode(pdf, code, bx, by, max_w=min(max_w, 80.0), h=12)
    w.font("", 11)
    pdf.set_xy(bx, by + 12.5)
    pdf.cell(bar_w, 5, code, align="C")
    w.font()


# ------------------------------------------------------------------------------------------------
# BM.02 Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ
# ------------------------------------------------------------------------------------------------


def _draw_supplement(w: Writer, ctx: _Ctx, copy_label: str) -> None:
    d = ctx.dossier
    ev = ctx.last(EventKind.REQUEST_SUPPLEMENT)
    assert ev is not None
    _header(w, ctx, ev.at, copy_label)
    w.title(SLIP_TITLES[SlipKind.SUPPLEMENT])
    w.gap(1)
    w.field("Mã hồ sơ", d.code, strong=True)
    w.field("Hồ sơ của", _applicant_title(d), strong=True)
    w.field("Số định danh cá nhân/tổ chức", d.applicant_id)
    w.rich(
        [("", "Nội dung yêu cầu giải quyết: "), ("", d.procedure_name or DOTS), ("", _proc_code(d))]
    )
    w.field("Địa chỉ", d.applicant_address)
    w.fields_row([("Số điện thoại", d.applicant_phone), ("Email", d.applicant_email)])
    w.field("Ngày tiếp nhận hồ sơ", datetime_vi(d.received_at))
    w.gap(1)
    w.para("Yêu cầu hoàn thiện hồ sơ gồm những nội dung sau:")
    reason = str(ev.data.get("reason", "")).strip()
    items = [line.strip(" -•\t") for line in reason.splitlines() if line.strip(" -•\t")]
    w.numbered(items or [DOTS])
    note = ev.note.strip()
    w.field("Lý do", note or "Hồ sơ chưa đầy đủ, hợp lệ theo quy định.")
    w.gap(1)
    contact = ctx.signer_name(EventKind.REQUEST_SUPPLEMENT)
    w.para(
        "Trong quá trình hoàn thiện hồ sơ nếu có vướng mắc, Ông/Bà liên hệ với "
        f"{contact or DOTS} ({ctx.desk.desk_name}, {_office(ctx.desk)}), số điện thoại "
        f"{ctx.contact_phone or DOTS} "
        "để được hướng dẫn."
    )
    w.para(
        "Thời gian bổ sung, hoàn thiện hồ sơ không tính vào thời gian giải quyết hồ sơ.",
        style="I",
        size=w.size - 1,
    )
    w.gap(2)
    w.signatures(
        None,
        Signer(
            "NGƯỜI HƯỚNG DẪN",
            name=ctx.signer_name(EventKind.REQUEST_SUPPLEMENT),
            digital=_digital(SlipKind.SUPPLEMENT),
        ),
    )


# ------------------------------------------------------------------------------------------------
# BM.03 Phiếu từ chối tiếp nhận giải quyết hồ sơ
# ------------------------------------------------------------------------------------------------


def _draw_refusal(w: Writer, ctx: _Ctx, copy_label: str) -> None:
    d = ctx.dossier
    ev = ctx.last(EventKind.REFUSE)
    when = ev.at if ev is not None else (d.finished_at or d.received_at)
    _header(w, ctx, when, copy_label)
    w.title(SLIP_TITLES[SlipKind.REFUSAL])
    w.gap(1)
    w.para(f"{_office(ctx.desk)} ({ctx.desk.desk_name}).")
    w.field("Tiếp nhận hồ sơ của", _applicant_title(d), strong=True)
    w.field("Số định danh cá nhân/tổ chức", d.applicant_id)
    w.field("Địa chỉ", d.applicant_address)
    w.fields_row([("Số điện thoại", d.applicant_phone), ("Email", d.applicant_email)])
    w.field("Mã hồ sơ (nếu có)", d.code, strong=True)
    w.rich(
        [("", "Nội dung yêu cầu giải quyết: "), ("", d.procedure_name or DOTS), ("", _proc_code(d))]
    )
    w.gap(1)
    reason = d.refusal_reason or (str(ev.data.get("reason", "")) if ev is not None else "")
    w.para(
        "Qua xem xét, Bộ phận Tiếp nhận và Trả kết quả thông báo không tiếp nhận, giải quyết hồ sơ "
        "này với lý do cụ thể như sau:"
    )
    w.para(reason.strip() or DOTS, indent=6, align="L")
    w.gap(1)
    w.para("Xin thông báo để Ông (Bà) biết./.")
    w.gap(2)
    w.signatures(
        Signer("NGƯỜI NỘP HỒ SƠ", name=(d.proxy or {}).get("name") or d.applicant_name),
        Signer(
            "NGƯỜI TIẾP NHẬN HỒ SƠ",
            name=ctx.signer_name(EventKind.REFUSE),
            digital=_digital(SlipKind.REFUSAL),
        ),
    )


# ------------------------------------------------------------------------------------------------
# BM.04 Phiếu xin lỗi và đề nghị gia hạn thời gian giải quyết
# ------------------------------------------------------------------------------------------------


def _draw_apology(w: Writer, ctx: _Ctx, copy_label: str) -> None:
    d = ctx.dossier
    ev = ctx.last(EventKind.EXTEND)
    assert ev is not None
    old_due = _due_before(ctx, ev)
    raw_due = ev.data.get("due")
    new_due = from_epoch(raw_due) if isinstance(raw_due, int) else d.due_at
    agency = _agency(ctx.desk)
    _header(w, ctx, ev.at, copy_label)
    w.title(SLIP_TITLES[SlipKind.APOLOGY])
    w.gap(1)
    salutation = f"Kính gửi: Ông (Bà) {d.applicant_name or DOTS}"
    w.rich(
        [("", "Kính gửi: "), ("B", f"Ông (Bà) {d.applicant_name or DOTS}")],
        indent=_center_indent(w, salutation, "B"),
    )
    w.gap(1)
    w.para(
        f"Ngày {date_vi(d.received_at.date()).removeprefix('ngày ')}, {_office(ctx.desk)} tiếp nhận "
        "hồ sơ đề nghị giải quyết "
        f"thủ tục hành chính: {d.procedure_name or DOTS}{_proc_code(d)} của Ông (Bà)."
    )
    w.field("Số định danh cá nhân/tổ chức", d.applicant_id)
    w.field("Mã số hồ sơ", d.code, strong=True)
    w.field("Thời gian hẹn trả kết quả giải quyết hồ sơ", _due_text(old_due))
    w.para(
        f"Tuy nhiên đến nay, {agency} chưa thể trả kết quả giải quyết hồ sơ của Ông (Bà) đúng hẹn."
    )
    w.field("Lý do", str(ev.data.get("reason", "")).strip())
    w.para(
        f"Sự chậm trễ này đã gây phiền hà cho Ông (Bà). {agency} xin lỗi Ông (Bà) và đề nghị gia hạn "
        "thời gian giải quyết; kết quả giải quyết hồ sơ sẽ được trả cho Ông (Bà) vào:"
    )
    w.centered(_due_text(new_due), style="B")
    w.para("Rất mong nhận được sự thông cảm của Ông (Bà). Trân trọng./.")
    w.gap(2)
    _recipients_and_head(w, ctx)


def _recipients_and_head(w: Writer, ctx: _Ctx) -> None:
    """ "Nơi nhận" on the left, the head of the agency on the right (ND 30/2020 layout)."""
    pdf = w.pdf
    if pdf.will_page_break(3 * w.h + 24):
        pdf.add_page()
    y = pdf.get_y()
    half = pdf.text_width / 2
    w.font("BI", 12)
    pdf.set_xy(pdf.l_margin, y + 2)
    pdf.cell(half, 5, "Nơi nhận:")
    w.font("", 11)
    for i, line in enumerate(("- Như trên;", "- Lưu: VT, TTPVHCC.")):
        pdf.set_xy(pdf.l_margin, y + 7 + i * 4.8)
        pdf.cell(half, 4.8, line)
    pdf.set_y(y)
    w.signatures(
        None,
        Signer(
            f"THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ\n{ctx.desk.agency_name.upper()}",
            hint="(Ký, ghi rõ họ tên và đóng dấu)",
            name=ctx.official or ctx.head_of_unit,
            digital=_digital(ctx.kind),
            seal=True,
        ),
    )


# ------------------------------------------------------------------------------------------------
# Thông báo dừng giải quyết hồ sơ (no published template: REFERENCE §1.2 [?])
# ------------------------------------------------------------------------------------------------


def _draw_stop(w: Writer, ctx: _Ctx, copy_label: str) -> None:
    d = ctx.dossier
    ev = ctx.last(EventKind.WITHDRAW)
    when = ev.at if ev is not None else (d.finished_at or ctx.now)
    reason = (str(ev.data.get("reason", "")) if ev is not None else "") or d.refusal_reason
    office = _office(ctx.desk)
    _header(w, ctx, when, copy_label)
    w.title(SLIP_TITLES[SlipKind.STOP])
    w.gap(1)
    w.rich(
        [("", "Kính gửi: "), ("B", f"Ông (Bà) {d.applicant_name or DOTS}")],
        indent=_center_indent(w, f"Kính gửi: Ông (Bà) {d.applicant_name or DOTS}", "B"),
    )
    w.gap(1)
    w.field("Số định danh cá nhân/tổ chức", d.applicant_id)
    w.field("Địa chỉ", d.applicant_address)
    w.field("Mã hồ sơ", d.code, strong=True)
    w.rich(
        [("", "Nội dung yêu cầu giải quyết: "), ("", d.procedure_name or DOTS), ("", _proc_code(d))]
    )
    w.field("Thời gian nhận hồ sơ", datetime_vi(d.received_at))
    w.gap(1)
    w.para(
        f"Vào {datetime_vi(when)}, {office} nhận được đề nghị dừng giải quyết hồ sơ (rút hồ sơ) "
        "của Ông (Bà) với lý do:"
    )
    w.para(reason.strip() or DOTS, indent=6, align="L")
    w.gap(1)
    w.para(
        f"{office} thông báo dừng giải quyết hồ sơ nêu trên kể từ thời điểm này. Thành phần hồ sơ "
        "bản giấy đã nộp được trả lại cho Ông (Bà) kèm theo Thông báo này."
    )
    w.para("Xin thông báo để Ông (Bà) biết./.")
    w.gap(2)
    w.signatures(
        Signer("NGƯỜI NHẬN LẠI HỒ SƠ", name=(d.proxy or {}).get("name") or d.applicant_name),
        Signer(
            f"THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ\n{ctx.desk.agency_name.upper()}",
            hint="(Ký, ghi rõ họ tên và đóng dấu)",
            name=ctx.head_of_unit,
            digital=_digital(SlipKind.STOP),
            seal=True,
        ),
    )


# ------------------------------------------------------------------------------------------------
# BM.05 Phiếu kiểm soát quá trình giải quyết hồ sơ
# ------------------------------------------------------------------------------------------------


def _timeliness(at: datetime, due: datetime | None) -> str:
    """Compare calendar dates: earlier -> Trước hạn, same day -> Đúng hạn, later -> Quá hạn."""
    if due is None:
        return "Không có hạn"
    if at.date() < due.date():
        return "Trước hạn"
    if at.date() == due.date():
        return "Đúng hạn"
    return "Quá hạn"


def _control_rows(ctx: _Ctx) -> list[tuple[str, str, str, str]]:
    """(unit, time and who, timeliness, note) for every handover in the log."""
    d = ctx.dossier
    applicant = d.applicant_name or _APPLICANT
    holder = TN_TKQ
    rows: list[tuple[str, str, str, str]] = []
    for e, due in _timeline(ctx):
        data = e.data
        reason = str(data.get("reason", "")).strip()
        unit: str
        note: str
        if e.kind == EventKind.RECEIVE:
            to = str(data.get("to", "")).strip()
            if to:
                unit, holder = f"Giao: {TN_TKQ}\nNhận: {to}", to
            else:
                unit = f"Giao: {applicant} (người nộp)\nNhận: {TN_TKQ}"
            note = "Tiếp nhận hồ sơ"
        elif e.kind == EventKind.REFUSE:
            unit, note = f"Giao: {TN_TKQ}\nNhận: {applicant}", f"Từ chối tiếp nhận: {reason}"
        elif e.kind == EventKind.FORWARD:
            to = str(data.get("to", "")).strip() or DOTS
            unit, note, holder = f"Giao: {holder}\nNhận: {to}", "Chuyển xử lý", to
        elif e.kind == EventKind.START:
            to = str(data.get("to", "")).strip() or e.actor
            if to and not holder.startswith(to):
                unit, holder = f"Giao: {holder}\nNhận: {to}", to
            else:  # the official the dossier was forwarded to takes it up
                unit = f"Nhận xử lý: {holder}"
            note = "Nhận xử lý"
        elif e.kind == EventKind.REQUEST_SUPPLEMENT:
            unit, note = f"Giao: {holder}\nNhận: {applicant}", f"Yêu cầu bổ sung: {reason}"
        elif e.kind == EventKind.RECORD_SUPPLEMENT:
            unit = f"Giao: {applicant}\nNhận: {holder}"
            note = "Nhận hồ sơ bổ sung" + (
                f"; hẹn trả mới {due:%d/%m/%Y}" if due and "due" in data else ""
            )
        elif e.kind == EventKind.REQUEST_PAYMENT:
            unit = holder
            note = f"Yêu cầu nộp phí, lệ phí {_dong(int(data.get('amount', 0)))}"
        elif e.kind == EventKind.RECORD_PAYMENT:
            unit = TN_TKQ
            note = f"Đã nộp phí, lệ phí {_dong(int(data.get('amount', 0)))}"
            method = str(data.get("method", ""))
            if method in set(PaymentMethod):
                note += f" ({PAYMENT_METHOD_LABELS[PaymentMethod(method)].lower()})"
        elif e.kind == EventKind.RESOLVE:
            unit = holder
            note = (
                "Đã giải quyết: phê duyệt"
                if data.get("decision") != "denied"
                else f"Từ chối giải quyết: {reason}"
            )
        elif e.kind == EventKind.MARK_READY:
            unit, note, holder = (
                f"Giao: {holder}\nNhận: {TN_TKQ}",
                "Chuyển kết quả về Bộ phận Một cửa",
                TN_TKQ,
            )
        elif e.kind == EventKind.RETURN_RESULT:
            channel = str(data.get("channel", ReturnChannel.DESK))
            label = (
                RETURN_CHANNEL_LABELS.get(ReturnChannel(channel), channel)
                if channel in set(ReturnChannel)
                else channel
            )
            unit, note = f"Giao: {TN_TKQ}\nNhận: {applicant}", f"Trả kết quả ({label.lower()})"
        elif e.kind == EventKind.EXTEND:
            unit = holder
            note = f"Xin lỗi, gia hạn đến {due:%d/%m/%Y}" if due else "Xin lỗi, gia hạn"
            note += f": {reason}" if reason else ""
        elif e.kind == EventKind.WITHDRAW:
            unit, note = (
                f"Giao: {holder}\nNhận: {applicant}",
                f"Dừng giải quyết (rút hồ sơ): {reason}",
            )
        else:  # EVALUATE is not a handover
            continue
        who = f"Người thực hiện:\n{e.actor}" if e.actor else ""
        time_who = _table_dt(e.at) + (f"\n{who}" if who else "")
        rows.append(
            (
                unit,
                time_who,
                _timeliness(e.at, due),
                (note + ("; " + e.note if e.note else "")).strip(),
            )
        )
    return rows


def _draw_control(w: Writer, ctx: _Ctx) -> None:
    from fpdf.fonts import FontFace

    d = ctx.dossier
    pdf = w.pdf
    pdf.add_page()
    _header(w, ctx, d.received_at)
    w.title(SLIP_TITLES[SlipKind.CONTROL])
    w.gap(1)
    w.field("Mã số hồ sơ", d.code, strong=True)
    w.field("Tên thủ tục hành chính", f"{d.procedure_name}{_proc_code(d)}")
    w.field("Người nộp hồ sơ", d.applicant_name, strong=True)
    w.field("Cơ quan (bộ phận) giải quyết hồ sơ", _agency(ctx.desk))
    w.field("Cơ quan phối hợp giải quyết hồ sơ", "")
    w.field("Ngày nhận", datetime_vi(d.received_at))
    w.field("Hẹn trả kết quả vào", _due_text(d.due_at), strong=True)
    if d.original_due_at and d.due_at and d.original_due_at != d.due_at:
        w.field("Hẹn trả ban đầu", datetime_vi(d.original_due_at))
    w.gap(2)
    size = 11.0
    w.font("", size)
    heading = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
    with pdf.table(
        col_widths=(50, 40, 30, 55),
        width=pdf.text_width,
        line_height=line_height(size),
        text_align=("LEFT", "LEFT", "CENTER", "LEFT"),
        headings_style=heading,
        repeat_headings=1,
        padding=(1, 1.2),
        v_align="TOP",
    ) as table:
        head = table.row()
        for text in (
            "Tên đơn vị",
            "Thời gian giao nhận hồ sơ",
            "Kết quả giải quyết hồ sơ\n(trước hạn/đúng hạn/quá hạn)",
            "Ghi chú",
        ):
            head.cell(text, align="C", v_align="MIDDLE")
        for unit, when, timely, note in _control_rows(ctx):
            row = table.row()
            for text in (unit, when, timely, note):
                row.cell(nfc(text))
    w.font()
    w.gap(3)
    w.para(
        "Ghi chú: Kết quả giải quyết hồ sơ do bên nhận ghi khi nhận bàn giao hồ sơ; hạn được so "
        "theo ngày (trước ngày hẹn: trước hạn; trong ngày hẹn: đúng hạn; sau ngày hẹn: quá hạn).",
        style="I",
        size=10.5,
    )
    w.signatures(
        None,
        Signer(
            "NGƯỜI TIẾP NHẬN HỒ SƠ",
            name=ctx.signer_name(EventKind.RECEIVE),
            digital=_digital(SlipKind.CONTROL),
        ),
        blank=16,
    )


# ------------------------------------------------------------------------------------------------
# BM.06 Sổ theo dõi hồ sơ
# ------------------------------------------------------------------------------------------------


_TIME_FIRST = re.compile(r"^(\d\d:\d\d) ")


def _book_table(w: Writer, rows: Sequence[BookRow]) -> None:
    from fpdf.fonts import FontFace

    pdf = w.pdf
    size = 10.0
    pad = 1.0
    w.font("", size)
    # Fixed columns are as wide as their content, so a code or a date never wraps (a split
    # code cannot be read back or searched in the PDF text); the text columns share the rest.
    code_w = min(
        52.0, max([28.0] + [pdf.get_string_width(nfc(r.code)) + 2 * pad + 1 for r in rows])
    )
    date_w = pdf.get_string_width("00/00/0000") + 2 * pad + 1.5
    stt_w = max(10.0, pdf.get_string_width(str(len(rows))) + 2 * pad + 1)
    sign_w = 16.0
    flexible = (48, 34, 40, 24, 24)  # TTHC | tên | địa chỉ/SĐT | cơ quan | phương thức
    scale = (pdf.text_width - stt_w - code_w - 3 * date_w - sign_w) / sum(flexible)
    tthc_w, name_w, addr_w, agency_w, channel_w = (f * scale for f in flexible)
    widths = (
        stt_w,
        code_w,
        tthc_w,
        name_w,
        addr_w,
        agency_w,
        date_w,
        date_w,
        date_w,
        channel_w,
        sign_w,
    )
    centred = {"stt", "received", "appointment", "returned"}
    heading = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
    with pdf.table(
        col_widths=widths,
        width=pdf.text_width,
        line_height=line_height(size, 1.2),
        text_align=tuple("CENTER" if key in centred else "LEFT" for key, _, _ in BOOK_COLUMNS),
        headings_style=heading,
        num_heading_rows=3,
        repeat_headings=1,
        padding=(0.8, pad),
        v_align="TOP",
    ) as table:
        r1 = table.row()
        group_done = False
        for _, label, group in BOOK_COLUMNS:
            if not group:
                r1.cell(label, align="C", v_align="MIDDLE", rowspan=2)
            elif not group_done:
                span = sum(1 for c in BOOK_COLUMNS if c[2] == group)
                r1.cell(group, align="C", colspan=span)
                group_done = True
        r2 = table.row()
        for _, label, group in BOOK_COLUMNS:
            if group:
                r2.cell(label, align="C", v_align="MIDDLE")
        r3 = table.row()
        for i in range(1, len(BOOK_COLUMNS) + 1):
            r3.cell(f"({i})", align="C")
        for r in rows:
            cells = r.cells()
            row = table.row()
            for key, _, _ in BOOK_COLUMNS:
                text = cells[key]
                if key in centred:  # "09:00 02/03/2026" on two lines: the column stays narrow
                    text = _TIME_FIRST.sub(r"\1\n", text)
                elif key == "contact":
                    text = text.replace(" / ", "\n")
                row.cell(nfc(text))
    w.font()


_DRAWERS: dict[SlipKind, _Drawer] = {
    SlipKind.RECEIPT: _draw_receipt,
    SlipKind.SUPPLEMENT: _draw_supplement,
    SlipKind.REFUSAL: _draw_refusal,
    SlipKind.APOLOGY: _draw_apology,
    SlipKind.STOP: _draw_stop,
}
