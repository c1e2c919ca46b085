"""The assistant's conversation turns.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assistant_turns",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("intent", sa.String(64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("article", sa.String(120), nullable=True),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=True),
        sa.Column("ticket_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_assistant_turns_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_turns")),
    )
    op.create_index("ix_assistant_turns_conversation", "assistant_turns", ["conversation_id", "id"])
    op.create_index("ix_assistant_turns_organization_id", "assistant_turns", ["organization_id"])


def downgrade() -> None:
    op.drop_index("ix_assistant_turns_organization_id", table_name="assistant_turns")
    op.drop_index("ix_assistant_turns_conversation", table_name="assistant_turns")
    op.drop_table("assistant_turns")
