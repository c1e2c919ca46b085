"""Credentials that manage the account — the second factor, sessions, API tokens, the linked
wallet and e-mail — need the ``account`` scope, which a browser session always has and an API
token only if it was made with it. A leaked ``tickets:read`` token could enrol its own second
factor and lock the owner out (the hardening issue's second finding).

One table says, for every operation under ``/auth`` that takes a credential, which scope it
needs; the test fails when an operation is missing from it.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from proofdesk.actions.sessions import do_issue_api_token
from proofdesk.domain.roles import ALL_SCOPES, Scope
from proofdesk.store.db import Database
from proofdesk.store.models import User
from tests.support.tenants import Tenant

API = "/api/v1"
CODE = {"code": "123456"}
#: (method, path) → (scope it needs, a body that passes validation).
TABLE: dict[tuple[str, str], tuple[Scope | None, dict[str, Any] | None]] = {
    ("POST", "/auth/mfa/totp/setup"): (Scope.ACCOUNT, None),
    ("POST", "/auth/mfa/totp/enable"): (Scope.ACCOUNT, CODE),
    ("POST", "/auth/mfa/recovery-codes"): (Scope.ACCOUNT, CODE),
    ("POST", "/auth/mfa/totp/disable"): (Scope.ACCOUNT, CODE),
    ("POST", "/auth/logout/all"): (Scope.ACCOUNT, None),
    ("PUT", "/auth/me/email"): (Scope.ACCOUNT, {"email": "new@example.com"}),
    ("POST", "/auth/siwe/link"): (Scope.ACCOUNT, {"message": "x", "signature": "0x00"}),
    ("POST", "/auth/tokens"): (Scope.ACCOUNT, {"name": "n", "scopes": ["account"]}),
    ("GET", "/auth/tokens"): (Scope.ACCOUNT, None),
    ("DELETE", "/auth/tokens/{token_id}"): (Scope.ACCOUNT, None),
    # Reading who you are and ending the session you hold need no scope.
    ("GET", "/auth/me"): (None, None),
    ("POST", "/auth/logout"): (None, None),
}
#: Operations under /auth that take no credential (they make one).
PUBLIC = {
    ("POST", "/auth/login"),
    ("GET", "/auth/typed-data"),
    ("POST", "/auth/siwe/nonce"),
    ("POST", "/auth/siwe/verify"),
}


def token_with(db: Database, user_id: str, scopes: frozenset[Scope]) -> dict[str, str]:
    with db.writer() as session:
        user = session.get(User, user_id)
        assert user is not None
        _, token = do_issue_api_token(session, user, "matrix", scopes)
    return {"Authorization": f"Bearer {token}"}


def test_the_table_covers_every_auth_operation(client: TestClient) -> None:
    spec = client.get(f"{API}/openapi.json").json()
    operations = {
        (method.upper(), path.removeprefix(API))
        for path, ops in spec["paths"].items()
        if path.startswith(f"{API}/auth/")
        for method in ops
    }
    assert operations == set(TABLE) | PUBLIC


@pytest.mark.parametrize(("method", "path"), [k for k, v in TABLE.items() if v[0]])
@pytest.mark.parametrize("role", ["customer", "agent", "admin"])
def test_account_operations_refuse_every_token_without_the_account_scope(
    client: TestClient, db: Database, tenant: Tenant, method: str, path: str, role: str
) -> None:
    scope, body = TABLE[(method, path)]
    assert scope is not None
    url = API + path.replace("{token_id}", "00000000-0000-4000-8000-000000000000")
    member = tenant.members[role]
    for others in (ALL_SCOPES - {scope}, frozenset({Scope.TICKETS_READ})):
        headers = token_with(
            db, member.user_id, others - ({Scope.ADMIN} if role != "admin" else set())
        )
        refused = client.request(method, url, json=body, headers=headers)
        assert refused.status_code == 403, (others, refused.text)
        assert refused.json()["error"]["code"] == "missing_scope"
    allowed = client.request(
        method, url, json=body, headers=token_with(db, member.user_id, frozenset({scope}))
    )
    assert not (
        allowed.status_code == 403 and allowed.json()["error"]["code"] == "missing_scope"
    ), allowed.text


def test_a_read_token_cannot_take_over_the_second_factor(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    reader = token_with(db, tenant.agent.user_id, frozenset({Scope.TICKETS_READ}))
    assert client.post(f"{API}/auth/mfa/totp/setup", headers=reader).status_code == 403
    assert client.post(f"{API}/auth/logout/all", headers=reader).status_code == 403
    # The owner's own session (here: a token made with the account scope) still can.
    owner = token_with(db, tenant.agent.user_id, frozenset({Scope.ACCOUNT}))
    assert client.post(f"{API}/auth/mfa/totp/setup", headers=owner).status_code == 200
