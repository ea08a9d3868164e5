"""The receipt (BM.01, "Giấy tiếp nhận hồ sơ và hẹn trả kết quả") on an 80 mm thermal roll.

Many commune counters print receipts on the 80 mm ESC/POS printers shops use: cheap, no
toner, and the citizen gets a slip at once. Same content as the A4 receipt of
:mod:`onestop.forms.slips` (the same helpers build every line, so the two never disagree),
laid out in one narrow column:

* Page 80 mm wide, 4 mm side margins: 72 mm of text, the printable width of an 80 mm head
  (576 dots at 8 dots/mm). The page is exactly as long as its content (rendered once on a
  long scratch page to measure, then again at that height), so the printer cuts after it.
* Two pages, "Liên 1: Lưu" and "Liên 2: Giao người nộp hồ sơ", as on A4.
* The QR's modules are 0.5 mm: four whole dots of an 8 dots/mm head, so the printer never
  rounds a module to 3 or 5 dots, and a version 11 receipt code is 34.5 mm wide with its
  4-module quiet zone: phones read it at arm's length (tests decode it from a 203 dpi render).
* The Code 128 of the dossier code narrows to the 72 mm (0.24 mm modules, a 0.25 mm
  minimum is the A4 form's), still read by the counter's handheld scanners.
* Hand signatures only: the legal digital signature (PAdES) lives on the A4 PDF; thermal
  paper fades within years and is not an archive copy. The signed QR still proves the receipt.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from onestop.domain.desk import DeskIdentity
from onestop.domain.events import Event, EventKind
from onestop.domain.lifecycle import DossierState
from onestop.domain.text import date_vi, datetime_vi
from onestop.forms.page import nfc
from onestop.forms.pdf import DOTS, Signer, Writer, draw_barcode, new_pdf
from onestop.forms.qr import qr_matrix
from onestop.forms.slips import (
    SLIP_TITLES,
    SlipError,
    SlipKind,
    _applicant_title,
    _Ctx,
    _due_text,
    _duration_text,
    _fee_text,
    _local,
    _not_applicable,
    _number,
    _office,
    _own_events,
    _place,
    _proc_code,
    _proxy_lines,
    applicable_slips,
)

if TYPE_CHECKING:
    from onestop.forms.pdf_doc import SlipPDF

__all__ = ["PAPER_WIDTH_MM", "QR_MODULE_MM", "render_receipt_80mm"]

PAPER_WIDTH_MM = 80.0
MARGIN_MM = 4.0
#: 4 dots of an 8 dots/mm (203 dpi) print head.
QR_MODULE_MM = 0.5
DOTS_PER_MM = 8
BODY_PT = 9.0
_SCRATCH_HEIGHT_MM = 2000.0
_COPIES = ("Liên 1: Lưu", "Liên 2: Giao người nộp hồ sơ")


def render_receipt_80mm(
    dossier: DossierState,
    events: list[Event],
    desk: DeskIdentity,
    *,
    now: datetime,
    qr_text: str | None = None,
    official: str = "",
) -> bytes:
    """The receipt of ``dossier`` as an 80 mm wide PDF of two pages (one per copy).

    Raises :class:`SlipError` when the dossier has no receipt (refused at the counter)."""
    evs = _own_events(dossier, events)
    if SlipKind.RECEIPT not in applicable_slips(dossier, evs):
        raise SlipError(_not_applicable(SlipKind.RECEIPT, dossier))
    ctx = _Ctx(SlipKind.RECEIPT, dossier, evs, desk, _local(now), qr_text, None, official.strip())
    height = _measure(ctx)
    pdf = _roll()
    try:
        for label in _COPIES:
            pdf.add_page(format=(PAPER_WIDTH_MM, height))
            _draw(Writer(pdf, BODY_PT), ctx, label)
        pdf.set_title(nfc(f"{SLIP_TITLES[SlipKind.RECEIPT]} - {dossier.code} (80 mm)"))
        pdf.set_author(nfc(ctx.official or desk.agency_name))
        return pdf.to_bytes()
    finally:
        pdf.close_fonts()


def _roll() -> SlipPDF:
    pdf = new_pdf()
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(False)
    return pdf


def _measure(ctx: _Ctx) -> float:
    """The page length (mm) one copy needs: drawn once on a long scratch page."""
    scratch = new_pdf()
    scratch.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    scratch.set_auto_page_break(False)
    try:
        scratch.add_page(format=(PAPER_WIDTH_MM, _SCRATCH_HEIGHT_MM))
        _draw(Writer(scratch, BODY_PT), ctx, _COPIES[1])
        return float(scratch.get_y()) + MARGIN_MM + 6.0  # room for the cutter
    finally:
        scratch.close_fonts()


def _rule(w: Writer) -> None:
    pdf = w.pdf
    y = pdf.get_y() + 1
    pdf.set_line_width(0.2)
    pdf.line(pdf.l_margin, y, pdf.w - pdf.r_margin, y)
    pdf.set_y(y + 1.5)


def _draw(w: Writer, ctx: _Ctx, copy_label: str) -> None:
    d = ctx.dossier
    desk = ctx.desk
    w.para(copy_label, style="I", size=BODY_PT - 1, align="R")
    w.centered(desk.agency_name.upper(), size=BODY_PT)
    w.centered("TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG", "B", BODY_PT)
    w.centered("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "B", BODY_PT - 0.5)
    w.centered("Độc lập - Tự do - Hạnh phúc", "B", BODY_PT)
    w.centered(_number(ctx), size=BODY_PT - 0.5)
    w.centered(f"{_place(desk)}, {date_vi(d.received_at.date())}", "I", BODY_PT - 0.5)
    _rule(w)
    w.title(SLIP_TITLES[SlipKind.RECEIPT], size=BODY_PT + 1.5, after=0.5)
    w.centered(f"Mã hồ sơ: {d.code}", "B", BODY_PT + 0.5)
    w.gap(1)
    w.para(f"{_office(desk)} ({desk.desk_name}).", align="L")
    w.field("Tiếp nhận hồ sơ của Ông (Bà)/Tổ chức", _applicant_title(d), strong=True)
    w.field("Số định danh cá nhân/tổ chức", d.applicant_id)
    w.field("Địa chỉ", d.applicant_address)
    w.field("Số điện thoại", d.applicant_phone)
    w.field("Email", d.applicant_email)
    for label, value in _proxy_lines(d):
        w.field(label, value)
    w.rich(
        [("", "Nội dung yêu cầu giải quyết: "), ("B", d.procedure_name or DOTS)]
        + [("", _proc_code(d))]
    )
    w.para("Thành phần hồ sơ nộp gồm:", align="L")
    w.numbered(list(d.documents) or [DOTS], indent=1.0)
    w.field("Số lượng hồ sơ", "01 (bộ)")
    w.field("Thời gian giải quyết hồ sơ theo quy định là", _duration_text(d))
    w.field("Thời gian nhận hồ sơ", datetime_vi(d.received_at))
    w.field("Thời gian trả kết quả giải quyết hồ sơ", _due_text(d.due_at), strong=True)
    w.field("Đăng ký nhận kết quả tại", f"{desk.desk_name}, {_office(desk)}")
    w.field("Phí, lệ phí", _fee_text(ctx))
    w.para(f"Vào Sổ theo dõi hồ sơ, Quyển số {DOTS}, Số thứ tự {DOTS}", align="L")
    submitter = (d.proxy or {}).get("name") or d.applicant_name
    w.signatures(
        Signer("NGƯỜI NỘP HỒ SƠ", name=submitter),
        Signer("NGƯỜI TIẾP NHẬN HỒ SƠ", name=ctx.signer_name(EventKind.RECEIVE)),
        blank=12,
    )
    w.gap(1)
    w.para(
        "Ghi chú: Ông (Bà) có thể nhận kết quả trực tiếp tại Trung tâm Phục vụ hành chính công "
        "hoặc đăng ký nhận kết quả tại nhà qua dịch vụ bưu chính công ích. Khi đến nhận kết quả, "
        "vui lòng mang theo Giấy này; người nhận thay phải có giấy ủy quyền.",
        style="I",
        size=BODY_PT - 1,
    )
    _rule(w)
    _codes(w, ctx)


def _on_dots(mm: float) -> float:
    return round(mm * DOTS_PER_MM) / DOTS_PER_MM


def _draw_modules(pdf: SlipPDF, matrix: list[list[bool]], x: float, y: float) -> None:
    """The QR as filled rectangles, one per horizontal run of dark modules. Vector edges fall
    on the dot grid, where a raster image would be resampled by the printer driver: a PNG
    rendered at 203 dpi in black and white lost modules to dithering, rectangles do not."""
    pdf.set_fill_color(0)
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            pdf.rect(
                x + start * QR_MODULE_MM,
                y + r * QR_MODULE_MM,
                (c - start) * QR_MODULE_MM,
                QR_MODULE_MM,
                style="F",
            )


def _codes(w: Writer, ctx: _Ctx) -> None:
    """The signed QR centred at whole-dot modules, then the Code 128 of the dossier code."""
    pdf = w.pdf
    code = ctx.dossier.code
    if ctx.qr_text:
        matrix = qr_matrix(ctx.qr_text, border=4)
        size = len(matrix) * QR_MODULE_MM
        # On the head's dot grid (1/8 mm), so each module is exactly 4 × 4 dots, not 3-5.
        x = _on_dots((pdf.w - size) / 2)
        y = _on_dots(pdf.get_y() + 1)
        _draw_modules(pdf, matrix, x, y)
        pdf.set_y(y + size)
        w.centered("Quét mã để kiểm tra biên nhận", "I", BODY_PT - 1)
        w.gap(1.5)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    y = pdf.get_y()
    draw_barcode(pdf, code, pdf.l_margin, y, max_w=width, h=10)
    pdf.set_y(y + 10.5)
    w.centered(code, size=BODY_PT)
