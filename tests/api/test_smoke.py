"""The main path through the API: open, reply, note, assign, solve, close."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.tenants import Tenant, new_ticket


def test_ticket_lifecycle(client: TestClient, tenant: Tenant) -> None:
    ticket = new_ticket(
        client, tenant.customer, kind="transaction_problem", tx_hash="0x" + "ab" * 32, chain_id=1
    )
    assert ticket["status"] == "new"
    assert ticket["number"] == 1
    tid = ticket["id"]
    r = client.post(
        f"/api/v1/tickets/{tid}/messages",
        headers=tenant.agent.headers,
        json={"body": "Customer is VIP", "visibility": "internal"},
    )
    assert r.status_code == 201, r.text
    r = client.post(
        f"/api/v1/tickets/{tid}/messages",
        headers=tenant.agent.headers,
        json={"body": "We are checking the chain.", "status": "pending"},
    )
    assert r.status_code == 201, r.text
    r = client.get(f"/api/v1/tickets/{tid}", headers=tenant.customer.headers)
    assert r.json()["status"] == "pending"
    assert r.json()["first_response_at"] is not None
    customer_view = client.get(f"/api/v1/tickets/{tid}/messages", headers=tenant.customer.headers)
    assert [m["visibility"] for m in customer_view.json()] == ["public", "public"]
    agent_view = client.get(f"/api/v1/tickets/{tid}/messages", headers=tenant.agent.headers)
    assert len(agent_view.json()) == 3
    r = client.put(
        f"/api/v1/tickets/{tid}/assignment",
        headers=tenant.agent.headers,
        json={"assignee_id": tenant.agent.user_id, "team_id": tenant.team_id},
    )
    assert r.json()["assignee_id"] == tenant.agent.user_id
    r = client.post(
        f"/api/v1/tickets/{tid}/status", headers=tenant.agent.headers, json={"status": "solved"}
    )
    assert r.json()["status"] == "solved"
    r = client.post(
        f"/api/v1/tickets/{tid}/status", headers=tenant.agent.headers, json={"status": "closed"}
    )
    assert r.json()["status"] == "closed"
    r = client.post(
        f"/api/v1/tickets/{tid}/status", headers=tenant.agent.headers, json={"status": "open"}
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "ticket_closed"
    events = client.get(f"/api/v1/tickets/{tid}/events", headers=tenant.agent.headers).json()
    assert [e["ticket_seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "ticket.created"
