"""The consortium: logs we witness and our refusals, our log's witnesses, their cosignatures
and alerts, the logs we monitor and the split views found.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

KEY = sa.String(length=400)
TIME = sa.String(length=32)


def upgrade() -> None:
    op.create_table(
        "witnessed_logs",
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("verifier_key", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=True),
        sa.Column("cosigned_at", TIME, nullable=True),
        sa.Column("added_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("origin", name=op.f("pk_witnessed_logs")),
    )
    op.create_table(
        "witness_refusals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("cosigned_size", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_witness_refusals")),
    )
    op.create_index("ix_witness_refusals_origin", "witness_refusals", ["origin"])
    op.create_table(
        "log_witnesses",
        sa.Column("key", KEY, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("cosigned_at", TIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("alert", sa.Text(), nullable=True),
        sa.Column("alert_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_log_witnesses")),
    )
    op.create_table(
        "checkpoint_cosignatures",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("witness", KEY, nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("size", "witness", name=op.f("pk_checkpoint_cosignatures")),
    )
    op.create_table(
        "witness_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("witness", KEY, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_witness_alerts")),
    )
    op.create_table(
        "monitored_logs",
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("verifier_key", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("checked_at", TIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("origin", name=op.f("pk_monitored_logs")),
    )
    op.create_table(
        "split_view_evidence",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("earlier_note", sa.Text(), nullable=False),
        sa.Column("later_note", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("found_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_split_view_evidence")),
    )
    op.create_index("ix_split_view_evidence_origin", "split_view_evidence", ["origin"])


def downgrade() -> None:
    op.drop_index("ix_split_view_evidence_origin", table_name="split_view_evidence")
    op.drop_table("split_view_evidence")
    op.drop_table("monitored_logs")
    op.drop_table("witness_alerts")
    op.drop_table("checkpoint_cosignatures")
    op.drop_table("log_witnesses")
    op.drop_index("ix_witness_refusals_origin", table_name="witness_refusals")
    op.drop_table("witness_refusals")
    op.drop_table("witnessed_logs")
