"""Page setup of every printed form: the embedded font family, A4 margins, and the NFC rule for
text drawn with fpdf2. Shared by the drawing helpers (forms/pdf.py) and the document class
(forms/pdf_doc.py) so neither imports the other at load time."""

from __future__ import annotations

import unicodedata

FAMILY = "LiberationSerif"


FONT_FILES = {
    "": "LiberationSerif-Regular.ttf",
    "B": "LiberationSerif-Bold.ttf",
    "I": "LiberationSerif-Italic.ttf",
    "BI": "LiberationSerif-BoldItalic.ttf",
}


# Side margins (mm). ND 30/2020 asks 30-35 mm on the left for bound documents; slips are not
# bound, and 20 mm leaves room for the two header columns on one line each (see forms/pdf.py).
MARGIN_LEFT = 20.0


MARGIN_RIGHT = 15.0


MARGIN_TOP = 12.0


MARGIN_BOTTOM = 16.0


LANDSCAPE_MARGIN = 10.0


def nfc(text: str) -> str:
    """Every string drawn goes through NFC: fpdf2 places glyphs per code point, and a decomposed
    "ễ" (e + two combining marks) would print its marks beside the letter."""
    return unicodedata.normalize("NFC", text)
