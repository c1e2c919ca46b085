"""The e-mail channel and one timeline: each message's channel and the channel's own ids;
mailboxes, the mail taken in, the outbox, addresses that bounce, and staff members' choice of
e-mail notifications.

Revision ID: 0022
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None

ID = sa.String(length=36)
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("channel_ids", sa.Text(), nullable=True))
    # Messages written before events carried a channel came in on their ticket's.
    op.execute(
        "UPDATE messages SET channel_ids = '{}', channel = "
        "(SELECT tickets.channel FROM tickets WHERE tickets.id = messages.ticket_id)"
    )
    op.execute("UPDATE messages SET channel = 'web' WHERE channel IS NULL")
    with op.batch_alter_table("messages") as batch:
        batch.alter_column("channel", existing_type=sa.String(length=16), nullable=False)
        batch.alter_column("channel_ids", existing_type=sa.Text(), nullable=False)

    op.create_table(
        "mailboxes",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("imap_host", sa.String(length=253), nullable=True),
        sa.Column("imap_port", sa.Integer(), nullable=False),
        sa.Column("imap_security", sa.String(length=10), nullable=False),
        sa.Column("imap_user", sa.String(length=254), nullable=True),
        sa.Column("imap_password", sa.LargeBinary(), nullable=True),
        sa.Column("imap_folder", sa.String(length=200), nullable=False),
        sa.Column("reply_key", sa.LargeBinary(), nullable=False),
        sa.Column("uid_validity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("polled_at", TZ, nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_mailboxes_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailboxes")),
        sa.UniqueConstraint("address", name="uq_mailboxes_address"),
    )
    op.create_index("ix_mailboxes_organization_id", "mailboxes", ["organization_id"])

    op.create_table(
        "mail_imports",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("mailbox_id", ID, nullable=True),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=True),
        sa.Column("ticket_id", ID, nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("trust", sa.String(length=10), nullable=True),
        sa.Column("received_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_mail_imports_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_imports")),
        sa.UniqueConstraint("organization_id", "message_id", name="uq_mail_imports_org_message"),
    )
    op.create_index("ix_mail_imports_ticket_id", "mail_imports", ["ticket_id"])

    op.create_table(
        "mail_outbox",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("ticket_id", ID, nullable=True),
        sa.Column("event_seq", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("sender", sa.String(length=300), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("reply_to", sa.String(length=300), nullable=True),
        sa.Column("subject", sa.String(length=400), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("in_reply_to", sa.String(length=300), nullable=True),
        sa.Column("references", sa.Text(), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("claimed_until", TZ, nullable=True),
        sa.Column("sent_at", TZ, nullable=True),
        sa.Column("failed_at", TZ, nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_mail_outbox_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
        sa.UniqueConstraint("message_id", name="uq_mail_outbox_message_id"),
    )
    op.create_index("ix_mail_outbox_ticket_id", "mail_outbox", ["ticket_id"])
    op.create_index("ix_mail_outbox_due", "mail_outbox", ["sent_at", "next_attempt_at"])

    op.create_table(
        "mail_address_states",
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("failing", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_mail_address_states_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "address", name=op.f("pk_mail_address_states")),
    )
    op.create_table(
        "mail_notification_prefs",
        sa.Column("user_id", ID, nullable=False),
        sa.Column("assigned", sa.Boolean(), nullable=False),
        sa.Column("customer_replied", sa.Boolean(), nullable=False),
        sa.Column("sla_warning", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mail_notification_prefs_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_mail_notification_prefs")),
    )


def downgrade() -> None:
    op.drop_table("mail_notification_prefs")
    op.drop_table("mail_address_states")
    op.drop_index("ix_mail_outbox_due", table_name="mail_outbox")
    op.drop_index("ix_mail_outbox_ticket_id", table_name="mail_outbox")
    op.drop_table("mail_outbox")
    op.drop_index("ix_mail_imports_ticket_id", table_name="mail_imports")
    op.drop_table("mail_imports")
    op.drop_index("ix_mailboxes_organization_id", table_name="mailboxes")
    op.drop_table("mailboxes")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("channel_ids")
        batch.drop_column("channel")
