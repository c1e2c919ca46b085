"""SLA policies applied to tickets: warnings and breaches written once into the stream, escalation,
compensation by a contract, the queue sorted by time to breach, and the projection rebuilt."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from proofdesk.actions.rebuild import do_rebuild_all as rebuild_all
from proofdesk.actions.tickets import NewTicket, do_create_ticket
from proofdesk.app.services import Services
from proofdesk.domain.tickets import Kind
from proofdesk.store.db import Database
from proofdesk.store.models import Payout, TicketSla
from proofdesk.workers.cursors import stream_end
from proofdesk.workers.sla import SlaWorker
from tests.support.tenants import Tenant, actor_of

API = "/api/v1"


def policy(client: TestClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    body = {"name": f"p-{uuid.uuid4().hex[:6]}", "first_response_minutes": 60, **fields}
    response = client.post(f"{API}/sla/policies", json=body, headers=tenant.admin.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def ticket_at(db: Database, tenant: Tenant, at: datetime, subject: str = "Help") -> str:
    with db.writer() as session:
        state = do_create_ticket(
            session,
            actor_of(tenant.customer, tenant),
            NewTicket(kind=Kind.QUESTION, subject=subject, body="Please"),
            at=at,
        )
        return state.id


def events_of(client: TestClient, tenant: Tenant, tid: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get(
        f"{API}/tickets/{tid}/events", headers=tenant.agent.headers
    ).json()
    return found


def test_policies_are_checked_and_admin_only(client: TestClient, tenant: Tenant) -> None:
    calendar = {
        "timezone": "Asia/Shanghai",
        "hours": [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}],
        "country": "CN",
        "closed_days": ["2026-12-31"],
    }
    made = policy(client, tenant, calendar=calendar, kinds=["complaint"], tiers=["vip"])
    assert made["calendar"]["country"] == "CN" and made["kinds"] == ["complaint"]
    listed = client.get(f"{API}/sla/policies", headers=tenant.agent.headers).json()
    assert [p["id"] for p in listed] == [made["id"]]
    for bad in (
        {"calendar": {**calendar, "timezone": "Mars/Olympus"}},
        {"calendar": {**calendar, "hours": [{"days": [0], "start": "18:00", "end": "09:00"}]}},
        {"calendar": {**calendar, "country": "XX"}},
        {"first_response_minutes": None},
        {"first_response_minutes": 0},
    ):
        response = client.post(
            f"{API}/sla/policies",
            json={"name": f"bad-{uuid.uuid4().hex[:6]}", "first_response_minutes": 60, **bad},
            headers=tenant.admin.headers,
        )
        assert response.status_code == 422, (bad, response.text)
    agent = client.post(
        f"{API}/sla/policies",
        json={"name": "x", "first_response_minutes": 5},
        headers=tenant.agent.headers,
    )
    assert agent.status_code == 403
    same = client.post(
        f"{API}/sla/policies",
        json={"name": made["name"], "first_response_minutes": 5},
        headers=tenant.admin.headers,
    )
    assert (same.status_code, same.json()["error"]["code"]) == (409, "policy_exists")


def test_a_breach_is_warned_of_then_written_once_and_escalated(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    policy(
        client, tenant, warn_before_minutes=15, escalate_to="urgent", periodic_update_minutes=240
    )
    start = datetime.now(UTC) - timedelta(minutes=50)
    tid = ticket_at(db, tenant, start)
    worker = SlaWorker(db, 0, now=lambda: start + timedelta(minutes=50))
    # Twice, and the warning is written once. (The worker alerts every ticket due, other tests'
    # too, so what it returns is no count of this ticket's alerts: its events are.)
    worker.step()
    worker.step()
    types = [e["type"] for e in events_of(client, tenant, tid)]
    assert types.count("sla.warning") == 1 and "sla.breached" not in types
    sla = client.get(f"{API}/tickets/{tid}/sla", headers=tenant.customer.headers).json()
    first = next(t for t in sla["timers"] if t["target"] == "first_response")
    assert first["state"] == "running" and sla["due_at"].startswith(
        (start + timedelta(minutes=60)).strftime("%Y-%m-%dT%H:%M")
    )

    late = SlaWorker(db, 0, now=lambda: start + timedelta(minutes=70))
    late.step()
    late.step()
    events = events_of(client, tenant, tid)
    [breach] = [e for e in events if e["type"] == "sla.breached"]
    assert breach["payload"]["target"] == "first_response"
    assert breach["actor_id"] == "sla"
    raised = [e for e in events if e["type"] == "fields.changed"]
    assert raised[-1]["payload"]["by"]["target"] == "first_response"
    shown = client.get(f"{API}/tickets/{tid}", headers=tenant.agent.headers).json()
    assert shown["priority"] == "urgent"


def test_the_queue_sorts_by_time_to_breach_and_rebuild_recomputes(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    policy(client, tenant, first_response_minutes=120)
    now = datetime.now(UTC)
    late = ticket_at(db, tenant, now - timedelta(minutes=150), "late")
    soon = ticket_at(db, tenant, now - timedelta(minutes=100), "soon")
    later = ticket_at(db, tenant, now - timedelta(minutes=10), "later")
    SlaWorker(db, 0, now=lambda: now).step()
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"sort": "sla_due", "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"{API}/tickets", params=params, headers=tenant.agent.headers).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    mine = [t for t in seen if t in (late, soon, later)]
    assert mine == [late, soon, later]

    def snapshot() -> dict[str, tuple[Any, ...]]:
        with db.reader() as session:
            rows = session.scalars(
                select(TicketSla).where(TicketSla.organization_id == tenant.org_id)
            ).all()
            return {r.ticket_id: (r.policy_id, r.due_at, r.alerted) for r in rows}

    before = snapshot()
    rebuild_all(db)
    assert snapshot() == before and len(before) == 3


COMPENSATION = """
apiVersion: proofdesk/v1
kind: ServiceContract
metadata: {name: NAME, version: 1, title: {en: Breach credit, zh-CN: 超时补偿}}
spec:
  appliesTo: [question]
  decideOn: [sla_breached]
  facts: {customer.tier: string}
  rules:
    - id: credit
      when: customer.tier == "standard"
      decision: valid
      reason: {en: We were late; you are credited 5 PDR., zh-CN: 我们超时了，补偿您 5 PDR。}
      actions: [{type: credit_reward, amount: '"5"'}]
  otherwise: {decision: invalid, reason: {en: No credit., zh-CN: 无补偿。}}
"""


def test_a_contract_compensates_a_breach(client: TestClient, db: Database, tenant: Tenant) -> None:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    services.automation.cursor()
    source = COMPENSATION.replace("NAME", f"credit-{uuid.uuid4().hex[:6]}")
    digest = client.post(
        f"{API}/contracts", json={"source": source}, headers=tenant.admin.headers
    ).json()["contract_hash"]
    client.post(f"{API}/contracts/{digest}/activate", headers=tenant.admin.headers)
    policy(client, tenant, first_response_minutes=30)
    start = datetime.now(UTC) - timedelta(minutes=45)
    tid = ticket_at(db, tenant, start)
    services.automation.step()  # created: this contract waits for a breach
    assert not [e for e in events_of(client, tenant, tid) if e["type"] == "contract.decided"]
    SlaWorker(db, 0, now=lambda: datetime.now(UTC)).step()
    # Every breach due falls at once, other tests' tickets' too: read the stream to its end.
    with db.reader() as session:
        end = stream_end(session)
    while services.automation.cursor() < end:
        services.automation.step()
    [decided] = [e for e in events_of(client, tenant, tid) if e["type"] == "contract.decided"]
    assert decided["payload"]["trigger"] == "sla_breached"
    assert decided["payload"]["outcome"] == "valid"
    with db.reader() as session:
        [payout] = session.scalars(select(Payout).where(Payout.ticket_id == tid)).all()
        # The customer verified no wallet: a person decides where the credit goes.
        assert (payout.kind, payout.status) == ("reward", "held")
        assert "no verified wallet" in str(payout.hold_reason)
    assert json.loads(json.dumps(decided["payload"]["sources"])) == {"customer.tier": "customer"}
