"""The fpdf2 document class of the slips, apart from :mod:`onestop.forms.pdf` because
importing fpdf2 is slow: :func:`onestop.forms.pdf.new_pdf` loads this module on first use."""

from __future__ import annotations

from dataclasses import dataclass

from fpdf import FPDF

from onestop.forms.page import (
    FAMILY,
    FONT_FILES,
    LANDSCAPE_MARGIN,
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    nfc,
)
from onestop.paths import asset_path

_PT_PER_MM = 72 / 25.4


@dataclass(frozen=True, slots=True)
class SignatureBlock:
    """Where a form wants a digital signature: the blank of its signature block (mm, from the
    page's top-left, as fpdf2 draws), who must sign there, and whether with the seal."""

    field: str
    signer: str
    page: int  # 0-based
    x: float
    y: float
    w: float
    h: float
    page_height: float
    seal: bool = False

    def rect_pt(self) -> tuple[float, float, float, float]:
        """(x1, y1, x2, y2) in PDF points, origin bottom-left (a widget's /Rect)."""
        x1 = self.x * _PT_PER_MM
        y1 = (self.page_height - self.y - self.h) * _PT_PER_MM
        return (x1, y1, x1 + self.w * _PT_PER_MM, y1 + self.h * _PT_PER_MM)


class SlipPDF(FPDF):
    """An A4 document with the embedded Liberation Serif family and a small footer line."""

    def __init__(
        self,
        *,
        landscape: bool = False,
        footer_left: str = "",
        footer_right: str = "",
        page_numbers: bool = False,
    ) -> None:
        super().__init__(orientation="L" if landscape else "P", unit="mm", format="A4")
        for style, name in FONT_FILES.items():
            self.add_font(FAMILY, style, str(asset_path("fonts", name)))
        if landscape:
            self.set_margins(LANDSCAPE_MARGIN, LANDSCAPE_MARGIN, LANDSCAPE_MARGIN)
            self.set_auto_page_break(True, margin=MARGIN_BOTTOM - 2)
        else:
            self.set_margins(MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT)
            self.set_auto_page_break(True, margin=MARGIN_BOTTOM)
        self.set_lang("vi")
        self.footer_left = nfc(footer_left)
        self.footer_right = nfc(footer_right)
        self.page_numbers = page_numbers
        self.signature_blocks: list[SignatureBlock] = []
        self.set_font(FAMILY, "", 13)

    def close_fonts(self) -> None:
        """Close the font files: fontTools opens them lazily and fpdf2 never closes them (an
        unclosed file is a ResourceWarning, an error under our test settings)."""
        for font in self.fonts.values():
            ttfont = getattr(font, "ttfont", None)
            if ttfont is not None:
                ttfont.close()

    def to_bytes(self) -> bytes:
        """The finished PDF; the document cannot be drawn on afterwards."""
        try:
            return bytes(self.output())
        finally:
            self.close_fonts()

    @property
    def text_width(self) -> float:
        return float(self.w - self.l_margin - self.r_margin)

    @property
    def bottom(self) -> float:
        """Lowest y usable by content (the auto page break line)."""
        return float(self.h - self.b_margin)

    def footer(self) -> None:
        family, style, size = self.font_family, self.font_style, self.font_size_pt
        self.set_y(-11)
        self.set_font(FAMILY, "I", 8.5)
        self.set_text_color(60)
        right = self.footer_right
        if self.page_numbers:
            right = (
                f"{right} · Trang {self.page_no()}/{{nb}}"
                if right
                else f"Trang {self.page_no()}/{{nb}}"
            )
        right_w = self.get_string_width(right) + 2 if right else 0
        if self.get_string_width(self.footer_left) + right_w + 4 <= self.text_width:
            self.cell(self.text_width - right_w, 4, self.footer_left, align="L")
            if right:
                self.cell(right_w, 4, right, align="R")
        else:  # a long signer name or key id: signature line(s) first, print time below
            self.set_y(-15)
            self.multi_cell(
                self.text_width,
                3.6,
                self.footer_left,
                align="L",
                new_x="LMARGIN",
                new_y="NEXT",
            )
            if right:
                self.cell(self.text_width, 3.6, right, align="R")
        self.set_text_color(0)
        self.set_font(family, style, size)
