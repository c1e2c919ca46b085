"""The help desk's numbers, computed in one place for the dashboard and the API
(``/api/v1/analytics/helpdesk``): ticket volume by day, channel and kind; first response and
resolution times (median and 90th percentile); resolution within SLA; satisfaction (CSAT);
backlog; and a table per agent — over a date range, optionally for one team.

Everything comes from the ticket projection (``tickets``), its ratings, and the SLA events of
the stream; times are the events' own (UTC).

- Volume: tickets *created* in the range, per UTC day.
- First response: from creation to the first public reply by a person (automatic replies do
  not count), for tickets created in the range that got one.
- Resolution: from creation to the (last) solve, for tickets solved in the range.
- Within SLA: of the tickets solved in the range that had an SLA policy, the share without any
  ``sla.breached`` event.
- CSAT: ratings given in the range; satisfied = 4 or 5.
- Backlog: unsolved tickets now, by status; and per day, tickets created minus tickets solved.
- By channel: first response and resolution times again, split by the ticket's channel (where
  the request came in).
- Agents: per assignee, tickets solved in the range, their median first response and CSAT.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from proofdesk.canonical import format_time, stored_utc
from proofdesk.domain.tickets import UNSOLVED, EventType
from proofdesk.errors import InvalidInput
from proofdesk.sla.policies import matches
from proofdesk.store.models import SlaPolicy, Ticket, TicketEvent, TicketSla, User

#: The longest range a report covers, and the most tickets it reads.
MAX_DAYS = 366
MAX_TICKETS = 200_000


@dataclass(frozen=True)
class Range:
    since: datetime
    until: datetime
    team_id: str | None = None

    def __post_init__(self) -> None:
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise InvalidInput("from and to carry a time zone (…Z)", field="from")
        if self.since >= self.until:
            raise InvalidInput("from must be before to", field="from")
        if self.until - self.since > timedelta(days=MAX_DAYS):
            raise InvalidInput(f"a report covers at most {MAX_DAYS} days", field="from")

    @property
    def days(self) -> list[date]:
        first, last = self.since.date(), (self.until - timedelta(microseconds=1)).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _minutes(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


def _spread(values: list[float]) -> dict[str, Any]:
    """Count, median and 90th percentile (nearest rank), rounded to the minute's tenth."""
    if not values:
        return {"count": 0, "median": None, "p90": None}
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, max(0, -(-9 * len(ordered) // 10) - 1))]
    return {
        "count": len(ordered),
        "median": round(statistics.median(ordered), 1),
        "p90": round(p90, 1),
    }


def csat(ratings: list[int]) -> dict[str, Any]:
    """Responses, the share satisfied (4 or 5) and the mean of 1-5 ratings."""
    return {
        "responses": len(ratings),
        "satisfied_rate": round(sum(r >= 4 for r in ratings) / len(ratings), 4)
        if ratings
        else None,
        "mean": round(sum(ratings) / len(ratings), 2) if ratings else None,
    }


def report(session: Session, organization_id: str, window: Range) -> dict[str, Any]:
    since, until = format_time(stored_utc(window.since)), format_time(stored_utc(window.until))
    scope = [Ticket.organization_id == organization_id, Ticket.merged_into_id.is_(None)]
    if window.team_id is not None:
        scope.append(Ticket.team_id == window.team_id)
    rows = session.execute(
        select(
            Ticket.id,
            Ticket.channel,
            Ticket.kind,
            Ticket.status,
            Ticket.assignee_id,
            Ticket.created_at,
            Ticket.first_response_at,
            Ticket.solved_at,
            Ticket.rating,
            Ticket.rated_at,
        )
        .where(
            *scope,
            or_(
                and_(Ticket.created_at >= since, Ticket.created_at < until),
                and_(Ticket.solved_at >= since, Ticket.solved_at < until),
                and_(Ticket.rated_at >= since, Ticket.rated_at < until),
            ),
        )
        .limit(MAX_TICKETS)
    ).all()
    days = [d.isoformat() for d in window.days]
    by_channel: dict[str, Counter[str]] = defaultdict(Counter)
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    created_per_day: Counter[str] = Counter()
    solved_per_day: Counter[str] = Counter()
    first_response: list[float] = []
    resolution: list[float] = []
    channel_first: dict[str, list[float]] = defaultdict(list)
    channel_resolution: dict[str, list[float]] = defaultdict(list)
    ratings: list[int] = []
    solved_ids: list[str] = []
    agent_solved: Counter[str] = Counter()
    agent_first: dict[str, list[float]] = defaultdict(list)
    agent_ratings: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        created = _moment(row.created_at)
        assert created is not None
        if since <= row.created_at < until:
            day = created.date().isoformat()
            created_per_day[day] += 1
            by_channel[row.channel][day] += 1
            by_kind[row.kind][day] += 1
            responded = _moment(row.first_response_at)
            if responded is not None:
                first_response.append(_minutes(created, responded))
                channel_first[row.channel].append(_minutes(created, responded))
                if row.assignee_id:
                    agent_first[row.assignee_id].append(_minutes(created, responded))
        solved = _moment(row.solved_at)
        if solved is not None and since <= row.solved_at < until:
            solved_per_day[solved.date().isoformat()] += 1
            resolution.append(_minutes(created, solved))
            channel_resolution[row.channel].append(_minutes(created, solved))
            solved_ids.append(row.id)
            if row.assignee_id:
                agent_solved[row.assignee_id] += 1
        if row.rating is not None and row.rated_at and since <= row.rated_at < until:
            ratings.append(row.rating)
            if row.assignee_id:
                agent_ratings[row.assignee_id].append(row.rating)
    within = _within_sla(session, organization_id, solved_ids)
    backlog = dict(
        session.execute(
            select(Ticket.status, func.count())
            .where(*scope, Ticket.status.in_([s.value for s in UNSOLVED]))
            .group_by(Ticket.status)
        ).all()
    )
    people = set(agent_solved) | set(agent_first) | set(agent_ratings)
    names = (
        dict(session.execute(select(User.id, User.display_name).where(User.id.in_(people))).all())
        if people
        else {}
    )
    agents = sorted(
        (
            {
                "agent_id": person,
                "name": names.get(person, person),
                "solved": agent_solved[person],
                "first_response_minutes": _spread(agent_first[person])["median"],
                "csat": csat(agent_ratings[person]),
            }
            for person in people
        ),
        key=lambda a: (-a["solved"], a["name"]),
    )
    return {
        "from": since,
        "to": until,
        "team_id": window.team_id,
        "days": days,
        "volume": {
            "total": sum(created_per_day.values()),
            "by_channel": {c: [n[d] for d in days] for c, n in sorted(by_channel.items())},
            "by_kind": {k: [n[d] for d in days] for k, n in sorted(by_kind.items())},
        },
        "first_response_minutes": _spread(first_response),
        "resolution_minutes": _spread(resolution),
        "by_channel": {
            c: {
                "first_response_minutes": _spread(channel_first[c]),
                "resolution_minutes": _spread(channel_resolution[c]),
            }
            for c in sorted(set(channel_first) | set(channel_resolution) | set(by_channel))
        },
        "within_sla": within,
        "csat": csat(ratings),
        "backlog": {
            "now": {s.value: int(backlog.get(s.value, 0)) for s in UNSOLVED},
            "net_per_day": [created_per_day[d] - solved_per_day[d] for d in days],
        },
        "agents": agents,
    }


def _within_sla(session: Session, organization_id: str, solved: list[str]) -> dict[str, Any]:
    """Of the solved tickets that had an SLA policy, the share without a breach. A ticket had
    one if it has SLA timers or alerts, or if a policy covers it (its kind, priority and
    customer's tier): a ticket solved in time leaves neither timers nor alerts behind."""
    with_policy: set[str] = set()
    breached: set[str] = set()
    policies = session.scalars(
        select(SlaPolicy).where(SlaPolicy.organization_id == organization_id)
    ).all()
    for start in range(0, len(solved), 500):
        chunk = solved[start : start + 500]
        if policies:
            covered = session.execute(
                select(Ticket.id, Ticket.kind, Ticket.priority, User.tier)
                .join(User, User.id == Ticket.requester_id)
                .where(Ticket.id.in_(chunk))
            ).all()
            with_policy |= {
                t.id
                for t in covered
                if any(matches(p, t.kind, t.priority, t.tier or "standard") for p in policies)
            }
        with_policy |= set(
            session.scalars(select(TicketSla.ticket_id).where(TicketSla.ticket_id.in_(chunk)))
        )
        for ticket_id, kind in session.execute(
            select(TicketEvent.ticket_id, TicketEvent.type).where(
                TicketEvent.ticket_id.in_(chunk),
                TicketEvent.type.in_([EventType.SLA_WARNING.value, EventType.SLA_BREACHED.value]),
            )
        ):
            with_policy.add(ticket_id)
            if kind == EventType.SLA_BREACHED.value:
                breached.add(ticket_id)
    counted = len(with_policy)
    return {
        "tickets": counted,
        "within": counted - len(breached & with_policy),
        "rate": round((counted - len(breached & with_policy)) / counted, 4) if counted else None,
    }


#: The tables a dashboard chart is drawn from, each exportable as CSV.
CHARTS = (
    "volume_by_channel",
    "volume_by_kind",
    "backlog",
    "agents",
    "summary",
    "times_by_channel",
)


def table(data: dict[str, Any], chart: str) -> list[list[Any]]:
    """One chart's data as rows (the first is the header), for CSV export."""
    days = data["days"]
    if chart in ("volume_by_channel", "volume_by_kind"):
        series = data["volume"]["by_channel" if chart == "volume_by_channel" else "by_kind"]
        names = list(series)
        return [["day", *names], *([d, *(series[n][i] for n in names)] for i, d in enumerate(days))]
    if chart == "backlog":
        return [
            ["day", "created minus solved"],
            *(list(r) for r in zip(days, data["backlog"]["net_per_day"], strict=True)),
        ]
    if chart == "agents":
        return [
            ["agent", "solved", "median first response (min)", "CSAT responses", "CSAT satisfied"],
            *(
                [
                    a["name"],
                    a["solved"],
                    a["first_response_minutes"],
                    a["csat"]["responses"],
                    a["csat"]["satisfied_rate"],
                ]
                for a in data["agents"]
            ),
        ]
    if chart == "times_by_channel":
        return [
            [
                "channel",
                "first response median (min)",
                "first response p90 (min)",
                "resolution median (min)",
                "resolution p90 (min)",
            ],
            *(
                [
                    name,
                    t["first_response_minutes"]["median"],
                    t["first_response_minutes"]["p90"],
                    t["resolution_minutes"]["median"],
                    t["resolution_minutes"]["p90"],
                ]
                for name, t in data["by_channel"].items()
            ),
        ]
    if chart == "summary":
        fr, rs = data["first_response_minutes"], data["resolution_minutes"]
        return [
            ["measure", "value"],
            ["tickets created", data["volume"]["total"]],
            ["first response median (min)", fr["median"]],
            ["first response p90 (min)", fr["p90"]],
            ["resolution median (min)", rs["median"]],
            ["resolution p90 (min)", rs["p90"]],
            ["resolved within SLA", data["within_sla"]["rate"]],
            ["CSAT satisfied", data["csat"]["satisfied_rate"]],
            ["CSAT responses", data["csat"]["responses"]],
            *([f"backlog {s}", n] for s, n in data["backlog"]["now"].items()),
        ]
    raise InvalidInput(f"chart is one of {', '.join(CHARTS)}", field="chart")
