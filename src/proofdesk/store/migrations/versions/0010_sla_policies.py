"""SLA policies and the per-ticket SLA projection.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kinds", sa.Text(), nullable=True),
        sa.Column("priorities", sa.Text(), nullable=True),
        sa.Column("tiers", sa.Text(), nullable=True),
        sa.Column("first_response_minutes", sa.Integer(), nullable=True),
        sa.Column("next_response_minutes", sa.Integer(), nullable=True),
        sa.Column("periodic_update_minutes", sa.Integer(), nullable=True),
        sa.Column("resolution_minutes", sa.Integer(), nullable=True),
        sa.Column("warn_before_minutes", sa.Integer(), nullable=False),
        sa.Column("escalate_to", sa.String(16), nullable=True),
        sa.Column("calendar", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_sla_policies_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("organization_id", "name", name="uq_sla_policies_name"),
    )
    op.create_index("ix_sla_policies_organization_id", "sla_policies", ["organization_id"])
    op.create_table(
        "ticket_sla",
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.String(32), nullable=False),
        sa.Column("warn_at", sa.String(32), nullable=True),
        sa.Column("alert_at", sa.String(32), nullable=False),
        sa.Column("timers", sa.Text(), nullable=False),
        sa.Column("alerted", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_ticket_sla_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_sla")),
    )
    op.create_index("ix_ticket_sla_org_due", "ticket_sla", ["organization_id", "due_at"])
    op.create_index("ix_ticket_sla_alert_at", "ticket_sla", ["alert_at"])


def downgrade() -> None:
    op.drop_index("ix_ticket_sla_alert_at", table_name="ticket_sla")
    op.drop_index("ix_ticket_sla_org_due", table_name="ticket_sla")
    op.drop_table("ticket_sla")
    op.drop_index("ix_sla_policies_organization_id", table_name="sla_policies")
    op.drop_table("sla_policies")
