"""Who may call what with which credential: ONE table, :data:`NEEDS`, says for every operation
of the OpenAPI which token scope it needs (or that any credential will do, or none at all), and
:data:`FORMS` says for every form of the web pages whether it needs a browser session. The
tests walk the OpenAPI and the app's page routes and fail when an operation or a form is
missing from the tables, then send every operation with a token of each scope alone and assert
allow or deny as the table says.

Scopes are declared in each operation's signature (``api.deps.TicketsReader`` and its
siblings), so the check runs before the body is read: a token without the scope is ``403
missing_scope`` whatever it sends. A token never grants more than its owner's role
(``identity.credentials``); the tokens here are an admin's, so that only the scope decides.

Credentials that manage the account — the second factor, sessions, API tokens, the linked
wallet and e-mail — need the ``account`` scope, which a browser session always has and an API
token only if it was made with it: a leaked ``tickets:read`` token could once enrol its own
second factor and lock the owner out (the hardening issue's second finding). Web forms take a
session cookie only: a bearer token of any scope cannot drive them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from proofdesk.actions.sessions import do_issue_api_token
from proofdesk.app.cookies import SESSION_COOKIE
from proofdesk.domain.roles import ALL_SCOPES, Scope
from proofdesk.store.db import Database
from proofdesk.store.models import User
from proofdesk.web.pages import WebRoute
from tests.support.tenants import Tenant, new_ticket

API = "/api/v1"
ZERO = "00000000-0000-4000-8000-000000000000"
PUBLIC: Literal["public"] = "public"  # no credential at all (tests/api/test_abuse_limits.py)
ANY: Literal["any"] = "any"  # any credential, whatever its scopes
SESSION: Literal["session"] = "session"  # a browser session (cookie and CSRF token)
Need = Scope | Literal["public", "any"]

#: Every operation of the OpenAPI → what a caller's token needs.
NEEDS: dict[tuple[str, str], Need] = {
    ("GET", "/health"): PUBLIC,
    ("POST", "/auth/login"): PUBLIC,
    ("GET", "/auth/typed-data"): PUBLIC,
    ("POST", "/auth/siwe/nonce"): PUBLIC,
    ("POST", "/auth/siwe/verify"): PUBLIC,
    ("POST", "/auth/siwe/link"): Scope.ACCOUNT,
    ("POST", "/auth/logout"): ANY,
    ("POST", "/auth/logout/all"): Scope.ACCOUNT,
    ("POST", "/auth/mfa/totp/setup"): Scope.ACCOUNT,
    ("POST", "/auth/mfa/totp/enable"): Scope.ACCOUNT,
    ("POST", "/auth/mfa/recovery-codes"): Scope.ACCOUNT,
    ("POST", "/auth/mfa/totp/disable"): Scope.ACCOUNT,
    ("PUT", "/auth/me/email"): Scope.ACCOUNT,
    ("GET", "/auth/me"): ANY,
    ("GET", "/auth/tokens"): Scope.ACCOUNT,
    ("POST", "/auth/tokens"): Scope.ACCOUNT,
    ("DELETE", "/auth/tokens/{token_id}"): Scope.ACCOUNT,
    ("GET", "/tickets"): Scope.TICKETS_READ,
    ("POST", "/tickets"): Scope.TICKETS_WRITE,
    ("GET", "/tickets/-/counts"): Scope.TICKETS_READ,
    ("GET", "/tickets/{ticket_id}"): Scope.TICKETS_READ,
    ("PATCH", "/tickets/{ticket_id}"): Scope.TICKETS_WRITE,
    ("POST", "/tickets/{ticket_id}/status"): Scope.TICKETS_WRITE,
    ("PUT", "/tickets/{ticket_id}/assignment"): Scope.TICKETS_WRITE,
    ("POST", "/tickets/{ticket_id}/tags"): Scope.TICKETS_WRITE,
    ("POST", "/tickets/{ticket_id}/rating"): Scope.TICKETS_WRITE,
    ("POST", "/tickets/{ticket_id}/merge"): Scope.TICKETS_WRITE,
    ("GET", "/tickets/{ticket_id}/changes"): Scope.TICKETS_READ,
    ("GET", "/tickets/{ticket_id}/messages"): Scope.TICKETS_READ,
    ("POST", "/tickets/{ticket_id}/messages"): Scope.TICKETS_WRITE,
    ("GET", "/tickets/{ticket_id}/events"): Scope.TICKETS_READ,
    ("GET", "/tickets/{ticket_id}/receipt"): Scope.TICKETS_READ,
    ("GET", "/log/checkpoint"): PUBLIC,
    ("GET", "/log/checkpoints/{size}"): PUBLIC,
    ("GET", "/log/key"): PUBLIC,
    ("GET", "/log/proof/inclusion"): PUBLIC,
    ("GET", "/log/proof/consistency"): PUBLIC,
    ("GET", "/log/entries"): PUBLIC,
    ("GET", "/log/anchors"): PUBLIC,
    ("GET", "/log/tile/{path}"): PUBLIC,
    ("GET", "/witness/key"): PUBLIC,
    ("POST", "/witness/add-checkpoint"): PUBLIC,
    ("GET", "/chain"): PUBLIC,
    ("GET", "/networks"): PUBLIC,
    ("POST", "/contracts"): Scope.ADMIN,
    ("GET", "/contracts"): PUBLIC,
    ("POST", "/contracts/{contract_hash}/activate"): Scope.ADMIN,
    ("GET", "/contracts/activations/receipt"): PUBLIC,
    ("GET", "/contracts/{contract_hash}"): PUBLIC,
    ("POST", "/tickets/{ticket_id}/decisions"): Scope.TICKETS_WRITE,
    ("POST", "/tickets/{ticket_id}/decisions/dry-run"): Scope.ADMIN,
    ("PUT", "/orders/{external_id}"): Scope.CUSTOMERS_WRITE,
    ("POST", "/webhooks/orders"): PUBLIC,
    ("POST", "/telegram/{bot_id}/webhook"): PUBLIC,  # Telegram, by the secret token
    ("GET", "/webhooks/signing-key"): PUBLIC,
    ("GET", "/transfers/key"): PUBLIC,
    ("POST", "/transfers/inbound"): PUBLIC,
    ("POST", "/transfers/updates"): PUBLIC,
    ("GET", "/transfers/agreements"): Scope.ADMIN,
    ("POST", "/transfers/agreements"): Scope.ADMIN,
    ("PATCH", "/transfers/agreements/{agreement_id}"): Scope.ADMIN,
    ("GET", "/transfers/partners"): Scope.TICKETS_READ,
    ("POST", "/tickets/{ticket_id}/transfer-consents"): Scope.TICKETS_WRITE,
    ("POST", "/tickets/{ticket_id}/transfers"): Scope.TICKETS_WRITE,
    ("GET", "/tickets/{ticket_id}/transfers"): Scope.TICKETS_READ,
    ("POST", "/tickets/{ticket_id}/transfers/{transfer_id}/updates"): Scope.TICKETS_WRITE,
    ("GET", "/webhooks/endpoints"): Scope.ADMIN,
    ("POST", "/webhooks/endpoints"): Scope.ADMIN,
    ("GET", "/webhooks/endpoints/{endpoint_id}"): Scope.ADMIN,
    ("PATCH", "/webhooks/endpoints/{endpoint_id}"): Scope.ADMIN,
    ("DELETE", "/webhooks/endpoints/{endpoint_id}"): Scope.ADMIN,
    ("POST", "/webhooks/endpoints/{endpoint_id}/rotate-secret"): Scope.ADMIN,
    ("GET", "/webhooks/endpoints/{endpoint_id}/deliveries"): Scope.ADMIN,
    ("GET", "/webhooks/endpoints/{endpoint_id}/deliveries/{delivery_id}"): Scope.ADMIN,
    ("POST", "/webhooks/endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver"): Scope.ADMIN,
    ("POST", "/chain-requests"): Scope.TICKETS_WRITE,
    ("GET", "/chain-requests/{draft_id}"): Scope.TICKETS_READ,
    ("POST", "/organization/webhook-secret"): Scope.ADMIN,
    ("PUT", "/organization/escrow"): Scope.ADMIN,
    ("GET", "/tickets/{ticket_id}/payouts"): Scope.TICKETS_READ,
    ("GET", "/payouts"): Scope.TICKETS_READ,
    ("POST", "/payouts/{payout_id}/approve"): Scope.TICKETS_WRITE,
    ("POST", "/payouts/{payout_id}/reject"): Scope.TICKETS_WRITE,
    ("POST", "/payouts/{payout_id}/retry"): Scope.TICKETS_WRITE,
    ("POST", "/rewards/policies"): Scope.ADMIN,
    ("GET", "/rewards/policy"): PUBLIC,
    ("GET", "/rewards/epochs"): PUBLIC,
    ("GET", "/rewards/points"): Scope.TICKETS_READ,
    ("GET", "/rewards/ledger"): Scope.TICKETS_READ,
    ("POST", "/rewards/epochs"): Scope.ADMIN,
    ("POST", "/rewards/epochs/{number}/publish"): Scope.ADMIN,
    ("GET", "/sla/policies"): Scope.TICKETS_READ,
    ("POST", "/sla/policies"): Scope.ADMIN,
    ("PUT", "/sla/policies/{policy_id}"): Scope.ADMIN,
    ("DELETE", "/sla/policies/{policy_id}"): Scope.ADMIN,
    ("GET", "/tickets/{ticket_id}/sla"): Scope.TICKETS_READ,
    ("GET", "/macros"): Scope.TICKETS_READ,
    ("POST", "/macros"): Scope.TICKETS_WRITE,
    ("DELETE", "/macros/{macro_id}"): Scope.TICKETS_WRITE,
    ("POST", "/tickets/{ticket_id}/macros/{macro_id}"): Scope.TICKETS_WRITE,
    ("POST", "/assistant/messages"): Scope.TICKETS_WRITE,
    ("POST", "/assistant/turns/{turn_id}/feedback"): Scope.TICKETS_WRITE,
    ("POST", "/widget/messages"): PUBLIC,
    ("POST", "/widget/turns/{turn_id}/feedback"): PUBLIC,
    ("POST", "/widget/conversations/{conversation_id}/contact"): PUBLIC,
    ("GET", "/widget/conversations/{conversation_id}/messages"): PUBLIC,
    ("POST", "/widget/conversations/{conversation_id}/messages"): PUBLIC,
    ("GET", "/kb/articles"): Scope.TICKETS_READ,
    ("PUT", "/kb/articles"): Scope.TICKETS_WRITE,
    ("GET", "/tickets/{ticket_id}/assist"): Scope.TICKETS_READ,
    ("GET", "/analytics/assistant"): Scope.TICKETS_READ,
    ("GET", "/analytics/top-issues"): Scope.TICKETS_READ,
    ("GET", "/analytics/helpdesk"): Scope.TICKETS_READ,
    ("GET", "/analytics/helpdesk.csv"): Scope.TICKETS_READ,
    ("GET", "/organization"): ANY,
    ("PUT", "/organization/mfa"): Scope.ADMIN,
    ("GET", "/users"): Scope.CUSTOMERS_READ,
    ("POST", "/users"): Scope.CUSTOMERS_WRITE,  # an agent or admin account: ADMIN (below)
    ("GET", "/users/{user_id}"): Scope.CUSTOMERS_READ,
    ("PATCH", "/users/{user_id}"): Scope.CUSTOMERS_WRITE,
    ("POST", "/users/{user_id}/wallets"): Scope.CUSTOMERS_WRITE,
    ("POST", "/users/{user_id}/orders"): Scope.CUSTOMERS_WRITE,
    ("GET", "/teams"): Scope.TICKETS_READ,
    ("POST", "/teams"): Scope.TICKETS_WRITE,
    ("PUT", "/teams/{team_id}/members/{user_id}"): Scope.TICKETS_WRITE,
    ("DELETE", "/teams/{team_id}/members/{user_id}"): Scope.TICKETS_WRITE,
    ("POST", "/attachments"): Scope.TICKETS_WRITE,
    ("GET", "/attachments/{attachment_id}"): Scope.TICKETS_READ,
    # Community Q&A (docs/community.md): anyone reads, signed-in people write.
    ("GET", "/community/questions"): PUBLIC,
    ("GET", "/community/questions/{question_id}"): PUBLIC,
    ("GET", "/community/similar"): PUBLIC,
    ("GET", "/community/attachments/{attachment_id}"): PUBLIC,
    ("GET", "/community/moderation"): Scope.TICKETS_READ,
    ("POST", "/community/questions"): Scope.TICKETS_WRITE,
    ("POST", "/community/questions/{question_id}/answers"): Scope.TICKETS_WRITE,
    ("POST", "/community/posts/{post_id}/comments"): Scope.TICKETS_WRITE,
    ("PUT", "/community/posts/{post_id}/vote"): Scope.TICKETS_WRITE,
    ("PUT", "/community/questions/{question_id}/accepted"): Scope.TICKETS_WRITE,
    ("DELETE", "/community/questions/{question_id}/accepted"): Scope.TICKETS_WRITE,
    ("POST", "/community/questions/{question_id}/duplicate"): Scope.TICKETS_WRITE,
    ("POST", "/community/posts/{post_id}/reports"): Scope.TICKETS_WRITE,
    ("POST", "/community/posts/{post_id}/moderation"): Scope.TICKETS_WRITE,
    ("POST", "/community/answers/{answer_id}/promote"): Scope.TICKETS_WRITE,
    ("POST", "/community/questions/{question_id}/private"): Scope.TICKETS_WRITE,
}
#: Bodies for operations whose scope depends on their input (the rest is refused before).
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/users"): {"role": "customer", "display_name": "New", "email": "new@m.example"},
}
#: Every form (POST route) of the web pages → who may post it.
FORMS: dict[str, Literal["public", "session"]] = {
    "/login": PUBLIC,
    "/login/link": PUBLIC,
    "/login/link/{token}": PUBLIC,
    "/logout": SESSION,
    "/mfa/setup": SESSION,
    "/requests/new": SESSION,
    "/requests/{ticket_id}/reply": SESSION,
    "/requests/{ticket_id}/rating": SESSION,
    "/agent/tickets/{ticket_id}/typing": SESSION,
    "/agent/tickets/{ticket_id}/reply": SESSION,
    "/agent/tickets/{ticket_id}/macro": SESSION,
    "/agent/bulk": SESSION,
    "/agent/macros": SESSION,
    "/agent/macros/{macro_id}": SESSION,
    "/agent/macros/{macro_id}/delete": SESSION,
    "/agent/tickets/{ticket_id}/status": SESSION,
    "/agent/tickets/{ticket_id}/properties": SESSION,
    "/agent/payouts/{payout_id}/{decision}": SESSION,
    "/admin/organization/mfa": SESSION,
    "/admin/organization/name": SESSION,
    "/admin/organization/escrow": SESSION,
    "/admin/organization/webhook-secret": SESSION,
    "/admin/users": SESSION,
    "/admin/users/{user_id}/active": SESSION,
    "/admin/users/{user_id}/role": SESSION,
    "/admin/teams": SESSION,
    "/admin/teams/{team_id}/members": SESSION,
    "/admin/tokens": SESSION,
    "/admin/tokens/{token_id}/revoke": SESSION,
    "/admin/kb/{slug}/{locale}": SESSION,
    "/admin/sla/{policy_id}": SESSION,
    "/admin/sla/{policy_id}/delete": SESSION,
    "/agent/customers/{user_id}/notes": SESSION,
    "/admin/webhooks": SESSION,
    "/admin/webhooks/{endpoint_id}/enabled": SESSION,
    "/admin/webhooks/{endpoint_id}/rotate": SESSION,
    "/admin/webhooks/{endpoint_id}/delete": SESSION,
    "/admin/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver": SESSION,
    "/admin/contracts/check": SESSION,
    "/admin/contracts/lint": SESSION,
    "/admin/contracts/dry-run": SESSION,
    "/admin/contracts/publish": SESSION,
    "/admin/contracts/{contract_hash}/activate": SESSION,
    "/community/ask": SESSION,
    "/community/questions/{question_id}/answer": SESSION,
    "/community/questions/{question_id}/accept": SESSION,
    "/community/posts/{post_id}/vote": SESSION,
    "/community/posts/{post_id}/comment": SESSION,
    "/community/posts/{post_id}/report": SESSION,
    "/community/posts/{post_id}/moderate": SESSION,
}


def token_with(db: Database, user_id: str, scopes: frozenset[Scope]) -> dict[str, str]:
    with db.writer() as session:
        user = session.get(User, user_id)
        assert user is not None
        _, token = do_issue_api_token(session, user, "matrix", scopes)
    return {"Authorization": f"Bearer {token}"}


def operations(client: TestClient) -> Iterator[tuple[str, str, dict[str, Any]]]:
    spec = client.get(f"{API}/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, operation in ops.items():
            yield method.upper(), path.removeprefix(API), operation


def url_of(path: str, operation: dict[str, Any]) -> str:
    """The path with a value of the right type for each parameter (nothing needs to exist:
    the scope is checked before anything is loaded)."""
    integers = {
        p["name"]
        for p in operation.get("parameters", [])
        if p["in"] == "path" and p["schema"].get("type") == "integer"
    }
    return API + re.sub(r"\{([^}]+)\}", lambda m: "1" if m.group(1) in integers else ZERO, path)


def refused_for_scope(answer: Any) -> bool:
    return answer.status_code == 403 and answer.json()["error"]["code"] == "missing_scope"


def test_the_table_covers_every_operation(client: TestClient) -> None:
    assert {(m, p) for m, p, _ in operations(client)} == set(NEEDS)


@pytest.mark.parametrize("scope", list(Scope))
def test_every_operation_allows_or_denies_each_scope_as_the_table_says(
    client: TestClient, db: Database, tenant: Tenant, scope: Scope
) -> None:
    headers = token_with(db, tenant.admin.user_id, frozenset({scope}))
    wrong = []
    for method, path, operation in operations(client):
        need = NEEDS[(method, path)]
        body = BODIES.get((method, path), {} if "requestBody" in operation else None)
        answer = client.request(method, url_of(path, operation), json=body, headers=headers)
        expected_refusal = need not in (PUBLIC, ANY, scope)
        if refused_for_scope(answer) != expected_refusal:
            wrong.append(f"{method} {path}: {answer.status_code} {answer.text[:120]}")
    assert not wrong, "\n".join(wrong)


def test_an_account_for_staff_needs_the_admin_scope(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    body = {"role": "agent", "display_name": "New", "email": "agent-new@m.example"}
    writer = token_with(db, tenant.admin.user_id, frozenset({Scope.CUSTOMERS_WRITE}))
    assert refused_for_scope(client.post(f"{API}/users", json=body, headers=writer))
    admin = token_with(db, tenant.admin.user_id, frozenset({Scope.ADMIN}))
    assert client.post(f"{API}/users", json=body, headers=admin).status_code == 201


@pytest.mark.parametrize(("method", "path"), [k for k, v in NEEDS.items() if v is Scope.ACCOUNT])
@pytest.mark.parametrize("role", ["customer", "agent", "admin"])
def test_account_operations_refuse_every_token_without_the_account_scope(
    client: TestClient, db: Database, tenant: Tenant, method: str, path: str, role: str
) -> None:
    url = API + path.replace("{token_id}", ZERO)
    member = tenant.members[role]
    for others in (ALL_SCOPES - {Scope.ACCOUNT}, frozenset({Scope.TICKETS_READ})):
        headers = token_with(
            db, member.user_id, others - ({Scope.ADMIN} if role != "admin" else set())
        )
        refused = client.request(method, url, json={}, headers=headers)
        assert refused_for_scope(refused), (others, refused.text)
    allowed = client.request(
        method, url, json={}, headers=token_with(db, member.user_id, frozenset({Scope.ACCOUNT}))
    )
    assert not refused_for_scope(allowed), allowed.text


def test_a_read_token_cannot_take_over_the_second_factor(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    reader = token_with(db, tenant.agent.user_id, frozenset({Scope.TICKETS_READ}))
    assert client.post(f"{API}/auth/mfa/totp/setup", headers=reader).status_code == 403
    assert client.post(f"{API}/auth/logout/all", headers=reader).status_code == 403
    # The owner's own session (here: a token made with the account scope) still can.
    owner = token_with(db, tenant.agent.user_id, frozenset({Scope.ACCOUNT}))
    assert client.post(f"{API}/auth/mfa/totp/setup", headers=owner).status_code == 200


def page_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI's included routers
            yield from page_routes(route.original_router.routes)


def test_the_table_covers_every_form(client: TestClient) -> None:
    forms = {
        route.path
        for route in page_routes(client.app.router.routes)  # type: ignore[attr-defined]
        if isinstance(route, WebRoute) and "POST" in route.methods
    }
    assert forms == set(FORMS)


@pytest.mark.parametrize("path", [p for p, who in FORMS.items() if who == SESSION])
def test_no_token_of_any_scope_can_drive_a_form(
    client: TestClient, db: Database, tenant: Tenant, path: str
) -> None:
    """A bearer token with every scope, in the header or where the session cookie goes, is
    sent to the sign-in page and changes nothing."""
    ticket = str(new_ticket(client, tenant.customer)["id"])
    url = re.sub(r"\{([^}]+)\}", lambda m: ticket if m.group(1) == "ticket_id" else "1", path)
    token = token_with(db, tenant.admin.user_id, ALL_SCOPES)
    form = {"csrf_token": "x", "body": "driven by a token", "status": "solved", "name": "x"}
    before = client.get(f"{API}/tickets/{ticket}", headers=tenant.admin.headers).json()
    for in_cookie in (False, True):
        web = TestClient(client.app, raise_server_exceptions=False, follow_redirects=False)
        if in_cookie:
            web.cookies.set(SESSION_COOKIE, token["Authorization"].split()[1])
        answer = web.post(url, data=form, headers={} if in_cookie else token)
        assert answer.status_code == 303, (in_cookie, answer.status_code, answer.text[:200])
        assert answer.headers["location"].startswith(("/login", "/mfa/setup")), answer.headers
    after = client.get(f"{API}/tickets/{ticket}", headers=tenant.admin.headers).json()
    assert after == before
