"""Progress while normalising (pages done / total) and the small page render the desk's
preview shows."""

from __future__ import annotations

import shutil

import pytest

from onestop.scans import ScanError, normalise_file, normalise_pages, pdf_page_count, render_page
from onestop.scans.normalise import Variant
from tests.scans import pages as synth
from tests.services.attach_helpers import make_pdf


@pytest.mark.parametrize("variant", [Variant.LAYERED, Variant.JPEG])
def test_normalise_tells_each_page_done(variant: Variant) -> None:
    images = [synth.render_page(seed=i).resize((827, 1170)) for i in range(3)]
    told: list[tuple[int, int]] = []
    out = normalise_pages(images, variant=variant, progress=lambda d, n: told.append((d, n)))
    assert out.page_count == 3
    assert told == [(1, 3), (2, 3), (3, 3)]


def test_normalise_file_ends_at_total_for_a_kept_pdf() -> None:
    told: list[tuple[int, int]] = []
    out = normalise_file(make_pdf(4), progress=lambda d, n: told.append((d, n)))
    assert out.page_count == 4 and told[-1] == (4, 4)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils")
def test_render_page_is_small_and_checked() -> None:
    pdf = make_pdf(2)
    assert pdf_page_count(pdf) == 2
    image = render_page(pdf, 2)
    assert image.mode == "RGB" and 380 <= image.width <= 440 and image.height > image.width
    with pytest.raises(ScanError, match="không có trang 3"):
        render_page(pdf, 3)
    with pytest.raises(ScanError):
        render_page(b"%PDF-1.7 junk", 1)
