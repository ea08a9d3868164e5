"""The citizen's evaluation at return: the nine indicators of TT 01/2018 and the satisfaction
level, as the desk asks them (pure rules, no I/O).

Issue 17: the form showed ``1?1?2????`` with no word on what the nine digits were, and preset
"Rất hài lòng", so a confirm nobody asked recorded "very satisfied". Each indicator now carries
the circular's wording (``INDICATORS``, from the scoring tool's annex as provincial systems
print it, REFERENCE.md §4.2) and a short form that fits a row at 80 columns; the satisfaction
level starts unanswered and ``missing`` refuses a form where anything was not asked.
"""

from __future__ import annotations

from collections.abc import Sequence

from onestop.domain.lifecycle import EVALUATION_INDICATORS, SATISFACTION_LEVELS
from onestop.i18n import t

# (short label for the row, the circular's wording shown for the highlighted row).
INDICATORS: tuple[tuple[str, str], ...] = (
    (
        "Thời gian giải quyết so với quy định",
        "Tổng thời gian giải quyết thủ tục hành chính so với quy định của pháp luật",
    ),
    (
        "Thời gian của từng cơ quan tham gia",
        "Thời gian thực hiện của từng cơ quan, đơn vị tham gia giải quyết (kể cả đơn vị phối hợp)",
    ),
    (
        "Số lần phải liên hệ để hoàn thiện hồ sơ",
        "Số lần phải liên hệ với nơi tiếp nhận hồ sơ để hoàn thiện hồ sơ thủ tục hành chính "
        "(kể cả liên hệ theo hình thức trực tuyến)",
    ),
    (
        "Số cơ quan phải liên hệ",
        "Số lượng cơ quan, đơn vị, tổ chức phải liên hệ để hoàn thiện hồ sơ thủ tục hành chính "
        "(kể cả liên hệ theo hình thức trực tuyến)",
    ),
    (
        "Tiếp nhận, trả kết quả tại Một cửa",
        "Thực hiện tổ chức tiếp nhận hồ sơ, giải quyết, trả kết quả tại Bộ phận Một cửa",
    ),
    ("Công khai thủ tục hành chính", "Công khai các thủ tục hành chính"),
    (
        "Thái độ của cán bộ, công chức",
        "Thái độ của cán bộ, công chức, viên chức khi hướng dẫn lập hồ sơ, tiếp nhận hồ sơ và "
        "giải quyết thủ tục hành chính",
    ),
    (
        "Tiếp thu, giải trình phản ánh, kiến nghị",
        "Tiếp thu, giải trình đối với các ý kiến phản ánh, kiến nghị của tổ chức, cá nhân",
    ),
    (
        "Dịch vụ công trực tuyến",
        "Tiến độ và chất lượng cung cấp dịch vụ công trực tuyến của cơ quan có thẩm quyền",
    ),
)
assert len(INDICATORS) == EVALUATION_INDICATORS


def missing(scores: Sequence[int | None], satisfaction: int | None) -> str:
    """Why the evaluation cannot be recorded yet (what was not asked), or "" when complete."""
    unanswered = [str(i) for i, s in enumerate(scores, start=1) if s is None]
    parts = []
    if len(scores) != EVALUATION_INDICATORS:
        parts.append(t("Phiếu đánh giá phải có đủ 9 tiêu chí."))
    if unanswered:
        parts.append(
            t(
                "Chưa chấm tiêu chí {which}: hỏi người dân rồi bấm 0, 1 hoặc 2.",
                which=", ".join(unanswered),
            )
        )
    if satisfaction not in SATISFACTION_LEVELS:
        parts.append(
            t(
                "Chưa hỏi mức độ hài lòng: hỏi người dân rồi bấm 1 (rất không hài lòng) đến 5 "
                "(rất hài lòng)."
            )
        )
    return " ".join(parts)


__all__ = ["INDICATORS", "missing"]
