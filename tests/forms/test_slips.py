"""The official slips: render real dossiers, read the PDFs back with poppler, check the text.

Every slip is rendered from a dossier built by replaying a hand-written event log, then
``pdftotext -layout`` must find the Vietnamese strings exactly (NFC, with diacritics),
``pdftoppm`` must rasterise every page, and the receipt's QR and Code 128 must decode
(zxing-cpp) from a 200 dpi raster. One PNG per slip is kept in /tmp/slips for eyeballing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date, datetime
from io import BytesIO
from pathlib import Path

import pytest

from onestop.domain.desk import DeskIdentity
from onestop.domain.events import Event, EventKind, to_epoch
from onestop.domain.lifecycle import DossierState, Status, replay
from onestop.domain.numbering import DOCS_OF_EVENT, NUMBERS_KEY, format_number
from onestop.forms.slips import (
    SlipError,
    SlipKind,
    SlipSignature,
    applicable_slips,
    render_slip,
    render_tracking_book,
)

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils (pdftotext, pdftoppm) is not installed: cannot read the PDFs back",
)

PNG_DIR = Path("/tmp/slips")
NOW = datetime(2026, 2, 26, 9, 30)
CODE = "000.00.14.H56-260205-030017"
NAME = "Nguyễn Thị Phương Thảo"
PROC = "Chứng thực giao dịch về động sản, QSDĐ, nhà ở"
FIELD = "Chứng thực"
CLERK = "Lê Văn Bình"
HANDLER = "Trần Thị Hoa"
SUPPLEMENT_1 = "Bản sao Giấy chứng nhận quyền sử dụng đất có chứng thực"
SUPPLEMENT_2 = "Giấy xác nhận tình trạng hôn nhân của bên bán"
EXTEND_REASON = "Cần xác minh nguồn gốc thửa đất với Văn phòng đăng ký đất đai"
QR_TEXT = "https://tracuu.thanhhoa.gov.vn/r1#" + "0123456789" * 18

IDENTITY = DeskIdentity(
    unit_eid="000.00.14.H56",
    commune_code="15706",
    commune_name="Xã Mường Lát",
    province_code="38",
    province_name="Thanh Hóa",
    desk_no=3,
    desk_name="Quầy 3",
)


def _ev(
    seq: int, kind: EventKind, at: datetime, actor: str, code: str = CODE, **data: object
) -> Event:
    if kind in DOCS_OF_EVENT:
        # The slip numbers the desk allocates (domain/numbering.py): here the dossier's own
        # desk (03) and counter (…0017 -> 17-03), so each test can name them.
        number = format_number(int(code[-4:]), code[-6:-4])
        data.setdefault(NUMBERS_KEY, {doc.value: number for doc in DOCS_OF_EVENT[kind]})
    return Event(
        desk_id=IDENTITY.desk_id,
        seq=seq,
        hlc=to_epoch(at) << 16,
        kind=kind,
        dossier=code,
        at=at,
        actor=actor,
        role="clerk",
        data=dict(data),
    )


def _receive(
    code: str = CODE,
    *,
    at: datetime = datetime(2026, 2, 5, 10, 5),
    name: str = NAME,
    **extra: object,
) -> Event:
    data: dict[str, object] = {
        "procedure": "2.000815.000.00.00.H56",
        "procedure_version": 1,
        "procedure_name": PROC,
        "field": FIELD,
        "time_unit": "working_days",
        "time_value": 3,
        "applicant": {
            "name": name,
            "id": "038186012345",
            "phone": "0912 345 678",
            "address": "Bản Lát, xã Mường Lát, tỉnh Thanh Hóa",
            "email": "thao.nguyen@example.vn",
        },
        "proxy": {
            "name": "Phạm Đức Hùng",
            "id": "038090004321",
            "phone": "0987 654 321",
            "paper": "Giấy ủy quyền số 12/2026 ngày 02/02/2026",
        },
        "channel": "in_person",
        "documents": [
            "Phiếu yêu cầu chứng thực",
            "Dự thảo hợp đồng chuyển nhượng quyền sử dụng đất",
            "Bản sao Căn cước của các bên tham gia giao dịch",
        ],
        "fee": 50000,
        "due": to_epoch(datetime(2026, 2, 10, 10, 5)),
    }
    data.update(extra)
    return _ev(1, EventKind.RECEIVE, at, CLERK, code, **data)


def full_log() -> list[Event]:
    return [
        _receive(),
        _ev(
            2,
            EventKind.RECORD_PAYMENT,
            datetime(2026, 2, 5, 10, 10),
            CLERK,
            amount=50000,
            method="cash",
        ),
        _ev(
            3,
            EventKind.FORWARD,
            datetime(2026, 2, 5, 10, 30),
            CLERK,
            to=f"{HANDLER} (Tư pháp - Hộ tịch)",
        ),
        _ev(4, EventKind.START, datetime(2026, 2, 5, 14, 0), HANDLER),
        _ev(
            5,
            EventKind.REQUEST_SUPPLEMENT,
            datetime(2026, 2, 6, 9, 0),
            HANDLER,
            reason=f"{SUPPLEMENT_1}\n{SUPPLEMENT_2}",
        ),
        _ev(
            6,
            EventKind.RECORD_SUPPLEMENT,
            datetime(2026, 2, 9, 8, 30),
            CLERK,
            due=to_epoch(datetime(2026, 2, 12, 10, 5)),
        ),
        _ev(
            7,
            EventKind.EXTEND,
            datetime(2026, 2, 10, 15, 0),
            HANDLER,
            reason=EXTEND_REASON,
            due=to_epoch(datetime(2026, 2, 25, 10, 0)),
        ),
        _ev(8, EventKind.RESOLVE, datetime(2026, 2, 24, 16, 0), HANDLER, decision="approved"),
        _ev(9, EventKind.MARK_READY, datetime(2026, 2, 25, 8, 0), CLERK),
        _ev(10, EventKind.RETURN_RESULT, datetime(2026, 2, 26, 9, 15), CLERK, channel="post"),
    ]


def _text(pdf: bytes, *, layout: bool = True) -> str:
    args = ["pdftotext", *(["-layout"] if layout else []), "-", "-"]
    out = subprocess.run(args, input=pdf, capture_output=True, check=True).stdout.decode("utf-8")
    # Justified lines come out with runs of spaces; compare words, line by line (keeping the
    # form feeds that separate pages).
    return "\f".join(
        "\n".join(" ".join(line.split()) for line in page.split("\n")) for page in out.split("\f")
    )


def _pages(pdf: bytes) -> list[str]:
    return _text(pdf).split("\f")


def _png(pdf: bytes, name: str, *, dpi: int = 50, first: int = 1) -> Path:
    PNG_DIR.mkdir(parents=True, exist_ok=True)
    stem = PNG_DIR / name
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(dpi),
            "-png",
            "-f",
            str(first),
            "-l",
            str(first),
            "-singlefile",
            "-",
            str(stem),
        ],
        input=pdf,
        check=True,
        capture_output=True,
    )
    path = stem.with_suffix(".png")
    assert path.stat().st_size > 1000
    return path


@pytest.fixture(scope="module")
def log() -> list[Event]:
    return full_log()


@pytest.fixture(scope="module")
def dossier(log: list[Event]) -> DossierState:
    return replay(log)


# ---------------------------------------------------------------------------------------------


def test_receipt_two_copies_with_every_field(dossier: DossierState, log: list[Event]) -> None:
    sig = SlipSignature("9f2c41d07be35a18", CLERK, datetime(2026, 2, 5, 10, 6))
    pdf = render_slip(
        SlipKind.RECEIPT,
        dossier,
        log,
        IDENTITY,
        now=NOW,
        qr_text=QR_TEXT,
        signature=sig,
        official=CLERK,
    )
    assert pdf.startswith(b"%PDF-")
    pages = [p for p in _pages(pdf) if p.strip()]
    assert len(pages) == 2
    assert "Liên 1: Lưu" in pages[0] and "Liên 2" not in pages[0]
    assert "Liên 2: Giao người nộp hồ sơ" in pages[1]
    for page in pages:
        for needle in (
            "UBND XÃ MƯỜNG LÁT",
            "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG",
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            "Số: 17-03/TN-TTPVHCC",
            "Mường Lát, ngày 05 tháng 02 năm 2026",
            "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
            f"Mã hồ sơ: {CODE}",
            f"Tiếp nhận hồ sơ của Ông (Bà)/Tổ chức: {NAME}",
            "Số định danh cá nhân/tổ chức: 038186012345",
            "Địa chỉ: Bản Lát, xã Mường Lát, tỉnh Thanh Hóa",
            "Số điện thoại: 0912 345 678",
            "Email: thao.nguyen@example.vn",
            "Người nộp hồ sơ thay (được ủy quyền): Ông (Bà) Phạm Đức Hùng",
            "Số định danh cá nhân: 038090004321",
            "Giấy ủy quyền: Giấy ủy quyền số 12/2026 ngày 02/02/2026",
            f"Nội dung yêu cầu giải quyết: {PROC}",
            "Thành phần hồ sơ nộp gồm:",
            "1. Phiếu yêu cầu chứng thực",
            "2. Dự thảo hợp đồng chuyển nhượng quyền sử dụng đất",
            "3. Bản sao Căn cước của các bên tham gia giao dịch",
            "Số lượng hồ sơ: 01 (bộ)",
            "Thời gian giải quyết hồ sơ theo quy định là: 03 ngày làm việc",
            "Thời gian nhận hồ sơ: 10 giờ 05 phút, ngày 05 tháng 02 năm 2026",
            # The receipt shows the appointment in force (moved by the extension).
            "Thời gian trả kết quả giải quyết hồ sơ: 10 giờ 00 phút, ngày 25 tháng 02 năm 2026",
            "Đăng ký nhận kết quả tại: Quầy 3, Trung tâm Phục vụ hành chính công xã Mường Lát",
            "Phí, lệ phí: 50.000 đồng",
            "Vào Sổ theo dõi hồ sơ, Quyển số",
            "NGƯỜI NỘP HỒ SƠ",
            "NGƯỜI TIẾP NHẬN HỒ SƠ",
            "(Ký và ghi rõ họ tên)",
            "Phạm Đức Hùng",
            CLERK,
            "Quét mã để kiểm tra biên nhận",
            "bưu chính công ích",
            # The desk key of the QR, never the name of whoever printed (issue 15).
            "Mã khóa quầy 9f2c41d07be35a18",
        ):
            assert needle in page, needle
        # The code is printed under the barcode too.
        assert page.count(CODE) >= 2
    info = subprocess.run(
        ["pdfinfo", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert "kid=9f2c41d07be35a18" in info and "signed_at=2026-02-05T10:06:00+07:00" in info
    assert re.search(r"^Pages:\s+2$", info, re.M)
    _png(pdf, "receipt")
    _png(pdf, "receipt-lien2", first=2)


def test_receipt_qr_and_code128_decode(dossier: DossierState, log: list[Event]) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    pdf = render_slip(SlipKind.RECEIPT, dossier, log, IDENTITY, now=NOW, qr_text=QR_TEXT)
    raster = subprocess.run(
        ["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout
    found = {(r.format, r.text) for r in zxingcpp.read_barcodes(Image.open(BytesIO(raster)))}
    assert (zxingcpp.BarcodeFormat.QRCode, QR_TEXT) in found
    assert (zxingcpp.BarcodeFormat.Code128, CODE) in found


def test_receipt_without_qr_no_due_and_free(log: list[Event]) -> None:
    intake = _receive(
        time_unit="unknown", time_value=None, due=None, fee=0, fee_basis="free", proxy={}
    )
    plain = replay([intake])
    pdf = render_slip(SlipKind.RECEIPT, plain, [intake], IDENTITY, now=NOW)
    text = _text(pdf)
    assert (
        text.count(
            "Thời gian giải quyết hồ sơ theo quy định là: Không có ngày hẹn trả cụ thể theo quy định"
        )
        == 2
    )
    assert (
        "Thời gian trả kết quả giải quyết hồ sơ: Không có ngày hẹn trả cụ thể theo quy định" in text
    )
    assert "Phí, lệ phí: Miễn phí" in text
    assert "Quét mã" not in text and "ủy quyền): Ông" not in text
    assert "(Chưa ký số)" in text
    assert text.count(CODE) >= 4  # title line and barcode caption, on both copies


def test_receipt_stays_two_pages_with_many_papers() -> None:
    docs = [
        f"Giấy tờ chứng minh số {i}: bản sao có chứng thực hoặc bản chụp kèm bản chính để đối chiếu"
        for i in range(1, 16)
    ]
    big = replay([_receive(documents=docs)])
    pdf = render_slip(SlipKind.RECEIPT, big, [], IDENTITY, now=NOW, qr_text=QR_TEXT)
    pages = [p for p in _pages(pdf) if p.strip()]
    assert len(pages) == 2
    assert "15. Giấy tờ chứng minh số 15" in pages[0] and "15. Giấy tờ chứng minh số 15" in pages[1]


def test_supplement(dossier: DossierState, log: list[Event]) -> None:
    pdf = render_slip(SlipKind.SUPPLEMENT, dossier, log, IDENTITY, now=NOW)
    text = _text(pdf)
    for needle in (
        "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
        "Số: 17-03/PBS-TTPVHCC",
        "Mường Lát, ngày 06 tháng 02 năm 2026",
        f"Hồ sơ của: {NAME}",
        f"Mã hồ sơ: {CODE}",
        f"Nội dung yêu cầu giải quyết: {PROC}",
        "Yêu cầu hoàn thiện hồ sơ gồm những nội dung sau:",
        f"1. {SUPPLEMENT_1}",
        f"2. {SUPPLEMENT_2}",
        "Lý do: Hồ sơ chưa đầy đủ, hợp lệ theo quy định.",
        "NGƯỜI HƯỚNG DẪN",
        HANDLER,  # the actor of the request, as no official was given
        "(Chưa ký số)",
    ):
        assert needle in text, needle
    flat = " ".join(_text(pdf, layout=False).split())
    assert f"Ông/Bà liên hệ với {HANDLER}" in flat and "để được hướng dẫn" in flat
    assert len([p for p in _pages(pdf) if p.strip()]) == 1
    _png(pdf, "supplement")


def test_apology_original_and_new_dates(dossier: DossierState, log: list[Event]) -> None:
    # The head of unit comes from the desk setting, never from ``official`` (the desk user).
    pdf = render_slip(
        SlipKind.APOLOGY,
        dossier,
        log,
        IDENTITY,
        now=NOW,
        official=CLERK,
        head_of_unit="Hà Văn Sơn",
    )
    text = _text(pdf)
    for needle in (
        "PHIẾU XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT",
        "Số: 17-03/PXL",
        "Mường Lát, ngày 10 tháng 02 năm 2026",
        f"Kính gửi: Ông (Bà) {NAME}",
        "Số định danh cá nhân/tổ chức: 038186012345",
        f"Mã số hồ sơ: {CODE}",
        # The appointment in force before the extension: moved by the supplement to 12/02.
        "Thời gian hẹn trả kết quả giải quyết hồ sơ: 10 giờ 05 phút, ngày 12 tháng 02 năm 2026",
        "10 giờ 00 phút, ngày 25 tháng 02 năm 2026",
        f"Lý do: {EXTEND_REASON}",
        "xin lỗi Ông (Bà)",
        "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ",
        "Hà Văn Sơn",
        "Nơi nhận:",
    ):
        assert needle in text, needle
    assert CLERK not in text
    # The procedure sentence wraps; check it without the line breaks.
    assert f"thủ tục hành chính: {PROC}" in " ".join(_text(pdf, layout=False).split())
    _png(pdf, "apology")


def test_apology_uses_original_due_when_nothing_moved_it() -> None:
    events = [
        _receive(),
        _ev(
            2,
            EventKind.EXTEND,
            datetime(2026, 2, 6, 9, 0),
            HANDLER,
            reason=EXTEND_REASON,
            due=to_epoch(datetime(2026, 2, 13, 16, 0)),
        ),
    ]
    state = replay(events)
    text = _text(render_slip(SlipKind.APOLOGY, state, events, IDENTITY, now=NOW))
    assert (
        "Thời gian hẹn trả kết quả giải quyết hồ sơ: 10 giờ 05 phút, ngày 10 tháng 02 năm 2026"
        in text
    )
    assert "16 giờ 00 phút, ngày 13 tháng 02 năm 2026" in text


def test_refusal() -> None:
    reason = "Hồ sơ không thuộc thẩm quyền giải quyết của UBND xã; đề nghị nộp tại Văn phòng đăng ký đất đai"
    refused_code = "000.00.14.H56-260303-030002"
    events = [_receive(refused_code, at=datetime(2026, 3, 3, 8, 40))]
    data = {**events[0].data, "reason": reason, NUMBERS_KEY: {"refusal": "02-03"}}
    events = [replace(events[0], kind=EventKind.REFUSE, data=data)]
    state = replay(events)
    assert state.status == Status.REFUSED
    pdf = render_slip(SlipKind.REFUSAL, state, events, IDENTITY, now=NOW, official=CLERK)
    text = _text(pdf)
    flat = " ".join(_text(pdf, layout=False).split())
    for needle in (
        "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
        "Số: 02-03/PTC-TTPVHCC",
        "Mường Lát, ngày 03 tháng 3 năm 2026",  # no leading zero for March
        f"Tiếp nhận hồ sơ của: {NAME}",
        f"Mã hồ sơ (nếu có): {refused_code}",
        "NGƯỜI NỘP HỒ SƠ",
        "NGƯỜI TIẾP NHẬN HỒ SƠ",
    ):
        assert needle in text, needle
    assert (
        "Qua xem xét, Bộ phận Tiếp nhận và Trả kết quả thông báo không tiếp nhận, giải quyết hồ sơ "
        f"này với lý do cụ thể như sau: {reason}"
    ) in flat
    assert applicable_slips(state, events) == [SlipKind.REFUSAL]
    with pytest.raises(SlipError, match="từ chối tiếp nhận"):
        render_slip(SlipKind.RECEIPT, state, events, IDENTITY, now=NOW)
    _png(pdf, "refusal")


def test_stop_notice() -> None:
    reason = "Người nộp đề nghị rút hồ sơ để bổ sung hợp đồng mới"
    events = [
        _receive(),
        _ev(2, EventKind.WITHDRAW, datetime(2026, 2, 9, 14, 20), CLERK, reason=reason),
    ]
    state = replay(events)
    pdf = render_slip(SlipKind.STOP, state, events, IDENTITY, now=NOW)
    text = _text(pdf)
    flat = " ".join(_text(pdf, layout=False).split())
    for needle in (
        "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ",
        "Mường Lát, ngày 09 tháng 02 năm 2026",
        f"Kính gửi: Ông (Bà) {NAME}",
        f"Mã hồ sơ: {CODE}",
        "Số định danh cá nhân/tổ chức: 038186012345",
        reason,
        "NGƯỜI NHẬN LẠI HỒ SƠ",
    ):
        assert needle in text, needle
    assert (
        "thông báo dừng giải quyết hồ sơ nêu trên" in flat and "được trả lại cho Ông (Bà)" in flat
    )
    assert "14 giờ 20 phút, ngày 09 tháng 02 năm 2026" in flat
    _png(pdf, "stop")


def test_control_slip_rows_and_timeliness(dossier: DossierState, log: list[Event]) -> None:
    pdf = render_slip(SlipKind.CONTROL, dossier, log, IDENTITY, now=NOW)
    text = _text(pdf)
    flat = " ".join(_text(pdf, layout=False).split())
    for needle in (
        "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
        "Số: 17-03/PKS-TTPVHCC",
        f"Mã số hồ sơ: {CODE}",
        "Cơ quan (bộ phận) giải quyết hồ sơ: UBND xã Mường Lát",
        "Ngày nhận: 10 giờ 05 phút, ngày 05 tháng 02 năm 2026",
        "Hẹn trả kết quả vào: 10 giờ 00 phút, ngày 25 tháng 02 năm 2026",
        "Tên đơn vị",
        "Ghi chú",
        "Giao: Bộ phận TN&TKQ",
        "Người thực hiện:",
        CLERK,
        "10 giờ 30 phút,",
        "ngày 05/02/2026",
    ):
        assert needle in text, needle
    for needle in (
        "Thời gian giao nhận hồ sơ",
        "Kết quả giải quyết hồ sơ (trước hạn/đúng hạn/quá hạn)",
        f"Nhận: {HANDLER} (Tư pháp - Hộ tịch)",
        f"Nhận xử lý: {HANDLER}",
        f"Giao: Bộ phận TN&TKQ Nhận: {NAME}",  # the result handed back
    ):
        assert needle in flat, needle
    assert f"Yêu cầu bổ sung: {SUPPLEMENT_1}" in flat
    # Every handover is before its due date except the resolution/return timeline below.
    assert text.count("Trước hạn") >= 8
    assert "Đúng hạn" in text  # mark_ready on 25/02, the extended due date
    assert "Quá hạn" in text  # returned 26/02, the day after the extended due date
    _png(pdf, "control")


def test_control_slip_many_events_spans_pages() -> None:
    events = [_receive()]
    for i in range(2, 40):
        events.append(
            _ev(
                i,
                EventKind.FORWARD,
                datetime(2026, 2, 5, 11, 0)
                + (i * (datetime(2026, 2, 5, 0, 10) - datetime(2026, 2, 5))),
                CLERK,
                to=f"Cán bộ số {i}",
            )
        )
    state = replay(events)
    pdf = render_slip(SlipKind.CONTROL, state, events, IDENTITY, now=NOW)
    pages = [p for p in _pages(pdf) if p.strip()]
    assert len(pages) >= 2
    # The heading row repeats on every page of the table (the signature block may follow alone).
    table = [p for p in pages if "Nhận: Cán bộ" in p]
    assert all("Tên đơn vị" in p for p in table)
    assert "Nhận: Cán bộ số 39" in table[-1]
    assert "NGƯỜI TIẾP NHẬN HỒ SƠ" in pages[-1]  # the clerk's signature block closes the slip
    assert f"Trang {len(pages)}/{len(pages)}" in pages[-1]


def test_inapplicable_slips_raise(dossier: DossierState, log: list[Event]) -> None:
    fresh_log = [_receive()]
    fresh = replay(fresh_log)
    assert applicable_slips(fresh, fresh_log) == [SlipKind.RECEIPT, SlipKind.CONTROL]
    assert applicable_slips(dossier, log) == [
        SlipKind.RECEIPT,
        SlipKind.SUPPLEMENT,
        SlipKind.APOLOGY,
        SlipKind.CONTROL,
    ]
    for kind, words in (
        (SlipKind.SUPPLEMENT, "bổ sung"),
        (SlipKind.APOLOGY, "gia hạn"),
        (SlipKind.REFUSAL, "không bị từ chối"),
        (SlipKind.STOP, "chưa dừng giải quyết"),
    ):
        with pytest.raises(SlipError, match=words):
            render_slip(kind, fresh, fresh_log, IDENTITY, now=NOW)
    # Events of other dossiers in the list do not make a slip applicable.
    other = [replace(e, dossier="000.00.14.H56-260205-030099") for e in log]
    with pytest.raises(SlipError):
        render_slip(SlipKind.APOLOGY, fresh, fresh_log + other, IDENTITY, now=NOW)


def _book_dossiers(base: DossierState) -> list[DossierState]:
    families = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Võ", "Đặng", "Bùi", "Đỗ"]
    given = ["Thị Phương Thảo", "Văn Đức", "Minh Châu", "Thị Ngọc Ánh", "Quốc Hưng", "Thị Hằng"]
    out = []
    for i in range(60):
        day = date(2026, 2, 2 + i % 25)
        received = datetime(day.year, day.month, day.day, 8 + i % 8, (i * 7) % 60)
        returned = received.replace(hour=16) if i % 3 == 0 else None
        out.append(
            replace(
                base,
                code=f"000.00.14.H56-{day:%y%m%d}-03{i + 1:04d}",
                applicant_name=f"{families[i % 10]} {given[i % 6]}",
                applicant_address=f"Thôn {i % 9 + 1}, xã Mường Lát, tỉnh Thanh Hóa",
                received_at=received,
                due_at=received.replace(hour=17, minute=0),
                returned_at=returned,
                return_channel="desk" if returned else None,
                status=Status.RETURNED if returned else Status.PROCESSING,
            )
        )
    return out


def test_tracking_book_spans_pages_and_lists_every_code(dossier: DossierState) -> None:
    rows = _book_dossiers(dossier)
    outsiders = [
        replace(
            rows[0], code="000.00.14.H56-260130-039999", received_at=datetime(2026, 1, 30, 9, 0)
        ),
        replace(rows[1], code="000.00.14.H56-260210-038888", field="Hộ tịch"),
    ]
    sig = SlipSignature("51ab07e2c9d4f386", CLERK, datetime(2026, 2, 26, 9, 29))
    pdf = render_tracking_book(
        rows + outsiders,
        IDENTITY,
        field=FIELD,
        start=date(2026, 2, 1),
        end=date(2026, 2, 28),
        now=NOW,
        signature=sig,
    )
    pages = [p for p in _pages(pdf) if p.strip()]
    assert len(pages) > 1
    text = "\n".join(pages)
    for needle in (
        "SỔ THEO DÕI HỒ SƠ",
        "Lĩnh vực: Chứng thực",
        "Từ ngày 01 tháng 02 năm 2026 đến ngày 28 tháng 02 năm 2026",
        "/STD-TTPVHCC",
        "Nhận và trả kết quả",
    ):
        assert needle in text, needle
    assert "Tại Bộ phận" in text and "Một cửa" in text  # wrapped in its cell
    for d in rows:
        assert d.code in text, d.code
    assert "039999" not in text and "038888" not in text
    assert all("STT" in p and "Ký nhận" in p for p in pages)  # headings repeat on every page
    assert re.search(r"\b60\b", pages[-1])  # STT runs to 60
    assert all("Mã khóa quầy 51ab07e2c9d4f386" in p for p in pages)
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout
    assert "kid=51ab07e2c9d4f386" in info.decode()
    _png(pdf, "book")
    _png(pdf, "book-p2", first=2)


def test_every_slip_rasterises(dossier: DossierState, log: list[Event]) -> None:
    for kind in applicable_slips(dossier, log):
        pdf = render_slip(kind, dossier, log, IDENTITY, now=NOW)
        out = subprocess.run(
            ["pdftoppm", "-r", "50", "-png", "-"], input=pdf, capture_output=True, check=True
        )
        assert out.stdout.startswith(b"\x89PNG")
