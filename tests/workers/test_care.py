"""Customer care from the SLA side: a new request is acknowledged with the reply time its
policy promises (in the request's language, without opening it or counting as a response),
and "resolved within SLA" counts the tickets solved in time, which leave no alert behind."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from proofdesk.store.db import Database
from proofdesk.store.models import TicketSla
from proofdesk.workers.sla import SlaWorker
from tests.support.tenants import Tenant, new_ticket

API = "/api/v1"


def _policy(client: TestClient, tenant: Tenant, **fields: Any) -> None:
    body = {"name": f"p-{uuid.uuid4().hex[:6]}", "first_response_minutes": 60, **fields}
    made = client.post(f"{API}/sla/policies", json=body, headers=tenant.admin.headers)
    assert made.status_code == 201, made.text


def _messages(client: TestClient, tenant: Tenant, ticket_id: object) -> list[dict[str, Any]]:
    found = client.get(f"{API}/tickets/{ticket_id}/messages", headers=tenant.customer.headers)
    assert found.status_code == 200, found.text
    listed: list[dict[str, Any]] = found.json()
    return listed


def test_a_new_request_is_acknowledged_with_the_promised_reply_time(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    before = new_ticket(client, tenant.customer)
    assert len(_messages(client, tenant, before["id"])) == 1  # no policy: no promise to give
    _policy(client, tenant, kinds=["question"])
    ticket = new_ticket(client, tenant.customer)
    _, ack = _messages(client, tenant, ticket["id"])
    assert ack["author_role"] == "automation" and ack["visibility"] == "public"
    assert f"#{ticket['number']}" in ack["body"] and "expect a reply from us by" in ack["body"]
    assert "UTC" in ack["body"]
    fresh = client.get(f"{API}/tickets/{ticket['id']}", headers=tenant.agent.headers).json()
    assert fresh["status"] == "new" and fresh["first_response_at"] is None
    SlaWorker(db, 1.0).step()  # the first-response clock still runs: the reply is automatic
    with db.reader() as session:
        row = session.get(TicketSla, ticket["id"])
        assert row is not None and "first_response" in row.timers and '"running"' in row.timers

    chinese = new_ticket(client, tenant.customer, subject="提币没到账", body="我的提币还没到")
    assert "我们已收到您的请求" in _messages(client, tenant, chinese["id"])[1]["body"]
    complaint = new_ticket(client, tenant.customer, kind="complaint")
    assert len(_messages(client, tenant, complaint["id"])) == 1  # the policy covers questions


def test_resolved_within_sla_counts_tickets_solved_in_time(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    _policy(client, tenant)
    ticket = new_ticket(client, tenant.customer)
    SlaWorker(db, 1.0).step()
    solved = client.post(
        f"{API}/tickets/{ticket['id']}/messages",
        json={"body": "Done.", "status": "solved"},
        headers=tenant.agent.headers,
    )
    assert solved.status_code in (200, 201), solved.text
    SlaWorker(db, 1.0).step()
    report = client.get(f"{API}/analytics/helpdesk", headers=tenant.supervisor.headers)
    assert report.status_code == 200, report.text
    assert report.json()["within_sla"] == {"tickets": 1, "within": 1, "rate": 1.0}
