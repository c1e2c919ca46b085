"""The ticket search index (``search_terms``, FTS5 on SQLite, GIN over a tsvector on
PostgreSQL) and staff notes about customers (``customer_notes``).

Existing tickets are indexed from their projections here; ``proofdesk rebuild`` recomputes
the index from the events like every projection.

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from proofdesk.domain.search import index_terms

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

#: FTS5 takes the tokens as ``domain.search`` wrote them: split on spaces only (the joiners
#: are token characters), no diacritics folding (PostgreSQL does none either).
_FTS = (
    "CREATE VIRTUAL TABLE search_fts USING fts5(terms, content='search_terms', "
    "content_rowid='id', tokenize=\"unicode61 remove_diacritics 0 tokenchars '-_.:'\", "
    "prefix='1 2 3')"
)
_TRIGGERS = (
    "CREATE TRIGGER search_terms_ai AFTER INSERT ON search_terms BEGIN "
    "INSERT INTO search_fts(rowid, terms) VALUES (new.id, new.terms); END",
    "CREATE TRIGGER search_terms_ad AFTER DELETE ON search_terms BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.id, old.terms); END",
    "CREATE TRIGGER search_terms_au AFTER UPDATE ON search_terms BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.id, old.terms); "
    "INSERT INTO search_fts(rowid, terms) VALUES (new.id, new.terms); END",
)
_PG_INDEX = (
    "CREATE INDEX ix_search_terms_tsv ON search_terms "
    "USING gin (array_to_tsvector(string_to_array(terms, ' ')))"
)


def upgrade() -> None:
    op.create_table(
        "search_terms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("ticket_id", sa.String(length=36), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=True),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_terms")),
    )
    op.create_index("ix_search_terms_ticket", "search_terms", ["ticket_id"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_FTS)
        for trigger in _TRIGGERS:
            op.execute(trigger)
    else:
        op.execute(_PG_INDEX)
    _index_existing()
    op.create_table(
        "customer_notes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("author_id", sa.String(length=36), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_customer_notes_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["users.id"], name=op.f("fk_customer_notes_customer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_customer_notes_author_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_notes")),
    )
    op.create_index("ix_customer_notes_customer", "customer_notes", ["customer_id", "created_at"])


def _index_existing() -> None:
    """Index the tickets and messages already projected (what ``store.search`` writes)."""
    bind = op.get_bind()
    terms = sa.table(
        "search_terms",
        sa.column("organization_id"),
        sa.column("ticket_id"),
        sa.column("message_id"),
        sa.column("visibility"),
        sa.column("terms"),
    )
    tickets = bind.execute(
        sa.text(
            "SELECT id, organization_id, subject, order_id, wallet_address, tx_hash FROM tickets"
        )
    ).all()
    organization = {t.id: t.organization_id for t in tickets}
    rows = [
        {
            "organization_id": t.organization_id,
            "ticket_id": t.id,
            "message_id": None,
            "visibility": "public",
            "terms": index_terms(t.subject, t.order_id, t.wallet_address, t.tx_hash),
        }
        for t in tickets
    ]
    for m in bind.execute(sa.text("SELECT id, ticket_id, visibility, body FROM messages")):
        rows.append(
            {
                "organization_id": organization[m.ticket_id],
                "ticket_id": m.ticket_id,
                "message_id": m.id,
                "visibility": m.visibility,
                "terms": index_terms(m.body),
            }
        )
    if rows:
        op.bulk_insert(terms, rows)


def downgrade() -> None:
    op.drop_index("ix_customer_notes_customer", table_name="customer_notes")
    op.drop_table("customer_notes")
    if op.get_bind().dialect.name == "sqlite":
        for name in ("search_terms_ai", "search_terms_ad", "search_terms_au"):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE search_fts")
    else:
        op.execute("DROP INDEX ix_search_terms_tsv")
    op.drop_index("ix_search_terms_ticket", table_name="search_terms")
    op.drop_table("search_terms")
