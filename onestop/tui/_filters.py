"""The dashboard's categories and the list's filter choices, mapped onto ``DossierFilter``."""

from __future__ import annotations

from datetime import datetime

from onestop.domain.lifecycle import Status
from onestop.store.queries import Counts, DossierFilter

# (key, Vietnamese label). The keys are the fields of ``Counts``.
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("overdue", "Quá hạn"),
    ("due_today", "Đến hạn hôm nay"),
    ("due_soon", "Sắp đến hạn (2 ngày)"),
    ("awaiting_supplement", "Chờ bổ sung"),
    ("ready_to_return", "Chờ trả kết quả"),
    ("received_today", "Tiếp nhận hôm nay"),
    ("total", "Tất cả hồ sơ"),
)

# The list's "Hạn" select: due windows, plus "received today" so every dashboard count opens a
# list whose filter is visible and editable in the same three selects.
WINDOWS: tuple[tuple[str, str], ...] = (
    ("overdue", "Quá hạn"),
    ("today", "Đến hạn hôm nay"),
    ("soon", "Sắp đến hạn (2 ngày)"),
    ("none", "Không có hạn cụ thể"),
    ("received_today", "Tiếp nhận hôm nay"),
)

# Category -> (status, window) preset of the list screen.
PRESETS: dict[str, tuple[Status | None, str | None]] = {
    "overdue": (None, "overdue"),
    "due_today": (None, "today"),
    "due_soon": (None, "soon"),
    "awaiting_supplement": (Status.SUPPLEMENT_REQUESTED, None),
    "ready_to_return": (Status.RESULT_READY, None),
    "received_today": (None, "received_today"),
    "total": (None, None),
}


def count_of(counts: Counts, key: str) -> int:
    return int(getattr(counts, key))


def build_filter(
    *,
    status: Status | None = None,
    field: str | None = None,
    window: str | None = None,
    search: str = "",
    now: datetime,
) -> DossierFilter:
    received_since = None
    due = window
    if window == "received_today":
        received_since = now.replace(hour=0, minute=0, second=0, microsecond=0)
        due = None
    return DossierFilter(
        statuses=(status,) if status else (),
        field=field or None,
        search=search.strip() or None,
        due=due,
        received_since=received_since,
    )


def category_filter(key: str, now: datetime) -> DossierFilter:
    status, window = PRESETS[key]
    return build_filter(status=status, window=window, now=now)
