"""Vietnam's time: one time zone (UTC+7, no daylight saving) and the desk's notion of "now".

Laptops in the field are often set to UTC; every legal deadline is in Vietnamese wall-clock
time, so nothing reads the machine's local zone.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Final

VN_TZ: Final = timezone(timedelta(hours=7), "ICT")


def vn_now() -> datetime:
    """Wall-clock time in Vietnam as a naive datetime, whatever the machine's time zone."""
    return datetime.now(VN_TZ).replace(tzinfo=None)
