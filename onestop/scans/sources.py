"""Where pages come from: files, phone photos, a SANE scanner, a hot folder of separated stacks.

* **Files** (:func:`normalise_file`): a PDF keeps its pages. If it is already compact (at most
  ``PDF_PAGE_BUDGET`` bytes per page on average) it is kept byte for byte — re-encoding a
  compact PDF only loses quality. Otherwise every large 8-bit RGB/grey image inside is
  re-encoded in place as a JPEG q50 no larger than A4 at 200 dpi; text, vector content and
  other images are untouched. Images (JPEG, PNG, TIFF including multi-page TIFF) go through
  :func:`onestop.scans.normalise.normalise_pages`.
* **Phone photos** (:func:`straighten_photo`): deskew by the projection-profile method (the
  angle whose rotated text rows give the sharpest row profile), then crop to the bright page
  region (Otsu threshold, rows/columns mostly paper). Pillow + numpy only; no perspective warp.
* **SANE** (:func:`list_devices`, :func:`scan_pages`): ``scanimage`` as a subprocess, PNG out,
  ``--batch`` for a document feeder, a timeout, Vietnamese errors.
* **Hot folder** (:func:`scan_folder`, :func:`split_stack`): a stack of pages separated by
  printed separator sheets (:func:`render_separator_pdf`) whose QR code says which dossier and
  which component the following pages belong to.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NamedTuple

import numpy as np
import pikepdf
from PIL import Image

from onestop.i18n import t
from onestop.paths import asset_path, fsync_folder
from onestop.scans.errors import ScanError
from onestop.scans.normalise import (
    DPI,
    MAX_PAGES,
    MAX_PIXELS,
    FileKind,
    Normalised,
    Progress,
    Variant,
    fit_to_paper,
    normalise_pages,
    open_images,
    sniff,
)

__all__ = [
    "PDF_PAGE_BUDGET",
    "SEPARATOR_PREFIX",
    "ScannerDevice",
    "Stack",
    "deskew",
    "estimate_skew",
    "list_devices",
    "normalise_file",
    "normalise_photos",
    "open_pdf",
    "pdf_page_count",
    "pdf_page_images",
    "render_page",
    "parse_separator",
    "render_separator_pdf",
    "scan_folder",
    "scan_pages",
    "separator_payload",
    "split_stack",
    "stack_to_pdf",
    "straighten_photo",
]

#: A PDF at or under this many bytes per page (on average) is kept as it is.
PDF_PAGE_BUDGET: Final = 300_000
SEPARATOR_PREFIX: Final = "OSSEP1"
_SEPARATOR_RE: Final = re.compile(rf"{SEPARATOR_PREFIX}:([0-9A-Za-z.\-]{{1,64}}):([0-9]{{1,3}})\Z")
DONE_FOLDER: Final = "done"


# --- files --------------------------------------------------------------------------------------


def open_pdf(data: bytes) -> pikepdf.Pdf:
    """A checked PDF: not corrupt, no password, 1..MAX_PAGES pages."""
    if sniff(data) is not FileKind.PDF:
        raise ScanError("Tệp không phải PDF.")
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError as exc:
        raise ScanError(
            "Tệp PDF có mật khẩu: không số hóa được. Hãy gỡ mật khẩu hoặc quét lại bản giấy."
        ) from exc
    except (pikepdf.PdfError, ValueError, OSError) as exc:
        raise ScanError("Tệp PDF bị hỏng hoặc không đọc được. Hãy quét lại bản giấy.") from exc
    count = len(pdf.pages)
    if count == 0:
        raise ScanError("Tệp PDF không có trang nào.")
    if count > MAX_PAGES:
        raise ScanError(
            f"Tệp có {count} trang, vượt giới hạn {MAX_PAGES} trang cho một thành phần hồ sơ. "
            "Hãy tách thành nhiều tệp."
        )
    return pdf


def _recompress_pdf(pdf: pikepdf.Pdf, progress: Progress | None = None) -> bytes:
    """Re-encode the large 8-bit RGB/grey images of a PDF as JPEG q50 at most A4 @ 200 dpi."""
    seen: set[tuple[int, int]] = set()
    total = len(pdf.pages)
    for number, page in enumerate(pdf.pages, start=1):
        if progress is not None and number > 1:
            progress(number - 1, total)
        for _, raw in page.get_images().items():
            if raw.objgen in seen:
                continue
            seen.add(raw.objgen)
            try:
                image = pikepdf.PdfImage(raw)  # type: ignore[arg-type]
                if image.bits_per_component != 8 or image.mode not in ("RGB", "L"):
                    continue
                if image.width * image.height > MAX_PIXELS:
                    raise ScanError("Ảnh trong tệp PDF quá lớn: có thể là tệp độc hại.")
                if len(raw.read_raw_bytes()) < 64_000:
                    continue
                pil = image.as_pil_image()
            except (pikepdf.PdfError, NotImplementedError, ValueError, OSError):
                continue
            pil.info.pop("dpi", None)
            fitted = fit_to_paper(pil)
            out = io.BytesIO()
            fitted.save(out, "JPEG", quality=50, optimize=True)
            if len(out.getvalue()) >= len(raw.read_raw_bytes()):
                continue
            raw.write(out.getvalue(), filter=pikepdf.Name.DCTDecode)
            raw.Width, raw.Height = fitted.width, fitted.height
            raw.BitsPerComponent = 8
            raw.ColorSpace = (
                pikepdf.Name.DeviceGray if fitted.mode == "L" else pikepdf.Name.DeviceRGB
            )
            for key in ("/DecodeParms", "/Decode"):
                if key in raw:
                    del raw[key]
    out = io.BytesIO()
    pdf.save(out, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


def normalise_file(
    data: bytes, *, variant: Variant = Variant.LAYERED, progress: Progress | None = None
) -> Normalised:
    """Any accepted file (PDF, JPEG, PNG, TIFF) of ONE paper -> ``(pdf_bytes, page_count)``;
    ``progress`` is told ``(pages done, total)`` as pages are done."""
    if sniff(data) is FileKind.PDF:
        with open_pdf(data) as pdf:
            count = len(pdf.pages)
            if len(data) <= PDF_PAGE_BUDGET * count:
                if progress is not None:
                    progress(count, count)
                return Normalised(data, count)
            smaller = _recompress_pdf(pdf, progress)
        if progress is not None:
            progress(count, count)
        return Normalised(smaller if len(smaller) < len(data) else data, count)
    return normalise_pages(open_images(data), variant=variant, progress=progress)


def pdf_page_count(data: bytes) -> int:
    """Pages of a PDF (checked as :func:`open_pdf` checks it)."""
    with open_pdf(data) as pdf:
        return len(pdf.pages)


def render_page(data: bytes, page: int, *, dpi: int = 50) -> Image.Image:
    """One page (1-based) of a PDF as an RGB image at ``dpi`` (poppler's ``pdftoppm``): what
    the desk's preview shows. 50 dpi is an A4 page of 413 x 585 pixels, plenty for a terminal
    and rendered in about 0.1 s."""
    count = pdf_page_count(data)
    if not 1 <= page <= count:
        raise ScanError(f"Tệp có {count} trang; không có trang {page}.")
    return _render_page(data, page, dpi=max(10, min(dpi, DPI))).convert("RGB")


def pdf_page_images(data: bytes) -> list[Image.Image]:
    """Each page of a scanned PDF as an image: the page's one image if it has exactly one and no
    text (what scanners write), else the page rendered by poppler's ``pdftoppm`` at 200 dpi."""
    images: list[Image.Image] = []
    with open_pdf(data) as pdf:
        for n, page in enumerate(pdf.pages, start=1):
            raws = list(page.get_images().values())
            pil: Image.Image | None = None
            fonts = page.obj.get("/Resources", pikepdf.Dictionary()).get("/Font")
            if len(raws) == 1 and fonts is None:  # a scanned page; text means a real page
                try:
                    image = pikepdf.PdfImage(raws[0])  # type: ignore[arg-type]
                    if image.width * image.height > MAX_PIXELS:
                        raise ScanError(f"Ảnh trang {n} quá lớn: có thể là tệp độc hại.")
                    pil = image.as_pil_image()
                except (pikepdf.PdfError, NotImplementedError, ValueError, OSError):
                    pil = None
            images.append(pil if pil is not None else _render_page(data, n))
    return images


def _render_page(data: bytes, page: int, *, dpi: int = DPI) -> Image.Image:
    if shutil.which("pdftoppm") is None:
        raise ScanError("Không đọc được trang PDF này (thiếu poppler-utils để dựng trang).")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(data)
        try:
            subprocess.run(
                ["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png",
                 str(src), str(Path(tmp) / "p")],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
        except (subprocess.SubprocessError, OSError) as exc:
            raise ScanError(f"Không dựng được trang {page} của tệp PDF.") from exc
        (out,) = sorted(Path(tmp).glob("p*.png"))
        with Image.open(out) as rendered:
            rendered.load()
            return rendered.copy()


# --- phone photos -------------------------------------------------------------------------------


def _otsu(gray: np.ndarray) -> int:
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    cum = np.cumsum(hist)
    cum_mean = np.cumsum(hist * np.arange(256))
    w0, w1 = cum, total - cum
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (cum_mean[-1] * w0 / total - cum_mean) ** 2 / (w0 * w1)
    return int(np.nanargmax(between))


def estimate_skew(image: Image.Image, *, max_angle: float = 10.0) -> float:
    """Text angle in degrees (counter-clockwise) by projection profiles: rotate the ink by each
    candidate angle and keep the one whose row sums vary most (text rows line up)."""
    gray = image.convert("L")
    gray.thumbnail((900, 900))
    arr = np.asarray(gray)
    ink = Image.fromarray(((arr < _otsu(arr)) * 255).astype(np.uint8))

    def score(angle: float) -> float:
        rows = np.asarray(ink.rotate(angle, resample=Image.Resampling.NEAREST)).sum(axis=1)
        return float(np.var(np.diff(rows.astype(np.float64))))

    coarse = [float(a) for a in np.arange(-max_angle, max_angle + 0.01, 1.0)]
    best = max(coarse, key=score)
    fine = [float(a) for a in np.arange(best - 1.0, best + 1.01, 0.1)]
    angle: float = max(fine, key=score)
    return -round(angle, 2)


def deskew(image: Image.Image, *, max_angle: float = 10.0) -> Image.Image:
    """The page rotated upright (angles under 0.1° are left alone); corners filled white."""
    angle = estimate_skew(image, max_angle=max_angle)
    if abs(angle) < 0.1:
        return image
    fill: Any = 255 if image.mode == "L" else (255, 255, 255)
    return image.convert("RGB" if image.mode != "L" else "L").rotate(
        -angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill
    )


def _page_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """Bounding box of the bright page against a darker background, or None if not found."""
    small = image.convert("L")
    scale = max(small.size) / 600
    small.thumbnail((600, 600))
    arr = np.asarray(small)
    bright = arr > _otsu(arr)
    rows = np.flatnonzero(bright.mean(axis=1) > 0.5)
    cols = np.flatnonzero(bright.mean(axis=0) > 0.5)
    if rows.size == 0 or cols.size == 0:
        return None
    box = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    area = (box[2] - box[0]) * (box[3] - box[1])
    if area < 0.2 * arr.size or area > 0.98 * arr.size:
        return None  # no clear page against a background: keep the whole photo
    return tuple(int(round(v * scale)) for v in box)  # type: ignore[return-value]


def straighten_photo(image: Image.Image) -> Image.Image:
    """A phone photo of one page -> the page, upright and cropped, fitted to A4 at 200 dpi."""
    from PIL import ImageOps

    upright = deskew(ImageOps.exif_transpose(image).convert("RGB"))
    box = _page_box(upright)
    if box is not None:
        upright = upright.crop(box)
    upright.info.pop("dpi", None)
    return fit_to_paper(upright)


# --- SANE ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScannerDevice:
    name: str  # what scanimage -d takes, e.g. "test:0", "airscan:e0:HP ..."
    description: str


_DEVICE_RE: Final = re.compile(r"^device `(?P<name>[^']+)' is an? (?P<desc>.*)$")


def _scanimage() -> str:
    exe = shutil.which("scanimage")
    if exe is None:
        raise ScanError(
            "Máy này chưa cài phần mềm máy quét (gói sane-utils). Hãy nhờ quản trị cài đặt."
        )
    return exe


def list_devices(*, timeout: float = 30.0) -> list[ScannerDevice]:
    """Scanners SANE sees (``scanimage -L``); an empty list when there are none."""
    try:
        done = subprocess.run(
            [_scanimage(), "-L"], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ScanError("Tìm máy quét quá lâu không có phản hồi. Hãy kiểm tra cáp/mạng.") from exc
    devices = []
    for line in done.stdout.splitlines():
        match = _DEVICE_RE.match(line.strip())
        if match:
            devices.append(ScannerDevice(match["name"], match["desc"]))
    return devices


def _scan_error(stderr: str) -> ScanError:
    low = stderr.lower()
    if "busy" in low:
        return ScanError("Máy quét đang bận (đang quét việc khác). Hãy chờ một lát rồi thử lại.")
    if "out of documents" in low or "no docs" in low:
        return ScanError("Khay nạp giấy của máy quét đang trống. Hãy đặt giấy vào rồi quét lại.")
    if "jammed" in low:
        return ScanError("Máy quét bị kẹt giấy. Hãy gỡ giấy kẹt rồi quét lại.")
    if "cover" in low and "open" in low:
        return ScanError("Nắp máy quét đang mở. Hãy đóng nắp rồi quét lại.")
    if "open of device" in low or "no sane devices" in low or "invalid argument" in low:
        return ScanError("Không tìm thấy máy quét. Hãy kiểm tra máy đã bật và cắm cáp.")
    return ScanError("Máy quét báo lỗi: " + (stderr.strip().splitlines() or ["không rõ"])[-1])


def scan_pages(
    device: str,
    mode: str = "Color",
    dpi: int = DPI,
    source: str | None = None,
    *,
    batch: bool | None = None,
    area_mm: tuple[float, float] | None = None,
    timeout: float = 300.0,
) -> list[Image.Image]:
    """Scan with ``scanimage``: one page from a flatbed, every page in the feeder in batch mode.

    ``batch`` defaults to True when ``source`` names a feeder ("ADF", "Feeder"). ``area_mm``
    is the scan width and height (``-x``/``-y``), e.g. ``(210, 297)`` for A4."""
    if not device:
        raise ScanError("Chưa chọn máy quét.")
    if batch is None:
        batch = source is not None and bool(re.search(r"adf|feeder|duplex", source, re.I))
    args = [_scanimage(), "-d", device, "--mode", mode, "--resolution", str(dpi), "--format=png"]
    if source:
        args += ["--source", source]
    if area_mm:
        args += ["-x", str(area_mm[0]), "-y", str(area_mm[1])]
    with tempfile.TemporaryDirectory(prefix="onestop-scan-") as tmp:
        folder = Path(tmp)
        if batch:
            args.append(f"--batch={folder / 'p%04d.png'}")
        try:
            done = subprocess.run(args, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ScanError(
                "Máy quét không phản hồi (quá thời gian chờ). Hãy kiểm tra máy rồi thử lại."
            ) from exc
        stderr = done.stderr.decode("utf-8", "replace")
        if batch:
            files = sorted(folder.glob("p*.png"))
            if not files:
                raise _scan_error(stderr or "no docs")
            blobs = [f.read_bytes() for f in files]
        else:
            if done.returncode != 0 or not done.stdout:
                raise _scan_error(stderr)
            blobs = [done.stdout]
    if len(blobs) > MAX_PAGES:
        raise ScanError(f"Quét được {len(blobs)} trang, vượt giới hạn {MAX_PAGES} trang.")
    pages: list[Image.Image] = []
    for blob in blobs:
        for page in open_images(blob):
            page.info["dpi"] = (dpi, dpi)
            pages.append(page)
    return pages


# --- separator sheets and the hot folder --------------------------------------------------------


class Stack(NamedTuple):
    """The pages of one component of one dossier, as found between separator sheets."""

    dossier_code: str
    component_no: int
    pages: list[Image.Image]


def separator_payload(code: str, component_no: int) -> str:
    """QR text of a separator sheet: ``OSSEP1:<dossier code>:<component number>``."""
    text = f"{SEPARATOR_PREFIX}:{code}:{component_no}"
    if not 1 <= component_no <= 999 or _SEPARATOR_RE.match(text) is None:
        raise ScanError(f"Mã hồ sơ «{code}» hoặc số thành phần {component_no} không hợp lệ.")
    return text


def parse_separator(text: str) -> tuple[str, int] | None:
    """``(code, component_no)`` if ``text`` is a separator payload, else None."""
    match = _SEPARATOR_RE.match(text.strip())
    if match is None or int(match[2]) < 1:
        return None
    return match[1], int(match[2])


def _separator_of(page: Image.Image) -> tuple[str, int] | None:
    try:
        import zxingcpp  # compiled extension, loaded when a stack is split
    except ImportError as exc:  # a platform without its wheel (pyproject: zxing-cpp)
        raise ScanError(
            t(
                "Máy này thiếu thành phần đọc mã QR (gói zxing-cpp), nên không tách được chồng "
                "giấy theo tờ phân cách. Cài lại onestop, hoặc quét từng thành phần riêng."
            )
        ) from exc

    gray = page.convert("L")
    if max(gray.size) > 1400:
        gray.thumbnail((1400, 1400))
    results = zxingcpp.read_barcodes(
        gray, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    for result in results:
        found = parse_separator(result.text or "")
        if found is not None:
            return found
    return None


def split_stack(pages: Iterable[Image.Image]) -> list[Stack]:
    """Cut a scanned stack at its separator sheets (the sheets themselves are dropped).

    Refused: pages before the first separator, a separator followed by no page."""
    stacks: list[Stack] = []
    for n, page in enumerate(pages, start=1):
        found = _separator_of(page)
        if found is not None:
            if stacks and not stacks[-1].pages:
                raise ScanError(
                    f"Sau tờ phân cách của hồ sơ {stacks[-1].dossier_code}, thành phần "
                    f"{stacks[-1].component_no} không có trang nào (trang {n})."
                )
            stacks.append(Stack(found[0], found[1], []))
        elif not stacks:
            raise ScanError(
                f"Trang {n} nằm trước tờ phân cách đầu tiên: không biết thuộc hồ sơ nào. "
                "Hãy đặt tờ phân cách (in từ hồ sơ) lên trên cùng rồi quét lại."
            )
        else:
            stacks[-1].pages.append(page)
    if not stacks:
        raise ScanError("Không có trang nào để tách.")
    if not stacks[-1].pages:
        raise ScanError(
            f"Thành phần {stacks[-1].component_no} của hồ sơ {stacks[-1].dossier_code} "
            "không có trang nào sau tờ phân cách."
        )
    return stacks


def render_separator_pdf(code: str, component_no: int, component_name: str) -> bytes:
    """An A4 separator sheet: a big QR code (70 mm) and the human-readable code and component."""
    import unicodedata

    import qrcode
    import qrcode.constants
    from fpdf import FPDF

    payload = separator_payload(code, component_no)
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(payload)
    qr.make(fit=True)
    png = io.BytesIO()
    qr.make_image(fill_color="black", back_color="white").get_image().save(png, format="PNG")

    def nfc(text: str) -> str:
        return unicodedata.normalize("NFC", text)

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.add_font("LiberationSerif", "", str(asset_path("fonts", "LiberationSerif-Regular.ttf")))
    pdf.add_font("LiberationSerif", "B", str(asset_path("fonts", "LiberationSerif-Bold.ttf")))
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("LiberationSerif", "B", 22)
    pdf.set_xy(15, 25)
    pdf.cell(180, 12, nfc("TỜ PHÂN CÁCH HỒ SƠ QUÉT"), align="C")
    pdf.image(io.BytesIO(png.getvalue()), x=55, y=50, w=100, h=100)
    pdf.set_xy(15, 160)
    pdf.set_font("LiberationSerif", "B", 18)
    pdf.cell(180, 10, nfc(f"Mã hồ sơ: {code}"), align="C")
    pdf.set_xy(15, 175)
    pdf.set_font("LiberationSerif", "", 16)
    pdf.multi_cell(180, 8, nfc(f"Thành phần {component_no}: {component_name}"), align="C")
    pdf.set_xy(15, 250)
    pdf.set_font("LiberationSerif", "", 12)
    pdf.multi_cell(
        180,
        6,
        nfc(
            "Đặt tờ này lên trước các trang của thành phần trên khi quét. "
            "Tờ phân cách không được lưu vào hồ sơ."
        ),
        align="C",
    )
    return bytes(pdf.output())


_ACCEPTED_SUFFIXES: Final = frozenset({".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff"})


def _pages_of(data: bytes) -> list[Image.Image]:
    return pdf_page_images(data) if sniff(data) is FileKind.PDF else open_images(data)


def scan_folder(path: Path | str, *, min_age_s: float = 2.0) -> list[Stack]:
    """Split every new file of a hot folder (name order, one stack across files) into stacks.

    Hidden files, sub-folders and files changed in the last ``min_age_s`` seconds (a scanner
    may still be writing them) are left for the next call. Only when every file was read and
    the whole stack split without error are the files moved into ``done/`` (``os.replace`` on
    the same file system, then the folder is fsynced); on error nothing moves and the
    ScanError names the file."""
    folder = Path(path)
    now = time.time()
    files = [
        f
        for f in sorted(folder.iterdir(), key=lambda p: p.name)
        if f.is_file()
        and not f.name.startswith(".")
        and f.suffix.lower() in _ACCEPTED_SUFFIXES
        and now - f.stat().st_mtime >= min_age_s
    ]
    if not files:
        return []
    pages: list[Image.Image] = []
    for f in files:
        try:
            pages.extend(_pages_of(f.read_bytes()))
        except ScanError as exc:
            raise ScanError(f"{f.name}: {exc}") from exc
        except OSError as exc:
            raise ScanError(f"{f.name}: không đọc được tệp.") from exc
    stacks = split_stack(pages)
    done = folder / DONE_FOLDER
    done.mkdir(exist_ok=True)
    for f in files:
        os.replace(f, done / f.name)
    fsync_folder(done)
    fsync_folder(folder)
    return stacks


def stack_to_pdf(stack: Stack, *, variant: Variant = Variant.LAYERED) -> Normalised:
    """The pages of one stack as the component's PDF (pages already at scanner resolution)."""
    return normalise_pages(stack.pages, variant=variant)


def normalise_photos(
    photos: Sequence[Image.Image], *, variant: Variant = Variant.LAYERED
) -> Normalised:
    """Phone photos of one paper, one photo per page, straightened and normalised."""
    return normalise_pages([straighten_photo(p) for p in photos], variant=variant)
