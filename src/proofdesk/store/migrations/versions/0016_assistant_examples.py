"""Labelled examples the assistant learns from.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assistant_examples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("text", sa.String(1000), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_assistant_examples_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_examples")),
        sa.UniqueConstraint("organization_id", "text", name="uq_assistant_examples_text"),
    )
    op.create_index(
        "ix_assistant_examples_organization_id", "assistant_examples", ["organization_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_assistant_examples_organization_id", table_name="assistant_examples")
    op.drop_table("assistant_examples")
