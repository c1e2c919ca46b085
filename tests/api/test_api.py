"""The API through HTTP: log-in and tokens, listings, search, pagination, accounts, files."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from proofdesk.app.factory import create_app
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from tests.support.tenants import Tenant, make_tenant, new_ticket

PASSWORD = "correct horse battery"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


def test_openapi_is_valid_3_1(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    validate(spec)
    assert "/api/v1/tickets/{ticket_id}/messages" in spec["paths"]


def test_login_me_logout(client: TestClient, db: Database) -> None:
    tenant = make_tenant(db, password=PASSWORD)
    r = client.post(
        "/api/v1/auth/login",
        json={
            "organization": tenant.slug,
            "email": tenant.agent.email.upper(),
            "password": PASSWORD,
        },
    )
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    assert "pd_session" in r.cookies
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/auth/me", headers=bearer).json()["id"] == tenant.agent.user_id
    assert client.post("/api/v1/auth/logout", headers=bearer).status_code == 204
    r = client.get("/api/v1/auth/me", headers=bearer)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "bad_session"
    client.cookies.clear()


@pytest.mark.parametrize(
    ("org", "email", "password"),
    [
        ("right", "agent", "wrong password!"),
        ("nope", "agent", PASSWORD),
        ("right", "nobody", PASSWORD),
        ("right", "customer", PASSWORD),  # exists, has no password
    ],
)
def test_login_refusals_look_alike(
    client: TestClient, db: Database, org: str, email: str, password: str
) -> None:
    tenant = make_tenant(db, password=PASSWORD)
    r = client.post(
        "/api/v1/auth/login",
        json={
            "organization": tenant.slug if org == "right" else org,
            "email": f"{email}@{tenant.slug}.example",
            "password": password,
        },
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "bad_credentials"


def test_login_is_rate_limited(settings: Settings, db: Database) -> None:
    limited = settings.model_copy(update={"login_rate_per_minute": 3})
    tenant = make_tenant(db)
    with TestClient(create_app(limited, db)) as c:
        body = {"organization": tenant.slug, "email": tenant.agent.email, "password": "x" * 12}
        codes = [c.post("/api/v1/auth/login", json=body).status_code for _ in range(5)]
        assert codes == [401, 401, 401, 429, 429]
        r = c.post("/api/v1/auth/login", json=body)
        assert r.json()["error"]["code"] == "rate_limited"
        assert int(r.headers["retry-after"]) >= 1


def test_api_tokens_scoped_listed_revoked(client: TestClient, tenant: Tenant) -> None:
    r = client.post(
        "/api/v1/auth/tokens",
        headers=tenant.agent.headers,
        json={"name": "reporting", "scopes": ["tickets:read"]},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["token"].startswith("pdk_")
    reader = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/v1/tickets", headers=reader).status_code == 200
    r = client.post(
        "/api/v1/tickets",
        headers=reader,
        json={
            "kind": "question",
            "subject": "s",
            "body": "b",
            "requester_id": tenant.customer.user_id,
        },
    )
    assert r.json()["error"]["code"] == "missing_scope"
    listed = client.get("/api/v1/auth/tokens", headers=tenant.agent.headers).json()
    assert created["id"] in [t["id"] for t in listed]
    assert all("token" not in t for t in listed)
    assert (
        client.delete(
            f"/api/v1/auth/tokens/{created['id']}", headers=tenant.agent.headers
        ).status_code
        == 204
    )
    assert client.get("/api/v1/tickets", headers=reader).json()["error"]["code"] == "bad_token"
    r = client.post(
        "/api/v1/auth/tokens",
        headers=tenant.agent.headers,
        json={"name": "too much", "scopes": ["admin"]},
    )
    assert r.status_code == 403


def test_filters_search_and_pagination(client: TestClient, tenant: Tenant) -> None:
    a = tenant.agent
    ids = []
    for i in range(7):
        t = new_ticket(
            client,
            a,
            requester_id=tenant.customer.user_id,
            subject=f"提币 pending {i}",
            tags=["withdrawal"] if i % 2 else [],
            priority="high" if i < 3 else "normal",
        )
        ids.append(t["id"])
    new_ticket(
        client,
        a,
        requester_id=tenant.customer2.user_id,
        subject="KYC stuck",
        body="我的KYC审核卡住了",
    )
    client.put(
        f"/api/v1/tickets/{ids[0]}/assignment", headers=a.headers, json={"assignee_id": a.user_id}
    )

    def listing(**params: object) -> list[str]:
        r = client.get("/api/v1/tickets", headers=a.headers, params=params)
        assert r.status_code == 200, r.text
        return [t["id"] for t in r.json()["items"]]

    assert set(listing(priority="high")) == set(ids[:3])
    assert set(listing(tag="withdrawal")) == {ids[1], ids[3], ids[5]}
    assert listing(assignee_id="me") == [ids[0]]
    assert len(listing(assignee_id="none")) == 7
    assert len(listing(q="KYC审核")) == 1
    assert len(listing(q="提币")) == 7
    assert len(listing(q="100%")) == 0  # LIKE wildcards are escaped
    assert listing(requester_id=tenant.customer2.user_id) != []
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 3, "sort": "created_at"}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/tickets", headers=a.headers, params=params).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen[:7] == ids
    assert len(seen) == len(set(seen)) == 8
    counts = client.get("/api/v1/tickets/-/counts", headers=a.headers).json()
    assert counts["new"] == 8 and counts["closed"] == 0
    # a customer's listing holds their own tickets only
    mine = client.get("/api/v1/tickets", headers=tenant.customer2.headers).json()["items"]
    assert [t["subject"] for t in mine] == ["KYC stuck"]


def test_customer_reply_reopens_and_may_solve(client: TestClient, tenant: Tenant) -> None:
    t = new_ticket(client, tenant.customer)
    tid = t["id"]
    client.post(
        f"/api/v1/tickets/{tid}/messages",
        headers=tenant.agent.headers,
        json={"body": "Please send the TXID.", "status": "pending"},
    )
    r = client.post(
        f"/api/v1/tickets/{tid}/messages", headers=tenant.customer.headers, json={"body": "0xabc…"}
    )
    assert r.status_code == 201
    assert (
        client.get(f"/api/v1/tickets/{tid}", headers=tenant.customer.headers).json()["status"]
        == "open"
    )
    r = client.post(
        f"/api/v1/tickets/{tid}/status", headers=tenant.customer.headers, json={"status": "solved"}
    )
    assert r.json()["status"] == "solved"
    r = client.post(
        f"/api/v1/tickets/{tid}/status", headers=tenant.customer.headers, json={"status": "closed"}
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/tickets/{tid}/messages",
        headers=tenant.customer.headers,
        json={"body": "still broken", "visibility": "internal"},
    )
    assert r.status_code == 403


def test_fields_tags_merge(client: TestClient, tenant: Tenant) -> None:
    a = tenant.agent.headers
    first = new_ticket(client, tenant.customer)
    dup = new_ticket(client, tenant.customer)
    r = client.patch(
        f"/api/v1/tickets/{first['id']}",
        headers=a,
        json={
            "priority": "urgent",
            "wallet_address": "0x" + "AB" * 20,
            "chain_id": 56,
            "category": "withdrawals",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["wallet_address"] == "0x" + "ab" * 20
    r = client.post(
        f"/api/v1/tickets/{first['id']}/tags",
        headers=a,
        json={"add": ["USDT", "trc20", "usdt"], "remove": []},
    )
    assert r.json()["tags"] == ["trc20", "usdt"]
    r = client.post(f"/api/v1/tickets/{dup['id']}/merge", headers=a, json={"into": first["id"]})
    assert r.status_code == 200, r.text
    assert r.json()["merged_from_ids"] == [dup["id"]]
    gone = client.get(f"/api/v1/tickets/{dup['id']}", headers=a).json()
    assert (gone["status"], gone["merged_into_id"]) == ("closed", first["id"])
    events = client.get(f"/api/v1/tickets/{first['id']}/events", headers=a).json()
    assert [e["type"] for e in events] == [
        "ticket.created",
        "message.added",
        "fields.changed",
        "tags.changed",
        "ticket.merge_received",
    ]
    assert events[2]["payload"]["changes"]["priority"] == {"from": "normal", "to": "urgent"}


def test_accounts_wallets_orders_teams(client: TestClient, tenant: Tenant) -> None:
    r = client.post(
        "/api/v1/users",
        headers=tenant.agent.headers,
        json={"display_name": "王小明", "email": "Wang@Example.com", "locale": "zh-CN"},
    )
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    assert r.json()["email"] == "wang@example.com"
    r = client.post(
        "/api/v1/users",
        headers=tenant.agent.headers,
        json={"display_name": "x", "email": "wang@example.com"},
    )
    assert r.json()["error"]["code"] == "email_taken"
    r = client.post(
        f"/api/v1/users/{uid}/wallets",
        headers=tenant.agent.headers,
        json={"address": "0x" + "12" * 20, "label": "main"},
    )
    assert r.status_code == 201, r.text
    r = client.post(
        f"/api/v1/users/{uid}/orders",
        headers=tenant.agent.headers,
        json={"external_id": "ORD-1", "amount": "129.990", "currency": "usdt"},
    )
    assert r.status_code == 201, r.text
    profile = client.get(f"/api/v1/users/{uid}", headers=tenant.agent.headers).json()
    assert profile["wallets"][0]["address"] == "0x" + "12" * 20
    assert profile["orders"][0]["amount"] == "129.990"
    assert profile["orders"][0]["currency"] == "USDT"
    found = client.get(
        "/api/v1/users", headers=tenant.agent.headers, params={"q": "0x1212"}
    ).json()["items"]
    assert [u["id"] for u in found] == [uid]
    # agents cannot create staff; admins can
    staff = {
        "display_name": "New agent",
        "email": "new@x.example",
        "role": "agent",
        "password": "long enough pw",
    }
    assert client.post("/api/v1/users", headers=tenant.agent.headers, json=staff).status_code == 403
    r = client.post("/api/v1/users", headers=tenant.admin.headers, json=staff)
    assert r.status_code == 201
    r = client.post("/api/v1/teams", headers=tenant.supervisor.headers, json={"name": "VIP"})
    assert r.status_code == 201
    team = r.json()["id"]
    r = client.put(
        f"/api/v1/teams/{team}/members/{tenant.agent2.user_id}", headers=tenant.supervisor.headers
    )
    assert r.json()["member_ids"] == [tenant.agent2.user_id]
    t = new_ticket(client, tenant.customer)
    r = client.put(
        f"/api/v1/tickets/{t['id']}/assignment",
        headers=tenant.agent.headers,
        json={"team_id": team, "assignee_id": tenant.agent.user_id},
    )
    assert r.status_code == 422  # agent is not in the VIP team
    r = client.put(
        f"/api/v1/tickets/{t['id']}/assignment",
        headers=tenant.agent.headers,
        json={"team_id": team, "assignee_id": tenant.agent2.user_id},
    )
    assert r.status_code == 200


def test_attachments_round_trip(client: TestClient, tenant: Tenant) -> None:
    r = client.post(
        "/api/v1/attachments",
        headers=tenant.customer.headers,
        files={"file": ("screenshot.png", PNG, "image/png")},
    )
    assert r.status_code == 201, r.text
    ref = r.json()
    assert ref["content_type"] == "image/png" and len(ref["sha256"]) == 64
    t = new_ticket(client, tenant.customer, attachment_ids=[ref["id"]])
    messages = client.get(
        f"/api/v1/tickets/{t['id']}/messages", headers=tenant.agent.headers
    ).json()
    assert messages[0]["attachments"][0]["sha256"] == ref["sha256"]
    r = client.get(f"/api/v1/attachments/{ref['id']}", headers=tenant.agent.headers)
    assert r.status_code == 200 and r.content == PNG
    assert r.headers["x-content-type-options"] == "nosniff"
    r = client.get(f"/api/v1/attachments/{ref['id']}", headers=tenant.customer2.headers)
    assert r.status_code == 404
    text = client.post(
        "/api/v1/attachments",
        headers=tenant.agent.headers,
        files={"file": ("note.txt", "链上确认 12".encode(), "text/plain")},
    )
    assert text.status_code == 201
    note = client.post(
        f"/api/v1/tickets/{t['id']}/messages",
        headers=tenant.agent.headers,
        json={
            "body": "internal log",
            "visibility": "internal",
            "attachment_ids": [text.json()["id"]],
        },
    )
    assert note.status_code == 201
    # the customer cannot fetch a file attached to an internal note
    r = client.get(f"/api/v1/attachments/{text.json()['id']}", headers=tenant.customer.headers)
    assert r.status_code == 404


def test_health_and_landing(client: TestClient) -> None:
    assert client.get("/api/v1/health").json()["status"] == "ok"
    assert "ProofDesk" in client.get("/").text
    r = client.get("/api/v1/nowhere")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert json.loads(client.delete("/api/v1/health").text)["error"]["code"] == (
        "method_not_allowed"
    )


def test_a_client_waits_for_a_tickets_next_change(client: TestClient, tenant: Tenant) -> None:
    """Long polling: the answer comes when the ticket changes (an agent's reply), carrying the
    new last event number; without a change it comes when the wait is over."""
    ticket = new_ticket(client, tenant.customer)
    url = f"/api/v1/tickets/{ticket['id']}/changes"
    now = client.get(url, headers=tenant.customer.headers)
    assert now.status_code == 200
    seq = now.json()["last_seq"]
    unchanged = client.get(url, params={"after": seq}, headers=tenant.customer.headers)
    assert unchanged.json()["last_seq"] == seq  # no wait asked: answered at once
    answers: list[Any] = []
    waiting = threading.Thread(
        target=lambda: answers.append(
            client.get(url, params={"after": seq, "wait": 20}, headers=tenant.customer.headers)
        )
    )
    waiting.start()
    time.sleep(0.3)
    replied = client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "We are on it.", "visibility": "public"},
        headers=tenant.agent.headers,
    )
    assert replied.status_code == 201, replied.text
    waiting.join(timeout=25)
    assert not waiting.is_alive()
    assert answers[0].status_code == 200 and answers[0].json()["last_seq"] > seq
    too_long = client.get(url, params={"wait": 60}, headers=tenant.customer.headers)
    assert too_long.status_code == 422
    other = client.get(url, params={"wait": 20}, headers=tenant.customer2.headers)
    assert other.status_code == 404  # not hers: refused at once, not after the wait
