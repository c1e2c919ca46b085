"""Stored sentence embeddings of the assistant's texts.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assistant_vectors",
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_assistant_vectors_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "model", "digest", name=op.f("pk_assistant_vectors")
        ),
    )


def downgrade() -> None:
    op.drop_table("assistant_vectors")
