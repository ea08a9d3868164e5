"""Phone photos, SANE's test backend, separator sheets and the hot folder."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import img2pdf
import pytest
from PIL import Image

from onestop.scans import (
    ScanError,
    list_devices,
    normalise_photos,
    render_separator_pdf,
    scan_folder,
    scan_pages,
    separator_payload,
    split_stack,
)
from onestop.scans.sources import estimate_skew, parse_separator, pdf_page_images
from tests.scans.pages import jpeg_bytes, render_page

CODE_A = "000.00.14.H56-260224-030017"
CODE_B = "000.00.14.H56-260224-030018"


def _photo(angle: float) -> Image.Image:
    """The page lying on a dark table, rotated as a hand-held phone would."""
    page = render_page(noise=5.0)
    return page.rotate(
        angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(55, 45, 40)
    )


@pytest.mark.parametrize("angle", [4.0, -4.0])
def test_deskew_within_one_degree(angle):
    assert abs(estimate_skew(_photo(angle)) - angle) <= 1.0


def test_photo_is_straightened_cropped_and_normalised():
    pdf, count = normalise_photos([_photo(4.0)])
    assert count == 1 and pdf.startswith(b"%PDF-")


# --- SANE ---------------------------------------------------------------------------------


@pytest.fixture
def sane_test_backend(tmp_path, monkeypatch):
    if shutil.which("scanimage") is None:
        pytest.skip("scanimage (Debian sane-utils) not installed; .ci/run installs it")
    conf = tmp_path / "sane.d"
    conf.mkdir()
    (conf / "dll.conf").write_text("test\n")
    if Path("/etc/sane.d/test.conf").exists():
        shutil.copy("/etc/sane.d/test.conf", conf / "test.conf")
    monkeypatch.setenv("SANE_CONFIG_DIR", str(conf))
    return conf


def test_sane_lists_the_test_device(sane_test_backend):
    names = [d.name for d in list_devices()]
    assert "test:0" in names


def test_sane_feeder_scans_two_pages(sane_test_backend):
    pages = scan_pages(
        "test:0", source="Automatic Document Feeder", batch=True, area_mm=(50, 60), dpi=200
    )
    # The test backend's feeder holds 10 sheets; -x/-y keep them small.
    assert len(pages) >= 2
    w, h = pages[0].size
    assert abs(w - 50 / 25.4 * 200) <= 2 and abs(h - 60 / 25.4 * 200) <= 2


def test_sane_flatbed_one_page(sane_test_backend):
    (page,) = scan_pages("test:0", area_mm=(30, 30))
    assert page.mode in ("RGB", "L")


def test_sane_unknown_device_refused_in_vietnamese(sane_test_backend):
    with pytest.raises(ScanError, match="Không tìm thấy máy quét"):
        scan_pages("nosuch:0")


def test_no_scanimage_gives_vietnamese_error(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(ScanError, match="sane-utils"):
        list_devices()


# --- separators and the hot folder --------------------------------------------------------


def test_separator_payload_round_trip_and_refusal():
    text = separator_payload(CODE_A, 2)
    assert text == f"OSSEP1:{CODE_A}:2"
    assert parse_separator(text) == (CODE_A, 2)
    assert parse_separator("https://example.org/r1#123") is None
    with pytest.raises(ScanError):
        separator_payload("bad code with spaces", 1)
    with pytest.raises(ScanError):
        separator_payload(CODE_A, 0)


@functools.cache
def _sep(code: str, n: int) -> Image.Image:
    (page,) = pdf_page_images(render_separator_pdf(code, n, "Tờ khai đăng ký khai sinh"))
    return page


def _stack_pdf(pages: list[Image.Image]) -> bytes:
    pdf: bytes = img2pdf.convert([jpeg_bytes(p, quality=60, dpi=200) for p in pages])
    return pdf


def test_split_stack_into_three():
    p = render_page()
    stack = [_sep(CODE_A, 1), p, p, _sep(CODE_A, 2), p, _sep(CODE_B, 1), p]
    result = split_stack(stack)
    assert [(s.dossier_code, s.component_no, len(s.pages)) for s in result] == [
        (CODE_A, 1, 2),
        (CODE_A, 2, 1),
        (CODE_B, 1, 1),
    ]


def test_pages_before_first_separator_refused():
    p = render_page()
    with pytest.raises(ScanError, match="trước tờ phân cách đầu tiên"):
        split_stack([p, _sep(CODE_A, 1), p])
    with pytest.raises(ScanError, match="không có trang nào"):
        split_stack([_sep(CODE_A, 1), _sep(CODE_A, 2), p])


def test_scan_folder_splits_across_files_and_moves_them(tmp_path):
    p = render_page()
    (tmp_path / "001.pdf").write_bytes(_stack_pdf([_sep(CODE_A, 1), p, p, _sep(CODE_A, 2)]))
    (tmp_path / "002.pdf").write_bytes(_stack_pdf([p, _sep(CODE_B, 1), p]))
    stacks = scan_folder(tmp_path, min_age_s=0)
    assert [(s.dossier_code, s.component_no, len(s.pages)) for s in stacks] == [
        (CODE_A, 1, 2),
        (CODE_A, 2, 1),
        (CODE_B, 1, 1),
    ]
    assert sorted(f.name for f in (tmp_path / "done").iterdir()) == ["001.pdf", "002.pdf"]
    assert not list(tmp_path.glob("*.pdf"))
    assert scan_folder(tmp_path, min_age_s=0) == []


def test_scan_folder_leaves_files_on_error_and_skips_fresh_ones(tmp_path):
    p = render_page()
    (tmp_path / "001.pdf").write_bytes(_stack_pdf([p, _sep(CODE_A, 1), p]))
    with pytest.raises(ScanError, match="trước tờ phân cách"):
        scan_folder(tmp_path, min_age_s=0)
    assert (tmp_path / "001.pdf").exists() and not (tmp_path / "done").exists()
    (tmp_path / "001.pdf").unlink()
    (tmp_path / "bad.pdf").write_bytes(b"not a pdf at all")
    with pytest.raises(ScanError, match="bad.pdf"):
        scan_folder(tmp_path, min_age_s=0)
    (tmp_path / "bad.pdf").unlink()
    (tmp_path / "fresh.pdf").write_bytes(_stack_pdf([_sep(CODE_A, 1), p]))
    assert scan_folder(tmp_path, min_age_s=3600) == []
    assert (tmp_path / "fresh.pdf").exists()
