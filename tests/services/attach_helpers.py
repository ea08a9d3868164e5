"""Small PDFs for the attachment tests, made by the tests (fpdf2, uncompressed so the page
text is in the file's bytes)."""

from __future__ import annotations

from fpdf import FPDF

KNOWN_TEXT = "GIAY KHAI SINH NGUYEN VAN AN 001099012345"


def make_pdf(pages: int, text: str = KNOWN_TEXT) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_compression(False)
    pdf.set_font("Helvetica", size=12)
    for i in range(pages):
        pdf.add_page()
        pdf.cell(text=f"{text} - trang {i + 1}")
    return bytes(pdf.output())
