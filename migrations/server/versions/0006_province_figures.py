"""province figures in the database: dossier columns, milestones, evaluations, desk outbox
(issue 19 §1)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

The new columns are filled for the dossiers already stored by folding each dossier's events
again (``server.ingest.backfill_figures``): a one-off pass, as long as a replay of every
dossier, after which ingest keeps them in the same transaction as the events.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_NULLABLE_TEXT = (
    "finished_at",
    "resolved_at",
    "returned_at",
    "last_event_at",
    "fin_at",
    "sup_from",
    "sup_to",
    "due0",
    "due1_at",
    "due1",
    "due2_at",
    "due2",
)


def upgrade() -> None:
    with op.batch_alter_table("server_desk") as b:
        b.add_column(sa.Column("outbox", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("server_dossier") as b:
        b.add_column(sa.Column("field", _TEXT(), nullable=False, server_default=""))
        b.add_column(sa.Column("channel", _TEXT(), nullable=False, server_default=""))
        for name in _NULLABLE_TEXT[:4]:
            b.add_column(sa.Column(name, _TEXT(), nullable=True))
        b.add_column(sa.Column("extension_count", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(
            sa.Column("finished_key", _TEXT(), nullable=False, server_default="9999-12-31 23:59:59")
        )
        b.add_column(sa.Column("ms_simple", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("fin_at", _TEXT(), nullable=True))
        b.add_column(sa.Column("fin_b", sa.Integer(), nullable=True))
        for name in _NULLABLE_TEXT[5:]:
            b.add_column(sa.Column(name, _TEXT(), nullable=True))
        b.create_index("ix_server_dossier_received", ["received_at"], unique=False)
        b.create_index(
            "ix_server_dossier_finished_key", ["finished_key", "received_at"], unique=False
        )
    op.create_table(
        "server_evaluation",
        sa.Column("desk_id", _TEXT(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("dossier", _TEXT(), nullable=False),
        sa.Column("at", _TEXT(), nullable=False),
        sa.Column("satisfaction", sa.Integer(), nullable=False),
        *(sa.Column(f"s{i}", sa.Integer(), nullable=False) for i in range(1, 10)),
        sa.PrimaryKeyConstraint("desk_id", "seq", name=op.f("pk_server_evaluation")),
    )
    op.create_index("ix_server_evaluation_at", "server_evaluation", ["at"], unique=False)

    from onestop.server.ingest import backfill_figures

    backfill_figures(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_server_evaluation_at", table_name="server_evaluation")
    op.drop_table("server_evaluation")
    with op.batch_alter_table("server_dossier") as b:
        b.drop_index("ix_server_dossier_finished_key")
        b.drop_index("ix_server_dossier_received")
        for name in (
            "field",
            "channel",
            *_NULLABLE_TEXT[:4],
            "extension_count",
            "finished_key",
            "ms_simple",
            "fin_at",
            "fin_b",
            *_NULLABLE_TEXT[5:],
        ):
            b.drop_column(name)
    with op.batch_alter_table("server_desk") as b:
        b.drop_column("outbox")
