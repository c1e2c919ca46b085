"""The help desk's numbers: a week of known tickets, and what the report must say of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from proofdesk.actions.tickets import (
    NewTicket,
    do_add_message,
    do_assign,
    do_change_status,
    do_create_ticket,
    do_rate,
)
from proofdesk.analytics import helpdesk as analytics
from proofdesk.domain.tickets import Channel, Kind, Status
from proofdesk.errors import InvalidInput
from proofdesk.store.db import Database
from proofdesk.store.models import Ticket
from tests.support.tenants import Tenant, actor_of

START = datetime(2026, 1, 1, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return START + timedelta(days=day - 1, hours=hour, minutes=minute)


@pytest.fixture
def week(db: Database, tenant: Tenant) -> Tenant:
    customer = actor_of(tenant.customer, tenant)
    agent, agent2 = actor_of(tenant.agent, tenant), actor_of(tenant.agent2, tenant)
    plans = [
        # created, channel, kind, first reply, solved, rating (score, when), assignee
        (at(1, 10), Channel.WEB, Kind.QUESTION, at(1, 10, 30), at(1, 12), (5, at(2, 8)), agent),
        (at(2, 9), Channel.CHAT, Kind.REFUND_REQUEST, at(2, 11), at(3, 9), (2, at(3, 10)), agent),
        (at(3, 9), Channel.API, Kind.QUESTION, None, None, None, None),
        (at(0, 10), Channel.WEB, Kind.COMPLAINT, None, at(4, 10), None, agent2),  # Dec 31
    ]
    with db.writer() as session:
        for created, channel, kind, replied, solved, rating, assignee in plans:
            spec = NewTicket(kind=kind, subject="s", body="b", channel=channel)
            state = do_create_ticket(session, customer, spec, at=created)
            ticket = session.get(Ticket, state.id)
            assert ticket is not None
            if assignee is not None:
                do_assign(
                    session, agent, ticket, assignee_id=assignee.user_id, team_id=None, at=created
                )
            if replied is not None:
                do_add_message(session, agent, ticket, body="on it", at=replied)
            if solved is not None:
                do_change_status(session, agent, ticket, Status.SOLVED, at=solved)
            if rating is not None:
                do_rate(session, customer, ticket, score=rating[0], at=rating[1])
    return tenant


def test_a_known_week(db: Database, week: Tenant) -> None:
    window = analytics.Range(START, START + timedelta(days=7))
    with db.reader() as session:
        data = analytics.report(session, week.org_id, window)
    assert data["days"][0] == "2026-01-01" and len(data["days"]) == 7
    assert data["volume"]["total"] == 3  # the one of Dec 31 is not this week's volume
    assert data["volume"]["by_channel"] == {
        "api": [0, 0, 1, 0, 0, 0, 0],
        "chat": [0, 1, 0, 0, 0, 0, 0],
        "web": [1, 0, 0, 0, 0, 0, 0],
    }
    assert data["volume"]["by_kind"]["question"] == [1, 0, 1, 0, 0, 0, 0]
    assert data["first_response_minutes"] == {"count": 2, "median": 75.0, "p90": 120.0}
    # 120 min, 1 day, 4 days: nearest-rank p90 of three is the largest.
    assert data["resolution_minutes"] == {"count": 3, "median": 1440.0, "p90": 5760.0}
    assert data["csat"] == {"responses": 2, "satisfied_rate": 0.5, "mean": 3.5}
    assert data["backlog"]["now"]["new"] == 1
    assert data["backlog"]["net_per_day"] == [0, 1, 0, -1, 0, 0, 0]
    assert data["within_sla"] == {"tickets": 0, "within": 0, "rate": None}
    agents = {a["name"]: a for a in data["agents"]}
    assert agents["agent"]["solved"] == 2 and agents["agent"]["first_response_minutes"] == 75.0
    assert agents["agent"]["csat"]["mean"] == 3.5
    assert agents["agent2"]["solved"] == 1
    rows = analytics.table(data, "volume_by_channel")
    assert rows[0] == ["day", "api", "chat", "web"] and rows[1] == ["2026-01-01", 0, 0, 1]
    assert analytics.table(data, "summary")[1] == ["tickets created", 3]
    with pytest.raises(InvalidInput):
        analytics.table(data, "pie")


def test_the_api_and_its_csv(client: TestClient, week: Tenant) -> None:
    params = {"from": "2026-01-01T00:00:00Z", "to": "2026-01-08T00:00:00Z"}
    r = client.get("/api/v1/analytics/helpdesk", params=params, headers=week.supervisor.headers)
    assert r.status_code == 200 and r.json()["volume"]["total"] == 3
    assert (
        client.get(
            "/api/v1/analytics/helpdesk", params=params, headers=week.agent.headers
        ).status_code
        == 403
    )
    csv = client.get(
        "/api/v1/analytics/helpdesk.csv",
        params={**params, "chart": "agents"},
        headers=week.supervisor.headers,
    )
    assert csv.status_code == 200 and csv.content.startswith("\ufeff".encode())
    assert csv.text.lstrip("\ufeff").splitlines()[0].startswith("agent,solved")
    for bad in (
        {"from": "2026-01-08T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"from": "2024-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"from": "2026-01-01T00:00:00", "to": "2026-01-08T00:00:00Z"},
        {**params, "team_id": "not-a-team"},
    ):
        refused = client.get(
            "/api/v1/analytics/helpdesk", params=bad, headers=week.supervisor.headers
        )
        assert refused.status_code == 422, bad
    nothing = client.get(
        "/api/v1/analytics/helpdesk",
        params={**params, "team_id": week.team_id},
        headers=week.supervisor.headers,
    )
    assert nothing.status_code == 200 and nothing.json()["volume"]["total"] == 0
