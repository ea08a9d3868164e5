"""Normalising pages into one compact PDF per paper: size, colour of the seal, refusals."""

from __future__ import annotations

import io

import img2pdf
import numpy as np
import pikepdf
import pytest
from PIL import Image

from onestop.scans import MAX_PAGES, ScanError, Variant, normalise_file, normalise_pages
from onestop.scans.normalise import MAX_PIXELS, open_images, sniff
from tests.scans.pages import (
    SEAL,
    have_pdftoppm,
    jpeg_bytes,
    png_bytes,
    render_page,
    render_pdf_page,
)

JPEG_BUDGET = 300_000
LAYERED_BUDGET = 150_000


def _seal_colour(pdf: bytes) -> np.ndarray:
    rendered = np.asarray(render_pdf_page(pdf, dpi=100)).astype(int)
    cx, cy, _ = (c // 2 for c in SEAL)  # seal centre (a filled red dot) at 100 dpi
    colour: np.ndarray = rendered[cy - 12 : cy + 12, cx - 12 : cx + 12].reshape(-1, 3).mean(axis=0)
    return colour


@pytest.mark.parametrize(
    ("variant", "budget"), [(Variant.JPEG, JPEG_BUDGET), (Variant.LAYERED, LAYERED_BUDGET)]
)
def test_two_pages_under_budget_and_seal_stays_red(variant, budget):
    pages = [render_page(seed=1), render_page(seed=2)]
    pdf, count = normalise_pages(pages, variant=variant)
    assert count == 2
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert len(doc.pages) == 2
        w, h = (float(v) for v in doc.pages[0].mediabox[2:])
        assert abs(w - 595.3) < 1 and abs(h - 842.0) < 1  # A4 at 200 dpi
    per_page = len(pdf) / count
    print(f"{variant}: {per_page:,.0f} bytes/page")
    assert per_page <= budget
    if not have_pdftoppm():
        pytest.skip("pdftoppm (poppler-utils) not installed: seal colour not checked")
    r, g, b = _seal_colour(pdf)
    assert r > 150 and r > g + 80 and r > b + 80, (r, g, b)


def test_layered_text_stays_black():
    if not have_pdftoppm():
        pytest.skip("pdftoppm (poppler-utils) not installed")
    pdf, _ = normalise_pages([render_page()], variant=Variant.LAYERED)
    rendered = np.asarray(render_pdf_page(pdf, dpi=100).convert("L"))
    assert rendered[140:170, 80:800].min() < 40  # the title line is ink, not paper


def test_phone_photo_downscaled_to_a4_at_200_dpi():
    photo = render_page((3000, 4242))
    pdf, count = normalise_file(jpeg_bytes(photo), variant=Variant.JPEG)
    assert count == 1
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        (image,) = doc.pages[0].get_images().values()
        assert (int(image.Width), int(image.Height)) == (1654, 2339)


def test_scanner_dpi_is_respected():
    scan = render_page((2480, 3508))  # A4 at 300 dpi
    pdf, _ = normalise_file(jpeg_bytes(scan, dpi=300), variant=Variant.JPEG)
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        (image,) = doc.pages[0].get_images().values()
        # 2480 px at 300 dpi is 1653.3 px at 200 dpi
        assert abs(int(image.Width) - 1654) <= 2 and abs(int(image.Height) - 2339) <= 2


def test_multipage_tiff_keeps_every_page():
    pages = [render_page(seed=n).convert("L") for n in range(3)]
    out = io.BytesIO()
    pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw")
    pdf, count = normalise_file(out.getvalue())
    assert count == 3
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert len(doc.pages) == 3


def test_compact_pdf_kept_as_is_and_large_pdf_recompressed():
    page = render_page()
    compact = img2pdf.convert([jpeg_bytes(page, quality=40)])
    assert normalise_file(compact) == (compact, 1)
    big = img2pdf.convert([png_bytes(page), png_bytes(render_page(seed=3))])
    assert len(big) > 600_000
    smaller, count = normalise_file(big)
    assert count == 2
    assert len(smaller) < 300_000 * 2
    with pikepdf.open(io.BytesIO(smaller)) as doc:
        assert len(doc.pages) == 2


def _refused(data: bytes) -> str:
    with pytest.raises(ScanError) as info:
        normalise_file(data)
    return str(info.value)


def test_bad_inputs_refused_in_vietnamese(tmp_path):
    assert "0 byte" in _refused(b"")
    assert "không phải ảnh quét hay PDF" in _refused("Xin chào, đây là văn bản".encode())
    assert "không phải ảnh quét hay PDF" in _refused(b"\x7fELF\x02\x01\x01" + b"\0" * 100)
    assert "không phải ảnh quét hay PDF" in _refused(b"MZ\x90\x00" + b"\0" * 100)
    assert "bị hỏng" in _refused(b"%PDF-1.7\n garbage garbage")
    assert "bị hỏng" in _refused(jpeg_bytes(render_page())[:2000])
    # password-protected
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(img2pdf.convert([jpeg_bytes(render_page())]))) as doc:
        doc.save(out, encryption=pikepdf.Encryption(user="mk", owner="mk"))
    assert "mật khẩu" in _refused(out.getvalue())


def test_decompression_bomb_refused_before_decoding():
    # A 1-bit PNG of 10000 x 10000 = 100 MP compresses to a few KB.
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000), 1).save(bomb, "PNG")
    assert len(bomb.getvalue()) < 100_000
    message = _refused(bomb.getvalue())
    assert "quá lớn" in message and str(MAX_PIXELS // 1_000_000) in message


def test_too_many_pages_refused():
    tiny = Image.new("L", (8, 8), 255)
    with pytest.raises(ScanError, match=f"vượt giới hạn {MAX_PAGES} trang"):
        normalise_pages([tiny] * (MAX_PAGES + 1))
    pdf = pikepdf.new()
    for _ in range(MAX_PAGES + 1):
        pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out)
    assert f"vượt giới hạn {MAX_PAGES} trang" in _refused(out.getvalue())


def test_sniff_ignores_names_and_reads_magic():
    assert sniff(png_bytes(Image.new("RGB", (4, 4)))).value == "png"
    assert sniff(b"junk\n%PDF-1.4 rest").value == "pdf"
    with pytest.raises(ScanError):
        open_images(b"%PDF-1.4")
