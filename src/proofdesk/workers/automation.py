"""Deciding claims automatically: a worker that follows the event stream.

The stream is the queue. The worker reads the events after its cursor (a row of ``cursors``)
in order, and for each event that is a trigger — a ticket created; its kind, order or
transaction changed (``updated``); its first response; its solving; an SLA breach — it asks
every active contract that applies to the ticket's kind and lists that trigger
(``spec.decideOn``, by default created and updated) to decide, then carries out the actions.
Facts are gathered first, outside the write transaction (they may ask the chain), and so are
the rules of a rule set that fire on them; the decision, its actions and the cursor's advance
are then committed together, under a compare-and-set of the cursor, so each event is handled
exactly once even with several workers, and a crash repeats nothing.

Events made by automation itself trigger nothing, so a contract's own changes can never set
off another decision: no loop can start. Imported events (``domain.tickets.imported_marker``)
trigger nothing either: they are history another help desk already handled, and the sweep
leaves an imported ticket alone until its first live event. A contract decides only on events after it was
activated; a fresh worker starts at the end of the stream.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from proofdesk.actions import contracts as actions
from proofdesk.canonical import parse_time, stored_utc, utc_now
from proofdesk.chain.base import Chain, ChainError
from proofdesk.domain.tickets import UNSOLVED, EventType, Status, imported_marker
from proofdesk.facts.providers import FactContext, Gathered, gather
from proofdesk.ledger.store import EventReader
from proofdesk.rules.document import Contract
from proofdesk.rules.engine import Firing, fire
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.events import lock_ticket, row_to_state
from proofdesk.store.models import Cursor, ServiceContract, Ticket, TicketEvent
from proofdesk.workers import cursors
from proofdesk.workers.base import PeriodicWorker

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


#: Events that trigger automation rules (``spec.triggers``), whoever made them: a rule may
#: follow another, within the loop guard of ``actions.contracts.carry_out_rules``.
RULE_TRIGGERS = {
    EventType.CREATED.value: "created",
    EventType.MESSAGE_ADDED.value: "message",
    EventType.FIELDS_CHANGED.value: "updated",
    EventType.TAGS_CHANGED.value: "updated",
    EventType.ASSIGNED.value: "updated",
    EventType.STATUS_CHANGED.value: "updated",
    EventType.SLA_BREACHED.value: "sla_breached",
}


def _origin(row: TicketEvent) -> dict[str, Any]:
    """Where a chain of automatic changes stands after this event (its ``by``, if any)."""
    by = json.loads(row.payload).get("by") or {}
    if "automation" in by and "rule" in by:
        return {
            "origin": by.get("origin", row.seq),
            "depth": int(by.get("depth", 1)),
            "chain": list(by.get("chain", [])),
        }
    return {"origin": row.seq, "depth": 0, "chain": []}


@dataclass(frozen=True)
class Job:
    """One contract or rule set to run on one event, prepared outside the writer lock."""

    contract: Contract
    gathered: Gathered
    trigger: str
    #: The rules that fire, for a rule set (``kind: Automation``); None for a contract.
    firings: list[Firing] | None


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
        sweep_seconds: float = 300.0,
        sweep_batch: int = 1000,
        now: Callable[[], datetime] | None = None,
        settings: Settings | None = None,
    ) -> None:
        super().__init__(interval)
        #: For the look-up endpoints of other networks' transactions (chain facts).
        self.settings = settings
        self.db, self._chain, self.batch = db, chain, batch
        self.sweep_seconds, self.sweep_batch = sweep_seconds, sweep_batch
        self._last_sweep: datetime | None = None
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
        with self.db.reader() as session:
            found = session.get(Cursor, CURSOR)
            if found is not None:
                return int(found.seq)
        with self.db.writer() as session:
            row = session.get(Cursor, CURSOR)
            if row is None:
                row = Cursor(name=CURSOR, seq=cursors.stream_end(session))
                session.add(row)
            return int(row.seq)

    def step(self) -> int:
        """Handle the next batch of events (and sweep when due); returns how many contracts
        and rule sets ran."""
        if self.sweep_seconds > 0 and (
            self._last_sweep is None
            or (self._now() - self._last_sweep).total_seconds() >= self.sweep_seconds
        ):
            self.sweep()
        decisions = 0
        position = self.cursor()
        with self.db.reader() as session:
            rows = session.scalars(
                select(TicketEvent)
                .where(TicketEvent.seq > position)
                .order_by(TicketEvent.seq)
                .limit(self.batch)
            ).all()
        # Events that need nothing are passed over without a write: the cursor moves past them
        # with the next event that does (or at the end of the batch), in one compare-and-set.
        for row in rows:
            work = self._prepare(row)
            if not work:
                continue
            made = self._commit(position, row, work)
            if made is None:
                return decisions  # another worker moved the cursor: start again from it
            decisions += made
            position = row.seq
        if rows and rows[-1].seq != position:
            self._advance(position, rows[-1].seq)
        return decisions

    def _advance(self, position: int, seq: int) -> bool:
        with self.db.writer() as session:
            return cursors.move(session, CURSOR, position, seq)

    def _prepare(self, row: TicketEvent) -> list[Job]:
        """What one event calls for: each applicable contract or rule set with its facts (and
        for a rule set, the rules that fire on them)."""
        work: list[Job] = []
        if imported_marker(json.loads(row.payload)) is not None:
            return work
        with self.db.reader() as session:
            ticket = session.get(Ticket, row.ticket_id)
            if ticket is not None and self._open(ticket):
                at = parse_time(row.occurred_at)
                state = row_to_state(ticket)
                chain = None
                event = EventReader(session).event(row)
                found: list[tuple[Any, Any, str]] = []
                trigger = trigger_of(row, ticket)
                if trigger is not None:
                    found += [
                        (r, c, trigger)
                        for r, c in actions.applicable(
                            session, ticket.organization_id, ticket.kind, trigger
                        )
                    ]
                rule_trigger = RULE_TRIGGERS.get(row.type)
                if rule_trigger is not None:
                    found += [
                        (r, c, rule_trigger)
                        for r, c in actions.active(
                            session, ticket.organization_id, "Automation", ticket.kind, rule_trigger
                        )
                    ]
                for contract_row, contract, why in found:
                    activated = contract_row.activated_at
                    if activated is None or stored_utc(activated) > at:
                        continue
                    if chain is None and any(
                        n.startswith(("chain.", "order.")) for n in contract.facts
                    ):
                        chain = self.chain()
                    context = FactContext(session, state, self._now(), chain, event, self.settings)
                    gathered = gather(context, contract.facts)
                    firings = (
                        fire(contract, gathered.values)[0]
                        if contract.kind == "Automation"
                        else None
                    )
                    work.append(Job(contract, gathered, why, firings))
        return work

    def _commit(self, position: int, row: TicketEvent, work: list[Job]) -> int | None:
        """Decide and act on one event, moving the cursor from ``position`` past it in the same
        transaction; None if another worker moved the cursor first."""
        with self.db.writer() as session:
            if not cursors.move(session, CURSOR, position, row.seq):
                return None
            ticket = lock_ticket(session, row.ticket_id)
            if ticket is None or not self._open(ticket):
                return 0
            origin = _origin(row)
            for job in work:
                if job.firings is not None:
                    actions.do_carry_out_rules(session, ticket, job.contract, job.firings, origin)
                    continue
                decision, seq, _ = actions.do_log_decision(
                    session,
                    actions.automation_actor(ticket.organization_id),
                    ticket,
                    job.contract,
                    job.gathered,
                    trigger=job.trigger,
                )
                actions.do_carry_out(session, ticket, job.contract, decision, seq, job.gathered)
        return len(work)

    def sweep(self) -> int:
        """Run the time-based rules (``triggers: [sweep]``) over open tickets; returns how many
        rules fired. A rule does not fire again on a ticket whose last change it made."""
        now = self._now()
        fired = 0
        with self.db.reader() as session:
            rows = session.scalars(select(ServiceContract).where(ServiceContract.active)).all()
            plans = []
            for row in rows:
                rules = actions.load(row)
                if rules.kind == "Automation" and "sweep" in rules.spec["triggers"]:
                    plans.append((row.organization_id, rules))
        for organization_id, rules in plans:
            with self.db.reader() as session:
                tickets = session.scalars(
                    select(Ticket)
                    .where(
                        Ticket.organization_id == organization_id,
                        Ticket.kind.in_(rules.spec["appliesTo"]),
                        Ticket.status.in_([s.value for s in UNSOLVED]),
                    )
                    .order_by(Ticket.updated_at)
                    .limit(self.sweep_batch)
                ).all()
                work = []
                for ticket in tickets:
                    context = FactContext(session, row_to_state(ticket), now, None)
                    gathered = gather(context, rules.facts)
                    firings, _ = fire(rules, gathered.values)
                    if firings:
                        work.append((ticket.id, ticket.last_seq, firings))
            for ticket_id, last_seq, firings in work:
                with self.db.writer() as session:
                    locked = lock_ticket(session, ticket_id)
                    if locked is None or locked.last_seq != last_seq or not self._open(locked):
                        continue  # changed meanwhile: the next sweep looks again
                    last = session.get(TicketEvent, locked.last_seq)
                    last_payload = json.loads(last.payload) if last else {}
                    if imported_marker(last_payload) is not None:
                        continue  # imported history: time-based rules start with live work
                    made_by = last_payload.get("by", {})
                    fresh = [
                        f
                        for f in firings
                        if (made_by.get("automation"), made_by.get("rule")) != (rules.name, f.rule)
                    ]
                    if fresh:
                        origin = {"origin": locked.last_seq, "depth": 0, "chain": []}
                        actions.do_carry_out_rules(session, locked, rules, fresh, origin)
                        fired += len(fresh)
        self._last_sweep = now
        return fired

    @staticmethod
    def _open(ticket: Ticket) -> bool:
        return (
            ticket.status != Status.CLOSED.value
            and ticket.erased_at is None
            and ticket.merged_into_id is None
        )
