"""The 80 mm thermal receipt: same content as the A4 receipt, 80 mm pages, a QR that decodes
from a raster at the print head's own resolution (203 dpi)."""

from __future__ import annotations

import re
import shutil
import subprocess
from io import BytesIO

import pytest

from onestop.domain.events import Event
from onestop.domain.lifecycle import DossierState, Status
from onestop.forms.slips import SlipError, SlipKind, render_slip
from onestop.forms.thermal import PAPER_WIDTH_MM, render_receipt_80mm
from tests.forms.test_slips import CODE, IDENTITY, NAME, NOW, PROC, QR_TEXT, full_log

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdfinfo") is None,
    reason="poppler-utils (pdftotext, pdfinfo, pdftoppm) is not installed",
)

PT_PER_MM = 72 / 25.4


@pytest.fixture(scope="module")
def log() -> list[Event]:
    return full_log()


@pytest.fixture(scope="module")
def dossier(log: list[Event]) -> DossierState:
    from onestop.domain.lifecycle import replay

    return replay(log)


def _text(pdf: bytes, *, layout: bool = False) -> str:
    args = ["pdftotext", *(["-layout"] if layout else []), "-", "-"]
    return subprocess.run(args, input=pdf, capture_output=True, check=True).stdout.decode()


def _words(text: str) -> str:
    return " ".join(text.split())


def test_same_content_as_the_a4_receipt_on_80mm_pages(
    dossier: DossierState, log: list[Event]
) -> None:
    thermal = render_receipt_80mm(dossier, log, IDENTITY, now=NOW, qr_text=QR_TEXT)
    info = subprocess.run(
        ["pdfinfo", "-"], input=thermal, capture_output=True, check=True
    ).stdout.decode()
    assert re.search(r"^Pages:\s+2$", info, re.M)
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info)
    assert size is not None, info
    width_pt, height_pt = map(float, size.groups())
    assert width_pt == pytest.approx(PAPER_WIDTH_MM * PT_PER_MM, abs=0.5)
    assert 150 * PT_PER_MM < height_pt < 500 * PT_PER_MM  # as long as its content, no A4 tail

    a4 = _words(_text(render_slip(SlipKind.RECEIPT, dossier, log, IDENTITY, now=NOW)))
    narrow = _words(_text(thermal))
    for needle in (
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        CODE,
        NAME,
        PROC,
        "038186012345",
        "Bản Lát, xã Mường Lát, tỉnh Thanh Hóa",
        "Phạm Đức Hùng",
        "Giấy ủy quyền số 12/2026 ngày 02/02/2026",
        "Dự thảo hợp đồng chuyển nhượng quyền sử dụng đất",
        "Thời gian trả kết quả giải quyết hồ sơ",
        "Phí, lệ phí",
        "Liên 1: Lưu",
        "Liên 2: Giao người nộp hồ sơ",
        "NGƯỜI TIẾP NHẬN HỒ SƠ",
    ):
        assert needle in a4, needle  # the A4 form says it too: same content
        assert needle in narrow, needle
    # The appointment itself, word for word as on A4.
    due = re.search(r"Thời gian trả kết quả giải quyết hồ sơ: ([^:]+?) Đăng ký", a4)
    assert due is not None and due.group(1) in narrow


def test_qr_and_barcode_decode_at_203_dpi(dossier: DossierState, log: list[Event]) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    pdf = render_receipt_80mm(dossier, log, IDENTITY, now=NOW, qr_text=QR_TEXT)
    raster = subprocess.run(
        ["pdftoppm", "-r", "203", "-mono", "-png", "-f", "1", "-l", "1", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout
    image = Image.open(BytesIO(raster))
    assert image.width == pytest.approx(80 / 25.4 * 203, abs=2)  # 640 dots: an 80 mm head
    found = {(r.format, r.text) for r in zxingcpp.read_barcodes(image)}
    assert (zxingcpp.BarcodeFormat.QRCode, QR_TEXT) in found
    assert (zxingcpp.BarcodeFormat.Code128, CODE) in found


def test_refused_at_the_counter_has_no_receipt(dossier: DossierState, log: list[Event]) -> None:
    from dataclasses import replace

    refused = replace(dossier, status=Status.REFUSED)
    with pytest.raises(SlipError, match="từ chối"):
        render_receipt_80mm(refused, [e for e in log if e.kind != "receive"], IDENTITY, now=NOW)
