"""Run the desk's Alembic migrations on the app's own engine (STYLE rule 19).

Alembic is imported lazily: importing it costs ~0.3 s, and at a normal start the database is
already at head, which we can tell from the revision files and one SELECT. SQLAlchemy is too,
so the cold-start glance (``store/glance.py``) can ask for the head revision.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from onestop.i18n import t
from onestop.paths import migrations_dir

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Engine

_REV_RE = re.compile(r"^revision: str = ['\"]([^'\"]+)['\"]", re.M)
_DOWN_RE = re.compile(r"^down_revision: [^=]+= (?:['\"]([^'\"]+)['\"]|None)", re.M)


def alembic_config(schema: str = "desk") -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir() / schema))
    return cfg


class SchemaError(Exception):
    """The file's schema is not one this program can migrate; ``str(e)`` says what to do."""


def _history(schema: str) -> tuple[set[str], set[str], set[str]]:
    """(revisions, parents, roots) read from the revision files without importing Alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    roots: set[str] = set()
    for path in (migrations_dir() / schema / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        rev = _REV_RE.search(source)
        down = _DOWN_RE.search(source)
        if rev:
            revisions.add(rev.group(1))
            if not (down and down.group(1)):
                roots.add(rev.group(1))
        if down and down.group(1):
            parents.add(down.group(1))
    return revisions, parents, roots


def oldest_revision(schema: str = "desk") -> str | None:
    """The oldest schema a desk file may have and still be migrated: the root revision.

    Every revision since the first release is kept, so a desk offline across any number of
    releases migrates (tests/store/test_multi_release_migration.py starts a file there).
    """
    _revisions, _parents, roots = _history(schema)
    return min(roots) if roots else None


def head_revision(schema: str = "desk") -> str | None:
    """The head of a linear history, read from the revision files without importing Alembic."""
    revisions, parents, _roots = _history(schema)
    heads = revisions - parents
    if len(heads) > 1:
        raise RuntimeError(f"migrations/{schema} has several heads: {sorted(heads)}")
    return next(iter(heads), None)


def current_revision(engine: Engine) -> str | None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    with engine.connect() as conn:
        try:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        except OperationalError:
            return None
    return None if row is None else str(row[0])


def upgrade(
    engine: Engine, schema: str = "desk", revision: str = "head", *, keep_copy: bool = True
) -> Path | None:
    """Bring the database to ``revision``; a no-op when it is already there (cheap at start-up).

    A desk offline across several releases runs every migration since its own at its next
    start, in ONE transaction (SQLite's DDL is transactional, and the write engine's BEGIN
    IMMEDIATE holds them all): a failure or a power cut leaves the file at its old revision.
    Before touching a file that holds data, a copy is kept beside it (``keep_copy``; 0600,
    ``<file>.before-<rev>-<time>.bak``), which is returned: the way back if the new release
    misbehaves. A schema this program does not know (written by a newer onestop) raises
    ``SchemaError`` and changes nothing.
    """
    current = current_revision(engine)
    if revision == "head" and current == head_revision(schema):
        return None
    revisions, _parents, _roots = _history(schema)
    if current is not None and current not in revisions:
        raise SchemaError(
            t(
                "Cơ sở dữ liệu có cấu trúc phiên bản {rev}, không thuộc phiên bản onestop này "
                "(có thể do một phiên bản onestop mới hơn tạo ra). Hãy cập nhật onestop lên "
                "phiên bản mới nhất; tệp dữ liệu được giữ nguyên.",
                rev=current,
            )
        )
    copy = _keep_copy(engine, current) if keep_copy and current is not None else None
    from alembic import command

    cfg = alembic_config(schema)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    if copy is not None:
        prune_copies(copy.parent, copy.name.partition(".before-")[0])
    return copy


#: Migration copies kept beside a desk file: the one just taken (the way back from this
#: release) and the one before it (the way back from the previous release). Each is a whole
#: copy of the desk: on a commune laptop upgraded a few times a year, keeping all of them
#: would fill the disk with old personal data.
KEEP_COPIES = 2


def prune_copies(folder: Path, db_name: str, keep: int = KEEP_COPIES) -> list[Path]:
    """Remove all but the newest ``keep`` migration copies of ``db_name`` in ``folder`` (only
    after a migration succeeded: until then the newest copy is the only way back). Names are
    compared as strings, never as glob patterns (a folder «Quầy [1]» is legal)."""
    prefix, copies = f"{db_name}.before-", []
    for entry in folder.iterdir():
        if entry.name.startswith(prefix) and entry.name.endswith(".bak"):
            copies.append(entry)
    copies.sort(key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True)
    removed = []
    for old in copies[keep:]:
        for part in (old, Path(f"{old}-wal")):
            try:
                part.unlink(missing_ok=True)
            except OSError:  # a copy someone opened on Windows: it goes next time
                continue
        removed.append(old)
    return removed


def _keep_copy(engine: Engine, current: str) -> Path | None:
    """Copy the database file (and its WAL, if the checkpoint left any) before migrating.

    The copy is taken holding the write lock (BEGIN IMMEDIATE on a raw connection), so no
    commit can land between the main file and its WAL; both get mode 0600 (personal data).
    An SQLCipher file's copy is the same encrypted bytes. ``None`` for an in-memory database.
    """
    name = engine.url.database
    if not name or name == ":memory:":
        return None
    path = Path(name)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.before-{current}-{stamp}.bak")
    n = 1
    while target.exists():  # a second attempt within the same second (a failed migration)
        n += 1
        target = path.with_name(f"{path.name}.before-{current}-{stamp}-{n}.bak")
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cur.execute("BEGIN IMMEDIATE")
        try:
            for suffix in ("", "-wal"):
                src = Path(f"{path}{suffix}")
                if src.exists() and (suffix == "" or src.stat().st_size > 0):
                    _copy_private(src, Path(f"{target}{suffix}"))
        finally:
            cur.execute("ROLLBACK")
        cur.close()
    finally:
        raw.close()
    return target


def _copy_private(src: Path, dst: Path) -> None:
    fd = os.open(dst, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(fd, "wb") as out, src.open("rb") as inp:
        shutil.copyfileobj(inp, out, 1024 * 1024)
        out.flush()
        os.fsync(out.fileno())


def downgrade(engine: Engine, revision: str, schema: str = "desk") -> None:
    from alembic import command

    cfg = alembic_config(schema)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def check(engine: Engine, schema: str = "desk") -> None:
    """Fail if the models changed without a migration (``alembic check``)."""
    from alembic import command

    cfg = alembic_config(schema)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)
