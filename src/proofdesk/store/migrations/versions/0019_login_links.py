"""Sign-in links e-mailed to customers (the SHA-256 of each token; used at most once).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_login_links_user_id_users")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_login_links")),
    )
    op.create_index("ix_login_links_user_id", "login_links", ["user_id"])
    op.create_index("ix_login_links_expires_at", "login_links", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_login_links_expires_at", table_name="login_links")
    op.drop_index("ix_login_links_user_id", table_name="login_links")
    op.drop_table("login_links")
