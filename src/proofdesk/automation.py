"""Deciding claims automatically: a worker that follows the event stream.

The stream is the queue. The worker reads the events after its cursor (a row of ``cursors``)
in order, and for each event that is a trigger — a ticket created; its kind, order or
transaction changed (``updated``); its first response; its solving; an SLA breach — it asks every active
contract that applies to the ticket's kind and lists that trigger (``spec.decideOn``, by
default created and updated) to decide, then carries out the actions. Facts are gathered first,
outside the write transaction (they may ask the chain); the decision, its actions and the
cursor's advance are then committed together, under a compare-and-set of the cursor, so each
event is handled exactly once even with several workers, and a crash repeats nothing.

Events made by automation itself trigger nothing, so a contract's own changes can never set
off another decision: no loop can start. A contract decides only on events after it was
activated; a fresh worker starts at the end of the stream.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select, update

from proofdesk.actions import contracts as actions
from proofdesk.canonical import parse_time, stored_utc, utc_now
from proofdesk.chain.base import Chain, ChainError
from proofdesk.contracts.facts import FactContext, Gathered, gather
from proofdesk.domain.tickets import EventType, Status
from proofdesk.store.db import Database
from proofdesk.store.events import lock_ticket, row_to_state
from proofdesk.store.models import Cursor, Ticket, TicketEvent
from proofdesk.workers import PeriodicWorker

log = logging.getLogger(__name__)

CURSOR = "automation"
#: Field changes that make a claim worth deciding again.
UPDATED_FIELDS = frozenset({"kind", "order_id", "tx_hash", "chain_id"})


def trigger_of(row: TicketEvent, ticket: Ticket) -> str | None:
    """The trigger an event is, if any (read from the parts of the payload never sealed)."""
    if row.actor_id == actions.AUTOMATION_ID:
        return None
    payload = json.loads(row.payload)
    kind = row.type
    if kind == EventType.CREATED.value:
        return "created"
    if kind == EventType.SLA_BREACHED.value:
        return "sla_breached"
    if kind == EventType.FIELDS_CHANGED.value:
        return "updated" if UPDATED_FIELDS & set(payload.get("changes", {})) else None
    if kind == EventType.STATUS_CHANGED.value and payload.get("to") == Status.SOLVED.value:
        return "solved"
    if kind == EventType.MESSAGE_ADDED.value:
        if payload.get("status") == Status.SOLVED.value:
            return "solved"
        if (
            ticket.first_response_at == row.occurred_at
            and payload.get("visibility") == "public"
            and payload.get("author_id") != ticket.requester_id
        ):
            return "first_response"
    return None


class Automator(PeriodicWorker):
    """Runs contracts on the triggers of the event stream; ``chain`` gives the configured
    chain (or raises :class:`ChainError` when it cannot be reached: chain facts are then
    unknown, and the decision says so)."""

    name = "automation"

    def __init__(
        self,
        db: Database,
        chain: Callable[[], Chain] | None,
        interval: float,
        *,
        batch: int = 100,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(interval)
        self.db, self._chain, self.batch = db, chain, batch
        self._now = now or utc_now

    def chain(self) -> Chain | None:
        if self._chain is None:
            return None
        try:
            return self._chain()
        except ChainError as exc:
            log.warning("automation: no chain for chain facts: %s", exc.message)
            return None

    def cursor(self) -> int:
        """The last sequence number handled; created at the stream's end on first use."""
        with self.db.writer() as session:
            row = session.get(Cursor, CURSOR)
            if row is None:
                last = session.scalar(select(func.max(TicketEvent.seq)))
                row = Cursor(name=CURSOR, seq=-1 if last is None else int(last))
                session.add(row)
            return int(row.seq)

    def step(self) -> int:
        """Handle the next batch of events; returns how many decisions were made."""
        decisions = 0
        position = self.cursor()
        with self.db.reader() as session:
            rows = session.scalars(
                select(TicketEvent)
                .where(TicketEvent.seq > position)
                .order_by(TicketEvent.seq)
                .limit(self.batch)
            ).all()
        for row in rows:
            made = self._handle(position, row)
            if made is None:
                break  # another worker moved the cursor: start again from it next step
            decisions += made
            position = row.seq
        return decisions

    def _handle(self, position: int, row: TicketEvent) -> int | None:
        """Decide on one event and advance the cursor past it; None if the cursor moved."""
        work: list[tuple[int, Gathered, str]] = []
        with self.db.reader() as session:
            ticket = session.get(Ticket, row.ticket_id)
            trigger = trigger_of(row, ticket) if ticket is not None else None
            if ticket is not None and trigger is not None and self._open(ticket):
                at = parse_time(row.occurred_at)
                state = row_to_state(ticket)
                chain = None
                for contract_row, contract in actions.applicable(
                    session, ticket.organization_id, ticket.kind, trigger
                ):
                    activated = contract_row.activated_at
                    if activated is None or stored_utc(activated) > at:
                        continue
                    if chain is None and any(
                        n.startswith(("chain.", "order.")) for n in contract.facts
                    ):
                        chain = self.chain()
                    context = FactContext(session, state, self._now(), chain)
                    work.append((contract_row.id, gather(context, contract.facts), trigger))
        with self.db.writer() as session:
            moved = session.execute(
                update(Cursor)
                .where(Cursor.name == CURSOR, Cursor.seq == position)
                .values(seq=row.seq)
                .returning(Cursor.seq)
            ).first()
            if moved is None:
                return None
            ticket = lock_ticket(session, row.ticket_id) if work else None
            if ticket is None or not self._open(ticket):
                return 0
            for contract_id, gathered, trigger in work:
                contract = actions.load_id(session, contract_id)
                decision, seq, _ = actions.log_decision(
                    session,
                    actions.automation_actor(ticket.organization_id),
                    ticket,
                    contract,
                    gathered,
                    trigger=trigger,
                )
                actions.carry_out(session, ticket, contract, decision, seq, gathered)
        return len(work)

    @staticmethod
    def _open(ticket: Ticket) -> bool:
        return (
            ticket.status != Status.CLOSED.value
            and ticket.erased_at is None
            and ticket.merged_into_id is None
        )
