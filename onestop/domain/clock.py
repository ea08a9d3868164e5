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

#: Date or time text a person types (a CLI option, ONESTOP_NOW) longer than this is refused
#: before it is parsed.
MAX_TYPED_TEXT: Final = 64


def parse_typed(value: str, formats: tuple[str, ...]) -> datetime | None:
    """``value`` read with the first of ``formats`` that fits, or ``None``: bounded, ASCII only
    (``strptime`` takes "２０２６" as 2026), surrounding spaces ignored."""
    text = value.strip()
    if len(text) > MAX_TYPED_TEXT or not text.isascii():
        return None
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None
