"""Learning from agents: a solved ticket an agent tagged with an intent's name (``kyc``,
``withdrawal-pending``…) becomes a labelled example (its subject and first message), as do
imported ``text,label`` rows. The organization's model is rebuilt with them on its next turn."""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.assistant import kb
from proofdesk.canonical import utc_now
from proofdesk.domain.redaction import redact
from proofdesk.store.models import AssistantExample, Message, Ticket

MAX_TEXT = 1000


def examples(session: Session, organization_id: str) -> list[tuple[str, str]]:
    return [
        (text, label)
        for text, label in session.execute(
            select(AssistantExample.text, AssistantExample.label)
            .where(AssistantExample.organization_id == organization_id)
            .order_by(AssistantExample.id)
        )
    ]


def _add(
    session: Session, organization_id: str, text: str, label: str, ticket_id: str | None
) -> bool:
    text = redact(text).text.strip()[:MAX_TEXT]
    if not text:
        return False
    exists = session.scalar(
        select(AssistantExample.id).where(
            AssistantExample.organization_id == organization_id, AssistantExample.text == text
        )
    )
    if exists is not None:
        return False
    session.add(
        AssistantExample(
            organization_id=organization_id,
            text=text,
            label=label,
            ticket_id=ticket_id,
            created_at=utc_now(),
        )
    )
    session.flush()
    return True


def learn_from_tickets(session: Session, organization_id: str) -> int:
    """Add an example for each solved ticket whose tags name a knowledge-base intent."""
    intents = {spec.intent for spec in map(kb.to_spec, kb.articles(session, organization_id))}
    by_tag = {intent.replace("_", "-"): intent for intent in intents}
    added = 0
    rows = session.execute(
        select(Ticket.id, Ticket.subject, Ticket.tags).where(
            Ticket.organization_id == organization_id,
            Ticket.status.in_(("solved", "closed")),
            Ticket.erased_at.is_(None),
        )
    ).all()
    for ticket_id, subject, tags in rows:
        labels = {by_tag[t] for t in json.loads(tags) if t in by_tag}
        if len(labels) != 1:
            continue  # untagged, or tagged with two intents: not a clean label
        first = session.scalar(
            select(Message.body)
            .where(Message.ticket_id == ticket_id)
            .order_by(Message.seq)
            .limit(1)
        )
        added += _add(
            session, organization_id, f"{subject}\n{first or ''}", labels.pop(), ticket_id
        )
    return added


def import_examples(session: Session, organization_id: str, rows: Iterable[tuple[str, str]]) -> int:
    return sum(_add(session, organization_id, text, label, None) for text, label in rows)
