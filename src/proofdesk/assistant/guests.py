"""The chat widget for shop visitors without an account.

A visitor talks with the assistant as :data:`~proofdesk.assistant.conversation.GUEST`: turns
are answered as a customer's are and kept under the conversation's random id, which is the
visitor's only key (the widget holds it, like a session). When a person must take over, the
assistant asks for an e-mail address or a wallet address; :func:`hand_off_guest` then finds or
creates the customer it stands for (``actions.customers.do_customer_for_contact``) and opens
the conversation's request as that customer, with the transcript and the agents' note. From
then on the visitor reads the request's public replies and writes into it by the same key —
only that request's, never the customer's other requests (typing someone's e-mail gives no
reach into their account).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.access import Actor, access_ticket, visible_messages
from proofdesk.actions import tickets
from proofdesk.actions.customers import do_customer_for_contact
from proofdesk.assistant.conversation import (
    GUEST,
    Models,
    TurnResult,
    _hand_off,
    _next_steps,
)
from proofdesk.assistant.understanding import Model, Reply
from proofdesk.domain.entities import extract
from proofdesk.domain.roles import Role, public_name
from proofdesk.errors import Conflict, InvalidInput, NotFound
from proofdesk.store.db import Database
from proofdesk.store.models import AssistantTurn, Message, Organization, Ticket, User


@dataclass(frozen=True)
class GuestMessage:
    """A public message of the visitor's request, as the widget shows it."""

    id: str
    body: str
    mine: bool
    automatic: bool
    created_at: str
    #: Who wrote it, as customers see staff: the agent's alias (else first name).
    author: str | None = None


def guest_actor(session: Session, organization: str) -> Actor:
    """The visitor of ``organization`` (its slug), for the assistant's turns."""
    org_id = session.scalar(select(Organization.id).where(Organization.slug == organization))
    if org_id is None:
        raise NotFound("no such organization", code="no_such_organization")
    return Actor(GUEST, org_id, Role.CUSTOMER)


def _conversation_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidInput("conversation_id is a UUID", field="conversation_id") from None


def _turns(session: Session, actor: Actor, conversation_id: str) -> list[AssistantTurn]:
    """The visitor's conversation: every turn a guest's, in ``actor``'s organization."""
    rows = list(
        session.scalars(
            select(AssistantTurn)
            .where(AssistantTurn.conversation_id == _conversation_id(conversation_id))
            .order_by(AssistantTurn.id)
        )
    )
    if not rows or any(
        r.customer_id != GUEST or r.organization_id != actor.organization_id for r in rows
    ):
        raise NotFound("no such conversation", code="no_such_conversation")
    return rows


def check_guest_turn(db: Database, actor: Actor, conversation_id: str, turn_id: str) -> None:
    """A turn id is guessable; the conversation's id is not: feedback names both."""
    with db.reader() as session:
        owned = {str(t.id) for t in _turns(session, actor, conversation_id)}
    if turn_id not in owned:
        raise NotFound("no such turn")


def hand_off_guest(
    db: Database, models: Models, actor: Actor, conversation_id: str, contact: str
) -> TurnResult:
    """Open the conversation's request for the customer ``contact`` stands for (found or
    created), with the transcript and the agents' note; once only — asked again, the same
    request."""
    try:
        model: Model | None = models.of(db, actor.organization_id)
    except NotFound:
        model = None
    with db.writer() as session:
        turns = _turns(session, actor, conversation_id)
        last = turns[-1]
        if last.ticket_id is not None:
            raise Conflict("this conversation is already with a person", code="already_handed_off")
        customer = do_customer_for_contact(
            session, actor.organization_id, contact, locale=turns[0].locale
        )
        owner = Actor(customer.id, actor.organization_id, Role.CUSTOMER)
        reason = last.reason or ("unhelpful" if last.helpful is False else "asked_for_human")
        reply = Reply("handoff", reason, last.intent, last.confidence, 0.0)
        entities = [e for t in turns for e in extract(t.text)]
        ticket = _hand_off(
            session, owner, last, model, reply, entities, [], models.thresholds.threshold
        )
        text = _next_steps(session, ticket, last.locale)
        session.flush()
        session.expunge(last)
        session.expunge(ticket)
    return TurnResult(last, reply, text, entities, [], ticket)


def _ticket(
    session: Session, actor: Actor, conversation_id: str, *, write: bool = False
) -> tuple[Ticket, Actor]:
    """The conversation's request, loaded as its requester would load it."""
    ticket_id = _turns(session, actor, conversation_id)[-1].ticket_id
    requester = (
        session.scalar(select(Ticket.requester_id).where(Ticket.id == ticket_id))
        if ticket_id is not None
        else None
    )
    if ticket_id is None or requester is None:
        raise NotFound("no request yet: leave an e-mail or a wallet first", code="no_request")
    owner = Actor(requester, actor.organization_id, Role.CUSTOMER)
    return access_ticket(session, owner, ticket_id, write=write, lock=write), owner


def guest_messages(db: Database, actor: Actor, conversation_id: str) -> list[GuestMessage]:
    """The public messages of the visitor's request (internal notes never)."""
    with db.reader() as session:
        ticket, owner = _ticket(session, actor, conversation_id)
        rows: list[Message] = list(session.scalars(visible_messages(owner, ticket.id)))
        staff = {
            u.id: public_name(u.display_name, u.agent_alias)
            for u in session.scalars(
                select(User).where(
                    User.id.in_({m.author_id for m in rows if m.author_id}),
                    User.role != Role.CUSTOMER.value,
                )
            )
        }
        return [
            GuestMessage(
                m.id,
                m.body,
                m.author_id == ticket.requester_id,
                m.author_role == "automation",
                str(m.created_at),
                staff.get(m.author_id or ""),
            )
            for m in rows
        ]


def guest_reply(db: Database, actor: Actor, conversation_id: str, text: str) -> None:
    """The visitor writes into their request (as its requester, like a customer's reply)."""
    with db.writer() as session:
        ticket, owner = _ticket(session, actor, conversation_id, write=True)
        tickets.do_add_message(session, owner, ticket, body=text)
