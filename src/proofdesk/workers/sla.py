"""The SLA worker: keeps ``ticket_sla`` in step with the event stream and writes warnings and
breaches as they fall due (``actions.sla_timers``).

Exactly once. Following the stream, the worker reads the events after its cursor and computes
the tickets' rows without a lock, then writes them and moves the cursor by compare-and-set under
the writer lock. Alerting, it computes a ticket's due alerts without a lock, then locks the
ticket under the writer lock and writes them only while the ticket, the tier and the policies
are as read; otherwise it reads them again under the lock, where the keys already in the stream
are final. Each alert key (target and due instant) is therefore written once, by whichever
worker gets the lock first.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from proofdesk.actions.sla_timers import Reading, do_alert, project, read
from proofdesk.canonical import format_time, utc_now
from proofdesk.domain.tickets import Status
from proofdesk.sla.policies import OPEN
from proofdesk.store.db import Database
from proofdesk.store.events import lock_ticket
from proofdesk.store.models import Cursor, Ticket, TicketEvent, TicketSla
from proofdesk.workers import cursors
from proofdesk.workers.base import PeriodicWorker

CURSOR = "sla"


class SlaWorker(PeriodicWorker):
    """Follows the stream with a cursor, like automation, and alerts what is due."""

    name = "sla"

    def __init__(
        self,
        db: Database,
        interval: float,
        *,
        batch: int = 500,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(interval)
        self.db, self.batch = db, batch
        self._now = now or utc_now

    def step(self) -> int:
        """Bring the projection up to the stream's end, then alert what is due; returns the
        alerts written."""
        now = self._now()
        while self._follow(now):
            pass
        with self.db.reader() as session:
            due = session.scalars(
                select(TicketSla.ticket_id).where(TicketSla.alert_at <= format_time(now))
            ).all()
        return sum(self._alert(ticket_id, now) for ticket_id in due)

    def _alert(self, ticket_id: str, now: datetime) -> int:
        with self.db.reader() as session:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None or ticket.status not in OPEN:
                return 0
            reading = read(session, ticket, now)
        if reading.policy_id is None:
            return 0
        with self.db.writer() as session:
            locked = lock_ticket(session, ticket_id)
            if locked is None or locked.status == Status.CLOSED.value:
                return 0
            return len(do_alert(session, locked, now, reading))

    def _follow(self, now: datetime) -> bool:
        """Recompute the tickets of the next batch of events; False once at the end. A first
        run computes every open ticket and starts at the end of the stream."""
        with self.db.reader() as session:
            cursor = session.get(Cursor, CURSOR)
            position = None if cursor is None else int(cursor.seq)
        if position is None:
            return self._start(now)
        with self.db.reader() as session:
            rows = session.execute(
                select(TicketEvent.seq, TicketEvent.ticket_id)
                .where(TicketEvent.seq > position)
                .order_by(TicketEvent.seq)
                .limit(self.batch)
            ).all()
            found = [session.get(Ticket, t) for t in dict.fromkeys(t for _, t in rows)]
            readings = [read(session, t, now) for t in found if t is not None]
        if not rows:
            return False
        with self.db.writer() as session:
            if not cursors.move(session, CURSOR, position, rows[-1][0]):
                return True  # another worker took this batch: go on from where it left
            _store(session, readings, now)
        return len(rows) == self.batch

    def _start(self, now: datetime) -> bool:
        with self.db.reader() as session:
            start = cursors.stream_end(session)
            tickets = session.scalars(select(Ticket).where(Ticket.status.in_(OPEN))).all()
            readings = [read(session, t, now) for t in tickets]
        with self.db.writer() as session:
            if session.get(Cursor, CURSOR) is None:  # else another worker started first
                session.execute(delete(TicketSla))
                session.flush()
                _store(session, readings, now)
                session.add(Cursor(name=CURSOR, seq=start))
        return False


def _store(session: Session, readings: list[Reading], now: datetime) -> None:
    """Write the rows read, each re-read under the lock if its ticket changed meanwhile."""
    for reading in readings:
        ticket = session.get(Ticket, reading.ticket_id)
        if ticket is not None:
            project(session, ticket, now, reading)
