"""The admin's webhooks page over HTTP: subscribe an endpoint (secret shown once), see its
delivery log, redeliver, rotate, disable and remove; CSRF on each form; admins only."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from proofdesk.domain.roles import Role
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import WebhookEndpoint
from tests.support.tenants import Tenant, new_ticket
from tests.support.web import csrf_of, new_agent, sign_in, staff_browser
from tests.support.webhooks import (
    Receiver,
    receiver_on_loopback,
    verify_standard,
    webhook_worker,
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiver_on_loopback() as r:
        yield r


def test_an_admin_subscribes_reads_the_log_and_redelivers(
    client: TestClient, db: Database, settings: Settings, tenant: Tenant, receiver: Receiver
) -> None:
    web = staff_browser(client, db, tenant, Role.ADMIN, f"root@{tenant.slug}.example")
    page = web.get("/admin/webhooks")
    assert page.status_code == 200 and "whpk_" in page.text
    token = csrf_of(page.text)
    form = {"url": receiver.url + "/hook", "event_types": ["ticket.created"], "description": "ERP"}
    assert web.post("/admin/webhooks", data=form).status_code == 403  # no CSRF token
    made = web.post("/admin/webhooks", data={**form, "csrf_token": token})
    assert made.status_code == 200, made.text
    (secret,) = re.findall(r"whsec_[A-Za-z0-9+/=]+", made.text)
    assert secret not in web.get("/admin/webhooks").text  # shown once
    with db.reader() as session:
        endpoint = session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.organization_id == tenant.org_id)
        ).one()

    refused = web.post(
        "/admin/webhooks",
        data={"csrf_token": token, "url": "ftp://x", "event_types": ["ticket.created"]},
    )
    assert refused.status_code == 422 and 'role="alert"' in refused.text

    new_ticket(client, tenant.customer)
    with webhook_worker(db, settings) as worker:
        worker.step()
        log = web.get(f"/admin/webhooks/{endpoint.id}")
        assert log.status_code == 200 and "ticket.created" in log.text
        (delivery_id,) = re.findall(r"/deliveries/([0-9a-f-]{36})/redeliver", log.text)
        again = web.post(
            f"/admin/webhooks/{endpoint.id}/deliveries/{delivery_id}/redeliver",
            data={"csrf_token": token},
        )
        assert again.status_code == 303
        worker.step()
    first, second = receiver.at("/hook")
    assert first.webhook_id == second.webhook_id
    verify_standard(secret, second)

    rotated = web.post(f"/admin/webhooks/{endpoint.id}/rotate", data={"csrf_token": token})
    assert rotated.status_code == 200
    (new,) = re.findall(r"whsec_[A-Za-z0-9+/=]+", rotated.text)
    assert new != secret
    off = web.post(
        f"/admin/webhooks/{endpoint.id}/enabled", data={"csrf_token": token, "enabled": "no"}
    )
    assert off.status_code == 303
    gone = web.post(f"/admin/webhooks/{endpoint.id}/delete", data={"csrf_token": token})
    assert gone.status_code == 303
    assert web.get(f"/admin/webhooks/{endpoint.id}").status_code == 404


def test_only_admins_reach_the_webhooks_page(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    new_agent(db, tenant, f"w@{tenant.slug}.example")
    agent = sign_in(client, tenant.slug, f"w@{tenant.slug}.example")
    assert agent.get("/admin/webhooks").status_code == 403
