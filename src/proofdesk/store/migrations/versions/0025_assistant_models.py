"""The assistant's built models, stored so that a starting process loads them instead of
training, and the rebuild worker can swap them.

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assistant_models",
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("encoder", sa.String(length=64), nullable=False),
        sa.Column("stamp", sa.String(length=400), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_assistant_models_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "encoder", name=op.f("pk_assistant_models")),
    )


def downgrade() -> None:
    op.drop_table("assistant_models")
