"""Rows beside the log (what an agent has read) are written in a transaction of their own,
outside the sequencer lock: no event can be written there, and on PostgreSQL such a write
does not wait for a writer of events holding the lock."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from proofdesk.access import access_ticket
from proofdesk.actions.reads import do_mark_read
from proofdesk.actions.tickets import NewTicket, do_create_ticket
from proofdesk.domain.tickets import Kind
from proofdesk.errors import IntegrityFailure
from proofdesk.store.db import Database
from proofdesk.store.events import EventAppender
from proofdesk.store.models import TicketRead
from tests.support.tenants import Tenant, actor_of


def a_ticket(db: Database, tenant: Tenant) -> str:
    with db.writer() as session:
        state = do_create_ticket(
            session,
            actor_of(tenant.customer, tenant),
            NewTicket(kind=Kind.QUESTION, subject="Beside the log", body="Read me."),
        )
        return state.id


def test_no_event_is_written_beside_the_log(db: Database, tenant: Tenant) -> None:
    with pytest.raises(IntegrityFailure), db.side_writer() as session:
        EventAppender(session)


def test_a_read_marker_does_not_wait_for_the_sequencer(
    db: Database, tenant: Tenant, backend: tuple[str, Any]
) -> None:
    ticket_id = a_ticket(db, tenant)
    agent = actor_of(tenant.agent, tenant)
    if not str(backend[0]).startswith("postgresql"):
        # SQLite has one writer at a time whatever the lock: the marker is simply written.
        with db.side_writer() as session:
            do_mark_read(session, agent, access_ticket(session, agent, ticket_id))
    else:
        done = threading.Event()

        def mark() -> None:
            with db.side_writer() as session:
                do_mark_read(session, agent, access_ticket(session, agent, ticket_id))
            done.set()

        with db.writer():  # an event writer holds the sequencer lock meanwhile
            thread = threading.Thread(target=mark)
            thread.start()
            assert done.wait(timeout=20), "the read marker waited for the sequencer lock"
        thread.join()
    with db.reader() as session:
        row = session.scalars(select(TicketRead).where(TicketRead.ticket_id == ticket_id)).one()
        assert row.user_id == agent.user_id
