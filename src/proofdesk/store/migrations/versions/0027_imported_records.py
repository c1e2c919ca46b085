"""The map from another help desk's ids to ours, for resumable, idempotent imports.

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imported_records",
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("system", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=128), nullable=False),
        sa.Column("target_id", sa.String(length=36), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("imported_as", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_imported_records_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "system", "kind", "source_id", name=op.f("pk_imported_records")
        ),
    )
    op.create_index("ix_imported_records_target_id", "imported_records", ["target_id"])


def downgrade() -> None:
    op.drop_index("ix_imported_records_target_id", table_name="imported_records")
    op.drop_table("imported_records")
