"""The webhooks API: endpoints subscribed, changed and removed by an admin; secrets shown once
and rotated; the delivery log and redelivery; the public signing key; bad input refused with a
code and nothing changed. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from proofdesk.actions.tickets import NewTicket, do_create_ticket
from proofdesk.actions.webhooks import MAX_ENDPOINTS
from proofdesk.domain.tickets import Kind
from proofdesk.domain.webhooks import WEBHOOK_TYPES
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.webhooks.keys import signing_key
from proofdesk.webhooks.signing import public_key_text
from tests.support.tenants import Tenant, actor_of
from tests.support.webhooks import (
    Receiver,
    receiver_on_loopback,
    verify_ed25519,
    verify_standard,
    webhook_worker,
)

API = "/api/v1"
BASE = f"{API}/webhooks/endpoints"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiver_on_loopback() as r:
        yield r


def create(client: TestClient, tenant: Tenant, url: str, **fields: object) -> dict[str, object]:
    body = {"url": url, "event_types": ["ticket.created"], **fields}
    r = client.post(BASE, json=body, headers=tenant.admin.headers)
    assert r.status_code == 201, r.text
    result: dict[str, object] = r.json()
    return result


def open_ticket(db: Database, tenant: Tenant) -> str:
    with db.writer() as session:
        return do_create_ticket(
            session,
            actor_of(tenant.customer, tenant),
            NewTicket(kind=Kind.QUESTION, subject="Card declined", body="Twice today."),
        ).id


def test_an_admin_subscribes_sees_the_log_and_redelivers(
    client: TestClient, db: Database, settings: Settings, tenant: Tenant, receiver: Receiver
) -> None:
    made = create(client, tenant, receiver.url + "/hook", description="CRM")
    endpoint_id, secret = made["id"], str(made["secret"])
    assert secret.startswith("whsec_") and made["enabled"] is True
    listed = client.get(BASE, headers=tenant.admin.headers).json()
    assert [e["id"] for e in listed] == [endpoint_id]
    assert secret not in str(listed)  # shown once, never again
    one = client.get(f"{BASE}/{endpoint_id}", headers=tenant.admin.headers)
    assert one.status_code == 200 and "secret" not in one.json()

    receiver.answer = lambda _: (500, {}, b"down for maintenance")
    ticket_id = open_ticket(db, tenant)
    with webhook_worker(db, settings) as worker:
        worker.step()
        log = client.get(f"{BASE}/{endpoint_id}/deliveries", headers=tenant.admin.headers)
        assert log.status_code == 200, log.text
        (entry,) = log.json()
        assert (entry["status"], entry["attempts"], entry["last_status_code"]) == (
            "pending",
            1,
            500,
        )
        assert entry["type"] == "ticket.created" and entry["next_attempt_at"]
        detail = client.get(
            f"{BASE}/{endpoint_id}/deliveries/{entry['id']}", headers=tenant.admin.headers
        ).json()
        assert detail["attempt_log"][0]["response_excerpt"] == "down for maintenance"

        receiver.answer = lambda _: (200, {}, b"ok")
        again = client.post(
            f"{BASE}/{endpoint_id}/deliveries/{entry['id']}/redeliver",
            headers=tenant.admin.headers,
        )
        assert again.status_code == 200, again.text
        assert (again.json()["status"], again.json()["attempts"]) == ("pending", 0)
        worker.step()
    first, second = receiver.at("/hook")
    assert first.webhook_id == second.webhook_id == entry["webhook_id"]
    assert verify_standard(secret, second)["data"]["ticket_id"] == ticket_id
    key = client.get(f"{API}/webhooks/signing-key").json()
    assert key["public_key"] == public_key_text(signing_key(settings.effective_webhooks_key_file))
    assert set(key["event_types"]) == set(WEBHOOK_TYPES)
    assert verify_ed25519(key["public_key"], second)
    delivered = client.get(
        f"{BASE}/{endpoint_id}/deliveries",
        params={"status": "delivered"},
        headers=tenant.admin.headers,
    ).json()
    assert [d["id"] for d in delivered] == [entry["id"]]

    r = client.delete(f"{BASE}/{endpoint_id}", headers=tenant.admin.headers)
    assert r.status_code == 204
    assert client.get(f"{BASE}/{endpoint_id}", headers=tenant.admin.headers).status_code == 404


def test_changes_disable_and_enable_and_filter_types(
    client: TestClient, db: Database, settings: Settings, tenant: Tenant, receiver: Receiver
) -> None:
    endpoint_id = create(client, tenant, receiver.url + "/hook")["id"]
    r = client.patch(
        f"{BASE}/{endpoint_id}",
        json={"enabled": False, "event_types": ["status.changed", "ticket.created"]},
        headers=tenant.admin.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["event_types"] == ["status.changed", "ticket.created"]
    open_ticket(db, tenant)  # disabled: nothing queued
    log = client.get(f"{BASE}/{endpoint_id}/deliveries", headers=tenant.admin.headers).json()
    assert log == []
    client.patch(f"{BASE}/{endpoint_id}", json={"enabled": True}, headers=tenant.admin.headers)
    open_ticket(db, tenant)
    log = client.get(f"{BASE}/{endpoint_id}/deliveries", headers=tenant.admin.headers).json()
    assert [d["type"] for d in log] == ["ticket.created"]  # message.added was not asked for
    client.patch(f"{BASE}/{endpoint_id}", json={"enabled": False}, headers=tenant.admin.headers)
    r = client.post(
        f"{BASE}/{endpoint_id}/deliveries/{log[0]['id']}/redeliver", headers=tenant.admin.headers
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "webhook_endpoint_disabled"
    client.delete(f"{BASE}/{endpoint_id}", headers=tenant.admin.headers)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "http://127.0.0.1:9/", "event_types": ["ticket.exploded"]}, "unknown_webhook_type"),
        ({"url": "http://127.0.0.1:9/", "event_types": []}, "validation_error"),
        ({"url": "http://127.0.0.1:9/", "event_types": ["ticket.created"], "x": 1}, "validation_error"),
        ({"url": "not a url", "event_types": ["ticket.created"]}, "webhook_url_refused"),
        ({"url": "ftp://127.0.0.1/", "event_types": ["ticket.created"]}, "webhook_url_refused"),
        ({"url": "http://u:p@127.0.0.1/", "event_types": ["ticket.created"]}, "webhook_url_refused"),
        ({"url": "http://127.0.0.1:9/", "event_types": ["ticket.created"], "description": "d" * 501}, "validation_error"),
        ({"url": "http://127.0.0.1:99999/", "event_types": ["ticket.created"]}, "webhook_url_refused"),
    ],
)  # fmt: skip
def test_bad_endpoints_are_refused_with_a_code_and_change_nothing(
    client: TestClient, tenant: Tenant, body: dict[str, object], code: str
) -> None:
    r = client.post(BASE, json=body, headers=tenant.admin.headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code
    assert client.get(BASE, headers=tenant.admin.headers).json() == []


def test_bad_queries_and_unknown_ids(client: TestClient, tenant: Tenant) -> None:
    endpoint_id = create(client, tenant, "http://127.0.0.1:9/hook")["id"]
    r = client.get(
        f"{BASE}/{endpoint_id}/deliveries", params={"status": "lost"}, headers=tenant.admin.headers
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == "status"
    for path in (f"{BASE}/nope", f"{BASE}/{endpoint_id}/deliveries/nope"):
        r = client.get(path, headers=tenant.admin.headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.patch(
        f"{BASE}/{endpoint_id}", json={"event_types": ["nope"]}, headers=tenant.admin.headers
    )
    assert r.status_code == 422
    assert client.get(f"{BASE}/{endpoint_id}", headers=tenant.admin.headers).json()[
        "event_types"
    ] == ["ticket.created"]


def test_an_organization_has_a_bounded_number_of_endpoints(
    client: TestClient, tenant: Tenant
) -> None:
    for _ in range(MAX_ENDPOINTS):
        create(client, tenant, "http://127.0.0.1:9/hook")
    r = client.post(
        BASE,
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["ticket.created"]},
        headers=tenant.admin.headers,
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "too_many_webhook_endpoints"
    for endpoint in client.get(BASE, headers=tenant.admin.headers).json():
        client.delete(f"{BASE}/{endpoint['id']}", headers=tenant.admin.headers)
