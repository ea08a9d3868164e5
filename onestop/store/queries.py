"""What the desk's lists and dashboard ask the store and get back, as plain data.

No database library is imported here: the desk's first screen is drawn from these (and the
counts query below, run through the standard library's ``sqlite3``) before SQLAlchemy has
loaded. ``repo_dossiers`` runs the same query through SQLAlchemy afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from onestop.domain.lifecycle import Status
from onestop.store.timefmt import dt_to_text

if TYPE_CHECKING:
    from onestop.domain.lifecycle import DossierState

PAGE_SIZE = 200  # STYLE pitfalls: a DataTable stays responsive up to ~200 rows per page.


@dataclass(frozen=True)
class DossierFilter:
    statuses: tuple[Status, ...] = ()
    field: str | None = None
    search: str | None = None
    # Due windows: "overdue", "today", "soon" (the next 2 working days), "none" (no fixed date).
    due: str | None = None
    received_since: datetime | None = None


@dataclass(frozen=True)
class Page:
    rows: list[DossierState]
    next_cursor: int | None  # the last row's id; pass it back to get the next page


@dataclass(frozen=True)
class Counts:
    overdue: int
    due_today: int
    due_soon: int
    awaiting_supplement: int
    ready_to_return: int
    received_today: int
    total: int


# Index-only range scans (partial index on running clocks); named parameters so both
# SQLAlchemy's text() and sqlite3 run it unchanged.
COUNTS_SQL = """
SELECT
  (SELECT count(*) FROM dossier WHERE clock_running = 1 AND due_at < :now),
  (SELECT count(*) FROM dossier WHERE clock_running = 1 AND due_at >= :now AND due_at < :tomorrow),
  (SELECT count(*) FROM dossier WHERE clock_running = 1 AND due_at >= :tomorrow AND due_at <= :soon),
  (SELECT count(*) FROM dossier WHERE status = 'supplement_requested'),
  (SELECT count(*) FROM dossier WHERE status = 'result_ready'),
  (SELECT count(*) FROM dossier WHERE received_at >= :today),
  (SELECT max(id) FROM dossier)
"""


def counts_params(now: datetime, soon_until: datetime) -> dict[str, str]:
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "now": dt_to_text(now),
        "tomorrow": dt_to_text(today + timedelta(days=1)),
        "soon": dt_to_text(soon_until),
        "today": dt_to_text(today),
    }


def counts_from_row(row: tuple[int | None, ...]) -> Counts:
    return Counts(*(int(v or 0) for v in row[:7]))
