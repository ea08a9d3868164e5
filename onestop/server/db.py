"""Engines for the provincial server: SQLite by default, PostgreSQL in production.

SQLite (one file, one machine): WAL, ``synchronous=FULL`` (an ack promises the events are
durable: NORMAL could lose the last commits on power loss, and the desk would then never send
them again), ``BEGIN IMMEDIATE`` on the write engine so concurrent writers queue on the lock
instead of failing halfway, ``busy_timeout`` so they wait.

PostgreSQL (psycopg 3): READ COMMITTED; per-desk serialisation is a row lock
(``SELECT … FOR UPDATE`` on ``server_desk``), so workers ingesting different desks run in
parallel and two workers racing on one desk queue on its row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from platformdirs import user_data_path
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from onestop.store.engine import make_sqlite_engine
from onestop.store.migrate import alembic_config, head_revision

VERSION_TABLE = "alembic_version_server"
_BUSY_MS = 10_000
# Any constant: serialises `alembic upgrade` across workers starting at the same time.
_MIGRATION_LOCK = 0x6F6E6573


def default_database_url() -> str:
    return f"sqlite:///{user_data_path('onestop', appauthor=False) / 'server.sqlite'}"


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class ServerDB:
    """A write engine and a read engine over one database URL."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # Several worker processes share one file: wait longer for the lock than a desk.
            self.write_engine = make_sqlite_engine(
                self.url, immediate=True, busy_timeout_ms=_BUSY_MS
            )
            self.read_engine = make_sqlite_engine(
                self.url, immediate=False, busy_timeout_ms=_BUSY_MS
            )
        elif self.dialect == "postgresql":
            # No pool_pre_ping: it costs a round trip per transaction (per batch). A connection
            # broken by a PostgreSQL restart fails one request (the desk retries it) and
            # SQLAlchemy then discards the whole stale pool.
            self.write_engine = create_engine(
                self.url, pool_size=8, max_overflow=8, pool_recycle=3600
            )
            self.read_engine = self.write_engine
        else:
            raise ValueError(f"Unsupported database {self.dialect!r}: use sqlite or postgresql")

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.write_engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.read_engine.connect() as conn:
            yield conn

    def close(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


def current_revision(conn: Connection) -> str | None:
    """The server schema revision, or None on an empty database (any dialect)."""
    from sqlalchemy import inspect

    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    row = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).first()
    return None if row is None else str(row[0])


def migrate(db: ServerDB, revision: str = "head") -> None:
    """Bring the server schema to ``revision``; safe when several workers start together.

    ``onestop.store.migrate.upgrade`` reads the desk's ``alembic_version`` table to skip the
    Alembic import when already at head; the server's version table has its own name, so we
    run the same Alembic config here, under an advisory lock on PostgreSQL (on SQLite the
    write engine's BEGIN IMMEDIATE already serialises).
    """
    with db.write() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        if revision == "head" and current_revision(conn) == head_revision("server"):
            return
        from alembic import command

        cfg = alembic_config("server")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(db: ServerDB, revision: str) -> None:
    from alembic import command

    with db.write() as conn:
        cfg = alembic_config("server")
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def check(db: ServerDB) -> None:
    """``alembic check`` for the server schema: fails if models changed without a migration."""
    from alembic import command

    with db.write() as conn:
        cfg = alembic_config("server")
        cfg.attributes["connection"] = conn
        command.check(cfg)


def backend_label(db: ServerDB) -> str:
    return "PostgreSQL" if db.dialect == "postgresql" else "SQLite"


__all__ = ["ServerDB", "check", "default_database_url", "downgrade", "migrate", "normalise_url"]
