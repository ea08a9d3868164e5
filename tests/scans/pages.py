"""Synthetic inputs for the scan tests: a realistic A4 page (text lines, a red seal, blue
signature, paper tint, noise), rendered with Pillow, and helpers to render PDFs back."""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

A4_200 = (1654, 2339)
#: Centre and radius of the seal on the A4 page at 200 dpi.
SEAL = (1150, 1900, 170)
_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(_FONT, size)
    except OSError:
        return ImageFont.load_default()


def render_page(
    size: tuple[int, int] = A4_200, *, seed: int = 1, noise: float = 3.0, label: str = ""
) -> Image.Image:
    """A page of text with a red circular seal; ``size`` is the page at its own resolution."""
    return _render_page(size, seed, noise, label).copy()


@functools.cache
def _render_page(size: tuple[int, int], seed: int, noise: float, label: str) -> Image.Image:
    w, h = A4_200
    page = Image.new("RGB", (w, h), (247, 245, 238))
    draw = ImageDraw.Draw(page)
    body = _font(30)
    draw.text((200, 120), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", fill=(15, 15, 15), font=_font(40))
    if label:
        draw.text((200, 200), label, fill=(15, 15, 15), font=_font(40))
    rng = np.random.default_rng(seed)
    words = [
        "hồ",
        "sơ",
        "thủ",
        "tục",
        "hành",
        "chính",
        "đăng",
        "ký",
        "khai",
        "sinh",
        "xã",
        "Ủy",
        "ban",
    ]
    for row in range(40):
        y = 300 + row * 38
        line = " ".join(rng.choice(words, size=int(rng.integers(8, 14))))
        draw.text((160, y), line, fill=(20, 20, 25), font=body)
    cx, cy, r = SEAL
    red = (205, 30, 35)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=red, width=14)
    draw.ellipse((cx - r + 40, cy - r + 40, cx + r - 40, cy + r - 40), outline=red, width=6)
    draw.ellipse((cx - 35, cy - 35, cx + 35, cy + 35), fill=red)
    draw.line((900, 1950, 1300, 1880), fill=(30, 40, 160), width=5)
    arr = np.asarray(page).astype(np.float32)
    arr += rng.normal(0, noise, arr.shape[:2])[..., None]
    page = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if size != A4_200:
        page = page.resize(size, Image.Resampling.BICUBIC)
    return page


def jpeg_bytes(image: Image.Image, *, quality: int = 92, dpi: int | None = None) -> bytes:
    out = io.BytesIO()
    if dpi:
        image.save(out, "JPEG", quality=quality, dpi=(dpi, dpi))
    else:
        image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def have_pdftoppm() -> bool:
    return shutil.which("pdftoppm") is not None


def render_pdf_page(pdf: bytes, page: int = 1, dpi: int = 100) -> Image.Image:
    """One page of a PDF rendered by poppler (an independent reader)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                str(dpi),
                "-f",
                str(page),
                "-l",
                str(page),
                "-png",
                str(src),
                str(Path(tmp) / "out"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        (out,) = sorted(Path(tmp).glob("out*.png"))
        with Image.open(out) as rendered:
            return rendered.convert("RGB")
