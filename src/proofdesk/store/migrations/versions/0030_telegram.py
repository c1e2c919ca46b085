"""The Telegram channel: an organization's bot, its chats, the updates taken in and the outbox
of Bot API calls.

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

ID = sa.String(length=36)
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "telegram_bots",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        sa.Column("webhook_secret", sa.LargeBinary(), nullable=False),
        sa.Column("link_key", sa.LargeBinary(), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("update_offset", sa.BigInteger(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("polled_at", TZ, nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_telegram_bots_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_bots")),
        sa.UniqueConstraint("organization_id", name="uq_telegram_bots_organization_id"),
    )
    op.create_table(
        "telegram_chats",
        sa.Column("id", ID, nullable=False),
        sa.Column("bot_id", ID, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("bound_at", TZ, nullable=True),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("ticket_id", ID, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["bot_id"], ["telegram_bots.id"], name=op.f("fk_telegram_chats_bot_id_telegram_bots")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["users.id"], name=op.f("fk_telegram_chats_customer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_chats")),
        sa.UniqueConstraint("bot_id", "chat_id", name="uq_telegram_chats_bot_chat"),
    )
    op.create_index("ix_telegram_chats_customer_id", "telegram_chats", ["customer_id"])
    op.create_table(
        "telegram_updates",
        sa.Column("bot_id", ID, nullable=False),
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("ticket_id", ID, nullable=True),
        sa.Column("received_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["bot_id"], ["telegram_bots.id"], name=op.f("fk_telegram_updates_bot_id_telegram_bots")
        ),
        sa.PrimaryKeyConstraint("bot_id", "update_id", name=op.f("pk_telegram_updates")),
    )
    op.create_table(
        "telegram_outbox",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("bot_id", ID, nullable=False),
        sa.Column("ticket_id", ID, nullable=True),
        sa.Column("event_seq", sa.BigInteger(), nullable=True),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("claimed_until", TZ, nullable=True),
        sa.Column("sent_at", TZ, nullable=True),
        sa.Column("failed_at", TZ, nullable=True),
        sa.Column("sent_message_id", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_telegram_outbox_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["bot_id"], ["telegram_bots.id"], name=op.f("fk_telegram_outbox_bot_id_telegram_bots")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_outbox")),
    )
    op.create_index("ix_telegram_outbox_ticket_id", "telegram_outbox", ["ticket_id"])
    op.create_index("ix_telegram_outbox_due", "telegram_outbox", ["sent_at", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_telegram_outbox_due", table_name="telegram_outbox")
    op.drop_index("ix_telegram_outbox_ticket_id", table_name="telegram_outbox")
    op.drop_table("telegram_outbox")
    op.drop_table("telegram_updates")
    op.drop_index("ix_telegram_chats_customer_id", table_name="telegram_chats")
    op.drop_table("telegram_chats")
    op.drop_table("telegram_bots")
