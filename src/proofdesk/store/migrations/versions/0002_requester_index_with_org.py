"""A customer's ticket list gets an index that matches it.

A customer's list is ``organization_id = ? AND requester_id = ? ORDER BY updated_at DESC, id
DESC``. The old ``(requester_id, updated_at)`` index lacks ``id``, so it cannot give that order,
and SQLite chose ``ix_tickets_org_updated`` instead. That walks the whole organization's
tickets, newest first, until it has found a page of this customer's. The cost grows with the
organization, not with the customer: a customer with fewer tickets than a page scans them all.
The new index covers the filter and the order, and replaces the old one (every query that
filters on ``requester_id`` also filters on ``organization_id``).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_org_requester",
        "tickets",
        ["organization_id", "requester_id", "updated_at", "id"],
        unique=False,
    )
    op.drop_index("ix_tickets_requester", table_name="tickets")


def downgrade() -> None:
    op.create_index("ix_tickets_requester", "tickets", ["requester_id", "updated_at"], unique=False)
    op.drop_index("ix_tickets_org_requester", table_name="tickets")
