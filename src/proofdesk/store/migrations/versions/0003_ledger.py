"""The ledger: leaf records, stored Merkle subtrees, wrapped per-ticket secrets, signed
checkpoints, and the erasure mark of tickets.

Events written before this revision get their leaves from ``proofdesk migrate``, which runs
:func:`proofdesk.ledger.store.catch_up` after the schema upgrade.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("erased_at", sa.String(length=32), nullable=True))
    with op.batch_alter_table("log_head") as batch:
        batch.add_column(sa.Column("frontier", sa.LargeBinary(), nullable=True))
    op.create_table(
        "ledger_leaves",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_leaves")),
    )
    op.create_table(
        "merkle_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_merkle_nodes")),
    )
    op.create_table(
        "ticket_secrets",
        sa.Column("ticket_id", sa.String(length=36), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=True),
        sa.Column("chain_head", sa.LargeBinary(length=32), nullable=True),
        sa.Column("erased_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_secrets")),
    )
    op.create_table(
        "checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_checkpoints")),
    )


def downgrade() -> None:
    with op.batch_alter_table("log_head") as batch:
        batch.drop_column("frontier")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("erased_at")
    op.drop_table("checkpoints")
    op.drop_table("ticket_secrets")
    op.drop_table("merkle_nodes")
    op.drop_table("ledger_leaves")
