"""Requests filed on chain: drafts waiting for their commitment, the inbox's filings, and how
far each inbox has been read.

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chain_request_drafts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("requester_id", sa.String(length=36), nullable=False),
        sa.Column("commitment", sa.String(length=66), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_request_drafts")),
        sa.UniqueConstraint(
            "organization_id", "requester_id", "commitment", name="uq_chain_request_drafts"
        ),
    )
    op.create_index("ix_chain_request_drafts_commitment", "chain_request_drafts", ["commitment"])
    op.create_table(
        "chain_filings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.String(length=32), nullable=False),
        sa.Column("sender", sa.String(length=42), nullable=False),
        sa.Column("organization_key", sa.String(length=66), nullable=False),
        sa.Column("commitment", sa.String(length=66), nullable=False),
        sa.Column("pointer", sa.Text(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("organization_id", sa.String(length=36), nullable=True),
        sa.Column("ticket_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_filings")),
        sa.UniqueConstraint("chain_id", "tx_hash", "log_index", name="uq_chain_filings_log"),
    )
    op.create_index("ix_chain_filings_status", "chain_filings", ["status"])
    op.create_index("ix_chain_filings_block", "chain_filings", ["chain_id", "block_number"])
    op.create_table(
        "chain_scans",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("next_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "contract", name=op.f("pk_chain_scans")),
    )


def downgrade() -> None:
    op.drop_table("chain_scans")
    op.drop_index("ix_chain_filings_block", table_name="chain_filings")
    op.drop_index("ix_chain_filings_status", table_name="chain_filings")
    op.drop_table("chain_filings")
    op.drop_index("ix_chain_request_drafts_commitment", table_name="chain_request_drafts")
    op.drop_table("chain_request_drafts")
