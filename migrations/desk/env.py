"""Alembic environment for the desk schema.

No ``fileConfig()``: logging to the terminal would corrupt the TUI. The connection is handed
in by ``onestop.store.migrate`` (``config.attributes["connection"]``) so start-up migrates on
the app's own engine.
"""

from alembic import context
from sqlalchemy import Connection

from onestop.store.models import metadata

connection: Connection | None = context.config.attributes.get("connection")


def _run(conn: Connection) -> None:
    context.configure(
        connection=conn,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
        include_name=lambda name, type_, _parent: (
            not (type_ == "table" and str(name).startswith("dossier_fts"))
        ),
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is None:
    raise RuntimeError(
        "onestop desk migrations run through onestop.store.migrate, not the alembic CLI"
    )
_run(connection)
