"""SLA policies, pure: their fields checked, which policy matches a ticket, the timers of a
ticket's events under a policy, the queue's due instants, and which warnings and breaches are
due. No database here: ``actions.sla_timers`` reads the rows and writes the projection and the
alerts, the SLA worker (``workers.sla``) runs it.

Warnings and breaches are events (``sla.warning``, ``sla.breached``) written once per target
and cycle: the key (:func:`alert_key`) names the target and its due instant.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from typing import Any, Protocol

from proofdesk.canonical import format_time, parse_time
from proofdesk.domain.tickets import UNSOLVED, EventType, Kind, Priority
from proofdesk.errors import InvalidInput
from proofdesk.sla.calendar import BusinessCalendar, Window
from proofdesk.sla.timers import NEVER, Policy, Timer, sla_events, timers

SLA_ACTOR_ID = "sla"
#: Statuses whose tickets have SLA timers that matter.
OPEN = frozenset(s.value for s in UNSOLVED)
#: A stored event as the timers read it: ``(type, occurred_at, actor_id, payload)``.
StoredEvent = tuple[str, str, str | None, dict[str, Any]]


class PolicyFields(Protocol):
    """What the SLA computations read of a stored policy (``store.models.SlaPolicy``)."""

    kinds: str | None
    priorities: str | None
    tiers: str | None
    first_response_minutes: int | None
    next_response_minutes: int | None
    periodic_update_minutes: int | None
    resolution_minutes: int | None
    warn_before_minutes: int
    calendar: str | None


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


def matches(policy: PolicyFields, kind: str, priority: str, tier: str) -> bool:
    for allowed, value in (
        (_listed(policy.kinds), kind),
        (_listed(policy.priorities), priority),
        (_listed(policy.tiers), tier),
    ):
        if allowed is not None and value not in allowed:
            return False
    return True


def targets_of(policy: PolicyFields) -> Policy:
    return Policy(
        first_response_minutes=policy.first_response_minutes,
        next_response_minutes=policy.next_response_minutes,
        resolution_minutes=policy.resolution_minutes,
        periodic_update_minutes=policy.periodic_update_minutes,
        warn_before_minutes=policy.warn_before_minutes,
    )


# -- timers and alerts -------------------------------------------------------------------------


def evaluate(
    policy: PolicyFields | None, rows: list[StoredEvent], requester_id: str, now: datetime
) -> tuple[list[Timer], set[str]]:
    """The timers at ``now`` of a ticket's events under ``policy`` (none without one), and
    the alert keys already among the events."""
    alerted = {
        str(p.get("key"))
        for t, _, _, p in rows
        if t in (EventType.SLA_WARNING.value, EventType.SLA_BREACHED.value)
    }
    if policy is None:
        return [], alerted
    calendar = parse_calendar(json.loads(policy.calendar) if policy.calendar else None)
    return timers(calendar, targets_of(policy), sla_events(rows, requester_id), now), alerted


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


def alerts_of(found: list[Timer]) -> list[tuple[EventType, Timer, datetime]]:
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


def alert_key(kind: EventType, t: Timer) -> str:
    """Names one alert of one target's cycle: the cycle's breach instant identifies it."""
    return f"{kind.value}:{t.target}:{due_text(t)}"


def due_alerts(
    found: list[Timer], alerted: set[str], now: datetime
) -> list[tuple[EventType, Timer, str]]:
    """The alerts due at ``now`` and not yet written, each with its key."""
    return [
        (kind, t, alert_key(kind, t))
        for kind, t, at in alerts_of(found)
        if at <= now and alert_key(kind, t) not in alerted
    ]


def next_alert(found: list[Timer], alerted: set[str]) -> str:
    pending = [at for kind, t, at in alerts_of(found) if alert_key(kind, t) not in alerted]
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


def due_text(t: Timer) -> str:
    due = t.breached_at if t.state == "breached" else t.due_at
    assert due is not None
    return format_time(due)


def sla_row(
    organization_id: str, policy_id: int, found: list[Timer], alerted: set[str]
) -> dict[str, Any]:
    """The ``ticket_sla`` row's values of an open ticket under a policy."""
    due, warn = due_of(found)
    return {
        "organization_id": organization_id,
        "policy_id": policy_id,
        "due_at": due,
        "warn_at": warn,
        "alert_at": next_alert(found, alerted),
        "timers": timer_json(found),
        "alerted": json.dumps(sorted(alerted)),
    }


def due_instant(text: str) -> datetime | None:
    return None if text == NEVER else parse_time(text)
