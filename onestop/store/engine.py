"""SQLite engines for the desk: one writer, many readers.

PRAGMAs on every connection:

* ``journal_mode=WAL`` — readers never block the writer, and a crash leaves a consistent file.
* ``synchronous=FULL`` — in WAL mode NORMAL may lose the last commits on *power loss* (not on
  a process crash). A field laptop's battery dies; a dossier the clerk saw confirmed must
  survive that, so every commit waits for fsync of the WAL. Measured cost: see the README
  benchmark table (intake p95 still well under the 20 ms target).
* ``foreign_keys=ON``, ``busy_timeout=5000`` — several processes (textual-serve tabs, the CLI)
  may open the same file; they wait for the lock instead of failing.

Writes go through ``Store.write()``: a process-wide lock plus ``BEGIN IMMEDIATE``, so the
single writer takes the database lock at the start of the transaction and never fails halfway
with SQLITE_BUSY on upgrade from a read lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlmodel import Session

BUSY_TIMEOUT_MS = 5000


def make_sqlite_engine(
    url: str, *, immediate: bool, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> Engine:
    """A SQLite engine with the PRAGMAs above; ``immediate`` makes every transaction a writer's."""

    def on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" hook below emits the BEGIN we want.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
    )
    event.listen(engine, "connect", on_connect)
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


def make_engine(path: Path, *, immediate: bool) -> Engine:
    return make_sqlite_engine(f"sqlite:///{path}", immediate=immediate)


class Store:
    """The desk database file: a write engine behind a lock, and a read engine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.write_engine = make_engine(path, immediate=True)
        self.read_engine = make_engine(path, immediate=False)
        self._lock = threading.Lock()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction on the single writer. Commits on success, rolls back on any error."""
        with self._lock, Session(self.write_engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.read_engine) as session:
            yield session

    def close(self) -> None:
        self.write_engine.dispose()
        self.read_engine.dispose()
