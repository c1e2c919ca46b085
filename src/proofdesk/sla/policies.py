"""SLA policies applied to tickets: which policy a ticket falls under, its timers, the queue's
due instants, and the warnings and breaches written into the event stream.

A ticket's SLA projection (``ticket_sla``) is a function of its events, the customer's tier and
the policies, so recomputing it after ``proofdesk rebuild`` or a policy change gives the same
rows. Warnings and breaches are events (``sla.warning``, ``sla.breached``) written once per
target and cycle — the key names the target and its due instant — by the ``sla`` actor, so a
service contract can compensate a breach (``decideOn: [sla_breached]``); a policy can also raise
the ticket's priority on a breach.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from proofdesk.access import Actor
from proofdesk.actions import tickets as ticket_actions
from proofdesk.canonical import format_time, parse_time, utc_now
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import UNSOLVED, EventType, Kind, Priority, Status
from proofdesk.errors import InvalidInput
from proofdesk.sla.calendar import BusinessCalendar, Window
from proofdesk.sla.timers import NEVER, Policy, Timer, sla_events, timers
from proofdesk.store.db import Database
from proofdesk.store.events import EventAppender, lock_ticket, row_to_state
from proofdesk.store.models import Cursor, SlaPolicy, Ticket, TicketEvent, TicketSla, User
from proofdesk.workers.base import PeriodicWorker

log = logging.getLogger(__name__)

SLA_ACTOR_ID = "sla"
CURSOR = "sla"
#: Statuses whose tickets have SLA timers that matter.
OPEN = frozenset(s.value for s in UNSOLVED)


def sla_actor(organization_id: str) -> Actor:
    return Actor(SLA_ACTOR_ID, organization_id, Role.AUTOMATION)


# -- policies ------------------------------------------------------------------------------


def _minute(text: Any, field: str) -> int:
    try:
        hours, minutes = str(text).split(":")
        value = int(hours) * 60 + int(minutes)
    except ValueError:
        raise InvalidInput(f"{field} must be HH:MM", field=field) from None
    if not 0 <= value <= 24 * 60 or not 0 <= int(minutes) < 60:
        raise InvalidInput(f"{field} must be between 00:00 and 24:00", field=field)
    return value


def parse_calendar(spec: dict[str, Any] | None) -> BusinessCalendar:
    """``{"timezone", "hours": [{"days": [0-6], "start": "09:00", "end": "18:00"}], "country",
    "subdivision", "closed_days": ["YYYY-MM-DD"]}``; None is around the clock."""
    if spec is None:
        return BusinessCalendar.always_open()
    if not isinstance(spec, dict):
        raise InvalidInput("calendar must be an object", field="calendar")
    unknown = set(spec) - {"timezone", "hours", "country", "subdivision", "closed_days"}
    if unknown:
        raise InvalidInput(f"unknown calendar fields: {sorted(unknown)}", field="calendar")
    windows = []
    for i, block in enumerate(spec.get("hours") or []):
        if not isinstance(block, dict) or not isinstance(block.get("days"), list):
            raise InvalidInput("each hours entry has days, start and end", field=f"hours.{i}")
        start = _minute(block.get("start"), f"hours.{i}.start")
        end = _minute(block.get("end"), f"hours.{i}.end")
        for day in block["days"]:
            if not isinstance(day, int) or isinstance(day, bool):
                raise InvalidInput("days are 0 (Monday) to 6", field=f"hours.{i}.days")
            windows.append(Window(day, start, end))
    try:
        closed = frozenset(date.fromisoformat(d) for d in spec.get("closed_days") or [])
    except (TypeError, ValueError):
        raise InvalidInput("closed_days are YYYY-MM-DD dates", field="closed_days") from None
    return BusinessCalendar(
        str(spec.get("timezone") or "UTC"),
        tuple(windows),
        country=spec.get("country"),
        subdivision=spec.get("subdivision"),
        closed_days=closed,
    )


def check_policy_fields(values: dict[str, Any]) -> None:
    """Refuse a policy that could not be applied (the calendar is parsed, the lists checked)."""
    parse_calendar(values.get("calendar"))
    for name, allowed in (
        ("kinds", [k.value for k in Kind]),
        ("priorities", [p.value for p in Priority]),
    ):
        for item in values.get(name) or []:
            if item not in allowed:
                raise InvalidInput(f"{name} must be among {allowed}", field=name)
    targets = [
        values.get(f"{t}_minutes")
        for t in ("first_response", "next_response", "periodic_update", "resolution")
    ]
    if all(t is None for t in targets):
        raise InvalidInput("a policy needs at least one target", field="first_response_minutes")
    if values.get("escalate_to") not in (None, "high", "urgent"):
        raise InvalidInput("escalate_to is high or urgent", field="escalate_to")


def _listed(text: str | None) -> list[str] | None:
    return None if text is None else list(json.loads(text))


def matches(policy: SlaPolicy, kind: str, priority: str, tier: str) -> bool:
    for allowed, value in (
        (_listed(policy.kinds), kind),
        (_listed(policy.priorities), priority),
        (_listed(policy.tiers), tier),
    ):
        if allowed is not None and value not in allowed:
            return False
    return True


def policy_for(session: Session, ticket: Ticket) -> SlaPolicy | None:
    customer = session.get(User, ticket.requester_id)
    tier = (customer.tier if customer else None) or "standard"
    policies = session.scalars(
        select(SlaPolicy)
        .where(SlaPolicy.organization_id == ticket.organization_id)
        .order_by(SlaPolicy.position, SlaPolicy.id)
    ).all()
    return next((p for p in policies if matches(p, ticket.kind, ticket.priority, tier)), None)


def targets_of(policy: SlaPolicy) -> Policy:
    return Policy(
        first_response_minutes=policy.first_response_minutes,
        next_response_minutes=policy.next_response_minutes,
        resolution_minutes=policy.resolution_minutes,
        periodic_update_minutes=policy.periodic_update_minutes,
        warn_before_minutes=policy.warn_before_minutes,
    )


# -- the projection ------------------------------------------------------------------------


def ticket_timers(
    session: Session, ticket: Ticket, now: datetime
) -> tuple[SlaPolicy | None, list[Timer], set[str]]:
    """The ticket's policy, its timers at ``now`` and the alert keys already in the stream."""
    policy = policy_for(session, ticket)
    rows = session.execute(
        select(TicketEvent.type, TicketEvent.occurred_at, TicketEvent.actor_id, TicketEvent.payload)
        .where(TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.seq)
    ).all()
    parsed = [(t, at, actor, json.loads(p)) for t, at, actor, p in rows]
    alerted = {
        str(p.get("key"))
        for t, _, _, p in parsed
        if t in (EventType.SLA_WARNING.value, EventType.SLA_BREACHED.value)
    }
    if policy is None:
        return None, [], alerted
    events = sla_events(parsed, ticket.requester_id)
    calendar = parse_calendar(json.loads(policy.calendar) if policy.calendar else None)
    return policy, timers(calendar, targets_of(policy), events, now), alerted


def due_of(found: list[Timer]) -> tuple[str, str | None]:
    """(when the first running target breaches — or did —, when to warn of it)."""
    dues, warns = [], []
    for t in found:
        if t.state == "running" and t.due_at is not None:
            dues.append(t.due_at)
            if t.warn_at is not None:
                warns.append(t.warn_at)
        elif t.state == "breached" and t.breached_at is not None:
            dues.append(t.breached_at)
    due = format_time(min(dues)) if dues else NEVER
    return due, format_time(min(warns)) if warns else None


def _alerts(found: list[Timer], now: datetime) -> list[tuple[EventType, Timer, datetime]]:
    """The alerts these timers call for, each with the instant it falls due."""
    out: list[tuple[EventType, Timer, datetime]] = []
    for t in found:
        if t.state == "breached" and t.breached_at is not None:
            out.append((EventType.SLA_BREACHED, t, t.breached_at))
        elif t.state == "running" and t.due_at is not None:
            if t.warn_at is not None:
                out.append((EventType.SLA_WARNING, t, t.warn_at))
            out.append((EventType.SLA_BREACHED, t, t.due_at))
    return out


def _key(kind: EventType, t: Timer) -> str:
    """Names one alert of one target's cycle: the cycle's breach instant identifies it."""
    return f"{kind.value}:{t.target}:{_due_text(t)}"


def _next_alert(found: list[Timer], alerted: set[str], now: datetime) -> str:
    pending = [at for kind, t, at in _alerts(found, now) if _key(kind, t) not in alerted]
    return format_time(min(pending)) if pending else NEVER


def timer_json(found: list[Timer]) -> str:
    out = []
    for t in found:
        item = asdict(t)
        for key in ("breached_at", "due_at", "warn_at"):
            if item[key] is not None:
                item[key] = format_time(item[key])
        out.append(item)
    return json.dumps(out, sort_keys=True)


def project(session: Session, ticket: Ticket, now: datetime) -> TicketSla | None:
    """Recompute the ticket's SLA row; none for a ticket no policy covers or no longer open."""
    policy, found, alerted = ticket_timers(session, ticket, now)
    row = session.get(TicketSla, ticket.id)
    if policy is None or ticket.status not in OPEN:
        if row is not None:
            session.delete(row)
        return None
    due, warn = due_of(found)
    values = {
        "organization_id": ticket.organization_id,
        "policy_id": policy.id,
        "due_at": due,
        "warn_at": warn,
        "alert_at": _next_alert(found, alerted, now),
        "timers": timer_json(found),
        "alerted": json.dumps(sorted(alerted)),
    }
    if row is None:
        row = TicketSla(ticket_id=ticket.id, **values)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    return row


def recompute_all(session: Session, now: datetime, organization_id: str | None = None) -> int:
    """Recompute every ticket's SLA row (after a rebuild or a policy change)."""
    query = select(Ticket)
    stale = delete(TicketSla)
    if organization_id is not None:
        query = query.where(Ticket.organization_id == organization_id)
        stale = stale.where(TicketSla.organization_id == organization_id)
    session.execute(stale)
    session.flush()
    count = 0
    for ticket in session.scalars(query.where(Ticket.status.in_(OPEN))).all():
        project(session, ticket, now)
        count += 1
    return count


# -- alerts ----------------------------------------------------------------------------------


def alert(session: Session, ticket: Ticket, now: datetime) -> list[str]:
    """Write the warnings and breaches that are due and not yet in the stream; escalate on a
    breach if the policy says so. Returns the keys written."""
    policy, found, alerted = ticket_timers(session, ticket, now)
    if policy is None or ticket.status not in OPEN:
        return []
    actor = sla_actor(ticket.organization_id)
    written = []
    for kind, t, at in _alerts(found, now):
        key = _key(kind, t)
        if at > now or key in alerted:
            continue
        EventAppender(session).append(
            row_to_state(ticket),
            ticket_id=ticket.id,
            organization_id=ticket.organization_id,
            type=kind,
            actor_id=actor.user_id,
            occurred_at=format_time(now),
            payload={
                "key": key,
                "policy_id": policy.id,
                "policy": policy.name,
                "target": t.target,
                "due_at": _due_text(t),
            },
        )
        written.append(key)
        if kind is EventType.SLA_BREACHED and policy.escalate_to:
            order = [p.value for p in Priority]
            if order.index(policy.escalate_to) > order.index(ticket.priority):
                ticket_actions.do_update_fields(
                    session,
                    actor,
                    ticket,
                    {"priority": policy.escalate_to},
                    by={"policy": policy.name, "target": t.target},
                )
    project(session, ticket, now)
    return written


def _due_text(t: Timer) -> str:
    due = t.breached_at if t.state == "breached" else t.due_at
    assert due is not None
    return format_time(due)


class SlaWorker(PeriodicWorker):
    """Keeps ``ticket_sla`` in step with the event stream (a cursor, like automation) and
    writes warnings and breaches as they fall due."""

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
        written = 0
        with self.db.reader() as session:
            due = session.scalars(
                select(TicketSla.ticket_id).where(TicketSla.alert_at <= format_time(now))
            ).all()
        for ticket_id in due:
            with self.db.writer() as session:
                ticket = lock_ticket(session, ticket_id)
                if ticket is not None and ticket.status != Status.CLOSED.value:
                    written += len(alert(session, ticket, now))
        return written

    def _follow(self, now: datetime) -> bool:
        """Recompute the tickets of the next batch of events; False once at the end. A first
        run computes every open ticket and starts at the end of the stream."""
        with self.db.writer() as session:
            cursor = session.get(Cursor, CURSOR)
            if cursor is None:
                last = session.scalar(select(func.max(TicketEvent.seq)))
                recompute_all(session, now)
                session.add(Cursor(name=CURSOR, seq=-1 if last is None else int(last)))
                return False
            rows = session.execute(
                select(TicketEvent.seq, TicketEvent.ticket_id)
                .where(TicketEvent.seq > cursor.seq)
                .order_by(TicketEvent.seq)
                .limit(self.batch)
            ).all()
            for ticket_id in dict.fromkeys(t for _, t in rows):
                ticket = session.get(Ticket, ticket_id)
                if ticket is not None:
                    project(session, ticket, now)
            if rows:
                cursor.seq = rows[-1][0]
            return len(rows) == self.batch


def due_instant(text: str) -> datetime | None:
    return None if text == NEVER else parse_time(text)
