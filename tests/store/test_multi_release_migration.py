"""A desk offline across several releases migrates at start: atomically, keeping a copy (issue 18).

The old desk file is made for real, not checked in: Alembic builds an empty file at the OLDEST
revision this program still migrates (``migrate.oldest_revision()``), and every row of a demo
desk (real intake and lifecycle code: receipts, forwards, supplements, payments, decisions,
returns, evaluations) is copied into it, table by table, column by column as that revision has
them. Opening it with the current program must migrate it to head and give back every dossier
exactly as it was, and the projection must still equal the fold of the events.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import select

from onestop.paths import migrations_dir
from onestop.services.demo import build_demo
from onestop.services.desk import Desk, DeskError
from onestop.store import migrate
from onestop.store.engine import Store
from onestop.store.models import DossierRow
from onestop.store.queries import DossierFilter
from onestop.store.repo_dossiers import row_to_state
from onestop.store.repo_events import events_for
from onestop.wire.state import replay_or_none, state_json

NOW = datetime(2026, 11, 20, 10, 0)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "head.sqlite"
    build_demo(path, dossiers=120, seed=18, now=NOW, days=40)
    return path


def _dossiers(desk: Desk) -> dict[str, str]:
    with desk.store.read() as db:
        return {r.code: state_json(row_to_state(r)) for r in db.exec(select(DossierRow)).all()}


def _columns(con: sqlite3.Connection, schema: str, table: str) -> list[str]:
    return [r[1] for r in con.execute(f'PRAGMA {schema}.table_info("{table}")')]


def make_old_desk(source: Path, target: Path, revision: str) -> None:
    """A desk file at ``revision`` holding every row of ``source`` (a head-revision desk)."""
    store = Store(target)
    migrate.upgrade(store.write_engine, revision=revision)
    store.close()
    con = sqlite3.connect(target, isolation_level=None)
    try:
        con.execute("ATTACH DATABASE ? AS src", (str(source),))
        con.execute("BEGIN")
        tables = [
            r[0]
            for r in con.execute(
                "SELECT name FROM main.sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'dossier_fts%' "
                "AND name != 'alembic_version'"
            )
        ]
        for table in tables:
            cols = _columns(con, "main", table)
            assert cols == [c for c in _columns(con, "src", table) if c in cols], table
            names = ", ".join(f'"{c}"' for c in cols)
            con.execute(f'INSERT INTO main."{table}" ({names}) SELECT {names} FROM src."{table}"')
        con.execute(
            "INSERT INTO main.dossier_fts(rowid, search_key) "
            "SELECT rowid, search_key FROM src.dossier_fts"
        )
        con.execute("COMMIT")
        con.execute("DETACH DATABASE src")
    finally:
        con.close()


def test_oldest_supported_desk_migrates_to_head_with_every_dossier(demo_file: Path, tmp_path: Path):
    expected_desk = Desk.open(demo_file)
    expected = _dossiers(expected_desk)
    expected_desk.store.close()
    assert len(expected) == 120

    oldest = migrate.oldest_revision()
    assert oldest is not None and oldest != migrate.head_revision()
    old = tmp_path / "offline-desk.sqlite"
    make_old_desk(demo_file, old, oldest)
    probe = Store(old)
    assert migrate.current_revision(probe.write_engine) == oldest
    probe.close()

    desk = Desk.open(old)  # the next start of the updated program
    assert migrate.current_revision(desk.store.write_engine) == migrate.head_revision()
    assert _dossiers(desk) == expected
    with desk.store.read() as db:
        for code in expected:
            state = replay_or_none(events_for(db=db, dossier=code))
            assert state is not None and state_json(state) == expected[code], code
    assert desk.rebuild(fix=False).ok
    # Search still finds dossiers by the applicant's name (the FTS table was rebuilt).
    some = desk.get(next(iter(expected)))
    found = desk.page(DossierFilter(search=some.applicant_name.split()[-1]))
    assert any(r.code == some.code for r in found.rows)

    # The copy kept first: 0600, still at the old revision, with every dossier.
    copies = sorted(tmp_path.glob(f"offline-desk.sqlite.before-{oldest}-*.bak"))
    assert len(copies) == 1
    if os.name == "posix":
        assert stat.S_IMODE(copies[0].stat().st_mode) == 0o600
    con = sqlite3.connect(copies[0])
    try:
        assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == oldest
        assert con.execute("SELECT count(*) FROM dossier").fetchone()[0] == 120
    finally:
        con.close()
    # A normal start afterwards migrates nothing and copies nothing.
    desk.store.close()
    Desk.open(old).store.close()
    assert len(list(tmp_path.glob("offline-desk.sqlite.before-*"))) == 1


def test_a_failing_migration_changes_nothing(
    demo_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """All pending revisions run in one transaction: one failing leaves the old file intact."""
    oldest = migrate.oldest_revision()
    assert oldest is not None
    old = tmp_path / "desk.sqlite"
    make_old_desk(demo_file, old, oldest)
    scripts = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), scripts)
    head = migrate.head_revision()
    (scripts / "desk" / "versions" / "9001_broken.py").write_text(
        f'''"""A release whose migration dies half-way."""
from alembic import op
import sqlalchemy as sa

revision = "9001"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dossier", sa.Column("extra", sa.Integer(), nullable=True))
    op.execute("DELETE FROM event")
    raise RuntimeError("power cut")


def downgrade() -> None:
    pass
''',
        encoding="utf-8",
    )
    monkeypatch.setattr(migrate, "migrations_dir", lambda: scripts)
    with pytest.raises(RuntimeError, match="power cut"):
        Desk.open(old)
    con = sqlite3.connect(old)
    try:
        assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == oldest
        assert con.execute("SELECT count(*) FROM event").fetchone()[0] > 0
        assert "extra" not in [r[1] for r in con.execute("PRAGMA table_info(dossier)")]
        names = [r[1] for r in con.execute("PRAGMA index_list(dossier)")]
        assert "ix_dossier_finished" not in names  # 0002 rolled back with the rest
    finally:
        con.close()
    monkeypatch.undo()
    desk = Desk.open(old)  # the fixed release migrates the same file fine
    assert migrate.current_revision(desk.store.write_engine) == migrate.head_revision()
    desk.store.close()


def test_a_schema_from_a_newer_release_is_refused_and_left_alone(demo_file: Path, tmp_path: Path):
    path = tmp_path / "newer.sqlite"
    shutil.copyfile(demo_file, path)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("UPDATE alembic_version SET version_num = '0999'")
    con.close()
    before = path.read_bytes()
    with pytest.raises(DeskError, match="phiên bản onestop mới hơn"):
        Desk.open(path)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("newer.sqlite.before-*"))


def test_only_the_two_newest_migration_copies_are_kept(demo_file: Path, tmp_path: Path):
    """Each release's migration keeps a whole copy of the desk; older ones are removed once a
    migration succeeded, so a laptop upgraded for years does not fill up with old copies."""
    path = tmp_path / "Quầy [1].sqlite"  # brackets: names are not glob patterns
    stale = []
    for i, rev in enumerate(("0001", "0002", "0003")):
        old = tmp_path / f"{path.name}.before-{rev}-2025010{i + 1}T080000.bak"
        old.write_bytes(b"old copy")
        Path(f"{old}-wal").write_bytes(b"wal")
        os.utime(old, (1_700_000_000 + i, 1_700_000_000 + i))
        stale.append(old)
    other = tmp_path / "other.sqlite.before-0001-20250101T080000.bak"
    other.write_bytes(b"another desk's copy")
    make_old_desk(demo_file, path, migrate.oldest_revision() or "")
    Desk.open(path).store.close()
    left = sorted(p.name for p in tmp_path.iterdir() if ".before-" in p.name)
    fresh = [n for n in left if n.startswith(f"{path.name}.before-{migrate.oldest_revision()}")]
    assert len(fresh) == 1  # the copy just taken
    assert left == sorted([fresh[0], stale[2].name, f"{stale[2].name}-wal", other.name])
