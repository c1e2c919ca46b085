"""The requester's rating of a solved ticket (CSAT), as projected from ``ticket.rated``.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("rating", sa.SmallInteger(), nullable=True))
        batch.add_column(sa.Column("rated_at", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("rated_at")
        batch.drop_column("rating")
