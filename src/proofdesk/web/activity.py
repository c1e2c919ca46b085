"""Who did what, in a ticket's timeline: an activity line for every event that is not a
message (status, assignment, priority and other fields, tags, merges, erasure, decisions,
payouts, SLA alerts, ratings, filings on chain — and the status a reply moved), each with the
actor's name; and the names on messages — staff see a colleague's full name, customers the
agent's alias (``users.agent_alias``, else the first word of their name), never one "Support"
for everyone. The lines' sentences are in ``templates/_activity.html``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.access import Actor, ticket_events
from proofdesk.domain import networks
from proofdesk.domain.roles import Role, public_name
from proofdesk.domain.tickets import EventType
from proofdesk.errors import InvalidInput
from proofdesk.store.models import Message, Team, Ticket, TicketEvent, User


@dataclass(frozen=True)
class Activity:
    """One line: the event's type, who (a name, or None for the system), when, and what the
    line's sentence needs (status values, names, tags…)."""

    type: str
    actor: str | None
    at: str
    seq: int
    ticket_seq: int
    data: dict[str, Any] = field(default_factory=dict)


def alias(user: User) -> str:
    """The name customers see on a staff member's replies."""
    return public_name(user.display_name, user.agent_alias)


def _people(session: Session, organization_id: str, ids: Iterable[str | None]) -> dict[str, User]:
    wanted = {i for i in ids if i and i != "automation"}
    if not wanted:
        return {}
    return {
        u.id: u
        for u in session.scalars(
            select(User).where(User.organization_id == organization_id, User.id.in_(wanted))
        )
    }


def author_names(session: Session, actor: Actor, messages: Sequence[Message]) -> dict[str, str]:
    """A name for each message's author: full names for staff readers, aliases of staff for
    customers (a customer's own messages are labelled by the template)."""
    people = _people(session, actor.organization_id, (m.author_id for m in messages))
    names: dict[str, str] = {}
    for user_id, user in people.items():
        if actor.is_customer:
            if user.role != Role.CUSTOMER.value:
                names[user_id] = alias(user)
        else:
            names[user_id] = user.display_name
    return names


def _line(
    event: TicketEvent, people: dict[str, User], tickets: dict[str, int], teams: dict[str, str]
) -> Activity | None:
    payload: dict[str, Any] = json.loads(event.payload)
    kind = event.type
    user = people.get(event.actor_id or "")
    who = user.display_name if user is not None else None
    data: dict[str, Any] = {}
    if kind == EventType.MESSAGE_ADDED.value:
        if "status" not in payload:
            return None  # the message itself is in the timeline
        kind, data = "reply.status", {"to": payload["status"]}
    elif kind == EventType.STATUS_CHANGED.value:
        data = {"from": payload.get("from"), "to": payload.get("to")}
    elif kind == EventType.ASSIGNED.value:
        assignee = people.get(payload.get("assignee_id") or "")
        data = {
            "assignee": assignee.display_name if assignee is not None else None,
            "team": teams.get(payload.get("team_id") or ""),
        }
    elif kind == EventType.FIELDS_CHANGED.value:
        changes = payload.get("changes", {})
        data = {
            "changes": [
                (name, _field_value(name, change.get("to")))
                for name, change in sorted(changes.items())
            ]
        }
    elif kind == EventType.TAGS_CHANGED.value:
        data = {"added": payload.get("added", []), "removed": payload.get("removed", [])}
    elif kind == EventType.MERGED.value:
        data = {"number": tickets.get(payload.get("into_ticket_id", ""))}
    elif kind == EventType.MERGE_RECEIVED.value:
        data = {"number": tickets.get(payload.get("from_ticket_id", ""))}
    elif kind == EventType.DECIDED.value:
        data = {"contract": payload.get("contract"), "outcome": payload.get("outcome")}
    elif kind == EventType.PAYOUT.value:
        data = {"status": payload.get("status"), "amount": payload.get("amount")}
    elif kind in (EventType.SLA_WARNING.value, EventType.SLA_BREACHED.value):
        data = {"target": payload.get("target"), "policy": payload.get("policy")}
    elif kind == EventType.RATED.value:
        data = {"score": payload.get("score")}
    by = payload.get("by")
    if isinstance(by, dict) and who is None:
        data["by"] = ", ".join(f"{k} {v}" for k, v in sorted(by.items()))
    return Activity(kind, who, event.occurred_at, event.seq, event.ticket_seq, data)


def _field_value(name: str, value: Any) -> Any:
    if name == "network" and isinstance(value, str):
        try:
            return networks.network(value).name
        except InvalidInput:
            return value
    return value


def activity(session: Session, actor: Actor, ticket: Ticket, *, after: int = 0) -> list[Activity]:
    """The ticket's activity lines after its ``ticket_seq`` ``after`` (staff only; a
    customer gets none)."""
    if actor.is_customer:
        return []
    events = list(session.scalars(ticket_events(actor, ticket.id, after=after)))
    payloads = [json.loads(e.payload) for e in events]
    people = _people(
        session,
        actor.organization_id,
        [e.actor_id for e in events] + [p.get("assignee_id") for p in payloads],
    )
    linked = {p.get("into_ticket_id") for p in payloads} | {
        p.get("from_ticket_id") for p in payloads
    }
    linked.discard(None)
    tickets = (
        dict(
            session.execute(
                select(Ticket.id, Ticket.number).where(
                    Ticket.organization_id == actor.organization_id, Ticket.id.in_(linked)
                )
            ).all()
        )
        if linked
        else {}
    )
    teams = dict(
        session.execute(
            select(Team.id, Team.name).where(Team.organization_id == actor.organization_id)
        ).all()
    )
    lines = (_line(e, people, tickets, teams) for e in events)
    return [line for line in lines if line is not None]


def timeline_context(
    session: Session, actor: Actor, ticket: Ticket, messages: Sequence[Message]
) -> dict[str, Any]:
    """What ``_timeline.html`` needs beyond the messages: ``names`` (author id → name) and
    ``activity`` (a message's ``seq`` → the lines just before it; ``None`` → the lines after
    the last message)."""
    lines = activity(session, actor, ticket)
    by_message: dict[int | None, list[Activity]] = {}
    seqs = [m.seq for m in messages]
    for line in lines:
        following = next((s for s in seqs if s > line.seq), None)
        by_message.setdefault(following, []).append(line)
    return {"names": author_names(session, actor, messages), "activity": by_message}
