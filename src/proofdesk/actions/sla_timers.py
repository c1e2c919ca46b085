"""The database side of SLA policies: which stored policy a ticket falls under, the
``ticket_sla`` projection, and the warnings and breaches written into the event stream.

A ticket's SLA row is a function of its events, the customer's tier and the policies, so
recomputing it after ``proofdesk rebuild`` or a policy change gives the same rows. Alerts are
written by the ``sla`` actor, so a service contract can compensate a breach (``decideOn:
[sla_breached]``); a policy can also raise the ticket's priority on a breach.

The SLA worker reads a ticket (:func:`read`) outside the writer lock and hands the
:class:`Reading` to :func:`project` or :func:`do_alert` under it; they use it only while the
ticket, the customer's tier and the policies are as they were read, and read again otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from proofdesk.access import Actor
from proofdesk.actions import mail_out
from proofdesk.actions import tickets as ticket_actions
from proofdesk.canonical import format_time, utc_now
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import EventType, Priority
from proofdesk.i18n import N_, translate, when, written_in
from proofdesk.sla.policies import (
    OPEN,
    SLA_ACTOR_ID,
    StoredEvent,
    due_alerts,
    due_text,
    evaluate,
    matches,
    sla_row,
)
from proofdesk.sla.timers import Timer
from proofdesk.store.events import EventAppender, row_to_state
from proofdesk.store.models import Message, SlaPolicy, Ticket, TicketEvent, TicketSla, User


def sla_actor(organization_id: str) -> Actor:
    return Actor(SLA_ACTOR_ID, organization_id, Role.AUTOMATION)


def _policies(session: Session, ticket: Ticket) -> tuple[str, list[SlaPolicy]]:
    """The customer's tier and the organization's policies in the order they are tried."""
    customer = session.get(User, ticket.requester_id)
    tier = (customer.tier if customer else None) or "standard"
    policies = session.scalars(
        select(SlaPolicy)
        .where(SlaPolicy.organization_id == ticket.organization_id)
        .order_by(SlaPolicy.position, SlaPolicy.id)
    ).all()
    return tier, list(policies)


def _match(ticket: Ticket, tier: str, policies: list[SlaPolicy]) -> SlaPolicy | None:
    return next((p for p in policies if matches(p, ticket.kind, ticket.priority, tier)), None)


def policy_for(session: Session, ticket: Ticket) -> SlaPolicy | None:
    return _match(ticket, *_policies(session, ticket))


def _events(session: Session, ticket_id: str) -> list[StoredEvent]:
    rows = session.execute(
        select(TicketEvent.type, TicketEvent.occurred_at, TicketEvent.actor_id, TicketEvent.payload)
        .where(TicketEvent.ticket_id == ticket_id)
        .order_by(TicketEvent.seq)
    ).all()
    return [(t, at, actor, json.loads(p)) for t, at, actor, p in rows]


def ticket_timers(
    session: Session, ticket: Ticket, now: datetime
) -> tuple[SlaPolicy | None, list[Timer], set[str]]:
    """The ticket's policy, its timers at ``now`` and the alert keys already in the stream."""
    policy = policy_for(session, ticket)
    found, alerted = evaluate(policy, _events(session, ticket.id), ticket.requester_id, now)
    return policy, found, alerted


@dataclass(frozen=True)
class Reading:
    """A ticket's SLA at ``now``, with what it was computed from (``basis``)."""

    ticket_id: str
    last_seq: int
    basis: tuple[Any, ...]
    now: datetime
    policy_id: int | None
    policy_name: str | None
    escalate_to: str | None
    found: list[Timer]
    alerted: frozenset[str]


def _basis(tier: str, policies: list[SlaPolicy]) -> tuple[Any, ...]:
    return (tier, tuple((p.id, p.position, str(p.updated_at)) for p in policies))


def read(session: Session, ticket: Ticket, now: datetime) -> Reading:
    """Everything :func:`project` and :func:`do_alert` need, read without a write lock."""
    tier, policies = _policies(session, ticket)
    policy = _match(ticket, tier, policies)
    found, alerted = evaluate(policy, _events(session, ticket.id), ticket.requester_id, now)
    return Reading(
        ticket_id=ticket.id,
        last_seq=ticket.last_seq,
        basis=_basis(tier, policies),
        now=now,
        policy_id=None if policy is None else policy.id,
        policy_name=None if policy is None else policy.name,
        escalate_to=None if policy is None else policy.escalate_to,
        found=found,
        alerted=frozenset(alerted),
    )


def _current(session: Session, ticket: Ticket, now: datetime, given: Reading | None) -> Reading:
    """``given`` while nothing it was read from has changed; a fresh reading otherwise."""
    if (
        given is not None
        and given.ticket_id == ticket.id
        and given.now == now
        and given.last_seq == ticket.last_seq
        and given.basis == _basis(*_policies(session, ticket))
    ):
        return given
    return read(session, ticket, now)


def _store(session: Session, ticket: Ticket, reading: Reading) -> TicketSla | None:
    row = session.get(TicketSla, ticket.id)
    if reading.policy_id is None or ticket.status not in OPEN:
        if row is not None:
            session.delete(row)
        return None
    values = sla_row(ticket.organization_id, reading.policy_id, reading.found, set(reading.alerted))
    if row is None:
        row = TicketSla(ticket_id=ticket.id, **values)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    return row


def project(
    session: Session, ticket: Ticket, now: datetime, reading: Reading | None = None
) -> TicketSla | None:
    """Recompute the ticket's SLA row; none for a ticket no policy covers or no longer open."""
    return _store(session, ticket, _current(session, ticket, now, reading))


def do_recompute_sla(session: Session, now: datetime, organization_id: str | None = None) -> int:
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


def do_alert(
    session: Session,
    ticket: Ticket,
    now: datetime,
    reading: Reading | None = None,
    *,
    notify: bool = True,
) -> list[str]:
    """Write the warnings and breaches that are due and not yet in the stream; escalate on a
    breach if the policy says so. Returns the keys written. Run under the writer lock with the
    ticket locked: the keys already written are then final. ``notify=False`` writes history
    (the demo's past) without e-mailing the assignee."""
    current = _current(session, ticket, now, reading)
    if current.policy_id is None or ticket.status not in OPEN:
        return []
    actor = sla_actor(ticket.organization_id)
    written: list[str] = []
    escalated = False
    for kind, t, key in due_alerts(current.found, set(current.alerted), now):
        EventAppender(session).append(
            row_to_state(ticket),
            ticket_id=ticket.id,
            organization_id=ticket.organization_id,
            type=kind,
            actor_id=actor.user_id,
            occurred_at=format_time(now),
            payload={
                "key": key,
                "policy_id": current.policy_id,
                "policy": current.policy_name,
                "target": t.target,
                "due_at": due_text(t),
            },
        )
        written.append(key)
        if kind is EventType.SLA_WARNING and notify:
            mail_out.do_notify(
                session, row_to_state(ticket), ticket.assignee_id, "sla_warning", target=t.target
            )
        by = {"policy": current.policy_name, "target": t.target}
        if kind is EventType.SLA_BREACHED and current.escalate_to:
            escalated |= _escalate(session, actor, ticket, current.escalate_to, by, now)
    if escalated:  # another priority may fall under another policy: compute it again
        project(session, ticket, now)
    else:
        _store(session, ticket, replace(current, alerted=current.alerted | set(written)))
    return written


#: What a new request's customer is told at once, from the policy's first-response target.
ACKNOWLEDGEMENT = N_(
    "We have received your request #{number}. You can expect a reply from us by {time}; "
    "you will see it here, and you can add details at any time."
)


def do_acknowledge(session: Session, ticket: Ticket, at: datetime | None) -> bool:
    """Tell the customer of a new request when to expect a first reply: a public message by
    the ``sla`` actor, in the language the request is written in, with the first-response
    target of the policy that covers it (nothing when none does). It does not open the ticket
    and is no response (automatic replies never are). Called by ``do_create_ticket`` in its
    transaction; ``at`` is the request's time for a history written after the fact."""
    now = at or utc_now()
    policy, found, _ = ticket_timers(session, ticket, now)
    first = next(
        (
            t
            for t in found
            if t.target == "first_response" and t.state == "running" and t.due_at is not None
        ),
        None,
    )
    if policy is None or first is None or first.due_at is None:
        return False
    customer = session.get(User, ticket.requester_id)
    opening = session.scalar(
        select(Message.body).where(Message.ticket_id == ticket.id).order_by(Message.seq).limit(1)
    )
    locale = written_in(
        f"{ticket.subject}\n{(opening or '')[:500]}", customer.locale if customer else "en"
    )
    calendar = json.loads(policy.calendar) if policy.calendar else None
    zone = calendar.get("timezone") if isinstance(calendar, dict) else None
    body = translate(
        locale, ACKNOWLEDGEMENT, number=ticket.number, time=when(first.due_at, locale, zone)
    )
    ticket_actions.do_add_message(
        session,
        sla_actor(ticket.organization_id),
        ticket,
        body=body,
        at=None if at is None else at + timedelta(microseconds=1),
        by={"policy": policy.name, "target": "first_response", "acknowledgement": True},
        opens=False,
    )
    return True


def _escalate(
    session: Session, actor: Actor, ticket: Ticket, to: str, by: dict[str, Any], now: datetime
) -> bool:
    """Raise the ticket's priority to ``to`` unless it is as high already, just after the
    breach written at ``now``."""
    order = [p.value for p in Priority]
    if order.index(to) <= order.index(ticket.priority):
        return False
    after = now + timedelta(microseconds=1)
    ticket_actions.do_update_fields(session, actor, ticket, {"priority": to}, by=by, at=after)
    return True
