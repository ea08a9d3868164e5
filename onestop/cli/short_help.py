"""The one-line help of every lazily loaded command, so ``onestop --help`` lists them without
importing their modules (importing them all pulls in SQLAlchemy, the crypto and PDF stacks:
~0.6 s before the list appears).

``tests/cli/test_short_help.py`` compares each entry with the real command's short help, so this
table cannot drift. A command missing here still works and still appears in ``--help`` (its
module is imported to ask it); the test then names the line to add.
"""

from __future__ import annotations

# command name -> the first paragraph of its help, as ``click.Command.get_short_help_str``
# would show it untruncated (``LazyGroup`` shortens it to the terminal's width the same way).
SHORT_HELP: dict[str, str] = {
    "act": "Thực hiện một bước xử lý hồ sơ.",
    "attach": "Đính kèm bản số hóa (PDF, ảnh JPEG/PNG/TIFF) của một thành phần hồ sơ hoặc của kết quả.",
    "backup": "Sao lưu quầy, mã hóa, không làm gián đoạn quầy đang chạy.",
    "check-id": "Kiểm tra số định danh cá nhân (CCCD 12 số).",
    "conflicts": "Cảnh báo hai quầy thao tác cùng lúc trên một hồ sơ khi chưa đồng bộ.",
    "demo": "Tạo một quầy mẫu (đã mã hóa, có tài khoản mẫu) với hồ sơ trải trên nhiều tháng.",
    "detach": "Gỡ một bản số hóa đính kèm sai (ID: mã tệp trong «onestop files», hoặc shown-N).",
    "dossier": "Xem hồ sơ.",
    "due": "Tính thời điểm hẹn trả kết quả theo quy định.",
    "encrypt": "Mã hóa một quầy cũ chưa mã hóa và tạo tài khoản quản trị đầu tiên.",
    "enroll": "Đăng ký quầy với máy chủ tỉnh (tạo khóa ký nếu chưa có).",
    "file-get": "Lấy ra một bản số hóa (kiểm tra toàn vẹn từng khối) và ghi vào tệp.",
    "files": "Liệt kê các bản số hóa đính kèm của một hồ sơ.",
    "hotfolder": "Tách các chồng giấy trong thư mục quét theo tờ phân cách và đính kèm vào từng hồ sơ.",
    "init": "Khởi tạo quầy: cơ sở dữ liệu mã hóa, danh tính quầy và tài khoản quản trị đầu tiên.",
    "keys": "Khóa ký của quầy và danh sách tin cậy của tỉnh.",
    "migrate": "Nâng cấp cấu trúc cơ sở dữ liệu lên bản mới nhất.",
    "rebuild": "Dựng lại toàn bộ hồ sơ từ nhật ký sự kiện và kiểm tra chuỗi băm.",
    "receipt": "Ký mã QR biên nhận của hồ sơ CODE; in ra màn hình, PNG hoặc PDF.",
    "receive": "Tiếp nhận một hồ sơ; in mã hồ sơ và thời điểm hẹn trả.",
    "refuse": "Từ chối tiếp nhận hồ sơ (Phiếu từ chối), ghi rõ lý do.",
    "report": "Lập báo cáo: bieu06, book (sổ theo dõi), fees (phí, lệ phí), evaluation, indicators.",
    "restore": "Khôi phục quầy từ tệp sao lưu FILE (.osbk).",
    "scan": "Quét một thành phần hồ sơ bằng máy quét rồi đính kèm bản đã chuẩn hóa.",
    "scanners": "Liệt kê các máy quét máy này thấy được (SANE).",
    "separator": "In tờ phân cách (mã QR hồ sơ và thành phần) để quét cả chồng giấy qua thư mục quét.",
    "serve": "Chạy máy chủ tỉnh (HTTP API đồng bộ).",
    "server": "Quản trị máy chủ tỉnh: mã đăng ký quầy, thu hồi quầy, dữ liệu tham chiếu.",
    "sign-pdf": "Ký số (PAdES) một phiếu đã in mà chưa ký, hoặc văn bản kết quả của hồ sơ --code.",
    "signer": "Khóa ký số (chứng thư số) của cán bộ ký phiếu và kết quả trên quầy này.",
    "slip": "In một phiếu của hồ sơ CODE ra PDF, có chữ ký số (PAdES) của người ký theo quy định.",
    "sync": "Đồng bộ với máy chủ tỉnh: gửi sự kiện chưa gửi, nhận sự kiện của quầy khác cùng xã.",
    "user": "Tài khoản và vai trò của quầy (chỉ quản trị viên).",
    "verify": "Kiểm tra biên nhận, không cần mạng: INPUT là nội dung mã QR, ảnh PNG/JPEG hoặc «-».",
    "verify-pdf": "Kiểm tra chữ ký số (PAdES) trong tệp PDF FILE, không cần mạng.",
}

# ``onestop desk ...``
DESK_SHORT_HELP: dict[str, str] = {
    "offline-limits": "Đặt giới hạn làm việc ngoại tuyến của quầy (quản trị viên).",
    "slip-settings": "Xem hoặc đặt thông tin in trên phiếu của quầy (quản trị viên đặt).",
    "status": "Tình trạng an toàn của quầy: thu hồi, thời gian chưa đồng bộ, sao lưu tự động.",
    "unlock-offline": "Quản trị viên mở tạm tiếp nhận hồ sơ khi quầy quá lâu chưa đồng bộ (được ghi lại).",
}
