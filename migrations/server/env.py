"""Alembic environment for the provincial server schema (versioned apart from the desk's).

Its own metadata (``onestop.server.models.metadata``, not ``SQLModel.metadata``) and its own
version table, ``alembic_version_server``. Only ``server_*`` tables are compared, so
``alembic check`` stays clean even on a database that also holds other tables. No
``fileConfig()``; the connection is handed in by ``onestop.server.db.migrate``.
"""

from alembic import context
from sqlalchemy import Connection

from onestop.server.db import VERSION_TABLE
from onestop.server.models import metadata

connection: Connection | None = context.config.attributes.get("connection")


def _run(conn: Connection) -> None:
    context.configure(
        connection=conn,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,
        compare_type=True,
        include_name=lambda name, type_, _parent: (
            type_ != "table" or str(name).startswith("server_")
        ),
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is None:
    raise RuntimeError(
        "onestop server migrations run through onestop.server.db.migrate, not the alembic CLI"
    )
_run(connection)
