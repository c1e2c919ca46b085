"""Tickets for the service-contract rules to decide."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from tests.support.tenants import Tenant, new_ticket

API = "/api/v1"


def failed_order_ticket(client: TestClient, tenant: Tenant, amount: str = "0.75") -> dict[str, Any]:
    """A refund request of the tenant's customer about an order of hers that failed."""
    order = client.put(
        f"{API}/orders/ORD-{uuid.uuid4().hex[:8]}",
        json={
            "customer_id": tenant.customer.user_id,
            "amount": amount,
            "currency": "ETH",
            "status": "failed",
        },
        headers=tenant.admin.headers,
    )
    assert order.status_code == 200, order.text
    return new_ticket(
        client,
        tenant.customer,
        kind="refund_request",
        subject="Refund",
        body="Failed",
        order_id=order.json()["external_id"],
    )
