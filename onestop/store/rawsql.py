"""The write transaction's own DB-API connection, for the few statements every event runs.

An intake is a handful of key lookups and inserts. Through the ORM each one is a unit-of-work
pass, a statement cache key and a result object (~1 ms apiece here); on the DB-API connection it
is one ``execute`` of a statement SQLite has already prepared (``sqlite3`` keeps the last 128
per connection). Issue 19 §2: intake CPU was ~19x the bare SQL it runs.

The statements run inside the session's transaction (the same connection, after its
``BEGIN IMMEDIATE``): a failure anywhere still rolls back everything. Two rules keep the
session's identity map honest around them: pending ORM changes are flushed first (so a caller
that mixes ORM objects and an append sees its own writes in order), and an ORM object of a row
written here is expired (the next access reads the new values). A driver error is raised as
SQLAlchemy's wrapper of it, as through the session: callers that catch ``DBAPIError`` (a full
disk while syncing, services/sync/client.py) still catch it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

_HELD = "onestop.rawsql.connection"


class RawConnection:
    """``execute``/``executemany`` on the transaction's DB-API connection (sqlite3's or
    SQLCipher's, the same API), driver errors wrapped as SQLAlchemy wraps them."""

    __slots__ = ("_con", "_error")

    def __init__(self, con: sqlite3.Connection, error: type[Exception]) -> None:
        self._con = con
        self._error = error

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Cursor:
        try:
            return self._con.execute(sql, params)
        except self._error as e:
            raise DBAPIError.instance(sql, params, e, self._error) from e

    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        rows = list(params)
        try:
            self._con.executemany(sql, rows)
        except self._error as e:
            raise DBAPIError.instance(sql, rows, e, self._error, ismulti=True) from e


#: Where an event is written: a write transaction's ORM session (``Store.write``), or a raw
#: one (``Store.write_raw``, the intake's).
Tx = Session | RawConnection


def connection_of(db: Tx) -> RawConnection:
    """The DB-API connection of ``db``'s transaction (begun now if it was not), ORM changes
    flushed first."""
    if isinstance(db, RawConnection):
        return db
    if db.new or db.deleted or db.dirty:
        db.flush()
    # Remembered for the transaction it belongs to (an intake asks ~9 times; the session's
    # own lookup is ~40 us each): a new transaction, after a commit or rollback, looks it up.
    tx = db.get_transaction()
    held = db.info.get(_HELD)
    if held is not None and tx is not None and held[0] is tx:
        return held[1]  # type: ignore[no-any-return]
    conn = db.connection()
    driver = cast(sqlite3.Connection, conn.connection.driver_connection)
    raw = RawConnection(driver, conn.dialect.loaded_dbapi.Error)
    db.info[_HELD] = (db.get_transaction(), raw)
    return raw


def forget(db: Tx, model: type[Any], *keys: object) -> None:
    """Expire the session's ORM objects of ``model`` with these primary keys, if it holds any:
    their rows were just written around the ORM."""
    if isinstance(db, RawConnection) or not len(db.identity_map):
        return
    for key in keys:
        obj = db.identity_map.get(db.identity_key(model, key))
        if obj is not None:
            db.expire(obj)
