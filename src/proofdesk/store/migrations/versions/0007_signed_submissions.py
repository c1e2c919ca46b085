"""Signed submissions: who signed a message, and the nonces already used.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("signed_by", sa.String(length=42), nullable=True))
    op.create_table(
        "signed_nonces",
        sa.Column("signer", sa.String(length=42), nullable=False),
        sa.Column("nonce", sa.String(length=78), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("signer", "nonce", name=op.f("pk_signed_nonces")),
    )


def downgrade() -> None:
    op.drop_table("signed_nonces")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("signed_by")
