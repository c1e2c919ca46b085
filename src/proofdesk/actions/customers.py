"""What staff keep about a customer beside their tickets: notes.

A note is staff's own working knowledge ("prefers e-mail", "VIP since the migration"), never
shown to the customer. Writing one is logged like every change — an event of the customer's
stream in the transparency log (``customer.noted``, with the note's id and no text) — while
the text lives in ``customer_notes`` only, so that erasing the customer deletes it for good.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from proofdesk.access import Actor, access_customer, require_worker
from proofdesk.canonical import format_time, utc_now
from proofdesk.domain.tickets import EventType
from proofdesk.errors import InvalidInput
from proofdesk.store.events import EventAppender
from proofdesk.store.models import CustomerNote, User, new_id

#: A note is a few lines, not a document.
MAX_NOTE = 4000


def do_add_customer_note(session: Session, actor: Actor, customer: User, body: str) -> CustomerNote:
    """Add a note about ``customer`` (loaded via ``access_user``); agents, supervisors and
    admins only. Must run in ``Database.writer()``."""
    require_worker(actor)
    access_customer(actor, customer)
    text = body.strip()
    if not text:
        raise InvalidInput("write the note", field="body")
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"a note has at most {MAX_NOTE} characters", field="body")
    now = utc_now()
    note_id = new_id()
    event = EventAppender(session).append_organization(
        organization_id=actor.organization_id,
        type=EventType.CUSTOMER_NOTED,
        actor_id=actor.user_id,
        occurred_at=format_time(now),
        payload={"note_id": note_id, "customer_id": customer.id},
        stream=customer.id,
    )
    note = CustomerNote(
        id=note_id,
        organization_id=actor.organization_id,
        customer_id=customer.id,
        author_id=actor.user_id,
        body=text,
        created_at=now,
        seq=event.seq,
    )
    session.add(note)
    return note
