"""Low-level drawing for the printed slips: fonts, the ND 30/2020 header, fields, barcodes.

Private to :mod:`onestop.forms.slips`. Everything here draws on an fpdf2 document in
millimetres; nothing reads a database or the clock.

Measurements behind the fixed numbers (Liberation Serif, metric twin of Times New Roman):

* "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG" bold is 81.9 mm at 11 pt and 89.4 mm at 12 pt;
  "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" bold is 88.3 mm at 12 pt. With 20/15 mm side margins
  (175 mm of text) the header columns are 85 + 90 mm, so both lines fit on one line each,
  as on the printed forms, and anything longer is shrunk rather than wrapped.
* A Code 128 of a dossier code ("000.00.14.H56-260224-030017") is 299 modules; at 0.25 mm
  per module (about 6 dots at 600 dpi) it is 75 mm wide.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING, Any

from onestop.forms.page import FAMILY, nfc
from onestop.forms.qr import qr_png

if TYPE_CHECKING:
    from PIL import Image

    from onestop.forms.pdf_doc import SlipPDF


DOTS = "…………………"
TN_TKQ = "Bộ phận TN&TKQ"


def new_pdf(
    *,
    landscape: bool = False,
    footer_left: str = "",
    footer_right: str = "",
    page_numbers: bool = False,
) -> SlipPDF:
    """A new A4 document. fpdf2 (with fontTools) takes a fifth of a second to import, so it is
    loaded on the first slip, not when the desk starts."""
    from onestop.forms.pdf_doc import SlipPDF

    return SlipPDF(
        landscape=landscape,
        footer_left=footer_left,
        footer_right=footer_right,
        page_numbers=page_numbers,
    )


def line_height(size: float, spacing: float = 1.3) -> float:
    """Line pitch in mm for a font size in pt: 1.3 x the size, as on the printed forms."""
    return size * 0.3528 * spacing


@dataclass(frozen=True)
class Signer:
    """One signature block: title, hint line, and the printed name under the blank space."""

    title: str
    hint: str = "(Ký và ghi rõ họ tên)"
    name: str = ""
    note: str = ""
    #: Name of the PDF signature field of this block ("" for a hand signature only): the blank
    #: space under the title becomes the place of the digital signature's visible appearance,
    #: marked "(Chưa ký số)" until it is signed (the appearance covers the mark).
    digital: str = ""
    #: The form asks for the agency's seal with this signature ("... và đóng dấu").
    seal: bool = False


class Writer:
    """Flowing form text at one base font size (13 pt on the forms; smaller when fitting)."""

    def __init__(self, pdf: SlipPDF, size: float = 13.0) -> None:
        self.pdf = pdf
        self.size = size
        self.h = line_height(size)

    # -- fonts -------------------------------------------------------------------------------

    def font(self, style: str = "", size: float | None = None) -> None:
        self.pdf.set_font(FAMILY, style, self.size if size is None else size)

    def fit_size(
        self, text: str, width: float, style: str, size: float, minimum: float = 8
    ) -> float:
        """The largest size <= ``size`` at which ``text`` fits ``width`` on one line."""
        while size > minimum:
            self.pdf.set_font(FAMILY, style, size)
            if self.pdf.get_string_width(text) <= width:
                break
            size -= 0.5
        return size

    # -- header -----------------------------------------------------------------------------

    def header(
        self, *, unit: str, office: str, number: str, place_date: str, copy_label: str = ""
    ) -> None:
        """Quốc hiệu/tiêu ngữ on the right, the issuing unit on the left (ND 30/2020, Phụ lục I)."""
        pdf = self.pdf
        x0 = pdf.l_margin
        total = pdf.text_width
        # Portrait: 85 + 90 mm filling the text width. Landscape: both blocks hug their margins.
        left_w = min(100.0, total * 0.486)
        right_w = min(total - left_w, 110.0)
        xr = pdf.w - pdf.r_margin - right_w
        if copy_label:
            self.font("I", 11)
            pdf.set_xy(x0, pdf.t_margin - 6)
            pdf.cell(total, 5, nfc(copy_label), align="R")
        y = pdf.t_margin
        hl = line_height(12.5)

        # Left: governing body (regular caps), issuing unit (bold caps), short rule.
        unit_text = nfc(unit.upper())
        pdf.set_xy(x0, y)
        self.font("", self.fit_size(unit_text, left_w, "", 12.5))
        pdf.cell(left_w, hl, unit_text, align="C")
        office_text = nfc(office.upper())
        office_size = self.fit_size(office_text, left_w, "B", 12)
        self.font("B", office_size)
        pdf.set_xy(x0, y + hl)
        pdf.cell(left_w, hl, office_text, align="C")
        rule = pdf.get_string_width(office_text) / 3
        ry = y + 2 * hl + 0.2
        pdf.set_line_width(0.3)
        pdf.line(x0 + (left_w - rule) / 2, ry, x0 + (left_w + rule) / 2, ry)

        # Right: national title (bold caps) and motto (bold), rule as long as the motto.
        nation = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
        self.font("B", self.fit_size(nation, right_w, "B", 12.5))
        pdf.set_xy(xr, y)
        pdf.cell(right_w, hl, nation, align="C")
        motto = "Độc lập - Tự do - Hạnh phúc"
        self.font("B", 13)
        pdf.set_xy(xr, y + hl)
        pdf.cell(right_w, hl, motto, align="C")
        mw = pdf.get_string_width(motto)
        pdf.line(xr + (right_w - mw) / 2, ry, xr + (right_w + mw) / 2, ry)

        # Number (left) and place-date (right, italic) on one row.
        y2 = ry + 2.5
        number_text = nfc(number)
        self.font("", self.fit_size(number_text, left_w, "", 13))
        pdf.set_xy(x0, y2)
        pdf.cell(left_w, self.h, number_text, align="C")
        place = nfc(place_date)
        self.font("I", self.fit_size(place, right_w, "I", 13))
        pdf.set_xy(xr, y2)
        pdf.cell(right_w, self.h, place, align="C")
        pdf.set_xy(x0, y2 + self.h + 4)
        self.font()

    def title(self, text: str, *, size: float = 14.0, after: float = 1.0) -> None:
        pdf = self.pdf
        self.font("B", size)
        pdf.set_x(pdf.l_margin)
        pdf.multi_cell(0, line_height(size), nfc(text), align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(after)
        self.font()

    def centered(self, text: str, style: str = "", size: float | None = None) -> None:
        pdf = self.pdf
        self.font(style, size)
        pdf.set_x(pdf.l_margin)
        pdf.multi_cell(
            0,
            line_height(size or self.size),
            nfc(text),
            align="C",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        self.font()

    # -- body --------------------------------------------------------------------------------

    def rich(self, parts: Sequence[tuple[str, str]], *, indent: float = 0.0) -> None:
        """One paragraph made of (style, text) runs, wrapped at the margins."""
        pdf = self.pdf
        pdf.set_x(pdf.l_margin + indent)
        for style, text in parts:
            if not text:
                continue
            self.font(style)
            pdf.write(self.h, nfc(text))
        pdf.ln(self.h)
        self.font()

    def field(self, label: str, value: str, *, strong: bool = False, indent: float = 0.0) -> None:
        """``Label: value``; an empty value prints dotted leaders for the clerk to fill in."""
        self.rich(
            [("", f"{label}: "), ("B" if strong and value else "", value or DOTS)], indent=indent
        )

    def fields_row(self, items: Sequence[tuple[str, str]]) -> None:
        """Several short fields on one line at equal tab stops (phone and email)."""
        pdf = self.pdf
        col = pdf.text_width / len(items)
        widths = []
        for label, value in items:
            self.font()
            w = pdf.get_string_width(nfc(f"{label}: {value or DOTS}"))
            widths.append(w)
        if max(widths) > col - 2:
            for label, value in items:
                self.field(label, value)
            return
        y = pdf.get_y()
        for i, (label, value) in enumerate(items):
            pdf.set_xy(pdf.l_margin + i * col, y)
            self.font()
            pdf.write(self.h, nfc(f"{label}: "))
            pdf.write(self.h, nfc(value or DOTS))
        pdf.ln(self.h)

    def para(
        self,
        text: str,
        *,
        style: str = "",
        size: float | None = None,
        align: str = "J",
        indent: float = 0.0,
    ) -> None:
        pdf = self.pdf
        self.font(style, size)
        pdf.set_x(pdf.l_margin + indent)
        pdf.multi_cell(
            0,
            line_height(size or self.size),
            nfc(text),
            align=align,
            new_x="LMARGIN",
            new_y="NEXT",
        )
        self.font()

    def numbered(self, items: Sequence[str], *, indent: float = 6.0) -> None:
        """``1. …`` items with a hanging indent, so wrapped lines align with the text."""
        pdf = self.pdf
        self.font()
        num_w = pdf.get_string_width(f"{len(items)}. ") + 1
        for i, item in enumerate(items, start=1):
            pdf.set_x(pdf.l_margin + indent)
            pdf.cell(num_w, self.h, f"{i}.")
            pdf.multi_cell(0, self.h, nfc(item), align="L", new_x="LMARGIN", new_y="NEXT")

    def gap(self, mm: float) -> None:
        self.pdf.ln(mm)

    # -- signatures --------------------------------------------------------------------------

    def signatures(self, left: Signer | None, right: Signer | None, *, blank: float = 20.0) -> None:
        """Two signature columns (either may be absent); never split across a page.

        Titles, hints and notes are drawn first; the printed names then share one baseline
        ``blank`` mm below the lower of the two columns, leaving room for a hand signature.
        """
        pdf = self.pdf
        signers = [(i, s) for i, s in enumerate((left, right)) if s is not None]
        lines = (
            max((s.title.count("\n") + 2 + (1 if s.note else 0)) for _, s in signers)
            if signers
            else 0
        )
        if pdf.will_page_break((lines + 1) * self.h + blank + 2):
            pdf.add_page()
        y = pdf.get_y() + 2
        half = pdf.text_width / 2
        low = y
        for i, signer in signers:
            x = pdf.l_margin + i * half
            pdf.set_xy(x, y)
            self.font("B")
            pdf.multi_cell(half, self.h, nfc(signer.title), align="C", new_x="LEFT", new_y="NEXT")
            self.font("I", self.size - 1)
            pdf.multi_cell(half, self.h, nfc(signer.hint), align="C", new_x="LEFT", new_y="NEXT")
            if signer.note:
                self.font("I", self.size - 3)
                pdf.multi_cell(
                    half,
                    line_height(self.size - 3),
                    nfc(signer.note),
                    align="C",
                    new_x="LEFT",
                    new_y="NEXT",
                )
            low = max(low, pdf.get_y())
        name_y = low + blank
        for i, signer in signers:
            if signer.digital and signer.digital not in {b.field for b in pdf.signature_blocks}:
                self._digital_block(signer, x=pdf.l_margin + i * half, y=low, w=half, h=blank)
        for i, signer in signers:
            pdf.set_xy(pdf.l_margin + i * half, name_y)
            self.font("B")
            pdf.multi_cell(half, self.h, nfc(signer.name), align="C")
        pdf.set_xy(pdf.l_margin, name_y + self.h)
        self.font()

    def _digital_block(self, signer: Signer, *, x: float, y: float, w: float, h: float) -> None:
        """Mark the blank of a signature block as the digital signature's place (first copy
        only: one signature field per document) and record where it is."""
        from onestop.forms.pdf_doc import SignatureBlock

        pdf = self.pdf
        inset = 3.0
        bx, by, bw, bh = x + inset, y + 0.5, w - 2 * inset, h - 1.0
        self.font("I", max(self.size - 3, 8))
        pdf.set_text_color(90)
        pdf.set_xy(bx, by + (bh - self.h) / 2)
        pdf.cell(bw, self.h, "(Chưa ký số)", align="C")
        pdf.set_text_color(0)
        pdf.signature_blocks.append(
            SignatureBlock(
                field=signer.digital,
                signer=nfc(signer.name),
                page=pdf.page_no() - 1,
                x=bx,
                y=by,
                w=bw,
                h=bh,
                page_height=float(pdf.h),
                seal=signer.seal,
            )
        )


# -- barcodes --------------------------------------------------------------------------------


def code128_modules(text: str) -> list[bool] | None:
    """Code 128 modules (True = bar) from zxing-cpp's encoder, or None if it is unavailable.

    fpdf2 only draws Code 39 and Interleaved 2 of 5 (https://py-pdf.github.io/fpdf2/Barcodes.html).
    zxing-cpp is already a dependency (the card scanner reads with it) and writes Code 128; we
    take one pixel row of its 1-px-per-module image and draw the bars as vector rectangles, so
    the print is sharp at any resolution. Code 128 of a dossier code is about 35 % narrower
    than Code 39 (299 modules against 464 narrow units).
    """
    try:
        import zxingcpp
    except ImportError:  # pragma: no cover - zxing-cpp is a declared dependency
        return None
    create: Callable[..., Any] | None = getattr(zxingcpp, "create_barcode", None)
    if create is None:  # pragma: no cover - zxing-cpp < 2.3 has no writer object
        return None
    barcode = create(text, zxingcpp.BarcodeFormat.Code128)
    image = barcode.to_image(scale=1, add_quiet_zones=False, add_hrt=False)
    width = int(image.shape[1])
    row = bytes(memoryview(image))[:width]
    return [px < 128 for px in row]


def draw_barcode(pdf: SlipPDF, text: str, x: float, y: float, *, max_w: float, h: float) -> float:
    """Draw a Code 128 (Code 39 as a fallback) of ``text`` at (x, y); return its width."""
    modules = code128_modules(text)
    if modules is None:  # pragma: no cover - exercised only without zxing-cpp
        narrow = max(0.19, min(0.25, max_w / (16 * (len(text) + 2))))
        pdf.code39(f"*{text.upper()}*", x, y, w=narrow * 3, h=h)
        return narrow * 16 * (len(text) + 2)
    mw = max(0.19, min(0.25, max_w / len(modules)))
    pdf.set_fill_color(0)
    i = 0
    n = len(modules)
    while i < n:
        if modules[i]:
            j = i
            while j < n and modules[j]:
                j += 1
            pdf.rect(x + i * mw, y, (j - i) * mw, h, style="F")
            i = j
        else:
            i += 1
    return mw * n


def qr_image(text: str) -> Image.Image:
    """A PIL image of the receipt QR: ``qr.qr_png`` (level M, byte + numeric segments, 4-module
    quiet zone), so the printed code is the very code whose version the desk checked."""
    from PIL import Image

    return Image.open(BytesIO(qr_png(text)))
