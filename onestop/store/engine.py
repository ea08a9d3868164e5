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

Encryption at rest: ``Store(path, key=32 random bytes)`` opens the file through SQLCipher
(``sqlcipher3`` DB-API from the ``sqlcipher3-wheels`` wheels, built for Windows, macOS and
Linux x86_64/aarch64: SQLCipher 4.12, SQLite 3.51 with FTS5).
The whole file, its WAL and every page of the FTS index are AES-256 encrypted with a per-page
HMAC, so search keeps working unchanged. The key is applied as a *raw* key
(``PRAGMA key = "x'<hex>'"``), the first statement on every connection: it is already random,
so SQLCipher's per-connection PBKDF2 (256 000 iterations) would only slow every connection
down. The memory-hard KDF is spent once per login on the password (``store/keyring.py``).
``key=None`` is plain SQLite, as before (tests, scripts, legacy desks).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from onestop.i18n import t
from onestop.store.rawsql import RawConnection

BUSY_TIMEOUT_MS = 5000
KEY_BYTES = 32

# SQLite primary result codes (extended codes keep them in their low byte).
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26
#: Below this much free space, an I/O error at open is reported as a full disk.
LOW_DISK_BYTES = 4 * 1024 * 1024

_MESSAGES = (
    ("database or disk is full", SQLITE_FULL),
    ("disk i/o error", SQLITE_IOERR),
    ("file is not a database", SQLITE_NOTADB),
    ("database is locked", SQLITE_BUSY),
    ("unable to open database", SQLITE_CANTOPEN),
    ("readonly database", SQLITE_READONLY),
)


def sqlite_code(e: BaseException) -> int | None:
    """The primary SQLite result code of ``e`` (a DB-API error of sqlite3 or SQLCipher, or
    SQLAlchemy's wrapper of one), or None when it is not a SQLite error."""
    orig = getattr(e, "orig", None)
    if isinstance(orig, BaseException) and orig is not e:
        found = sqlite_code(orig)
        if found is not None:
            return found
    code = getattr(e, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    if type(e).__name__ in ("OperationalError", "DatabaseError"):
        text = str(e).lower()
        for phrase, value in _MESSAGES:
            if phrase in text:
                return value
    return None


def _private_file(path: Path, *, posix: bool = os.name == "posix") -> None:
    """The desk file holds personal data: its folder is 0700 when we create it, the file is
    0600 (created empty, which SQLite treats as a new database), and SQLite gives the -wal and
    -shm files the database file's mode. An older 0644 file is tightened on open.

    Windows has no modes (``chmod`` only sets the read-only flag): there the file is private
    through the NTFS ACL it inherits from the user's profile folder (%LOCALAPPDATA%, where
    platformdirs puts the desk: the user, SYSTEM and Administrators only), and the data is
    SQLCipher-encrypted anyway. We set no ACL of our own: a desk under another folder the
    clerk chose keeps that folder's ACL, as every other file the clerk saves there."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    if not posix:
        return
    for suffix in ("", "-wal", "-shm"):
        name = str(path) + suffix
        try:
            info = os.lstat(name)
            # Only our own regular files: never a device such as --db /dev/null, a link's
            # target, or another account's file.
            owner = os.geteuid() if hasattr(os, "geteuid") else info.st_uid
            if stat.S_ISREG(info.st_mode) and info.st_uid == owner:
                os.chmod(name, 0o600)
        except OSError:
            pass  # not there, or not ours to change: leave it


class StoreKeyError(Exception):
    """The database file cannot be opened; nothing changed. This class itself means the key
    (or its absence) does not fit the file; the subclasses below are the other reasons, so every
    caller that catches ``StoreKeyError`` shows the right sentence."""


class StoreDiskFullError(StoreKeyError):
    """The disk is full (SQLITE_FULL, or an I/O error with almost no space left)."""


class StoreUnavailableError(StoreKeyError):
    """The file is fine for this key but cannot be used now: locked, I/O error, read-only."""


def make_sqlite_engine(
    url: str | URL,
    *,
    immediate: bool,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    key: bytes | None = None,
) -> Engine:
    """A SQLite engine with the PRAGMAs above; ``immediate`` makes every transaction a writer's.

    With ``key`` the connections are SQLCipher's, keyed before any other statement.
    """
    if key is not None and len(key) != KEY_BYTES:
        raise ValueError(f"a desk data key is {KEY_BYTES} bytes, not {len(key)}")

    def on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" hook below emits the BEGIN we want.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if key is not None:
            # SQLCipher logs a failed HMAC check to stderr, which would scribble over the TUI;
            # a wrong key is reported by StoreKeyError instead.
            cur.execute("PRAGMA cipher_log_level = NONE")
            cur.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    extra: dict[str, Any] = {}
    if key is not None:
        from sqlcipher3 import dbapi2 as sqlcipher

        extra["module"] = sqlcipher
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        **extra,
    )
    # insert=True: the key must precede every statement, the dialect's own included.
    event.listen(engine, "connect", on_connect, insert=True)
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


def make_engine(path: Path, *, immediate: bool, key: bytes | None = None) -> Engine:
    # URL.create, not an f-string: a folder named "Quầy #1" or "?" must not become a URL
    # fragment or query and put the database somewhere else.
    url = URL.create("sqlite", database=str(path))
    return make_sqlite_engine(url, immediate=immediate, key=key)


def is_plain_sqlite(path: Path) -> bool:
    """True if ``path`` starts with the plain SQLite header (an SQLCipher file is all noise)."""
    try:
        with path.open("rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def raw_connection(path: Path, key: bytes | None = None) -> Any:
    """A bare DB-API connection (autocommit) for checkpoints and checks; keyed if encrypted."""
    if key is None:
        return sqlite3.connect(str(path), timeout=5.0, isolation_level=None)
    from sqlcipher3 import dbapi2 as sqlcipher

    conn = sqlcipher.connect(str(path), timeout=5.0, isolation_level=None)
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    return conn


def fold_wal(path: Path, key: bytes | None = None) -> bool:
    """Checkpoint the WAL into the main file and truncate it; ``False`` when another program's
    connection kept part of it busy (the desk is open elsewhere)."""
    conn = raw_connection(path, key)
    try:
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    finally:
        conn.close()
    return not busy


def export_encrypted(plain: Path, target: Path, key: bytes) -> None:
    """Write an SQLCipher copy of the plain database ``plain`` to ``target`` under ``key``
    (``sqlcipher_export``: every table, index, trigger and the FTS index, page by page)."""
    from sqlcipher3 import dbapi2 as sqlcipher

    if len(key) != KEY_BYTES:
        raise ValueError(f"a desk data key is {KEY_BYTES} bytes, not {len(key)}")
    con = sqlcipher.connect(str(plain), isolation_level=None)
    try:
        # ATTACH takes the path as a bound value: no quoting of the folder name to get wrong.
        con.execute("ATTACH DATABASE ? AS enc KEY ?", (str(target), f"x'{key.hex()}'"))
        con.execute("SELECT sqlcipher_export('enc')")
        con.execute("DETACH DATABASE enc")
    finally:
        con.close()


class Store:
    """The desk database file: a write engine behind a lock, and a read engine.

    ``key`` (32 bytes) opens or creates an SQLCipher-encrypted file; ``None`` plain SQLite.
    A wrong key, or a key for a plain file / no key for an encrypted one, raises
    ``StoreKeyError`` before anything is written.
    """

    def __init__(self, path: Path, key: bytes | None = None) -> None:
        self.path = path
        self.key = key
        _private_file(path)
        self.write_engine = make_engine(path, immediate=True, key=key)
        self.read_engine = make_engine(path, immediate=False, key=key)
        self._lock = threading.Lock()
        if path.exists() and path.stat().st_size > 0:
            self._check_key()

    def _check_key(self) -> None:
        # The first connection runs "PRAGMA journal_mode=WAL", which already reads page 1: a
        # wrong key fails there, before any write.
        try:
            with self.read_engine.connect() as conn:
                conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar_one()
        except DBAPIError as e:
            self.close()
            raise _open_problem(self.path, self.key, e) from e

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

    @contextmanager
    def raw_read(self) -> Iterator[Any]:
        """A pooled DB-API connection of the read engine (autocommit: each SELECT is its own
        snapshot), for one-statement reads on hot paths. The desk's list page is ~1 ms of SQL;
        a Session, its BEGIN and SQLAlchemy's statement building cost twice that again
        (issue 19 §2). Only ``store`` modules run SQL on it."""
        conn = self.read_engine.raw_connection()
        try:
            yield conn.driver_connection
        finally:
            conn.close()

    @contextmanager
    def write_raw(self) -> Iterator[RawConnection]:
        """``write`` without the ORM session: one ``BEGIN IMMEDIATE`` … ``COMMIT`` on a pooled
        write connection, rolled back on any error. For an intake, whose statements are all on
        the DB-API connection anyway (store/rawsql.py): the session's set-up, begin and commit
        bookkeeping were ~0.2 ms of its ~2 ms (issue 19 §2)."""
        with self._lock:
            pooled = self.write_engine.raw_connection()
            try:
                con = cast(sqlite3.Connection, pooled.driver_connection)
                raw = RawConnection(con, self.write_engine.dialect.loaded_dbapi.Error)
                raw.execute("BEGIN IMMEDIATE")
                try:
                    yield raw
                    raw.execute("COMMIT")
                except BaseException:
                    if con.in_transaction:
                        con.execute("ROLLBACK")
                    raise
            finally:
                pooled.close()

    def close(self) -> None:
        self.write_engine.dispose()
        self.read_engine.dispose()


def _low_on_space(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.parent).free < LOW_DISK_BYTES
    except OSError:
        return False


def disk_full_message(path: Path) -> str:
    return t(
        "Ổ đĩa đã đầy: không mở được cơ sở dữ liệu {path} (khóa dữ liệu không sai). Hãy giải "
        "phóng dung lượng rồi thử lại. Không có gì bị thay đổi.",
        path=path,
    )


def _open_problem(path: Path, key: bytes | None, e: DBAPIError) -> StoreKeyError:
    """Wrong key (SQLCipher's HMAC check fails as "file is not a database") only when SQLite
    says so; a full disk, an I/O error or a lock is said as such."""
    code = sqlite_code(e)
    if code == SQLITE_FULL or (code == SQLITE_IOERR and _low_on_space(path)):
        return StoreDiskFullError(disk_full_message(path))
    if code == SQLITE_IOERR:
        return StoreUnavailableError(
            t(
                "Lỗi đọc ghi ổ đĩa khi mở cơ sở dữ liệu {path} (khóa dữ liệu không sai). Kiểm tra "
                "ổ đĩa và dung lượng trống rồi thử lại. Không có gì bị thay đổi.",
                path=path,
            )
        )
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return StoreUnavailableError(
            t(
                "Cơ sở dữ liệu {path} đang bị một chương trình khác khóa. Đóng chương trình đó "
                "(hoặc chờ một lát) rồi thử lại.",
                path=path,
            )
        )
    if code in (SQLITE_CANTOPEN, SQLITE_READONLY):
        return StoreUnavailableError(
            t(
                "Không mở được tệp cơ sở dữ liệu {path} để ghi (quyền truy cập, hoặc ổ đĩa chỉ "
                "đọc). Kiểm tra thư mục và quyền của tệp rồi thử lại.",
                path=path,
            )
        )
    return StoreKeyError(_key_problem(path, key))


def _key_problem(path: Path, key: bytes | None) -> str:
    if key is None:
        return t(
            "Không đọc được cơ sở dữ liệu {path}: tệp đã được mã hóa (cần đăng nhập) "
            "hoặc không phải cơ sở dữ liệu của quầy.",
            path=path,
        )
    if is_plain_sqlite(path):
        return t("Cơ sở dữ liệu {path} chưa được mã hóa nên không mở bằng khóa được.", path=path)
    return t(
        "Khóa dữ liệu không mở được cơ sở dữ liệu {path} (sai khóa, hoặc tệp không phải của "
        "quầy này). Không có gì bị thay đổi.",
        path=path,
    )
