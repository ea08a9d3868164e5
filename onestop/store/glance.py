"""A quick read-only look into a plain (unencrypted) desk file with the standard library's
``sqlite3``: the settings, the calendar overrides and the dashboard counts.

This is what lets the desk draw its dashboard in a fraction of a second: SQLAlchemy, SQLModel
and pydantic take ~0.4 s to import on a field laptop, so the first screen is read here while
the full desk opens in the background. It only ever reads, and it declines (returns ``None``)
whenever the full desk would have to do something first — an encrypted file, a schema that
needs migrating, anything unexpected — so the caller falls back to opening the desk normally.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path

from onestop.store.migrate import head_revision
from onestop.store.queries import COUNTS_SQL, Counts, counts_from_row, counts_params


class Glimpse:
    """An open read-only connection on a desk whose schema is current."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def settings(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self._conn.execute("SELECT key, value FROM setting")}

    def calendar_rows(self) -> list[tuple[str, str, str]]:
        rows = self._conn.execute("SELECT day, kind, note FROM calendar_day")
        return [(str(day), str(kind), str(note)) for day, kind, note in rows]

    def last_seq(self, desk_id: str) -> int:
        row = self._conn.execute(
            "SELECT last_seq FROM desk_state WHERE desk_id = ?", (desk_id,)
        ).fetchone()
        return int(row[0]) if row else 0

    def counts(self, now: datetime, soon_until: datetime) -> Counts:
        row = self._conn.execute(COUNTS_SQL, counts_params(now, soon_until)).fetchone()
        return counts_from_row(tuple(row))


@contextmanager
def glimpse(path: Path) -> Iterator[Glimpse | None]:
    """Read-only access to a current, plain desk file; ``None`` when the full desk is needed.

    Errors raised by the caller's reads inside the block propagate (``sqlite3.Error``).
    """
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2)
    except (sqlite3.Error, OSError, ValueError):
        yield None
        return
    with closing(conn):
        try:
            # An encrypted (SQLCipher) file fails here with "file is not a database".
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            row = None
        if row is None or row[0] != head_revision():
            yield None
            return
        yield Glimpse(conn)
