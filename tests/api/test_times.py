"""Every time in an API answer carries its zone (RFC 3339, ``Z``), as ticket times always did;
SQLite hands aware columns back naive, and tokens, users and articles used to show that."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.support.tenants import Tenant, new_ticket

API = "/api/v1"
ZONED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def times(value: Any, where: str = "") -> list[tuple[str, Any]]:
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key.endswith("_at") and inner is not None:
                found.append((f"{where}.{key}", inner))
            found += times(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += times(inner, f"{where}[{i}]")
    return found


def test_every_time_in_these_answers_has_its_zone(client: TestClient, tenant: Tenant) -> None:
    new_ticket(client, tenant.customer)
    client.post(
        f"{API}/auth/tokens",
        json={"name": "ci", "scopes": ["tickets:read"]},
        headers=tenant.admin.headers,
    )
    seen = []
    for path, who in [
        ("/auth/me", tenant.customer),
        ("/auth/tokens", tenant.admin),
        ("/users", tenant.admin),
        ("/kb/articles", tenant.admin),
        ("/tickets", tenant.agent),
        ("/teams", tenant.admin),
    ]:
        answer = client.get(API + path, headers=who.headers)
        assert answer.status_code == 200, (path, answer.text)
        for where, value in times(answer.json(), path):
            seen.append(where)
            assert isinstance(value, str) and ZONED.match(value), (where, value)
    assert any(w.startswith("/auth/tokens") for w in seen) and any("/users" in w for w in seen)
