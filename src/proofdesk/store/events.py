"""Appending to the ticket event stream and keeping the projections in step.

:class:`EventAppender` is the only code that inserts into ``ticket_events``, ``tickets``,
``ticket_tags``, ``messages`` and ``search_terms`` (``store.search``) (and, through
``store.webhook_outbox``, the only code that queues webhook deliveries). It must run inside
:meth:`Database.writer` (which holds the sequencer lock), so the sequence numbers it hands out
are gap-free and in commit order.

The projection is computed by ``domain.tickets.apply_event`` — the same function that
``rebuild`` uses — and written in the same transaction as the event, and so is the event's
leaf in the Merkle log (``ledger.store.LedgerWriter``).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from proofdesk.canonical import canonical_json
from proofdesk.domain.tickets import (
    ORGANIZATION_EVENTS,
    Event,
    EventType,
    TicketState,
    apply_event,
    message_channel,
)
from proofdesk.errors import Error, IntegrityFailure, InvalidInput, NotFound
from proofdesk.ledger.store import EventReader, LedgerWriter
from proofdesk.store.db import UNSEQUENCED
from proofdesk.store.feed import CHANGES, Change
from proofdesk.store.models import LogHead, Message, SearchTerm, Ticket, TicketEvent, TicketTag
from proofdesk.store.rows import row_to_state as row_to_state  # re-exported for its callers
from proofdesk.store.rows import state_to_row
from proofdesk.store.search import index_header, index_message
from proofdesk.store.webhook_outbox import enqueue as enqueue_webhooks


class EventAppender:
    """Appends events within one write transaction."""

    def __init__(self, session: Session) -> None:
        if session.info.get(UNSEQUENCED):
            # Without the sequencer lock two writers could take one sequence number.
            raise IntegrityFailure("events are written only under Database.writer()")
        self.session = session
        head = session.get(LogHead, 1)
        if head is None:
            raise NotFound("log_head row missing: run `proofdesk migrate`")
        self._head = head
        self.ledger = LedgerWriter.of(session)

    def append(
        self,
        state: TicketState | None,
        *,
        ticket_id: str,
        organization_id: str,
        type: EventType,
        actor_id: str | None,
        occurred_at: str,
        payload: dict[str, Any],
    ) -> tuple[Event, TicketState]:
        """Write one event and its projection; return the event and the new state."""
        event = self._event(
            ticket_id, state.last_ticket_seq if state else 0, type, actor_id, occurred_at, payload
        )
        new_state = apply_event(state, event)  # raises before anything is written
        self._write(event, organization_id, None if state is None else state.last_seq)
        project(self.session, state, new_state, event)
        return event, new_state

    def append_organization(
        self,
        *,
        organization_id: str,
        type: EventType,
        actor_id: str | None,
        occurred_at: str,
        payload: dict[str, Any],
        stream: str | None = None,
    ) -> Event:
        """Write one event of the organization's own stream (``ticket_id`` = the organization
        id), or of another stream that is no ticket (``stream``: a customer's, whose id it
        is): in the log like any event, folded into no ticket."""
        if type not in ORGANIZATION_EVENTS:
            raise InvalidInput(f"{type.value} is a ticket event", type=type.value)
        stream = stream or organization_id
        last = self.session.execute(
            select(TicketEvent.seq, TicketEvent.ticket_seq)
            .where(TicketEvent.ticket_id == stream)
            .order_by(TicketEvent.ticket_seq.desc())
            .limit(1)
        ).first()
        event = self._event(
            stream, 0 if last is None else last[1], type, actor_id, occurred_at, payload
        )
        self._write(event, organization_id, None if last is None else last[0])
        return event

    def _event(
        self,
        stream: str,
        last_ticket_seq: int,
        type: EventType,
        actor_id: str | None,
        occurred_at: str,
        payload: dict[str, Any],
    ) -> Event:
        """The next event of a stream, numbered but not yet written."""
        return Event(
            seq=self._head.next_seq,
            ticket_id=stream,
            ticket_seq=last_ticket_seq + 1,
            type=type,
            actor_id=actor_id,
            occurred_at=occurred_at,
            payload=json.loads(canonical_json(payload)),
        )

    def _write(self, event: Event, organization_id: str, prev_seq: int | None) -> None:
        """Take the event's sequence number, add its leaf to the log and store it (sealed)."""
        self._head.next_seq = event.seq + 1
        self.ledger.append(event, organization_id, prev_seq)
        self.session.add(
            TicketEvent(
                seq=event.seq,
                organization_id=organization_id,
                ticket_id=event.ticket_id,
                ticket_seq=event.ticket_seq,
                type=event.type.value,
                actor_id=event.actor_id,
                occurred_at=event.occurred_at,
                payload=canonical_json(self.ledger.seal(event)).decode(),
            )
        )
        # The webhook outbox rows commit (or roll back) with the event: docs/webhooks.md.
        enqueue_webhooks(self.session, event, organization_id)
        # Published to the live pages once the transaction commits (``store.feed``).
        self.session.info.setdefault(CHANGES, []).append(
            Change(organization_id, event.ticket_id, event.seq)
        )


def project(session: Session, old: TicketState | None, new: TicketState, event: Event) -> None:
    """Write ``new`` (and the message an event carries) into the projection tables."""
    values = state_to_row(new)
    if old is None:
        session.add(Ticket(**values))
        session.flush()
    else:
        row = session.get(Ticket, new.id)
        if row is None:
            raise NotFound("ticket projection missing", ticket_id=new.id)
        for key, value in values.items():
            setattr(row, key, value)
    if old is None or old.tags != new.tags:
        before = set(old.tags) if old else set()
        for tag in set(new.tags) - before:
            session.add(TicketTag(ticket_id=new.id, tag=tag))
        removed = before - set(new.tags)
        if removed:
            session.execute(
                delete(TicketTag).where(TicketTag.ticket_id == new.id, TicketTag.tag.in_(removed))
            )
    index_header(session, old, new)
    if event.type is EventType.MESSAGE_ADDED:
        p = event.payload
        session.add(
            Message(
                id=p["message_id"],
                ticket_id=new.id,
                seq=event.seq,
                author_id=p["author_id"],
                author_role=p["author_role"],
                visibility=p["visibility"],
                body=p["body"],
                attachments=json.dumps(p.get("attachments", []), sort_keys=True),
                created_at=event.occurred_at,
                signed_by=(p.get("signature") or {}).get("signer"),
                channel=message_channel(new, p).value,
                channel_ids=json.dumps(p.get("channel_ids", {}), sort_keys=True),
            )
        )
        index_message(session, new, p["message_id"], p["visibility"], p["body"])


_ORGANIZATION_TYPES = frozenset(t.value for t in ORGANIZATION_EVENTS)


def lock_ticket(session: Session, ticket_id: str) -> Ticket | None:
    """Load a ticket row for update inside a writer transaction (the sequencer lock already
    serializes writers; ``FOR UPDATE`` keeps that true if it is ever relaxed)."""
    return session.scalars(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).first()


def rebuild_projections(session: Session, *, batch: int = 2000) -> int:
    """Drop every projection and recompute it from the stream. Returns the events replayed."""
    session.execute(delete(SearchTerm))
    session.execute(delete(Message))
    session.execute(delete(TicketTag))
    session.execute(delete(Ticket))
    session.flush()
    states: dict[str, TicketState] = {}
    reader = EventReader(session)
    count = 0
    last = -1  # sequence numbers start at 0
    while True:
        rows = session.scalars(
            select(TicketEvent).where(TicketEvent.seq > last).order_by(TicketEvent.seq).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            if row.type in _ORGANIZATION_TYPES:  # the organization's stream: no ticket
                count += 1
                last = row.seq
                continue
            try:
                event = reader.event(row)
                old = states.get(event.ticket_id)
                new = apply_event(old, event)
                project(session, old, new, event)
            except (KeyError, TypeError, ValueError) as exc:
                raise InvalidInput(f"malformed event: {exc!r}", seq=row.seq) from None
            except Error as exc:
                exc.details.setdefault("seq", row.seq)
                raise
            states[event.ticket_id] = new
            count += 1
            last = row.seq
        session.flush()
    return count
