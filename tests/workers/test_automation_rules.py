"""Automation rules on events and on the clock, loops stopped, and agent macros."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from proofdesk.access import access_ticket
from proofdesk.actions.tickets import (
    NewTicket,
    do_change_status,
    do_create_ticket,
)
from proofdesk.app.services import Services
from proofdesk.domain.tickets import Kind, Status
from proofdesk.store.db import Database
from proofdesk.store.models import Cursor, TicketEvent
from proofdesk.workers.automation import CURSOR
from proofdesk.workers.cursors import stream_end
from tests.support.tenants import Tenant, actor_of, new_ticket

API = "/api/v1"


@pytest.fixture
def services(client: TestClient) -> Services:
    found: Services = client.app.state.services  # type: ignore[attr-defined]
    found.automation.cursor()
    # Start at the stream's end: events earlier tests wrote into the shared database are not
    # this test's, and more than a batch of them would hide its own from one step.
    with found.db.writer() as session:
        row = session.get(Cursor, CURSOR)
        assert row is not None
        row.seq = stream_end(session)
    return found


def activate(client: TestClient, tenant: Tenant, source: str) -> str:
    source = source.replace("NAME", f"r-{uuid.uuid4().hex[:8]}")
    published = client.post(
        f"{API}/contracts", json={"source": source}, headers=tenant.admin.headers
    )
    assert published.status_code == 201, published.text
    digest = str(published.json()["contract_hash"])
    client.post(f"{API}/contracts/{digest}/activate", headers=tenant.admin.headers)
    return digest


def events(client: TestClient, tenant: Tenant, tid: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get(
        f"{API}/tickets/{tid}/events", headers=tenant.agent.headers
    ).json()
    return found


TRIAGE = """
apiVersion: proofdesk/v1
kind: Automation
metadata: {name: NAME, version: 1, title: {en: Triage refunds, zh-CN: 退款分诊}}
spec:
  appliesTo: [question]
  triggers: [message]
  facts: {message.body: string, message.from_customer: bool}
  rules:
    - id: refund-words
      when: message.from_customer && message.body.matches("(?i)退款|refund")
      actions:
        - {type: add_tags, tags: [refund]}
        - {type: route_to_team, team: Tier 1}
"""


def test_a_rule_on_messages_tags_and_routes_attributed_to_itself(
    client: TestClient, tenant: Tenant, services: Services
) -> None:
    activate(client, tenant, TRIAGE)
    ticket = new_ticket(client, tenant.customer, subject="订单问题", body="我要退款，谢谢")
    services.automation.step()
    shown = client.get(f"{API}/tickets/{ticket['id']}", headers=tenant.agent.headers).json()
    assert shown["tags"] == ["refund"] and shown["team_id"] == tenant.team_id
    made = [e for e in events(client, tenant, ticket["id"]) if "by" in e["payload"]]
    assert {e["type"] for e in made} == {"tags.changed", "assignment.changed"}
    assert all(e["payload"]["by"]["rule"] == "refund-words" for e in made)
    assert all(e["actor_id"] == "automation" for e in made)
    other = new_ticket(client, tenant.customer, subject="KYC", body="How long does KYC take?")
    services.automation.step()
    assert (
        client.get(f"{API}/tickets/{other['id']}", headers=tenant.agent.headers).json()["tags"]
        == []
    )


PING_PONG = """
apiVersion: proofdesk/v1
kind: Automation
metadata: {name: NAME, version: 1, title: {en: Ping pong, zh-CN: 乒乓}}
spec:
  appliesTo: [question]
  triggers: [updated]
  facts: {ticket.priority: string}
  rules:
    - id: up
      when: ticket.priority == "normal"
      actions: [{type: set_fields, fields: {priority: high}}]
    - id: down
      when: ticket.priority == "high"
      actions: [{type: set_fields, fields: {priority: normal}}]
"""


def test_a_loop_between_rules_is_stopped_and_said(
    client: TestClient, tenant: Tenant, services: Services, db: Database
) -> None:
    activate(client, tenant, PING_PONG)
    ticket = new_ticket(client, tenant.customer)
    client.post(
        f"{API}/tickets/{ticket['id']}/tags", json={"add": ["x"]}, headers=tenant.agent.headers
    )
    for _ in range(6):
        services.automation.step()
    history = events(client, tenant, ticket["id"])
    flips = [e for e in history if e["type"] == "fields.changed"]
    assert [e["payload"]["by"]["rule"] for e in flips] == ["up", "down"]
    assert flips[-1]["payload"]["by"]["depth"] == 2
    notes = client.get(
        f"{API}/tickets/{ticket['id']}/messages", headers=tenant.agent.headers
    ).json()
    assert any("stopped to avoid a loop" in m["body"] for m in notes)
    with db.reader() as session:  # and nothing more happens afterwards
        count = session.scalar(select(func.count()).where(TicketEvent.ticket_id == ticket["id"]))
    services.automation.step()
    with db.reader() as session:
        assert (
            session.scalar(select(func.count()).where(TicketEvent.ticket_id == ticket["id"]))
            == count
        )


IDLE = """
apiVersion: proofdesk/v1
kind: Automation
metadata: {name: NAME, version: 1, title: {en: Idle tickets, zh-CN: 闲置工单}}
spec:
  appliesTo: [question]
  triggers: [sweep]
  facts: {ticket.status: string, ticket.updated_at: timestamp, now: timestamp}
  rules:
    - id: close-idle-pending
      when: ticket.status == "pending" && now - ticket.updated_at > duration("72h")
      actions: [{type: add_tags, tags: [auto-closed]}, {type: close}]
    - id: nudge-open
      when: ticket.status == "open"
      actions: [{type: add_note, text: {en: Still open., zh-CN: 仍未解决。}}]
"""


def test_time_based_rules_fire_once_per_change(
    client: TestClient, tenant: Tenant, services: Services, db: Database
) -> None:
    activate(client, tenant, IDLE)
    long_ago = datetime.now(UTC) - timedelta(hours=100)
    agent = actor_of(tenant.agent, tenant)
    with db.writer() as session:
        idle = do_create_ticket(
            session,
            actor_of(tenant.customer, tenant),
            NewTicket(kind=Kind.QUESTION, subject="Idle", body="?"),
            at=long_ago,
        ).id
        do_change_status(
            session,
            agent,
            access_ticket(session, agent, idle, write=True),
            Status.PENDING,
            at=long_ago + timedelta(hours=1),
        )
        busy = do_create_ticket(
            session,
            actor_of(tenant.customer, tenant),
            NewTicket(kind=Kind.QUESTION, subject="Busy", body="?"),
        ).id
        do_change_status(
            session, agent, access_ticket(session, agent, busy, write=True), Status.OPEN
        )
    assert services.automation.sweep() >= 2
    closed = client.get(f"{API}/tickets/{idle}", headers=tenant.agent.headers).json()
    assert closed["status"] == "solved" and "auto-closed" in closed["tags"]
    assert services.automation.sweep() == 0  # the note is the ticket's last change: not again
    notes = [
        m
        for m in client.get(f"{API}/tickets/{busy}/messages", headers=tenant.agent.headers).json()
        if m["visibility"] == "internal"
    ]
    assert len(notes) == 1 and "仍未解决" in notes[0]["body"]


def test_macros_apply_all_their_actions_or_none(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    body = {
        "name": f"kyc-{uuid.uuid4().hex[:6]}",
        "title": {"en": "KYC pending", "zh-CN": "KYC 审核中"},
        "actions": [
            {
                "type": "reply",
                "body": {
                    "en": "Hello $customer_name, ticket #$ticket_number: KYC takes 1-2 days.",
                    "zh-CN": "$customer_name 您好，工单 #$ticket_number：KYC 审核需 1-2 天。",
                },
            },
            {"type": "add_tags", "tags": ["kyc"]},
            {
                "type": "request_information",
                "ask": {"en": "Send your ID.", "zh-CN": "请上传证件。"},
            },
        ],
    }
    refused = client.post(f"{API}/macros", json=body, headers=tenant.agent.headers)
    assert refused.status_code == 403
    made = client.post(f"{API}/macros", json=body, headers=tenant.supervisor.headers)
    assert made.status_code == 201, made.text
    bad = client.post(
        f"{API}/macros",
        json={**body, "name": "bad", "actions": [{"type": "pay_from_escrow", "amount": "9"}]},
        headers=tenant.supervisor.headers,
    )
    assert bad.status_code == 422
    ticket = new_ticket(client, tenant.customer)
    applied = client.post(
        f"{API}/tickets/{ticket['id']}/macros/{made.json()['id']}", headers=tenant.agent.headers
    )
    assert applied.status_code == 200, applied.text
    assert applied.json()["status"] == "pending" and applied.json()["tags"] == ["kyc"]
    said = client.get(
        f"{API}/tickets/{ticket['id']}/messages", headers=tenant.customer.headers
    ).json()
    assert f"ticket #{ticket['number']}: KYC takes" in said[1]["body"]
    assert "customer" in said[1]["body"]  # the display name filled in
    made_by = [e for e in events(client, tenant, ticket["id"]) if "by" in e["payload"]]
    assert {e["actor_id"] for e in made_by} == {tenant.agent.user_id}
    assert {e["payload"]["by"]["macro"] for e in made_by} == {body["name"]}

    broken = client.post(
        f"{API}/macros",
        json={
            **body,
            "name": f"route-{uuid.uuid4().hex[:6]}",
            "actions": [
                {"type": "add_tags", "tags": ["x"]},
                {"type": "route_to_team", "team": "Nope"},
            ],
        },
        headers=tenant.supervisor.headers,
    ).json()
    before = len(events(client, tenant, ticket["id"]))
    failed = client.post(
        f"{API}/tickets/{ticket['id']}/macros/{broken['id']}", headers=tenant.agent.headers
    )
    assert (failed.status_code, failed.json()["error"]["code"]) == (422, "macro_action_failed")
    assert len(events(client, tenant, ticket["id"])) == before
