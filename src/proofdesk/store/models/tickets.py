"""The event stream and its projections: ``ticket_events`` is the source of truth;
``tickets``, ``ticket_tags`` and ``messages`` are projections of it that ``proofdesk rebuild``
can drop and recompute. Attachments are stored with the messages that carry them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.store.models.base import ID, TIME_TEXT, TZ, Base, new_id


class LogHead(Base):
    """One row: the sequencer. Every write transaction locks it first (see ``store.db``)."""

    __tablename__ = "log_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_seq: Mapped[int] = mapped_column(BigInteger)
    #: The Merkle tree's compact range at ``next_seq`` leaves (``ledger.store.LedgerWriter``).
    frontier: Mapped[bytes | None] = mapped_column(LargeBinary)


class TicketEvent(Base):
    """The append-only stream. ``payload`` is RFC 8785 canonical JSON text."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        UniqueConstraint("ticket_id", "ticket_seq", name="uq_ticket_events_ticket_seq"),
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    ticket_id: Mapped[str] = mapped_column(ID)
    ticket_seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[str | None] = mapped_column(ID)
    occurred_at: Mapped[str] = mapped_column(TIME_TEXT)
    payload: Mapped[str] = mapped_column(Text)


class Ticket(Base):
    """Projection of ``ticket_events`` (see ``domain.tickets.TicketState``)."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("organization_id", "number", name="uq_tickets_org_number"),
        Index("ix_tickets_org_updated", "organization_id", "updated_at", "id"),
        Index("ix_tickets_org_status", "organization_id", "status"),
        Index("ix_tickets_org_requester", "organization_id", "requester_id", "updated_at", "id"),
        Index("ix_tickets_assignee", "assignee_id"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    requester_id: Mapped[str] = mapped_column(ID)
    category: Mapped[str | None] = mapped_column(String(100))
    team_id: Mapped[str | None] = mapped_column(ID)
    assignee_id: Mapped[str | None] = mapped_column(ID)
    order_id: Mapped[str | None] = mapped_column(String(64))
    wallet_address: Mapped[str | None] = mapped_column(String(64))
    chain_id: Mapped[int | None] = mapped_column(BigInteger)
    tx_hash: Mapped[str | None] = mapped_column(String(96))
    network: Mapped[str | None] = mapped_column(String(32))
    merged_into_id: Mapped[str | None] = mapped_column(ID)
    merged_from_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    tags: Mapped[str] = mapped_column(Text, default="[]")  # JSON list, sorted
    created_at: Mapped[str] = mapped_column(TIME_TEXT)
    updated_at: Mapped[str] = mapped_column(TIME_TEXT)
    first_response_at: Mapped[str | None] = mapped_column(TIME_TEXT)
    solved_at: Mapped[str | None] = mapped_column(TIME_TEXT)
    closed_at: Mapped[str | None] = mapped_column(TIME_TEXT)
    message_count: Mapped[int] = mapped_column(Integer)
    erased_at: Mapped[str | None] = mapped_column(TIME_TEXT)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rated_at: Mapped[str | None] = mapped_column(TIME_TEXT)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_ticket_seq: Mapped[int] = mapped_column(Integer)


class TicketTag(Base):
    """Projection: one row per tag of a ticket, for filtering."""

    __tablename__ = "ticket_tags"
    __table_args__ = (Index("ix_ticket_tags_tag", "tag"),)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), primary_key=True)


class Message(Base):
    """Projection: a public reply or an internal note, from a ``message.added`` event."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_ticket", "ticket_id", "seq"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    author_id: Mapped[str | None] = mapped_column(ID)
    author_role: Mapped[str] = mapped_column(String(16))
    visibility: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of sha256 refs
    created_at: Mapped[str] = mapped_column(TIME_TEXT)
    #: The wallet that signed this message (EIP-712), None for an unsigned one.
    signed_by: Mapped[str | None] = mapped_column(String(42))
    #: Where the message came from or went out (``domain.tickets.Channel``): the event's
    #: ``channel``, or the ticket's for events written before messages carried one.
    channel: Mapped[str] = mapped_column(String(16), default="web")
    #: The channel's own ids (an e-mail's ``Message-ID``…), JSON object.
    channel_ids: Mapped[str] = mapped_column(Text, default="{}")


class Attachment(Base):
    """An uploaded file. Content lives in the blob store under its SHA-256."""

    __tablename__ = "attachments"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    ticket_id: Mapped[str | None] = mapped_column(ID, index=True)
    created_at: Mapped[datetime] = mapped_column(TZ)


class SearchTerm(Base):
    """Projection: the search tokens (``domain.search.index_terms``) of one part of a ticket —
    its header (subject and linked identifiers, ``message_id`` None) or one message, with the
    message's visibility, so that customers never match on internal notes. SQLite indexes
    ``terms`` with an external-content FTS5 table (``search_fts``, kept by triggers),
    PostgreSQL with a GIN index over its ``tsvector`` (migration 0028)."""

    __tablename__ = "search_terms"
    __table_args__ = (Index("ix_search_terms_ticket", "ticket_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ID)
    ticket_id: Mapped[str] = mapped_column(ID)
    message_id: Mapped[str | None] = mapped_column(ID)
    visibility: Mapped[str] = mapped_column(String(16))
    terms: Mapped[str] = mapped_column(Text)
