"""Erasing a customer (right to erasure) without rewriting history.

For each ticket the customer requested: a ``ticket.erased`` event is appended (the erasure is
itself on the log), then the ticket's wrapped secret is deleted. From then on its sealed
content in the event stream cannot be decrypted and its commitments cannot be opened —
crypto-shredding — while every leaf, checkpoint and proof stays valid. The mutable copies are
scrubbed in the same transaction: message bodies and subjects in the projections, the
customer's profile, wallets, orders, sessions, tokens, stored idempotent responses, what they
told the assistant, the examples it learnt from their tickets, and the attachment records
(their blobs are deleted after commit when nothing else refers to them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from proofdesk.access import Actor, require_admin
from proofdesk.canonical import format_time, utc_now
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import ERASED_TEXT, EventType
from proofdesk.errors import InvalidInput
from proofdesk.store.events import EventAppender
from proofdesk.store.models import (
    ApiToken,
    AssistantExample,
    AssistantTurn,
    Attachment,
    ChainFiling,
    ChainRequestDraft,
    CustomerNote,
    IdempotencyKey,
    Message,
    Order,
    Ticket,
    TicketSecret,
    User,
    Wallet,
)
from proofdesk.store.models import (
    Session as LoginSession,
)
from proofdesk.store.rows import row_to_state
from proofdesk.store.search import forget_messages


@dataclass
class Erasure:
    user_id: str
    tickets: list[str] = field(default_factory=list)
    blobs: set[str] = field(default_factory=set)  # sha256 of attachments now unreferenced


def do_erase_customer(
    session: Session, actor: Actor, user: User, at: datetime | None = None
) -> Erasure:
    """Erase ``user`` (a customer of the actor's organization, loaded via ``access_user``).
    Must run in ``Database.writer()``; delete ``Erasure.blobs`` from the blob store after
    commit."""
    require_admin(actor)
    if user.role != Role.CUSTOMER.value:
        raise InvalidInput(
            "only customers are erased; deactivate staff instead", code="not_a_customer"
        )
    now = format_time(at or utc_now())
    result = Erasure(user.id)
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.organization_id == user.organization_id, Ticket.requester_id == user.id)
        .order_by(Ticket.number)
        .with_for_update()
    ).all()
    appender = EventAppender(session)
    for ticket in tickets:
        if ticket.erased_at is None:
            appender.append(
                row_to_state(ticket),
                ticket_id=ticket.id,
                organization_id=ticket.organization_id,
                type=EventType.ERASED,
                actor_id=actor.user_id,
                occurred_at=now,
                payload={},
            )
        session.execute(
            update(TicketSecret)
            .where(TicketSecret.ticket_id == ticket.id)
            .values(wrapped=None, erased_at=now)
        )
        result.tickets.append(ticket.id)
    ids = result.tickets
    if ids:
        session.execute(
            update(Message)
            .where(Message.ticket_id.in_(ids))
            .values(body=ERASED_TEXT, attachments="[]", signed_by=None)
        )
        forget_messages(session, ids)
        gone = session.scalars(select(Attachment.sha256).where(Attachment.ticket_id.in_(ids))).all()
        session.execute(delete(Attachment).where(Attachment.ticket_id.in_(ids)))
        session.flush()
        still_used = set(
            session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(set(gone))))
        )
        result.blobs = set(gone) - still_used
        session.execute(
            delete(IdempotencyKey).where(or_(*(IdempotencyKey.response.contains(i) for i in ids)))
        )
        # Examples the assistant learnt from these tickets (their stored vectors go at the
        # organization's next model rebuild: no text uses them any more).
        session.execute(delete(AssistantExample).where(AssistantExample.ticket_id.in_(ids)))
    addresses = list(session.scalars(select(Wallet.address).where(Wallet.user_id == user.id)))
    uploaded = session.scalars(
        select(Attachment.sha256).where(Attachment.uploaded_by == user.id)
    ).all()
    session.execute(delete(Attachment).where(Attachment.uploaded_by == user.id))
    session.flush()
    if uploaded:
        still_used = set(
            session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(set(uploaded))))
        )
        result.blobs |= set(uploaded) - still_used
    # Requests prepared for the chain keep their text until filed; the filings keep the wallet.
    session.execute(
        update(ChainFiling)
        .where(or_(ChainFiling.ticket_id.in_(ids), ChainFiling.sender.in_(addresses)))
        .values(sender="erased", pointer="0x")
    )
    for model, column in (
        (ChainRequestDraft, ChainRequestDraft.requester_id),
        (Wallet, Wallet.user_id),
        (Order, Order.customer_id),
        (LoginSession, LoginSession.user_id),
        (ApiToken, ApiToken.user_id),
        (IdempotencyKey, IdempotencyKey.user_id),
        (CustomerNote, CustomerNote.customer_id),
    ):
        session.execute(delete(model).where(column == user.id))
    # What the customer told the assistant, and its replies (which quote transaction details);
    # the turns stay, without text, for the assistant's metrics.
    session.execute(
        update(AssistantTurn)
        .where(AssistantTurn.customer_id == user.id)
        .values(text=ERASED_TEXT, reply=ERASED_TEXT)
    )
    user.display_name = ERASED_TEXT
    user.email = None
    user.password_hash = None
    user.tier = None
    user.is_active = False
    return result
