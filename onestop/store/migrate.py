"""Run the desk's Alembic migrations on the app's own engine (STYLE rule 19)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from onestop.paths import migrations_dir


def alembic_config(schema: str = "desk") -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir() / schema))
    return cfg


def head_revision(schema: str = "desk") -> str | None:
    return ScriptDirectory.from_config(alembic_config(schema)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, schema: str = "desk", revision: str = "head") -> None:
    """Bring the database to ``revision``; a no-op when it is already there (cheap at start-up)."""
    if revision == "head" and current_revision(engine) == head_revision(schema):
        return
    cfg = alembic_config(schema)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str, schema: str = "desk") -> None:
    cfg = alembic_config(schema)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def check(engine: Engine, schema: str = "desk") -> None:
    """Fail if the models changed without a migration (``alembic check``)."""
    cfg = alembic_config(schema)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)
