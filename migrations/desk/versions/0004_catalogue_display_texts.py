"""The catalogue's own Vietnamese display texts: fee basis, fee and time limit in words,
the short name the dossier list shows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("fee_basis", "fee_vi", "time_vi", "short_vi")


def upgrade() -> None:
    # Empty on the versions a desk already holds: the desk then shows the generic Vietnamese
    # labels it showed before, and the research note in fee_rule stays where it was, unshown.
    with op.batch_alter_table("procedure") as batch_op:
        for name in _COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("procedure") as batch_op:
        for name in reversed(_COLUMNS):
            batch_op.drop_column(name)
