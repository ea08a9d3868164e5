"""The desk's counters, advanced inside the event's write transaction.

The daily dossier counter (``code_counter``) and the slip counters (``doc_counter:…`` settings,
domain/numbering.py) are read and written on the transaction's DB-API connection
(store/rawsql.py): the write transaction holds SQLite's write lock from its ``BEGIN IMMEDIATE``,
so two processes on one desk file take turns and never see the same last value. Nothing here is
cached between transactions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from onestop.store.models import CodeCounter, Setting
from onestop.store.rawsql import Tx, connection_of, forget

# One statement: create the day's counter at 1 or add one, and say where it is now.
_NEXT_CODE_SQL = (
    "INSERT INTO code_counter (day, last) VALUES (?, 1) "
    "ON CONFLICT (day) DO UPDATE SET last = last + 1 RETURNING last"
)
_SET_SQL = (
    "INSERT INTO setting (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


def next_code_number(db: Tx, day: str) -> int:
    """The next dossier number of ``day`` (ISO date), counted in ``db``'s transaction."""
    rows = connection_of(db).execute(_NEXT_CODE_SQL, (day,)).fetchall()
    forget(db, CodeCounter, day)
    return int(rows[0][0])


def read_settings(db: Tx, keys: Sequence[str]) -> dict[str, str]:
    """The values of these setting keys that exist, with one statement."""
    marks = ",".join("?" * len(keys))
    rows = connection_of(db).execute(
        f"SELECT key, value FROM setting WHERE key IN ({marks})", tuple(keys)
    )
    return {str(k): str(v) for k, v in rows}


def write_settings(db: Tx, values: Mapping[str, str]) -> None:
    """Create or overwrite these settings in ``db``'s transaction."""
    connection_of(db).executemany(_SET_SQL, list(values.items()))
    forget(db, Setting, *values)
