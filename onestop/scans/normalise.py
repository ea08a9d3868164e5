"""Pages in, one compact PDF per paper (dossier component) out.

Every page is brought to **200 dpi** (Circular 01/2023 practice quoted by the provinces: PDF,
colour, at least 200 dpi, the red seal and the wet signature visible) and to the size of the
paper: a scanner page that carries its resolution is resampled to 200 dpi; a phone photo (no
trustworthy resolution) is fitted into A4 at 200 dpi (1654 x 2339 px, or 2339 x 1654 for a
landscape page). Pages are only ever made smaller, never upsampled. The PDF page size is the
pixel size at 200 dpi, so a 100 x 150 mm paper stays 100 x 150 mm.

Two encodings (measured in SCANS-AND-SIGNING.md §1 and by ``tests/bench/bench_scans.py``):

* ``Variant.JPEG`` — each page one 200 dpi colour JPEG at quality 50, wrapped by img2pdf without
  re-encoding. Simple, every reader shows it, ~150-270 KB per A4 page.
* ``Variant.LAYERED`` — the MRC idea without its complexity: a 200 dpi 1-bit CCITT G4 *text
  mask* (dark, colourless pixels: printed text, black ink) painted in black over a colour JPEG
  *background* at 100 dpi (``background_dpi``; 67 is the smaller setting) with the text
  removed. The red seal and blue ink are colourful, so they are never in the mask and stay in
  their colour in the background. Assembled with pikepdf; roughly half the bytes of ``JPEG``.

The default is ``LAYERED``; ``JPEG`` is the plain fallback and the seam stays one argument.

Limits, refused with a Vietnamese :class:`ScanError` before any pixel is decoded:
``MAX_PAGES`` (500) pages per paper, ``MAX_PIXELS`` (60 MP) per page image, ``MAX_INPUT_BYTES``
(200 MB) per input file; 0-byte, unknown (magic bytes, never the extension), corrupt and
password-protected inputs.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, NamedTuple

import img2pdf
import numpy as np
import pikepdf
from PIL import Image, ImageOps, ImageSequence, TiffImagePlugin, UnidentifiedImageError

from onestop.scans.errors import ScanError

__all__ = [
    "A4_MM",
    "DPI",
    "MAX_INPUT_BYTES",
    "MAX_PAGES",
    "MAX_PIXELS",
    "FileKind",
    "Normalised",
    "Progress",
    "Variant",
    "fit_to_paper",
    "normalise_pages",
    "open_images",
    "sniff",
]

DPI: Final = 200
A4_MM: Final = (210.0, 297.0)
MAX_PAGES: Final = 500
MAX_PIXELS: Final = 60_000_000
MAX_INPUT_BYTES: Final = 200 * 1024 * 1024
JPEG_QUALITY: Final = 50
BACKGROUND_QUALITY: Final = 40
#: Resolutions a scanner writes into its files that we believe (phones write 72 or nothing).
_PLAUSIBLE_DPI: Final = (100, 1200)

# Pillow's own bomb guard at our limit: a warning above it, an error above twice it. We check
# the size from the header before any decoding anyway (``_check_size``); this is the backstop.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class Variant(StrEnum):
    JPEG = "jpeg"
    LAYERED = "layered"


class FileKind(StrEnum):
    PDF = "pdf"
    JPEG = "jpeg"
    PNG = "png"
    TIFF = "tiff"


#: Told after each page is done: ``progress(pages_done, pages_total)`` (a UI's progress bar).
Progress = Callable[[int, int], None]


class Normalised(NamedTuple):
    """One paper as one PDF: unpacks as ``(pdf_bytes, page_count)``."""

    pdf: bytes
    page_count: int


_MAGIC: Final = (
    (b"%PDF-", FileKind.PDF),
    (b"\xff\xd8\xff", FileKind.JPEG),
    (b"\x89PNG\r\n\x1a\n", FileKind.PNG),
    (b"II*\x00", FileKind.TIFF),
    (b"MM\x00*", FileKind.TIFF),
)


def sniff(data: bytes) -> FileKind:
    """What a file is, from its first bytes (the name's extension is never trusted).

    A PDF may start after a little garbage (the PDF spec allows 1024 bytes)."""
    if not data:
        raise ScanError("Tệp rỗng (0 byte): không có trang nào để số hóa.")
    if len(data) > MAX_INPUT_BYTES:
        raise ScanError(
            f"Tệp quá lớn ({len(data) // (1024 * 1024)} MB, tối đa "
            f"{MAX_INPUT_BYTES // (1024 * 1024)} MB). Hãy quét lại ở 200 dpi."
        )
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if b"%PDF-" in data[:1024]:
        return FileKind.PDF
    raise ScanError(
        "Tệp không phải ảnh quét hay PDF (chỉ nhận PDF, JPEG, PNG, TIFF). "
        "Hãy chọn đúng tệp bản quét."
    )


def _check_size(width: int, height: int, where: str = "") -> None:
    if width <= 0 or height <= 0:
        raise ScanError(f"Ảnh{where} không có kích thước hợp lệ.")
    if width * height > MAX_PIXELS:
        raise ScanError(
            f"Ảnh{where} quá lớn ({width}×{height} điểm ảnh, tối đa "
            f"{MAX_PIXELS // 1_000_000} triệu điểm ảnh): có thể là tệp độc hại hoặc chụp "
            "sai cài đặt. Hãy quét lại ở 200 dpi."
        )


def _check_pages(count: int) -> None:
    if count == 0:
        raise ScanError("Tệp không có trang nào.")
    if count > MAX_PAGES:
        raise ScanError(
            f"Tệp có {count} trang, vượt giới hạn {MAX_PAGES} trang cho một thành phần hồ sơ. "
            "Hãy tách thành nhiều tệp."
        )


def open_images(data: bytes) -> list[Image.Image]:
    """Every page of a JPEG / PNG / TIFF (multi-page TIFF too), decoded and checked.

    Sizes are read from the header and checked before any pixel is decoded."""
    kind = sniff(data)
    if kind is FileKind.PDF:
        raise ScanError("Tệp là PDF, không phải ảnh.")
    pages: list[Image.Image] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                frames = getattr(opened, "n_frames", 1)
                _check_pages(frames)
                for n, frame in enumerate(ImageSequence.Iterator(opened), start=1):
                    _check_size(*frame.size, where=f" trang {n}" if frames > 1 else "")
                    frame.load()
                    page = frame.copy()
                    page.info = dict(frame.info)
                    pages.append(page)
    except ScanError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ScanError(
            f"Ảnh quá lớn (tối đa {MAX_PIXELS // 1_000_000} triệu điểm ảnh): có thể là tệp "
            "độc hại. Hãy quét lại ở 200 dpi."
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, EOFError, SyntaxError) as exc:
        raise ScanError(f"Tệp ảnh bị hỏng hoặc không đọc được ({kind.value.upper()}).") from exc
    return pages


@dataclass(frozen=True)
class _Paper:
    width_px: int
    height_px: int


def _a4_box(landscape: bool) -> _Paper:
    w, h = (round(mm / 25.4 * DPI) for mm in A4_MM)
    return _Paper(h, w) if landscape else _Paper(w, h)


def _source_dpi(image: Image.Image) -> float | None:
    dpi = image.info.get("dpi")
    try:
        x = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        return None
    return x if _PLAUSIBLE_DPI[0] <= x <= _PLAUSIBLE_DPI[1] else None


def fit_to_paper(image: Image.Image) -> Image.Image:
    """The page at 200 dpi, no larger than A4 in its orientation, in RGB (or L if grey).

    A page with a believable scanner resolution is resampled by 200/dpi; any page (phone
    photos) is then fitted into the A4 box. Never upsampled. EXIF rotation is applied."""
    image = ImageOps.exif_transpose(image)
    mode = "L" if image.mode in ("1", "L", "I;16", "I") else "RGB"
    if image.mode != mode:
        if image.mode in ("RGBA", "LA", "P", "PA"):
            image = image.convert("RGBA")
            base = Image.new("RGBA", image.size, (255, 255, 255, 255))
            image = Image.alpha_composite(base, image)
        image = image.convert(mode)
    scale = 1.0
    source = _source_dpi(image)
    if source is not None:
        scale = min(scale, DPI / source)
    box = _a4_box(image.width > image.height)
    scale = min(scale, box.width_px / image.width, box.height_px / image.height)
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    image.info["dpi"] = (DPI, DPI)
    return image


# --- variant (a): JPEG in PDF -----------------------------------------------------------------


def _jpeg(image: Image.Image, quality: int, dpi: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True, dpi=(dpi, dpi), subsampling=2)
    return out.getvalue()


def _pdf_jpeg(pages: Sequence[Image.Image], progress: Progress | None = None) -> bytes:
    jpegs = []
    for n, page in enumerate(pages, start=1):
        jpegs.append(_jpeg(page, JPEG_QUALITY, DPI))
        if progress is not None:
            progress(n, len(pages))
    pdf = img2pdf.convert(jpegs, rotation=img2pdf.Rotation.ifvalid)
    assert isinstance(pdf, bytes)
    return pdf


# --- variant (b): G4 text mask over a low-resolution colour background ------------------------


def _text_mask(rgb: np.ndarray) -> np.ndarray:
    """True where the pixel is dark *and* colourless: printed text and black ink.

    The seal (red) and blue ink fail the chroma test and stay in the colour background."""
    hi = rgb.max(axis=2).astype(np.int16)
    lo = rgb.min(axis=2).astype(np.int16)
    mask: np.ndarray = (hi < 110) & ((hi - lo) < 60)
    return mask


def _g4(mask: np.ndarray) -> bytes:
    """Raw CCITT G4 data of a 1-bit mask (1 = ink), one strip, MSB first."""
    height, _ = mask.shape
    image = Image.fromarray(mask.astype(np.uint8) * 255).convert("1")
    out = io.BytesIO()
    image.save(out, "TIFF", compression="group4", tiffinfo={278: height})
    with TiffImagePlugin.TiffImageFile(io.BytesIO(out.getvalue())) as tiff:
        offsets = tiff.tag_v2[273]
        counts = tiff.tag_v2[279]
    if len(offsets) != 1:  # pragma: no cover - libtiff honours RowsPerStrip
        raise ScanError("Không mã hóa được lớp chữ của trang quét.")
    return out.getvalue()[offsets[0] : offsets[0] + counts[0]]


def _pdf_layered(
    pages: Sequence[Image.Image], background_dpi: int, progress: Progress | None = None
) -> bytes:
    pdf = pikepdf.new()
    for n, page in enumerate(pages, start=1):
        rgb_image = page.convert("RGB")
        rgb = np.asarray(rgb_image)
        mask = _text_mask(rgb)
        # Remove the text from the background: paint it with the paper's colour, so the
        # background JPEG carries no sharp edges (they are what costs bytes).
        sample, sample_mask = rgb[::4, ::4], ~mask[::4, ::4]
        paper = np.median(sample[sample_mask], axis=0) if sample_mask.any() else np.full(3, 255)
        cleaned = rgb.copy()
        cleaned[mask] = paper.astype(np.uint8)
        bg_size = (
            max(1, round(page.width * background_dpi / DPI)),
            max(1, round(page.height * background_dpi / DPI)),
        )
        background = Image.fromarray(cleaned).resize(bg_size, Image.Resampling.BOX)
        w_pt, h_pt = page.width * 72 / DPI, page.height * 72 / DPI
        bg = pikepdf.Stream(pdf, _jpeg(background, BACKGROUND_QUALITY, background_dpi))
        bg.Type, bg.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        bg.Width, bg.Height = background.width, background.height
        bg.ColorSpace, bg.BitsPerComponent = pikepdf.Name.DeviceRGB, 8
        bg.Filter = pikepdf.Name.DCTDecode
        resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Bg=bg))
        content = f"q {w_pt:.3f} 0 0 {h_pt:.3f} 0 0 cm /Bg Do Q\n"
        if mask.any():
            fg = pikepdf.Stream(pdf, _g4(mask))
            fg.Type, fg.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
            fg.Width, fg.Height = page.width, page.height
            fg.ImageMask, fg.BitsPerComponent = True, 1
            fg.Filter = pikepdf.Name.CCITTFaxDecode
            fg.DecodeParms = pikepdf.Dictionary(
                K=-1, Columns=page.width, Rows=page.height, BlackIs1=True
            )
            # An image mask paints where its sample is 0: Decode [1 0] paints where ink = 1.
            fg.Decode = pikepdf.Array([1, 0])
            resources.XObject.Fg = fg
            content += f"q 0 g {w_pt:.3f} 0 0 {h_pt:.3f} 0 0 cm /Fg Do Q\n"
        pdf.pages.append(
            pikepdf.Page(
                pikepdf.Dictionary(
                    Type=pikepdf.Name.Page,
                    MediaBox=pikepdf.Array([0, 0, w_pt, h_pt]),
                    Resources=resources,
                    Contents=pikepdf.Stream(pdf, content.encode("ascii")),
                )
            )
        )
        if progress is not None:
            progress(n, len(pages))
    out = io.BytesIO()
    pdf.save(out, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


def normalise_pages(
    pages: Iterable[Image.Image],
    *,
    variant: Variant = Variant.LAYERED,
    background_dpi: int = 100,
    progress: Progress | None = None,
) -> Normalised:
    """One paper's pages (in paper order) -> one PDF at 200 dpi. Returns ``(pdf, page_count)``.

    ``background_dpi`` (67-100) is only used by ``Variant.LAYERED``; ``progress`` is told
    ``(pages done, total)`` after each page (a 20-page paper takes seconds)."""
    pages = list(pages)
    _check_pages(len(pages))
    for n, page in enumerate(pages, start=1):
        if not isinstance(page, Image.Image):
            raise ScanError(f"Trang {n} không phải ảnh.")
        _check_size(*page.size, where=f" trang {n}")
    if not 67 <= background_dpi <= DPI:
        raise ValueError("background_dpi phải trong khoảng 67-200.")
    fitted = [fit_to_paper(page) for page in pages]
    if variant is Variant.JPEG:
        data = _pdf_jpeg(fitted, progress)
    else:
        data = _pdf_layered(fitted, background_dpi, progress)
    return Normalised(data, len(fitted))
