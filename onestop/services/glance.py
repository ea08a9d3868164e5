"""The dashboard's numbers, and the cold-start glance that shows them before the desk opens.

``glance`` reads a plain desk file through ``store/glance.py`` (standard-library sqlite3) so the
clerk sees today's counts while SQLAlchemy is still loading; ``Desk.dashboard`` computes the
same numbers with the same query and calendar once the desk is open.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from onestop.domain.calendar import WorkCalendar
from onestop.domain.deadlines import due_soon_until
from onestop.domain.desk import (
    DeskIdentity,
    hours_from_settings,
    identity_from_settings,
    override_from_row,
)
from onestop.i18n import t
from onestop.paths import has_keyring
from onestop.services import calendar_cache
from onestop.services.setting_keys import S_ACKED
from onestop.store.glance import glimpse
from onestop.store.queries import Counts


@dataclass(frozen=True)
class Dashboard:
    """Today's counts, and whether today is a working day (``day_note`` says why not)."""

    counts: Counts
    working_day: bool
    day_note: str


def dashboard_of(
    calendar: WorkCalendar, now: datetime, count: Callable[[datetime, datetime], Counts]
) -> Dashboard:
    """``count(now, soon_until)`` runs the counts query on whichever connection the caller has."""
    counts = count(now, due_soon_until(calendar, now))
    today = now.date()
    working = calendar.is_working_day(today)
    note = "" if working else (calendar.day_note(today) or t("ngày nghỉ"))
    return Dashboard(counts, working, note)


@dataclass(frozen=True)
class Glance:
    """What the desk's first screen shows, read without opening the desk."""

    identity: DeskIdentity
    dashboard: Dashboard
    language: str  # the language last chosen at this desk ("" if none)
    theme: str  # the theme last chosen at this desk ("" if none)
    outbox: int = 0  # this desk's events the province has not acknowledged (Desk.outbox_size)


def glance(path: Path, now: datetime) -> Glance | None:
    """Today's dashboard of the plain desk at ``path``, or ``None`` when only the full desk can
    tell (no file, encrypted, not set up, schema to migrate, unreadable)."""
    if not path.is_file() or has_keyring(path):
        return None
    try:
        with glimpse(path) as g:
            if g is None:
                return None
            settings = g.settings()
            if "unit_eid" not in settings:
                return None
            identity = identity_from_settings(settings)
            overrides = [override_from_row(*row) for row in g.calendar_rows()]
            calendar = WorkCalendar(overrides, hours_from_settings(settings))
            calendar_cache.warm((now.year, now.year + 1))  # "due soon" may reach into January
            board = dashboard_of(calendar, now, g.counts)
            outbox = g.last_seq(identity.desk_id) - int(settings.get(S_ACKED, "0") or 0)
    except (sqlite3.Error, KeyError, ValueError):
        return None
    return Glance(
        identity, board, settings.get("ui_language", ""), settings.get("ui_theme", ""), outbox
    )
