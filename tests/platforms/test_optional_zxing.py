"""Where zxing-cpp has no wheel the desk still installs and runs; the two features that need
it say so in words (decoding a photographed QR, splitting a stack at separator sheets), and a
slip still prints its barcode (Code 39 instead of Code 128)."""

from __future__ import annotations

import sys

import pytest
from PIL import Image

from onestop.forms.qr import QrDecodeError, decode_image, qr_png
from onestop.scans.errors import ScanError
from onestop.scans.sources import split_stack


@pytest.fixture
def no_zxing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zxingcpp", None)  # "import zxingcpp" -> ImportError


def test_a_qr_photo_without_zxing_is_refused_in_words(no_zxing: None) -> None:
    with pytest.raises(QrDecodeError, match="zxing-cpp"):
        decode_image(qr_png("https://tracuu.example.vn/r1#0123"))


def test_a_stack_without_zxing_is_refused_in_words(no_zxing: None) -> None:
    with pytest.raises(ScanError, match="tờ phân cách"):
        split_stack([Image.new("L", (200, 200), 255)])


def test_a_barcode_without_zxing_falls_back_to_code39(no_zxing: None) -> None:
    from onestop.forms.pdf import code128_modules

    assert code128_modules("000.00.14.H56-261120-010001") is None
