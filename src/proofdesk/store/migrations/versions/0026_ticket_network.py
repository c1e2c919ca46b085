"""The network a ticket's wallet and transaction are on (``domain.networks`` key),
and room in ``tx_hash`` for a Solana signature.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("network", sa.String(32), nullable=True))
        # A Solana signature is up to 88 base58 characters.
        batch.alter_column("tx_hash", type_=sa.String(96), existing_type=sa.String(80))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.alter_column("tx_hash", type_=sa.String(80), existing_type=sa.String(96))
        batch.drop_column("network")
