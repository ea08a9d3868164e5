"""Datetimes as sortable ISO text in the database (local Vietnam time, second precision)."""

from __future__ import annotations

from datetime import datetime

_FMT = "%Y-%m-%d %H:%M:%S"


def dt_to_text(dt: datetime) -> str:
    return dt.strftime(_FMT)


def opt_dt_to_text(dt: datetime | None) -> str | None:
    return None if dt is None else dt.strftime(_FMT)


def opt_text_to_dt(s: str | None) -> datetime | None:
    return None if s is None else datetime.strptime(s, _FMT)
