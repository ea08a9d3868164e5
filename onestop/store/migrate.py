"""Run the desk's Alembic migrations on the app's own engine (STYLE rule 19).

Alembic is imported lazily: importing it costs ~0.3 s, and at a normal start the database is
already at head, which we can tell from the revision files and one SELECT. SQLAlchemy is too,
so the cold-start glance (``store/glance.py``) can ask for the head revision.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

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


def head_revision(schema: str = "desk") -> str | None:
    """The head of a linear history, read from the revision files without importing Alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (migrations_dir() / schema / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        rev = _REV_RE.search(source)
        down = _DOWN_RE.search(source)
        if rev:
            revisions.add(rev.group(1))
        if down and down.group(1):
            parents.add(down.group(1))
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


def upgrade(engine: Engine, schema: str = "desk", revision: str = "head") -> None:
    """Bring the database to ``revision``; a no-op when it is already there (cheap at start-up)."""
    if revision == "head" and current_revision(engine) == head_revision(schema):
        return
    from alembic import command

    cfg = alembic_config(schema)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


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
