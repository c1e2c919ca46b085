"""Orders as fact sources, organization settings for payouts and webhooks, the payout outbox,
and the automation cursor.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(16), nullable=False, server_default="purchase")
        )
        batch.add_column(sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("chain_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("tx_hash", sa.String(66), nullable=True))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("wallets") as batch:
        batch.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("merchant_address", sa.String(42), nullable=True))
        batch.add_column(sa.Column("webhook_secret", sa.LargeBinary(), nullable=True))
    op.create_table(
        "payouts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("decision_seq", sa.BigInteger(), nullable=False),
        sa.Column("claim_id", sa.String(66), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("recipient", sa.String(42), nullable=True),
        sa.Column("amount", sa.String(80), nullable=False),
        sa.Column("amount_units", sa.String(80), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("hold_reason", sa.Text(), nullable=True),
        sa.Column("approved_by", sa.String(36), nullable=True),
        sa.Column("chain_id", sa.BigInteger(), nullable=True),
        sa.Column("contract", sa.String(42), nullable=True),
        sa.Column("merchant", sa.String(42), nullable=True),
        sa.Column("tx_hash", sa.String(66), nullable=True),
        sa.Column("raw_tx", sa.LargeBinary(), nullable=True),
        sa.Column("sender", sa.String(42), nullable=True),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("block_hash", sa.String(66), nullable=True),
        sa.Column("block_time", sa.String(32), nullable=True),
        sa.Column("gas_used", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("recorded", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_payouts_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.UniqueConstraint("claim_id", name="uq_payouts_claim_id"),
    )
    op.create_index("ix_payouts_status", "payouts", ["status"])
    op.create_index("ix_payouts_ticket", "payouts", ["ticket_id"])
    op.create_index("ix_payouts_customer", "payouts", ["customer_id", "created_at"])
    op.create_table(
        "cursors",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cursors")),
    )


def downgrade() -> None:
    op.drop_table("cursors")
    op.drop_index("ix_payouts_customer", table_name="payouts")
    op.drop_index("ix_payouts_ticket", table_name="payouts")
    op.drop_index("ix_payouts_status", table_name="payouts")
    op.drop_table("payouts")
    with op.batch_alter_table("wallets") as batch:
        batch.drop_column("verified_at")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("webhook_secret")
        batch.drop_column("merchant_address")
    with op.batch_alter_table("orders") as batch:
        for name in ("updated_at", "tx_hash", "chain_id", "delivered_at", "paid_at", "kind"):
            batch.drop_column(name)
