"""SLA timers derived from a ticket's events, in business time.

A target's clock runs while its condition holds and the ticket is not waiting on the customer
(``pending``) or parked (``on_hold``):

- **first response**: from creation until the first public reply by staff;
- **next response**: from each customer message that follows a staff reply until the next public
  staff reply;
- **resolution**: from creation until the ticket is solved (reopening starts it again, with the
  time already spent);
- **periodic update**: from creation, and again from each public staff reply, until the next
  one — the customer hears from us at least this often while the ticket is open; each staff
  reply starts a new count.

Only business time counts (:class:`~proofdesk.sla.calendar.BusinessCalendar`). Everything is a
pure function of the events, so rebuilding projections recomputes the timers exactly;
``tests/unit/test_sla_timers.py`` checks them against a minute-by-minute simulation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from proofdesk.canonical import parse_time
from proofdesk.domain.tickets import imported_marker
from proofdesk.sla.calendar import BusinessCalendar

#: ``due_at`` of a ticket with no running target: sorts after every real instant.
NEVER = "9999-12-31T23:59:59.999999Z"

PAUSED = frozenset({"pending", "on_hold"})
TARGETS = ("first_response", "next_response", "resolution", "periodic_update")
STOPPED = frozenset({"solved", "closed"})


@dataclass(frozen=True)
class SlaEvent:
    """What the timers need of a ticket event."""

    at: datetime
    #: ``created``, ``staff_reply`` (public), ``customer_reply`` or ``status``.
    kind: str
    status: str | None = None


@dataclass(frozen=True)
class Policy:
    first_response_minutes: int | None = None
    next_response_minutes: int | None = None
    resolution_minutes: int | None = None
    periodic_update_minutes: int | None = None
    warn_before_minutes: int = 30


@dataclass(frozen=True)
class Timer:
    target: str
    #: ``running``, ``paused``, ``met``, ``breached`` (still open past its target) or
    #: ``met_late`` (met after the breach).
    state: str
    elapsed_seconds: float
    target_seconds: float
    breached_at: datetime | None
    due_at: datetime | None
    warn_at: datetime | None


class Clock:
    """Whether one target's clock runs, event after event (the rules in the module doc)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.status = "new"
        self.waiting = False  # the condition that starts the clock holds
        self.met = False
        self.replied_once = False

    @property
    def running(self) -> bool:
        return self.waiting and self.status not in PAUSED and self.status not in STOPPED

    @property
    def stopped_for_good(self) -> bool:
        return self.met and not self.waiting

    def apply(self, event: SlaEvent) -> None:
        target = self.target
        if event.kind == "created":
            self.waiting = target in ("first_response", "resolution", "periodic_update")
        elif event.kind == "staff_reply":
            if target == "first_response" and self.waiting:
                self.waiting, self.met = False, True
            if target == "next_response":
                self.waiting = False
            self.replied_once = True
        elif event.kind == "customer_reply" and target == "next_response" and self.replied_once:
            self.waiting = True
        if event.status is not None:
            self.status = event.status
            if target == "resolution":
                self.waiting = event.status not in STOPPED
                self.met = event.status in STOPPED


def _intervals(
    events: Sequence[SlaEvent], target: str, now: datetime
) -> tuple[list[tuple[datetime, datetime]], bool, bool]:
    """The spans when this target's clock ran, whether it is running at ``now``, whether it
    was stopped (met) for good."""
    spans: list[tuple[datetime, datetime]] = []
    clock = Clock(target)
    started: datetime | None = None
    for event in sorted(events, key=lambda e: e.at):
        before = clock.running
        clock.apply(event)
        after = clock.running
        if before and not after and started is not None:
            spans.append((started, event.at))
            started = None
        elif after and not before:
            started = event.at
    if started is not None and started < now:
        spans.append((started, now))
    return spans, started is not None, clock.stopped_for_good


def _current_cycle(
    events: Sequence[SlaEvent], spans: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """For the periodic update: only the time since the last public staff reply counts."""
    replies = [e.at for e in events if e.kind == "staff_reply"]
    if not replies:
        return spans
    last = max(replies)
    return [(max(lo, last), hi) for lo, hi in spans if hi > last]


def timer(
    calendar: BusinessCalendar,
    policy: Policy,
    events: Sequence[SlaEvent],
    target: str,
    now: datetime,
) -> Timer | None:
    """The state of one target (``first_response``, ``next_response`` or ``resolution``) at
    ``now``; None when the policy sets no such target."""
    minutes = getattr(policy, f"{target}_minutes")
    if minutes is None:
        return None
    goal = minutes * 60.0
    seen = [e for e in events if e.at <= now]
    spans, running, met = _intervals(seen, target, now)
    if target == "periodic_update":
        spans = _current_cycle(seen, spans)
    elapsed = 0.0
    breached_at: datetime | None = None
    for start, end in spans:
        span = calendar.business_seconds(start, end)
        if breached_at is None and elapsed + span >= goal:
            breached_at = calendar.add(start, goal - elapsed)
        elapsed += span
    if breached_at is not None and not running and elapsed == goal:
        breached_at = None  # stopped exactly on target: met, not late
    due_at = warn_at = None
    if running and breached_at is None:
        left = goal - elapsed
        due_at = calendar.add(now, left)
        warn = max(0.0, left - policy.warn_before_minutes * 60.0)
        warn_at = calendar.add(now, warn)
    if met:
        state = "met_late" if breached_at is not None else "met"
    elif breached_at is not None:
        state = "breached"
    else:
        state = "running" if running else "paused"
    return Timer(target, state, elapsed, goal, breached_at, due_at, warn_at)


def timers(
    calendar: BusinessCalendar, policy: Policy, events: Sequence[SlaEvent], now: datetime
) -> list[Timer]:
    found = [timer(calendar, policy, events, target, now) for target in TARGETS]
    return [t for t in found if t is not None]


def time_to_breach(found: Sequence[Timer], now: datetime) -> timedelta | None:
    """How long until the first running target breaches (for sorting a queue)."""
    dues = [t.due_at for t in found if t.state == "running" and t.due_at is not None]
    return min(dues) - now if dues else None


STAFF_ROLES = frozenset({"agent", "supervisor", "admin"})


def sla_events(
    rows: Sequence[tuple[str, str, str | None, dict[str, object]]], requester_id: str
) -> list[SlaEvent]:
    """What the timers need of a ticket's stored events, given as ``(type, occurred_at,
    actor_id, payload)`` (payload fields the timers read are never sealed). Automatic replies
    are not responses: the promise is about a person."""
    out: list[SlaEvent] = []
    for kind, occurred_at, _actor, payload in rows:
        # Imported history counts as happening when it was imported: the clocks of a ticket
        # still open at the switch start then, so no alert falls due for the other desk's past.
        marker = imported_marker(dict(payload))
        at = parse_time(str(marker["at"]) if marker is not None else occurred_at)
        status = payload.get("status")
        if kind == "ticket.created":
            out.append(SlaEvent(at, "created", str(status)))
            continue
        if kind == "message.added":
            role = payload.get("author_role")
            if payload.get("author_id") == requester_id or role == "customer":
                out.append(SlaEvent(at, "customer_reply"))
            elif role in STAFF_ROLES and payload.get("visibility") == "public":
                out.append(SlaEvent(at, "staff_reply"))
            if status is not None:
                out.append(SlaEvent(at, "status", str(status)))
        elif kind == "status.changed":
            out.append(SlaEvent(at, "status", str(payload.get("to"))))
        elif kind == "ticket.merged":
            out.append(SlaEvent(at, "status", "closed"))
    return out
