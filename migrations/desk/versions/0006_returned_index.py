"""Index the returns: by time (the tracking book's dossiers received earlier, returned in the
period) and each dossier's return event (who recorded the return, a column of the book).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The book lists dossiers received before its period whose result was returned in it. Without
    # an index on the return time that condition read every dossier (a whole-table scan, ~0.3 s
    # at 200k dossiers on a loaded machine); with it, a range of the period's returns, the
    # receipt time checked in the index. Partial: open dossiers have no return yet.
    with op.batch_alter_table("dossier") as batch_op:
        batch_op.create_index(
            "ix_dossier_returned",
            ["returned_at", "received_at"],
            unique=False,
            sqlite_where=sa.text("returned_at IS NOT NULL"),
        )
    # "Who recorded the return" is the last return_result event of each dossier in the book:
    # through ix_event_dossier that read all of a dossier's events and sorted them (~0.1 s of a
    # 29k-row month at 1M dossiers); this index holds only return events, already in order.
    with op.batch_alter_table("event") as batch_op:
        batch_op.create_index(
            "ix_event_return",
            ["dossier", "hlc", "desk_id", "seq"],
            unique=False,
            sqlite_where=sa.text("kind = 'return_result'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("event") as batch_op:
        batch_op.drop_index("ix_event_return")
    with op.batch_alter_table("dossier") as batch_op:
        batch_op.drop_index("ix_dossier_returned")
