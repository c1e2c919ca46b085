"""Customer care in the desk: macros shared with a team or kept personal, which tickets each
agent has read (unread markers), and each user's time zone.

Revision ID: 0032
Revises: 0031
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("macros") as batch:
        batch.add_column(sa.Column("team_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("owner_id", sa.String(length=36), nullable=True))
    op.create_table(
        "ticket_reads",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("ticket_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ticket_reads_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "ticket_id", name=op.f("pk_ticket_reads")),
    )


def downgrade() -> None:
    op.drop_table("ticket_reads")
    with op.batch_alter_table("macros") as batch:
        batch.drop_column("owner_id")
        batch.drop_column("team_id")
