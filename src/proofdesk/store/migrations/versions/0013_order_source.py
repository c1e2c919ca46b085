"""Where an order came from: typed in by staff, or synced by the shop.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("source", sa.String(16), nullable=False, server_default="staff"))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("source")
