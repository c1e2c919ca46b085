"""The assistant's knowledge base loaded for a tenant, and a customer's chat turn."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from proofdesk.actions.kb import do_save_article
from proofdesk.assistant import kb
from proofdesk.store.db import Database
from tests.support.paths import ROOT
from tests.support.tenants import Tenant

API = "/api/v1"


KB = ROOT / "data" / "kb"


def load_kb(db: Database, tenant: Tenant) -> None:
    with db.writer() as session:
        for spec in kb.read_path(KB):
            do_save_article(session, None, tenant.org_id, spec)


def say(client: TestClient, tenant: Tenant, text: str, **extra: Any) -> dict[str, Any]:
    response = client.post(
        f"{API}/assistant/messages", json={"text": text, **extra}, headers=tenant.customer.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
