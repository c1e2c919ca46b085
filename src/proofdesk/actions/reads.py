"""Unread markers: a member of staff opening a ticket has read it up to its last event."""

from __future__ import annotations

from sqlalchemy.orm import Session

from proofdesk.access import Actor, require_staff
from proofdesk.canonical import utc_now
from proofdesk.store.models import Ticket, TicketRead


def do_mark_read(session: Session, actor: Actor, ticket: Ticket) -> None:
    """Remember that ``actor`` has seen ``ticket`` (already checked with ``access_ticket``) as
    it is now. Not an event: what one agent has read is nobody's record but the console's."""
    require_staff(actor)
    row = session.get(TicketRead, (actor.user_id, ticket.id))
    if row is None:
        session.add(
            TicketRead(
                user_id=actor.user_id, ticket_id=ticket.id, seq=ticket.last_seq, read_at=utc_now()
            )
        )
    elif row.seq != ticket.last_seq:
        row.seq, row.read_at = ticket.last_seq, utc_now()
