"""province figures from a narrow table: server_figure, one row per dossier (issue 19 §1)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

The cold dashboard request for a year read half a million ``server_dossier`` rows, a
kilobyte each (the state JSON), and joined every evaluation of the period to them: 5 s at
a million dossiers. ``server_figure`` holds only what classifies a dossier, times as
integers; ``server_evaluation`` gets its dossier's commune, field and reception. Filled here
from the figure columns migration 0006 added (two statements, no event decoded); ingest keeps
both from then on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_TIMES = ("sup_from", "sup_to", "due0", "due1_at", "due1", "due2_at", "due2")


def upgrade() -> None:
    op.create_table(
        "server_figure",
        sa.Column("code", _TEXT(), nullable=False),
        sa.Column("commune", _TEXT(), nullable=False),
        sa.Column("field", _TEXT(), nullable=False),
        sa.Column("online", sa.Integer(), nullable=False),
        sa.Column("simple", sa.Integer(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("fin_key", sa.BigInteger(), nullable=False),
        sa.Column("fin_b", sa.Integer(), nullable=True),
        *(sa.Column(name, sa.BigInteger(), nullable=True) for name in _TIMES),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_server_figure")),
    )
    with op.batch_alter_table("server_evaluation") as b:
        b.add_column(sa.Column("commune", _TEXT(), nullable=True))
        b.add_column(sa.Column("field", _TEXT(), nullable=True))
        b.add_column(sa.Column("received", sa.BigInteger(), nullable=True))
    from onestop.server.ingest import backfill_figure_rows

    backfill_figure_rows(op.get_bind())
    if op.get_bind().dialect.name == "postgresql":
        # Planner statistics now, not at autovacuum's next pass: the first dashboard request
        # after an upgrade would otherwise be planned blind.
        op.execute("ANALYZE server_figure")
        op.execute("ANALYZE server_evaluation")
    # Indexes after the rows: one sort each instead of a million inserts into them.
    op.create_index(
        "ix_server_figure_fin_key", "server_figure", ["fin_key", "received"], unique=False
    )
    op.create_index(
        "ix_server_figure_received", "server_figure", ["received", "fin_key"], unique=False
    )
    op.create_index(
        "ix_server_figure_commune", "server_figure", ["commune", "fin_key"], unique=False
    )
    op.create_index("ix_server_evaluation_dossier", "server_evaluation", ["dossier"], unique=False)
    op.create_index(
        "ix_server_dossier_not_simple",
        "server_dossier",
        ["received_at"],
        unique=False,
        sqlite_where=sa.text("ms_simple = 0"),
        postgresql_where=sa.text("ms_simple = 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_server_evaluation_dossier", table_name="server_evaluation")
    with op.batch_alter_table("server_evaluation") as b:
        for name in ("received", "field", "commune"):
            b.drop_column(name)
    op.drop_index("ix_server_dossier_not_simple", table_name="server_dossier")
    op.drop_index("ix_server_figure_commune", table_name="server_figure")
    op.drop_index("ix_server_figure_received", table_name="server_figure")
    op.drop_index("ix_server_figure_fin_key", table_name="server_figure")
    op.drop_table("server_figure")
