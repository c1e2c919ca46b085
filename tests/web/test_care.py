"""Customer care in the console over HTTP: canned replies (the macros page, variables, who
sees which macro, "Insert" in the side panel), SLA triage, and the acknowledgement a new
request gets. The browser journeys are in test_care_browser.py."""

from __future__ import annotations

import html
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proofdesk.actions.tickets import NewTicket, do_create_ticket
from proofdesk.canonical import utc_now
from proofdesk.domain.tickets import Kind
from proofdesk.store.db import Database
from proofdesk.workers.sla import SlaWorker
from tests.support.tenants import Tenant, actor_of, make_tenant, new_ticket
from tests.support.web import PASSWORD, csrf_of, sign_in


@pytest.fixture
def shop(db: Database) -> Tenant:
    return make_tenant(db, password=PASSWORD)


def _macro_ids(page: str) -> list[str]:
    return re.findall(r'href="/agent/macros/(\d+)"', page)


def test_an_agent_keeps_personal_canned_replies_with_variables(
    client: TestClient, shop: Tenant
) -> None:
    agent = sign_in(client, shop.slug, shop.agent.email)
    page = agent.get("/agent/macros")
    assert page.status_code == 200 and "{{customer.name}}" in page.text
    token = csrf_of(page.text)
    made = agent.post(
        "/agent/macros",
        data={
            "csrf_token": token,
            "name": "greet",
            "title_en": "Greeting",
            "title_zh": "问候",
            "body_en": "Hello {{customer.name}}, about #{{ticket.number}}: {{agent.name}} here.",
            "body_zh": "{{customer.name}}您好，工单 #{{ticket.number}}。",
            "scope": "personal",
        },
    )
    assert made.status_code == 303, made.text
    listed = agent.get("/agent/macros").text
    assert "Greeting" in listed and "only me" in listed
    (macro_id,) = _macro_ids(listed)

    # Personal: the other agent sees it neither on the page nor through the API.
    assert "greet" not in client.get("/api/v1/macros", headers=shop.agent2.headers).text
    assert "greet" in client.get("/api/v1/macros", headers=shop.agent.headers).text
    assert (
        client.post(
            f"/api/v1/tickets/{new_ticket(client, shop.customer)['id']}/macros/{macro_id}",
            headers=shop.agent2.headers,
        ).status_code
        == 404
    )

    # Inserted into a ticket: the side panel offers it filled in for this ticket.
    ticket = new_ticket(client, shop.customer, subject="Where is my deposit?")
    side = agent.get(f"/agent/tickets/{ticket['id']}/side").text
    inserted = html.unescape(re.findall(r'data-insert="([^"]*)"', side)[-1])
    assert inserted == f"Hello customer, about #{ticket['number']}: agent here."

    # A Chinese ticket gets the Chinese reply, whatever the account's language.
    chinese = new_ticket(client, shop.customer, subject="充值没有到账", body="我的充值还没到")
    side = agent.get(f"/agent/tickets/{chinese['id']}/side").text
    assert f"customer您好，工单 #{chinese['number']}。" in html.unescape(side)

    # Edited, then deleted.
    edited = agent.post(
        f"/agent/macros/{macro_id}",
        data={
            "csrf_token": token,
            "name": "greet",
            "title_en": "Hello",
            "body_en": "Hi {{customer.name}}",
            "scope": "personal",
        },
    )
    assert edited.status_code == 303
    assert "Hi customer" in html.unescape(agent.get(f"/agent/tickets/{ticket['id']}/side").text)
    gone = agent.post(f"/agent/macros/{macro_id}/delete", data={"csrf_token": token})
    assert gone.status_code == 303
    assert _macro_ids(agent.get("/agent/macros").text) == []


def test_canned_replies_refuse_what_they_cannot_keep(client: TestClient, shop: Tenant) -> None:
    agent = sign_in(client, shop.slug, shop.agent.email)
    token = csrf_of(agent.get("/agent/macros").text)
    base = {"csrf_token": token, "name": "x", "title_en": "X", "body_en": "Hi"}
    unknown = agent.post("/agent/macros", data={**base, "body_en": "{{customer.password}}"})
    assert unknown.status_code == 422 and "customer.password" in unknown.text
    shared = agent.post("/agent/macros", data={**base, "scope": "all"})
    assert shared.status_code == 403  # an agent keeps personal macros; managers share them
    nowhere = agent.post("/agent/macros", data={**base, "scope": "moon"})
    assert nowhere.status_code == 422
    assert _macro_ids(agent.get("/agent/macros").text) == []


def test_a_team_macro_reaches_only_that_team(client: TestClient, shop: Tenant) -> None:
    made = client.post(
        "/api/v1/macros",
        json={
            "name": "team-hello",
            "title": {"en": "Team hello", "zh-CN": "团队问候"},
            "actions": [{"type": "reply", "body": {"en": "Hi {{customer.name}}", "zh-CN": "你好"}}],
            "team_id": shop.team_id,
        },
        headers=shop.supervisor.headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["team_id"] == shop.team_id
    other = make_tenant(client.app.state.services.db)  # type: ignore[attr-defined]
    foreign = client.post(
        "/api/v1/macros",
        json={
            "name": "t2",
            "title": {"en": "T", "zh-CN": "T"},
            "actions": [{"type": "close"}],
            "team_id": other.team_id,
        },
        headers=shop.supervisor.headers,
    )
    assert foreign.status_code == 422  # another organization's team
    assert "team-hello" in client.get("/api/v1/macros", headers=shop.agent.headers).text
    assert "team-hello" in client.get("/api/v1/macros", headers=shop.admin.headers).text
    with client.app.state.services.db.writer() as session:  # type: ignore[attr-defined]
        from proofdesk.store.models import TeamMember

        session.query(TeamMember).filter_by(user_id=shop.agent2.user_id).delete()
    assert "team-hello" not in client.get("/api/v1/macros", headers=shop.agent2.headers).text


def _ticket_at(db: Database, tenant: Tenant, at: datetime, kind: Kind, subject: str) -> str:
    with db.writer() as session:
        return do_create_ticket(
            session,
            actor_of(tenant.customer, tenant),
            NewTicket(kind=kind, subject=subject, body="Please help"),
            at=at,
        ).id


def _policy(client: TestClient, tenant: Tenant, **fields: Any) -> None:
    body = {"name": f"p-{uuid.uuid4().hex[:6]}", **fields}
    made = client.post("/api/v1/sla/policies", json=body, headers=tenant.admin.headers)
    assert made.status_code == 201, made.text


def test_the_sla_view_holds_only_tickets_at_risk_and_marks_the_overdue(
    client: TestClient, db: Database, shop: Tenant
) -> None:
    _policy(client, shop, kinds=["complaint"], first_response_minutes=60, warn_before_minutes=45)
    _policy(client, shop, kinds=["question"], first_response_minutes=600, warn_before_minutes=30)
    now = utc_now()
    at_risk = _ticket_at(db, shop, now - timedelta(minutes=20), Kind.COMPLAINT, "risky one")
    overdue = _ticket_at(db, shop, now - timedelta(hours=2), Kind.COMPLAINT, "late one")
    _ticket_at(db, shop, now - timedelta(hours=2), Kind.QUESTION, "calm one")
    SlaWorker(db, 1.0).step()

    agent = sign_in(client, shop.slug, shop.agent.email)
    page = agent.get("/agent?view=sla").text
    counts = dict(re.findall(r"view=(\w+)[^>]*>[^<]*<span class=\"count\">(\d+)</span>", page))
    assert counts["sla"] == "2" and counts["all"] == "3"
    assert "risky one" in page and "late one" in page and "calm one" not in page
    rows = dict(re.findall(r'<tr class="sla-([\w-]+)">.*?/agent/tickets/([\w-]+)"', page, re.S))
    assert rows == {"overdue": overdue, "at-risk": at_risk}
    everything = agent.get("/agent?view=all").text
    assert everything.count('class="sla-overdue"') == 1 and "calm one" in everything


def test_the_queue_marks_tickets_unread_until_the_agent_opens_them(
    client: TestClient, shop: Tenant
) -> None:
    ticket = new_ticket(client, shop.customer, subject="Unread one")
    agent = sign_in(client, shop.slug, shop.agent.email)

    def marked() -> bool:
        page = agent.get("/agent?view=all").text
        row = re.search(rf'<tr[^>]*>(?:(?!</tr>).)*/agent/tickets/{ticket["id"]}"', page, re.S)
        assert row is not None
        return 'class="unread"' in row.group(0)

    assert marked()
    assert agent.get(f"/agent/tickets/{ticket['id']}").status_code == 200
    assert not marked()
    replied = client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "One more thing."},
        headers=shop.customer.headers,
    )
    assert replied.status_code in (200, 201), replied.text
    assert marked()  # changed since the agent read it
    other = sign_in(client, shop.slug, shop.agent.email)
    assert other.get(f"/agent/tickets/{ticket['id']}").status_code == 200
    assert not marked()  # the same agent, in another browser
