"""The desk schema is owned by Alembic: upgrade from empty, models match, downgrade works."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from onestop.store import migrate
from onestop.store.engine import Store


def test_upgrade_check_downgrade(tmp_path: Path):
    store = Store(tmp_path / "m.sqlite")
    migrate.upgrade(store.write_engine)
    assert migrate.current_revision(store.write_engine) == migrate.head_revision()
    # `alembic check`: raises if a model changed without a migration.
    migrate.check(store.write_engine)
    tables = set(inspect(store.write_engine).get_table_names())
    assert {"event", "dossier", "dossier_fts", "desk_state", "procedure", "calendar_day"} <= tables
    migrate.downgrade(store.write_engine, "base")
    assert "dossier" not in set(inspect(store.write_engine).get_table_names())
    migrate.upgrade(store.write_engine)
    assert migrate.current_revision(store.write_engine) == migrate.head_revision()
    store.close()


def test_pragmas_are_durable(tmp_path: Path):
    store = Store(tmp_path / "p.sqlite")
    with store.write_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    store.close()


def test_head_from_files_matches_alembic():
    from alembic.script import ScriptDirectory

    assert (
        migrate.head_revision()
        == ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    )
