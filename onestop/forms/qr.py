"""QR rendering (PNG for slips, half-block text for the terminal) and decoding of photos.

Segments: a receipt text is ``https://<host>/r1#`` followed by hundreds of digits. Left to
itself a generic encoder either puts everything in byte mode (8 bits per digit) or splits the
URL into odd little segments. We build the segments explicitly: the prefix in one byte-mode
segment, the trailing digit run in one numeric-mode segment (10 bits per 3 digits). For a
realistic receipt that is the difference between version 11 and version 16 at level M
(QR-AND-SYNC.md, A.2). ``qrcode`` supports this directly (``QRCode.add_data(QRData(...,
mode=...))``), so no extra dependency (segno) is needed.

Error correction is M everywhere: at 25 mm on a 203 dpi printer, version 11 at M gives whole
3-dot (0.375 mm) modules; level Q would need about 26 mm (A.3).

The same builder feeds ``qr_version``, ``qr_png`` and ``qr_terminal``, so the version the desk
checks is the version it prints.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from os import PathLike
from typing import Any, Final

import qrcode
import qrcode.constants
import qrcode.exceptions
import qrcode.util
from PIL import Image, UnidentifiedImageError

from onestop.i18n import t

__all__ = [
    "ERROR_CORRECTION",
    "QrDecodeError",
    "decode_image",
    "qr_matrix",
    "qr_png",
    "qr_terminal",
    "qr_version",
]

ERROR_CORRECTION: Final = qrcode.constants.ERROR_CORRECT_M
#: A numeric segment costs a 4-bit mode indicator plus a 10-14 bit count; below this many
#: digits staying in the byte segment is as cheap and simpler.
_MIN_NUMERIC_RUN: Final = 12
_TRAILING_DIGITS: Final = re.compile(r"[0-9]+\Z")
#: Quiet zone on screen. ISO 18004 asks for 4 modules; 2 is what fits (a version 11 code is
#: then 65 columns x 33 rows) and phones read it off a white terminal background.
_TERMINAL_BORDER: Final = 2
#: Quiet zone in printed PNGs: the full 4 modules of the standard.
_PRINT_BORDER: Final = 4

# Half blocks for (top, bottom) module pairs, dark = foreground ink.
_HALF_BLOCKS: Final = {
    (False, False): " ",
    (True, False): "▀",
    (False, True): "▄",
    (True, True): "█",
}


class QrDecodeError(ValueError):
    """No QR code could be read from an image (message in Vietnamese)."""


def _segments(text: str) -> list[qrcode.util.QRData]:
    match = _TRAILING_DIGITS.search(text)
    if match is None or len(match.group()) < _MIN_NUMERIC_RUN:
        return [qrcode.util.QRData(text.encode("utf-8"), mode=qrcode.util.MODE_8BIT_BYTE)]
    prefix, digits = text[: match.start()], match.group()
    segments = []
    if prefix:
        segments.append(qrcode.util.QRData(prefix.encode("utf-8"), mode=qrcode.util.MODE_8BIT_BYTE))
    segments.append(qrcode.util.QRData(digits.encode("ascii"), mode=qrcode.util.MODE_NUMBER))
    return segments


def _build(text: str, *, border: int, box_size: int = 1) -> Any:
    if not isinstance(text, str) or not text:
        raise ValueError("Nội dung mã QR rỗng.")
    qr = qrcode.QRCode(error_correction=ERROR_CORRECTION, box_size=box_size, border=border)
    for segment in _segments(text):
        qr.add_data(segment)
    try:
        qr.make(fit=True)
    except qrcode.exceptions.DataOverflowError as exc:
        raise ValueError("Nội dung quá dài cho một mã QR.") from exc
    return qr


def qr_version(text: str) -> int:
    """QR version (1-40) of ``text`` at error correction M with our segments."""
    return int(_build(text, border=0).version)


def qr_matrix(text: str, *, border: int = _TERMINAL_BORDER) -> list[list[bool]]:
    """Module matrix including the quiet zone; True = dark."""
    return [[bool(cell) for cell in row] for row in _build(text, border=border).get_matrix()]


def qr_png(text: str, *, box_size: int = 8, border: int = _PRINT_BORDER) -> bytes:
    """PNG bytes: black modules on white, ``box_size`` pixels per module.

    For a thermal printer pass the whole number of printer dots per module (3 at 203 dpi for a
    25 mm version 11 code) and print at 1:1, so modules are never resampled.
    """
    if box_size < 1:
        raise ValueError("box_size phải >= 1.")
    qr = _build(text, border=border, box_size=box_size)
    image = qr.make_image(fill_color="black", back_color="white").get_image()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def qr_terminal(text: str, *, invert: bool = False) -> list[str]:
    """The QR as lines of half-block characters, two module rows per text line.

    Dark modules are drawn with the foreground ("█", "▀", "▄"), light ones are spaces, so show
    the lines BLACK foreground on WHITE background (the desk's QR view does, whatever the
    theme). ``invert=True`` swaps ink and paper for a plain light-on-dark terminal, where the
    foreground is the light colour; most phone scanners also read such inverted codes.
    """
    matrix = qr_matrix(text, border=_TERMINAL_BORDER)
    if len(matrix) % 2:
        matrix.append([False] * len(matrix[0]))  # light row below: part of the quiet zone
    lines = []
    for top, bottom in zip(matrix[0::2], matrix[1::2], strict=True):
        lines.append(
            "".join(
                _HALF_BLOCKS[(t != invert, b != invert)] for t, b in zip(top, bottom, strict=True)
            )
        )
    return lines


MAX_IMAGE_BYTES: Final = 20 * 1024 * 1024  # a phone photo is a few MB
MAX_IMAGE_PIXELS: Final = 50_000_000  # 50 megapixels: checked from the header, before decoding


def zxing_missing_text() -> str:
    return t(
        "Máy này thiếu thành phần đọc mã QR từ ảnh (gói zxing-cpp), nên không đọc được ảnh "
        "chụp. Cài lại onestop (pip install --force-reinstall onestop) hoặc nhập mã hồ sơ bằng "
        "tay."
    )


def decode_image(image: str | PathLike[str] | bytes) -> list[str]:
    """Texts of every QR code in a PNG/JPEG file or bytes (e.g. a phone photo of a slip).

    Raises ``QrDecodeError`` if the image cannot be opened, is larger than ``MAX_IMAGE_BYTES``
    or ``MAX_IMAGE_PIXELS`` (a 30000×30000 PNG is a few KB on disk and 900 MB decoded: its
    size is read from the header and refused before any pixel is decoded), or holds no
    readable QR code.
    """
    try:
        import zxingcpp  # local: a compiled extension only the verify path needs
    except ImportError as exc:  # a platform without its wheel (pyproject: zxing-cpp)
        raise QrDecodeError(zxing_missing_text()) from exc

    try:
        size = len(image) if isinstance(image, bytes) else os.stat(image).st_size
    except FileNotFoundError as exc:
        raise QrDecodeError(t("Không tìm thấy tệp ảnh {path}.", path=image)) from exc
    except OSError as exc:
        raise QrDecodeError(t("Không mở được ảnh (cần tệp PNG hoặc JPEG).")) from exc
    if size > MAX_IMAGE_BYTES:
        raise QrDecodeError(
            t(
                "Ảnh quá lớn: {n} MB (tối đa {max_n} MB). Hãy chụp hoặc quét lại nhỏ hơn.",
                n=size // (1024 * 1024),
                max_n=MAX_IMAGE_BYTES // (1024 * 1024),
            )
        )
    try:
        source: Any = io.BytesIO(image) if isinstance(image, bytes) else image
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as opened:
                width, height = opened.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise QrDecodeError(
                        t(
                            "Ảnh quá lớn: {w}×{h} điểm ảnh (tối đa {max_n} triệu điểm ảnh). "
                            "Hãy chụp hoặc quét lại nhỏ hơn.",
                            w=width,
                            h=height,
                            max_n=MAX_IMAGE_PIXELS // 1_000_000,
                        )
                    )
                opened.load()
                gray = opened.convert("L")
    except QrDecodeError:
        raise
    except Image.DecompressionBombError as exc:
        raise QrDecodeError(
            t(
                "Ảnh quá lớn (tối đa {max_n} triệu điểm ảnh). Hãy chụp hoặc quét lại nhỏ hơn.",
                max_n=MAX_IMAGE_PIXELS // 1_000_000,
            )
        ) from exc
    except FileNotFoundError as exc:
        raise QrDecodeError(t("Không tìm thấy tệp ảnh {path}.", path=image)) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, MemoryError) as exc:
        raise QrDecodeError(t("Không mở được ảnh (cần tệp PNG hoặc JPEG).")) from exc
    results = zxingcpp.read_barcodes(
        gray, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    texts = [result.text for result in results if result.text]
    if not texts:
        raise QrDecodeError(
            t(
                "Không đọc được mã QR nào trong ảnh. Hãy chụp lại rõ hơn, đủ sáng và không bị "
                "nghiêng."
            )
        )
    return texts
