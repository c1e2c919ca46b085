"""The log entry of a contract's activation.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_contracts") as batch:
        batch.add_column(sa.Column("activated_seq", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service_contracts") as batch:
        batch.drop_column("activated_seq")
