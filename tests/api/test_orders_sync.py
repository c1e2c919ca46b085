"""Shops keep orders in step through the API and a signed webhook; nothing unsigned, stale or
out of order changes an order."""

from __future__ import annotations

import json
import time
import uuid

from fastapi.testclient import TestClient

from proofdesk.actions.orders import SIGNATURE_HEADER, sign
from tests.support.tenants import Tenant

API = "/api/v1"


def order_body(tenant: Tenant, **fields: object) -> dict[str, object]:
    body: dict[str, object] = {
        "external_id": f"W-{uuid.uuid4().hex[:10]}",
        "customer_id": tenant.customer.user_id,
        "amount": "0.25",
        "currency": "eth",
        "status": "paid",
        "paid_at": "2026-11-20T10:00:00Z",
        "updated_at": "2026-11-20T10:00:00Z",
    }
    body.update(fields)
    return body


def deliver(
    client: TestClient, tenant: Tenant, body: dict[str, object], secret: str, **kw: int
) -> int:
    raw = json.dumps(body).encode()
    stamp = kw.get("stamp", int(time.time()))
    response = client.post(
        f"{API}/webhooks/orders",
        params={"organization": tenant.slug},
        content=raw,
        headers={SIGNATURE_HEADER: sign(secret, raw, stamp), "Content-Type": "application/json"},
    )
    return response.status_code


def orders_of(client: TestClient, tenant: Tenant) -> dict[str, dict[str, object]]:
    profile = client.get(
        f"{API}/users/{tenant.customer.user_id}", headers=tenant.agent.headers
    ).json()
    return {o["external_id"]: o for o in profile["orders"]}


def test_signed_webhooks_sync_orders_and_nothing_else_does(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    body = order_body(tenant)
    unconfigured = deliver(client, tenant, body, "whsec_guess")
    assert unconfigured == 401
    secret = client.post(f"{API}/organization/webhook-secret", headers=tenant.admin.headers).json()[
        "secret"
    ]
    assert deliver(client, tenant, body, secret) == 200
    stored = orders_of(client, tenant)[str(body["external_id"])]
    assert (stored["currency"], stored["amount"], stored["kind"]) == ("ETH", "0.25", "purchase")

    changed = {**body, "status": "refunded", "updated_at": "2026-11-21T10:00:00Z"}
    assert deliver(client, tenant, changed, "whsec_wrong") == 401
    assert deliver(client, tenant, changed, secret, stamp=int(time.time()) - 3600) == 401
    assert orders_of(client, tenant)[str(body["external_id"])]["status"] == "paid"
    assert deliver(client, tenant, changed, secret) == 200
    # A delivery replayed out of order does not roll the order back.
    assert deliver(client, tenant, body, secret) == 200
    assert orders_of(client, tenant)[str(body["external_id"])]["status"] == "refunded"
    # Another tenant's secret does not sign for this tenant; a body naming another tenant's
    # customer is refused.
    theirs = client.post(
        f"{API}/organization/webhook-secret", headers=other_tenant.admin.headers
    ).json()["secret"]
    assert deliver(client, tenant, order_body(tenant), theirs) == 401
    assert deliver(client, other_tenant, order_body(tenant), theirs) == 422
    garbage = client.post(
        f"{API}/webhooks/orders",
        params={"organization": tenant.slug},
        content=b"{not json",
        headers={SIGNATURE_HEADER: "t=1,v1=00"},
    )
    assert garbage.status_code == 422


def test_an_order_stays_with_its_customer(client: TestClient, tenant: Tenant) -> None:
    body = order_body(tenant)
    external_id = body.pop("external_id")
    first = client.put(f"{API}/orders/{external_id}", json=body, headers=tenant.admin.headers)
    assert first.status_code == 200, first.text
    moved = client.put(
        f"{API}/orders/{external_id}",
        json={**body, "customer_id": tenant.customer2.user_id},
        headers=tenant.admin.headers,
    )
    assert (moved.status_code, moved.json()["error"]["code"]) == (409, "order_customer_differs")
    bad = client.put(
        f"{API}/orders/{external_id}",
        json={**body, "tx_hash": "0x1234"},
        headers=tenant.admin.headers,
    )
    assert bad.status_code == 422


def test_only_the_shop_side_syncs_orders_and_typed_in_ones_are_not_facts(
    client: TestClient, tenant: Tenant
) -> None:
    body = order_body(tenant)
    external_id = body.pop("external_id")
    agent = client.put(f"{API}/orders/{external_id}", json=body, headers=tenant.agent.headers)
    assert agent.status_code == 403
    # An order an agent typed in does not decide a claim: a person checks it with the shop.
    typed = client.post(
        f"{API}/users/{tenant.customer.user_id}/orders",
        json={"external_id": external_id, "amount": "5", "currency": "ETH", "status": "failed"},
        headers=tenant.agent.headers,
    )
    assert typed.status_code == 201 and typed.json()["source"] == "staff"
    from proofdesk.facts.providers import FactContext, gather

    services = client.app.state.services  # type: ignore[attr-defined]
    ticket = client.post(
        f"{API}/tickets",
        json={"kind": "refund_request", "subject": "R", "body": "x", "order_id": external_id},
        headers=tenant.customer.headers,
    ).json()
    from proofdesk.canonical import utc_now
    from proofdesk.store.events import row_to_state
    from proofdesk.store.models import Ticket

    with services.db.reader() as session:
        row = session.get(Ticket, ticket["id"])
        found = gather(
            FactContext(session, row_to_state(row), utc_now()), {"order.status": "string"}
        )
    assert "recorded by staff" in found.unknown["order.status"]
    synced = client.put(f"{API}/orders/{external_id}", json=body, headers=tenant.admin.headers)
    assert synced.status_code == 200 and synced.json()["source"] == "api"
