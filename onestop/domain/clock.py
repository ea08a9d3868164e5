"""Vietnam's time: one time zone (UTC+7, no daylight saving) and the desk's notion of "now".

Laptops in the field are often set to UTC; every legal deadline is in Vietnamese wall-clock
time, so nothing reads the machine's local zone.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Final

VN_TZ: Final = timezone(timedelta(hours=7), "ICT")


def vn_now() -> datetime:
    """Wall-clock time in Vietnam as a naive datetime, whatever the machine's time zone."""
    return datetime.now(VN_TZ).replace(tzinfo=None)


#: Every date and time typed on the command line (or in ONESTOP_NOW) lies in this range, both
#: ends included (so no deadline is ever computed towards year 9999).
FIRST_DAY: Final = date(2000, 1, 1)
LAST_DAY: Final = date(2099, 12, 31)

#: ``ONESTOP_NOW`` freezes the desk clock (demos, end-to-end tests): "YYYY-MM-DD HH:MM".
FROZEN_NOW_FORMAT: Final = "%Y-%m-%d %H:%M"
