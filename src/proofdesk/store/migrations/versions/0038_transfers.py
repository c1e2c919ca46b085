"""Cross-organization transfers: agreements, transfers and their signed updates.

Revision ID: 0038
Revises: 0035
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transfer_agreements",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("peer_url", sa.String(length=2000), nullable=False),
        sa.Column("peer_organization", sa.String(length=100), nullable=False),
        sa.Column("peer_key", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("ended_at", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_transfer_agreements_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_agreements")),
        sa.UniqueConstraint("organization_id", "peer_organization", name="uq_transfer_agreements"),
    )
    op.create_index(
        "ix_transfer_agreements_organization_id", "transfer_agreements", ["organization_id"]
    )
    op.create_table(
        "transfers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("agreement_id", sa.String(length=36), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ticket_id", sa.String(length=36), nullable=False),
        sa.Column("peer_ticket_id", sa.String(length=36), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("bundle_hash", sa.String(length=64), nullable=True),
        sa.Column("acknowledgement", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
        sa.UniqueConstraint("organization_id", "transfer_id", "direction", name="uq_transfers"),
    )
    op.create_index("ix_transfers_ticket_id", "transfers", ["ticket_id"])
    op.create_table(
        "transfer_updates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("update_id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.String(length=32), nullable=False),
        sa.Column("delivered_at", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_updates")),
        sa.UniqueConstraint(
            "organization_id", "update_id", "direction", name="uq_transfer_updates"
        ),
    )
    op.create_index(
        "ix_transfer_updates_due",
        "transfer_updates",
        ["direction", "delivered_at", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_transfer_updates_due", table_name="transfer_updates")
    op.drop_table("transfer_updates")
    op.drop_index("ix_transfers_ticket_id", table_name="transfers")
    op.drop_table("transfers")
    op.drop_index("ix_transfer_agreements_organization_id", table_name="transfer_agreements")
    op.drop_table("transfer_agreements")
