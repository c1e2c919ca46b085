"""Bad input gets a 4xx with a stable error code, and changes nothing.

"Nothing" is checked twice: the row counts of everything a request could change in the tenant
(its ticket events first: they are the source of truth), and the JSON of the tickets involved,
before and after. Cases are tables of data, one test per row; ``<name>`` in a row stands for an
id of the test tenant (``<customer>``, ``<team>``, ``<self>`` for the ticket under test,
``<ghost>`` for an id nothing has, ``<outsider>`` for a customer of another tenant).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from proofdesk.actions.accounts import do_create_user
from proofdesk.actions.sessions import do_issue_api_token, do_open_session
from proofdesk.canonical import utc_now
from proofdesk.domain.roles import ALL_SCOPES, Role
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import (
    ApiToken,
    Attachment,
    IdempotencyKey,
    Order,
    Team,
    Ticket,
    TicketEvent,
    User,
    Wallet,
)
from tests.support.tenants import Member, Tenant, make_tenant, new_ticket

API = "/api/v1"
GHOST = "00000000-0000-4000-8000-000000000000"
OPEN = {"kind": "question", "subject": "Withdrawal pending", "body": "Pending for 3 hours."}
DROP = object()  # in a case's changes: leave this field out
VALIDATION, INVALID = "validation_error", "invalid_input"


@pytest.fixture(scope="module")
def org(db: Database) -> Tenant:
    return make_tenant(db)


@pytest.fixture(scope="module")
def outsider(db: Database) -> Tenant:
    return make_tenant(db)


def footprint(db: Database, org_id: str) -> dict[str, int]:
    """Row counts of everything a request can change in one organization."""
    in_org = User.organization_id == org_id
    queries = {
        "ticket events": select(func.count()).where(TicketEvent.organization_id == org_id),
        "tickets": select(func.count()).where(Ticket.organization_id == org_id),
        "users": select(func.count()).where(in_org),
        "active users": select(func.count()).where(in_org, User.is_active.is_(True)),
        "teams": select(func.count()).where(Team.organization_id == org_id),
        "wallets": select(func.count()).where(Wallet.organization_id == org_id),
        "orders": select(func.count()).where(Order.organization_id == org_id),
        "attachments": select(func.count()).where(Attachment.organization_id == org_id),
        "claimed attachments": select(func.count()).where(
            Attachment.organization_id == org_id, Attachment.ticket_id.is_not(None)
        ),
        "live tokens": select(func.count())
        .select_from(ApiToken)
        .join(User, User.id == ApiToken.user_id)
        .where(in_org, ApiToken.revoked_at.is_(None)),
        "idempotency keys": select(func.count())
        .select_from(IdempotencyKey)
        .join(User, User.id == IdempotencyKey.user_id)
        .where(in_org),
    }
    with db.reader() as session:
        return {name: session.scalar(query) or 0 for name, query in queries.items()}


@contextmanager
def changes_nothing(
    client: TestClient, db: Database, tenant: Tenant, *ticket_ids: str
) -> Iterator[None]:
    def tickets() -> list[Any]:
        return [
            client.get(f"{API}/tickets/{tid}", headers=tenant.admin.headers).json()
            for tid in ticket_ids
        ]

    before, views = footprint(db, tenant.org_id), tickets()
    yield
    assert footprint(db, tenant.org_id) == before
    assert tickets() == views


def assert_error(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["details"], dict), error
    return error


def placeholders(tenant: Tenant, outsider: Tenant, ticket_id: str = GHOST) -> dict[str, str]:
    names = {f"<{name}>": member.user_id for name, member in tenant.members.items()}
    return names | {
        "<self>": ticket_id,
        "<ghost>": GHOST,
        "<team>": tenant.team_id,
        "<outsider>": outsider.customer.user_id,
        "<agent-email>": tenant.agent.email,
    }


def fill(value: Any, names: dict[str, str]) -> Any:
    """Replace ``<name>`` placeholders anywhere in a JSON value or a path."""
    if isinstance(value, str):
        for name, replacement in names.items():
            value = value.replace(name, replacement)
        return value
    if isinstance(value, list):
        return [fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, names) for k, v in value.items()}
    return value


def cases(table: list[tuple[Any, ...]]) -> list[Any]:
    """Rows ``(id, *values)`` as pytest params named by their id."""
    return [pytest.param(*row[1:], id=row[0]) for row in table]


# --- opening a ticket ----------------------------------------------------------------------

# fmt: off
NEW_TICKET_CASES = [
    # (id, who, changes to OPEN, status, code); staff name <customer> as requester
    # wrong JSON types
    ("subject-number",          "customer", {"subject": 123},               422, VALIDATION),
    ("body-null",               "customer", {"body": None},                 422, VALIDATION),
    ("kind-list",               "customer", {"kind": ["question"]},         422, VALIDATION),
    ("tags-string",             "agent",    {"tags": "vip"},                422, VALIDATION),
    ("attachment-ids-string",   "customer", {"attachment_ids": "abc"},      422, VALIDATION),
    ("chain-id-string",         "customer", {"chain_id": "1"},              422, VALIDATION),
    ("chain-id-bool",           "customer", {"chain_id": True},             422, VALIDATION),
    ("chain-id-float",          "customer", {"chain_id": 1.5},              422, VALIDATION),
    ("requester-number",        "agent",    {"requester_id": 7},            422, VALIDATION),
    # missing and unknown fields
    ("kind-missing",            "customer", {"kind": DROP},                 422, VALIDATION),
    ("body-missing",            "customer", {"body": DROP},                 422, VALIDATION),
    ("unknown-field",           "customer", {"sujbect": "typo"},            422, VALIDATION),
    ("status-not-settable",     "customer", {"status": "solved"},           422, VALIDATION),
    ("number-not-settable",     "customer", {"number": 1},                  422, VALIDATION),
    # empty, blank, too long, NUL
    ("empty-subject",           "customer", {"subject": ""},                422, VALIDATION),
    ("blank-subject",           "customer", {"subject": " \t "},            422, INVALID),
    ("empty-body",              "customer", {"body": ""},                   422, VALIDATION),
    ("blank-body",              "customer", {"body": "\n\n"},               422, INVALID),
    ("subject-too-long",        "customer", {"subject": "x" * 301},         422, VALIDATION),
    ("body-too-long",           "customer", {"body": "x" * 64_001},         422, VALIDATION),
    ("nul-in-subject",          "customer", {"subject": "Withdrawal\x00"},  422, VALIDATION),
    ("nul-in-body",             "customer", {"body": "\x00"},               422, VALIDATION),
    ("nul-in-category",         "agent",    {"category": "kyc\x00"},        422, VALIDATION),
    ("nul-in-tag",              "agent",    {"tags": ["vip\x00"]},          422, VALIDATION),
    # invalid enum values
    ("kind-unknown",            "customer", {"kind": "bogus"},              422, VALIDATION),
    ("kind-wrong-case",         "customer", {"kind": "Question"},           422, VALIDATION),
    ("channel-unknown",         "customer", {"channel": "fax"},             422, VALIDATION),
    ("priority-unknown",        "agent",    {"priority": "asap"},           422, VALIDATION),
    # chain identifiers
    ("tx-hash-short",           "customer", {"tx_hash": "0x1234"},          422, INVALID),
    ("tx-hash-not-hex",         "customer", {"tx_hash": "0x" + "zz" * 32},  422, INVALID),
    ("tx-hash-no-prefix",       "customer", {"tx_hash": "ab" * 32},         422, "network_required"),
    ("network-unknown",         "customer", {"network": "atlantis"},        422, INVALID),
    ("tron-evm-tx-hash",        "customer", {"network": "tron", "tx_hash": "0x1234"}, 422, INVALID),
    ("tron-chain-id",           "customer", {"network": "tron", "chain_id": 1}, 422, INVALID),
    ("bsc-other-chain-id",      "customer", {"network": "bsc", "chain_id": 1}, 422, INVALID),
    ("tron-evm-wallet",         "customer", {"network": "tron", "wallet_address": "0x" + "a" * 40}, 422, INVALID),
    ("wallet-short",            "customer", {"wallet_address": "0x1234"},   422, INVALID),
    ("wallet-not-hex",          "customer", {"wallet_address": "0x" + "g" * 40}, 422, INVALID),
    ("wallet-ens-name",         "customer", {"wallet_address": "vitalik.eth"}, 422, INVALID),
    ("chain-id-zero",           "customer", {"chain_id": 0},                422, VALIDATION),
    ("chain-id-negative",       "customer", {"chain_id": -1},               422, VALIDATION),
    ("chain-id-unsafe",         "customer", {"chain_id": 2**53},            422, VALIDATION),
    ("order-id-spaces",         "customer", {"order_id": "order 12"},       422, INVALID),
    # references, and fields that are not the caller's to set
    ("tag-with-space",          "agent",    {"tags": ["two words"]},        422, INVALID),
    ("too-many-tags",           "agent",    {"tags": [f"t{i}" for i in range(21)]}, 422, VALIDATION),
    ("staff-without-requester", "agent",    {"requester_id": DROP},         422, INVALID),
    ("unknown-requester",       "agent",    {"requester_id": "<ghost>"},    422, INVALID),
    ("other-tenant-requester",  "agent",    {"requester_id": "<outsider>"}, 422, INVALID),
    ("unknown-team",            "agent",    {"team_id": "<ghost>"},         422, INVALID),
    ("unknown-assignee",        "agent",    {"assignee_id": "<ghost>"},     422, INVALID),
    ("customer-as-assignee",    "agent",    {"assignee_id": "<customer2>"}, 422, INVALID),
    ("unknown-attachment",      "customer", {"attachment_ids": ["<ghost>"]}, 422, INVALID),
    ("customer-sets-priority",  "customer", {"priority": "high"},           403, "forbidden"),
    ("customer-for-another",    "customer", {"requester_id": "<customer2>"}, 403, "forbidden"),
    ("auditor-opens",           "auditor",  {},                             403, "forbidden"),
]
# fmt: on


@pytest.mark.parametrize(("who", "changes", "status", "code"), cases(NEW_TICKET_CASES))
def test_bad_new_ticket(
    client: TestClient,
    db: Database,
    org: Tenant,
    outsider: Tenant,
    who: str,
    changes: dict[str, Any],
    status: int,
    code: str,
) -> None:
    body: dict[str, Any] = dict(OPEN)
    if who != "customer":
        body["requester_id"] = "<customer>"
    body.update(changes)
    body = fill({k: v for k, v in body.items() if v is not DROP}, placeholders(org, outsider))
    with changes_nothing(client, db, org):
        r = client.post(f"{API}/tickets", json=body, headers=org.members[who].headers)
        assert_error(r, status, code)


JSON = "application/json"
# fmt: off
RAW_BODIES = [
    # (id, content, content type, status, code)
    ("truncated",         b'{"kind": "question", "subject": "x",',   JSON, 422, VALIDATION),
    ("single-quotes",     b"{'kind': 'question'}",                   JSON, 422, VALIDATION),
    ("trailing-garbage",  b'{"kind": "question"} x',                 JSON, 422, VALIDATION),
    ("array",             b"[]",                                     JSON, 422, VALIDATION),
    ("string",            b'"a ticket"',                             JSON, 422, VALIDATION),
    ("null",              b"null",                                   JSON, 422, VALIDATION),
    ("empty",             b"",                                       JSON, 422, VALIDATION),
    ("lone-surrogate",    b'{"kind":"question","subject":"\\ud800"}', JSON, 422, VALIDATION),
    ("invalid-utf8",      b'{"kind":"question","subject":"\xff"}',   JSON, 400, "bad_request"),
    ("text-content-type", json.dumps(OPEN).encode(),                 "text/plain", 422, VALIDATION),
    ("form-encoded",      b"kind=question&subject=x", "application/x-www-form-urlencoded", 422,
                                                                                       VALIDATION),
]
# fmt: on


@pytest.mark.parametrize(("content", "content_type", "status", "code"), cases(RAW_BODIES))
def test_malformed_body(
    client: TestClient,
    db: Database,
    org: Tenant,
    content: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    headers = org.customer.headers | {"Content-Type": content_type}
    with changes_nothing(client, db, org):
        r = client.post(f"{API}/tickets", content=content, headers=headers)
        assert_error(r, status, code)


def oversized_ticket(settings: Settings) -> bytes:
    return json.dumps(dict(OPEN, body="x" * settings.max_body_bytes)).encode()


def test_oversized_body_is_refused(
    client: TestClient, db: Database, settings: Settings, org: Tenant
) -> None:
    headers = org.customer.headers | {"Content-Type": JSON}
    with changes_nothing(client, db, org):
        r = client.post(f"{API}/tickets", content=oversized_ticket(settings), headers=headers)
        assert r.status_code == 413


def test_oversized_body_has_the_error_shape(
    client: TestClient, settings: Settings, org: Tenant
) -> None:
    headers = org.customer.headers | {"Content-Type": JSON}
    r = client.post(f"{API}/tickets", content=oversized_ticket(settings), headers=headers)
    assert_error(r, 413, "payload_too_large")
    assert r.json()["error"]["details"] == {"limit_bytes": settings.max_body_bytes}


def test_oversized_streamed_body_is_stopped(
    client: TestClient, db: Database, settings: Settings, org: Tenant
) -> None:
    # No Content-Length: the limit must bite while the body streams in.
    body = oversized_ticket(settings)
    chunks = (body[i : i + 4096] for i in range(0, len(body), 4096))
    headers = org.customer.headers | {"Content-Type": JSON}
    with changes_nothing(client, db, org):
        r = client.post(f"{API}/tickets", content=chunks, headers=headers)
        assert_error(r, 413, "payload_too_large")


# --- changing a ticket -----------------------------------------------------------------------

TRANSITION, CLOSED = "invalid_transition", "ticket_closed"
# fmt: off
TICKET_CASES = [
    # (id, method, path after /tickets/<self>, body, status, code); sent by an agent
    ("patch-unknown-field",      "PATCH", "",            {"status": "open"},            422, VALIDATION),
    ("patch-requester",          "PATCH", "",            {"requester_id": "<customer2>"}, 422, VALIDATION),
    ("patch-priority-unknown",   "PATCH", "",            {"priority": "asap"},          422, VALIDATION),
    ("patch-kind-number",        "PATCH", "",            {"kind": 3},                   422, VALIDATION),
    ("patch-empty-subject",      "PATCH", "",            {"subject": ""},               422, VALIDATION),
    ("patch-blank-subject",      "PATCH", "",            {"subject": "   "},            422, INVALID),
    ("patch-null-subject",       "PATCH", "",            {"subject": None},             422, INVALID),
    ("patch-null-kind",          "PATCH", "",            {"kind": None},                422, INVALID),
    ("patch-null-priority",      "PATCH", "",            {"priority": None},            422, INVALID),
    ("patch-tx-hash",            "PATCH", "",            {"tx_hash": "0xabc"},          422, INVALID),
    ("patch-wallet",             "PATCH", "",            {"wallet_address": "bob.eth"}, 422, INVALID),
    ("patch-chain-id-zero",      "PATCH", "",            {"chain_id": 0},               422, VALIDATION),
    ("patch-chain-id-string",    "PATCH", "",            {"chain_id": "137"},           422, VALIDATION),
    ("patch-order-id",           "PATCH", "",            {"order_id": "#12"},           422, INVALID),
    ("patch-good-then-bad",      "PATCH", "",            {"priority": "high", "tx_hash": "0x"}, 422, INVALID),
    ("status-unknown",           "POST",  "/status",     {"status": "done"},            422, VALIDATION),
    ("status-missing",           "POST",  "/status",     {},                            422, VALIDATION),
    ("status-same",              "POST",  "/status",     {"status": "new"},             409, TRANSITION),
    ("status-skips-solved",      "POST",  "/status",     {"status": "closed"},          409, TRANSITION),
    ("message-empty",            "POST",  "/messages",   {"body": ""},                  422, VALIDATION),
    ("message-blank",            "POST",  "/messages",   {"body": " \n"},               422, INVALID),
    ("message-visibility",       "POST",  "/messages",   {"body": "x", "visibility": "secret"}, 422, VALIDATION),
    ("message-status-unknown",   "POST",  "/messages",   {"body": "x", "status": "done"}, 422, VALIDATION),
    ("message-closes-new",       "POST",  "/messages",   {"body": "x", "status": "closed"}, 409, TRANSITION),
    ("message-unknown-file",     "POST",  "/messages",   {"body": "x", "attachment_ids": ["<ghost>"]}, 422, INVALID),
    ("tags-with-space",          "POST",  "/tags",       {"add": ["two words"]},        422, INVALID),
    ("tags-string",              "POST",  "/tags",       {"add": "vip"},                422, VALIDATION),
    ("tags-too-many",            "POST",  "/tags",       {"add": [f"t{i}" for i in range(21)]}, 422, VALIDATION),
    ("tags-too-long",            "POST",  "/tags",       {"add": ["x" * 41]},           422, VALIDATION),
    ("assign-unknown-agent",     "PUT",   "/assignment", {"assignee_id": "<ghost>"},    422, INVALID),
    ("assign-customer",          "PUT",   "/assignment", {"assignee_id": "<customer>"}, 422, INVALID),
    ("assign-auditor",           "PUT",   "/assignment", {"assignee_id": "<auditor>"},  422, INVALID),
    ("assign-outsider",          "PUT",   "/assignment", {"assignee_id": "<outsider>"}, 422, INVALID),
    ("assign-unknown-team",      "PUT",   "/assignment", {"team_id": "<ghost>"},        422, INVALID),
    ("assign-outside-team",      "PUT",   "/assignment", {"assignee_id": "<admin>", "team_id": "<team>"}, 422, INVALID),
    ("merge-into-self",          "POST",  "/merge",      {"into": "<self>"},            422, INVALID),
    ("merge-missing-into",       "POST",  "/merge",      {},                            422, VALIDATION),
    ("merge-into-unknown",       "POST",  "/merge",      {"into": "<ghost>"},           404, "not_found"),
]
# fmt: on


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), cases(TICKET_CASES))
def test_bad_ticket_change(
    client: TestClient,
    db: Database,
    org: Tenant,
    outsider: Tenant,
    method: str,
    path: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    tid = str(new_ticket(client, org.customer)["id"])
    body = fill(body, placeholders(org, outsider, tid))
    with changes_nothing(client, db, org, tid):
        url = f"{API}/tickets/{tid}{path}"
        r = client.request(method, url, json=body, headers=org.agent.headers)
        assert_error(r, status, code)


def test_invalid_transition_names_the_allowed_ones(
    client: TestClient, db: Database, org: Tenant
) -> None:
    tid = str(new_ticket(client, org.customer)["id"])
    with changes_nothing(client, db, org, tid):
        r = client.post(
            f"{API}/tickets/{tid}/status", json={"status": "closed"}, headers=org.agent.headers
        )
        error = assert_error(r, 409, TRANSITION)
    assert error["details"] == {
        "from": "new",
        "to": "closed",
        "allowed": ["on_hold", "open", "pending", "solved"],
    }


def close(client: TestClient, member: Member, ticket_id: str) -> None:
    for status in ("solved", "closed"):
        r = client.post(
            f"{API}/tickets/{ticket_id}/status", json={"status": status}, headers=member.headers
        )
        assert r.status_code == 200, r.text


def test_closed_ticket_cannot_change(client: TestClient, db: Database, org: Tenant) -> None:
    tid = str(new_ticket(client, org.customer)["id"])
    close(client, org.agent, tid)
    attempts = [
        (org.agent, "POST", "/status", {"status": "open"}),
        (org.agent, "POST", "/messages", {"body": "One more thing"}),
        (org.agent, "PATCH", "", {"priority": "high"}),
        (org.agent, "POST", "/tags", {"add": ["late"]}),
        (org.agent, "PUT", "/assignment", {"assignee_id": org.agent.user_id}),
        (org.customer, "POST", "/messages", {"body": "Hello?"}),
        (org.customer, "POST", "/status", {"status": "open"}),
    ]
    with changes_nothing(client, db, org, tid):
        for member, method, path, body in attempts:
            url = f"{API}/tickets/{tid}{path}"
            assert_error(
                client.request(method, url, json=body, headers=member.headers), 409, CLOSED
            )


# fmt: off
MERGES = [
    # (id, what the target is, status, code); the source is an open ticket of <customer>
    ("into-other-requester", "customer2's",   422, INVALID),
    ("into-closed",          "closed",        409, CLOSED),
    ("from-closed",          "source closed", 409, CLOSED),
    ("into-merged-away",     "merged away",   409, CLOSED),
    ("into-other-tenant",    "outsider's",    404, "not_found"),
]
# fmt: on


@pytest.mark.parametrize(("target", "status", "code"), cases(MERGES))
def test_bad_merge(
    client: TestClient,
    db: Database,
    org: Tenant,
    outsider: Tenant,
    target: str,
    status: int,
    code: str,
) -> None:
    owner = {"customer2's": org.customer2, "outsider's": outsider.customer}.get(target)
    source = str(new_ticket(client, org.customer)["id"])
    into = str(new_ticket(client, owner or org.customer)["id"])
    if target == "closed":
        close(client, org.agent, into)
    elif target == "source closed":
        close(client, org.agent, source)
    elif target == "merged away":
        third = str(new_ticket(client, org.customer)["id"])
        r = client.post(
            f"{API}/tickets/{into}/merge", json={"into": third}, headers=org.agent.headers
        )
        assert r.status_code == 200, r.text
    ours = (source,) if target == "outsider's" else (source, into)
    with changes_nothing(client, db, org, *ours), changes_nothing(client, db, outsider):
        r = client.post(
            f"{API}/tickets/{source}/merge", json={"into": into}, headers=org.agent.headers
        )
        assert_error(r, status, code)


TICKET_ENDPOINTS = [
    ("GET", "", None),
    ("PATCH", "", {"priority": "high"}),
    ("POST", "/status", {"status": "open"}),
    ("PUT", "/assignment", {"assignee_id": None}),
    ("POST", "/tags", {"add": ["vip"]}),
    ("POST", "/merge", {"into": GHOST}),
    ("GET", "/messages", None),
    ("POST", "/messages", {"body": "Hello"}),
    ("GET", "/events", None),
]


@pytest.mark.parametrize("ticket_id", [GHOST, "1", "not-a-uuid", "x" * 300, "é"])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [pytest.param(*e, id=f"{e[0]} {e[1] or '/'}") for e in TICKET_ENDPOINTS],
)
def test_unknown_ticket(
    client: TestClient,
    db: Database,
    org: Tenant,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    ticket_id: str,
) -> None:
    with changes_nothing(client, db, org):
        url = f"{API}/tickets/{ticket_id}{path}"
        assert_error(
            client.request(method, url, json=body, headers=org.agent.headers), 404, "not_found"
        )


def test_nul_in_the_path_is_bad_input(client: TestClient, db: Database, org: Tenant) -> None:
    # PostgreSQL cannot store or compare U+0000; both backends refuse it up front.
    with changes_nothing(client, db, org):
        for method, path in [
            ("GET", "/tickets/a%00b"),
            ("POST", "/tickets/%00/status"),
            ("PATCH", "/users/%00"),
            ("GET", "/attachments/%00"),
        ]:
            r = client.request(method, f"{API}{path}", json={}, headers=org.admin.headers)
            assert_error(r, 422, INVALID)


# --- credentials ---------------------------------------------------------------------------

Headers = dict[str, str]


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


def expired_api_token(client: TestClient, db: Database, tenant: Tenant) -> Headers:
    with db.writer() as session:
        user = session.get(User, tenant.agent.user_id)
        assert user is not None
        past = utc_now() - timedelta(seconds=1)
        _, token = do_issue_api_token(session, user, "short-lived", ALL_SCOPES, past)
    return bearer(token)


def revoked_api_token(client: TestClient, db: Database, tenant: Tenant) -> Headers:
    r = client.post(
        f"{API}/auth/tokens",
        json={"name": "leaked", "scopes": ["tickets:read", "tickets:write"]},
        headers=tenant.agent.headers,
    )
    assert r.status_code == 201, r.text
    revoke = client.delete(f"{API}/auth/tokens/{r.json()['id']}", headers=tenant.agent.headers)
    assert revoke.status_code == 204
    return bearer(r.json()["token"])


def disabled_users_token(client: TestClient, db: Database, tenant: Tenant) -> Headers:
    with db.writer() as session:
        email = f"leaver-{uuid.uuid4().hex[:8]}@{tenant.slug}.example"
        user = do_create_user(
            session, tenant.org_id, role=Role.AGENT, display_name="Leaver", email=email
        )
        _, token = do_issue_api_token(session, user, "old", ALL_SCOPES)
        user_id = user.id
    r = client.patch(
        f"{API}/users/{user_id}", json={"is_active": False}, headers=tenant.admin.headers
    )
    assert r.status_code == 200, r.text
    return bearer(token)


def expired_session(db: Database, tenant: Tenant) -> str:
    with db.writer() as session:
        user = session.get(User, tenant.agent.user_id)
        assert user is not None
        token, _ = do_open_session(session, user, -1)
    return token


def fixed(headers: Headers) -> Callable[[TestClient, Database, Tenant], Headers]:
    return lambda client, db, tenant: headers


# fmt: off
CREDENTIALS = [
    # (id, headers, or how to make them, code)
    ("none",                fixed({}),                                          "unauthenticated"),
    ("bearer-only",         fixed({"Authorization": "Bearer"}),                 "bad_token"),
    ("bearer-blank",        fixed({"Authorization": "Bearer    "}),             "bad_token"),
    ("basic-scheme",        fixed({"Authorization": "Basic YWdlbnQ6c2VjcmV0"}), "bad_token"),
    ("unknown-api-token",   fixed(bearer("pdk_" + "A" * 43)),                   "bad_token"),
    ("expired-api-token",   expired_api_token,                                  "bad_token"),
    ("revoked-api-token",   revoked_api_token,                                  "bad_token"),
    ("disabled-user",       disabled_users_token,                               "bad_token"),
    ("token-scheme",        lambda c, db, t: {"Authorization": f"Token {t.agent.token}"}, "bad_token"),
    ("no-scheme",           lambda c, db, t: {"Authorization": t.agent.token},  "bad_token"),
    ("truncated-api-token", lambda c, db, t: bearer(t.agent.token[:-1]),        "bad_token"),
    ("unknown-session",     fixed(bearer("not-a-session")),                     "bad_session"),
    ("expired-session",     lambda c, db, t: bearer(expired_session(db, t)),    "bad_session"),
    ("forged-cookie",       fixed({"Cookie": "pd_session=forged"}),             "bad_session"),
    ("expired-cookie",      lambda c, db, t: {"Cookie": f"pd_session={expired_session(db, t)}"},
                                                                                "bad_session"),
]
# fmt: on


@pytest.mark.parametrize(("make", "code"), cases(CREDENTIALS))
def test_bad_credentials(
    client: TestClient,
    db: Database,
    org: Tenant,
    make: Callable[[TestClient, Database, Tenant], Headers],
    code: str,
) -> None:
    headers = make(client, db, org)
    tid = str(new_ticket(client, org.customer)["id"])
    stranger = TestClient(client.app, raise_server_exceptions=False)  # an empty cookie jar
    with changes_nothing(client, db, org, tid):
        assert_error(stranger.get(f"{API}/tickets/{tid}", headers=headers), 401, code)
        r = stranger.post(f"{API}/tickets/{tid}/messages", json={"body": "Hi"}, headers=headers)
        assert_error(r, 401, code)
        assert_error(stranger.post(f"{API}/tickets", json=OPEN, headers=headers), 401, code)


def test_bad_login(client: TestClient, db: Database) -> None:
    tenant = make_tenant(db, password="correct horse battery")
    slug, email = tenant.slug, tenant.agent.email
    # fmt: off
    attempts = [
        ({"organization": slug, "email": email, "password": "wrong horse"}, 401, "bad_credentials"),
        ({"organization": "no-such-org", "email": email, "password": "x"}, 401, "bad_credentials"),
        # agent2 has no password at all
        ({"organization": slug, "email": tenant.agent2.email, "password": "x"}, 401, "bad_credentials"),
        ({"organization": slug, "email": email}, 422, VALIDATION),
        ({"organization": slug, "email": email, "password": "x", "remember": True}, 422, VALIDATION),
        ({"organization": slug, "email": "a\x00@b.c", "password": "x"}, 422, VALIDATION),
    ]
    # fmt: on
    with changes_nothing(client, db, tenant):
        for body, status, code in attempts:
            assert_error(client.post(f"{API}/auth/login", json=body), status, code)


# --- listings --------------------------------------------------------------------------------


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor(*parts: Any) -> str:
    return b64(json.dumps(list(parts)))


# fmt: off
LISTING_CASES = [
    # (id, path, query, status, code); sent by an agent
    ("cursor-not-base64",       "/tickets", {"cursor": "!!!"},                                 422, INVALID),
    ("cursor-not-json",         "/tickets", {"cursor": b64("not json")},                       422, INVALID),
    ("cursor-object",           "/tickets", {"cursor": b64('{"a": 1}')},                       422, INVALID),
    ("cursor-null",             "/tickets", {"cursor": b64("null")},                           422, INVALID),
    ("cursor-two-items",        "/tickets", {"cursor": cursor("-updated_at", "x")},            422, INVALID),
    ("cursor-other-sort",       "/tickets", {"cursor": cursor("number", 1, GHOST)},            422, INVALID),
    ("cursor-number-for-time",  "/tickets", {"cursor": cursor("-updated_at", 5, GHOST)},       422, INVALID),
    ("cursor-text-for-number",  "/tickets", {"sort": "-number", "cursor": cursor("-number", "5", GHOST)}, 422, INVALID),
    ("cursor-bool-for-number",  "/tickets", {"sort": "number", "cursor": cursor("number", True, GHOST)}, 422, INVALID),
    ("cursor-huge-number",      "/tickets", {"sort": "number", "cursor": cursor("number", 10**30, GHOST)}, 422, INVALID),
    ("cursor-float-number",     "/tickets", {"sort": "number", "cursor": cursor("number", 1.5, GHOST)}, 422, INVALID),
    ("cursor-id-not-text",      "/tickets", {"cursor": cursor("-updated_at", "2026", 7)},      422, INVALID),
    ("cursor-nul",              "/tickets", {"cursor": cursor("-updated_at", "2026\x00", GHOST)}, 422, INVALID),
    ("cursor-too-long",         "/tickets", {"cursor": "A" * 501},                             422, VALIDATION),
    ("users-cursor-garbage",    "/users",   {"cursor": "%%%"},                                 422, INVALID),
    ("users-cursor-of-tickets", "/users",   {"cursor": cursor("-updated_at", "2026", GHOST)},  422, INVALID),
    ("users-cursor-text-value", "/users",   {"cursor": cursor("id", "0", GHOST)},              422, INVALID),
    ("users-cursor-nul-id",     "/users",   {"cursor": cursor("id", 0, "\x00")},               422, INVALID),
    ("sort-unknown",            "/tickets", {"sort": "priority"},                              422, VALIDATION),
    ("limit-zero",              "/tickets", {"limit": 0},                                      422, VALIDATION),
    ("limit-too-big",           "/tickets", {"limit": 201},                                    422, VALIDATION),
    ("limit-text",              "/tickets", {"limit": "ten"},                                  422, VALIDATION),
    ("status-unknown",          "/tickets", {"status": "done"},                                422, VALIDATION),
    ("kind-unknown",            "/tickets", {"kind": "bogus"},                                 422, VALIDATION),
    ("q-empty",                 "/tickets", {"q": ""},                                         422, VALIDATION),
    ("q-too-long",              "/tickets", {"q": "x" * 201},                                  422, VALIDATION),
    ("q-nul",                   "/tickets", {"q": "with\x00drawal"},                           422, INVALID),
    ("assignee-nul",            "/tickets", {"assignee_id": "\x00"},                           422, INVALID),
    ("users-role-unknown",      "/users",   {"role": "root"},                                  422, VALIDATION),
    ("users-q-nul",             "/users",   {"q": "\x00"},                                     422, INVALID),
]
# fmt: on


@pytest.mark.parametrize(("path", "query", "status", "code"), cases(LISTING_CASES))
def test_bad_listing(
    client: TestClient, org: Tenant, path: str, query: dict[str, Any], status: int, code: str
) -> None:
    new_ticket(client, org.customer)  # something to list
    assert_error(client.get(f"{API}{path}", params=query, headers=org.agent.headers), status, code)


@pytest.mark.parametrize("q", ["²", "#²", "١٢", "#", "%", "_", "\\", "'", "50%_off", "#1234567890"])
def test_odd_search_text_is_not_an_error(client: TestClient, org: Tenant, q: str) -> None:
    r = client.get(f"{API}/tickets", params={"q": q}, headers=org.agent.headers)
    assert r.status_code == 200, r.text


# --- idempotency -----------------------------------------------------------------------------


def test_same_idempotency_key_and_body_replays_the_first_response(
    client: TestClient, db: Database, org: Tenant
) -> None:
    headers = org.customer.headers | {"Idempotency-Key": f"open-{uuid.uuid4()}"}
    first = client.post(f"{API}/tickets", json=OPEN, headers=headers)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    tid = first.json()["id"]
    with changes_nothing(client, db, org, tid):
        again = client.post(f"{API}/tickets", json=OPEN, headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()

    url = f"{API}/tickets/{tid}/messages"
    headers |= {"Idempotency-Key": f"reply-{uuid.uuid4()}"}
    reply = client.post(url, json={"body": "Any news?"}, headers=headers)
    assert reply.status_code == 201, reply.text
    with changes_nothing(client, db, org, tid):
        again = client.post(url, json={"body": "Any news?"}, headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == reply.json()


def test_idempotency_key_reused_for_another_request(
    client: TestClient, db: Database, org: Tenant
) -> None:
    key = f"open-{uuid.uuid4()}"
    headers = org.customer.headers | {"Idempotency-Key": key}
    first = client.post(f"{API}/tickets", json=OPEN, headers=headers)
    assert first.status_code == 201, first.text
    tid = first.json()["id"]
    with changes_nothing(client, db, org, tid):
        r = client.post(f"{API}/tickets", json=dict(OPEN, subject="Another"), headers=headers)
        assert_error(r, 409, "idempotency_key_reused")
        r = client.post(f"{API}/tickets/{tid}/messages", json={"body": "Hi"}, headers=headers)
        assert_error(r, 409, "idempotency_key_reused")
        for bad_key in ("", "k" * 201):
            bad = org.customer.headers | {"Idempotency-Key": bad_key}
            assert_error(client.post(f"{API}/tickets", json=OPEN, headers=bad), 422, INVALID)
    # Keys belong to their user: another customer's identical request opens a ticket of theirs.
    theirs = org.customer2.headers | {"Idempotency-Key": key}
    other = client.post(f"{API}/tickets", json=OPEN, headers=theirs)
    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other.headers
    assert other.json()["id"] != tid


# --- attachments -----------------------------------------------------------------------------

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120
PE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
OCTETS, MEDIA = "application/octet-stream", "unsupported_media_type"

# fmt: off
UPLOADS = [
    # (id, filename, content, declared type, status, code); the limit is 200_000 bytes
    ("too-big",            "big.txt",       b"a" * 200_001,     "text/plain",      413, "payload_too_large"),
    ("png-declared-text",  "shot.txt",      PNG,                "text/plain",      415, MEDIA),
    ("text-declared-png",  "shot.png",      b"just text",       "image/png",       415, MEDIA),
    ("text-declared-pdf",  "statement.pdf", b"%PDX not a pdf",  "application/pdf", 415, MEDIA),
    ("elf-executable",     "wallet-fix",    ELF,                OCTETS,            415, MEDIA),
    ("windows-executable", "wallet.exe",    PE,                 OCTETS,            415, MEDIA),
    ("unknown-binary",     "blob.bin",      b"\x00\x01\x02\xfe", OCTETS,           415, MEDIA),
    ("not-utf8-text",      "notes.txt",     b"caf\xe9 \xff",    "text/plain",      415, MEDIA),
    ("empty",              "empty.txt",     b"",                "text/plain",      422, INVALID),
]
# fmt: on


@pytest.mark.parametrize(("filename", "content", "declared", "status", "code"), cases(UPLOADS))
def test_bad_upload(
    client: TestClient,
    db: Database,
    org: Tenant,
    filename: str,
    content: bytes,
    declared: str,
    status: int,
    code: str,
) -> None:
    files = {"file": (filename, content, declared)}
    with changes_nothing(client, db, org):
        r = client.post(f"{API}/attachments", files=files, headers=org.customer.headers)
        assert_error(r, status, code)


def test_upload_far_beyond_the_limit(client: TestClient, db: Database, org: Tenant) -> None:
    # Beyond the upload body limit: refused before the file is read.
    files = {"file": ("huge.txt", b"a" * 1_000_000, "text/plain")}
    with changes_nothing(client, db, org):
        r = client.post(f"{API}/attachments", files=files, headers=org.customer.headers)
        assert_error(r, 413, "payload_too_large")


def test_upload_without_a_file(client: TestClient, db: Database, org: Tenant) -> None:
    with changes_nothing(client, db, org):
        for files in (
            {"document": ("a.txt", b"hello", "text/plain")},
            {"file": ("", b"hello", "text/plain")},
        ):
            r = client.post(f"{API}/attachments", files=files, headers=org.customer.headers)
            assert_error(r, 422, VALIDATION)
        r = client.post(
            f"{API}/attachments", json={"file": "aGVsbG8="}, headers=org.customer.headers
        )
        assert_error(r, 422, VALIDATION)


def upload(client: TestClient, member: Member) -> str:
    files = {"file": ("receipt.txt", b"receipt", "text/plain")}
    r = client.post(f"{API}/attachments", files=files, headers=member.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.mark.parametrize("whose", ["an agent's", "customer2's", "another tenant's", "used"])
def test_cannot_attach_someone_elses_upload(
    client: TestClient, db: Database, org: Tenant, outsider: Tenant, whose: str
) -> None:
    tid = str(new_ticket(client, org.customer)["id"])
    uploader = {
        "an agent's": org.agent,
        "customer2's": org.customer2,
        "another tenant's": outsider.customer,
        "used": org.customer,
    }[whose]
    attachment = upload(client, uploader)
    if whose == "used":  # the customer's own, already attached to another ticket
        new_ticket(client, org.customer, attachment_ids=[attachment])
    with changes_nothing(client, db, org, tid), changes_nothing(client, db, outsider):
        body = OPEN | {"attachment_ids": [attachment]}
        r = client.post(f"{API}/tickets", json=body, headers=org.customer.headers)
        assert_error(r, 422, INVALID)
        body = {"body": "See attached", "attachment_ids": [attachment]}
        r = client.post(f"{API}/tickets/{tid}/messages", json=body, headers=org.customer.headers)
        assert_error(r, 422, INVALID)


# --- accounts ------------------------------------------------------------------------------

WALLETS, ORDERS = "/users/<customer>/wallets", "/users/<customer>/orders"
# fmt: off
ACCOUNT_CASES = [
    # (id, method, path, body, status, code); sent by the admin
    ("wallet-bad-address",     "POST",   WALLETS, {"address": "0x12"},                   422, INVALID),
    ("wallet-no-address",      "POST",   WALLETS, {"label": "cold"},                     422, VALIDATION),
    ("wallet-of-staff",        "POST",   "/users/<agent>/wallets", {"address": "0x" + "ab" * 20}, 422, INVALID),
    ("order-amount-text",      "POST",   ORDERS, {"external_id": "o1", "amount": "ten", "currency": "USD"}, 422, INVALID),
    ("order-amount-nan",       "POST",   ORDERS, {"external_id": "o2", "amount": "NaN", "currency": "USD"}, 422, INVALID),
    ("order-amount-exponent",  "POST",   ORDERS, {"external_id": "o3", "amount": "1e999999999", "currency": "USD"}, 422, INVALID),
    ("order-amount-too-long",  "POST",   ORDERS, {"external_id": "o4", "amount": "1e100", "currency": "USD"}, 422, INVALID),
    ("order-amount-tiny",      "POST",   ORDERS, {"external_id": "o5", "amount": "1e-100", "currency": "USD"}, 422, INVALID),
    ("order-amount-float",     "POST",   ORDERS, {"external_id": "o6", "amount": 12.5, "currency": "USD"}, 422, VALIDATION),
    ("order-currency",         "POST",   ORDERS, {"external_id": "o7", "amount": "1", "currency": "US D"}, 422, INVALID),
    ("order-external-id",      "POST",   ORDERS, {"external_id": "-x", "amount": "1", "currency": "USD"}, 422, INVALID),
    ("user-bad-email",         "POST",   "/users", {"display_name": "A", "email": "not-an-email"}, 422, INVALID),
    ("user-bad-locale",        "POST",   "/users", {"display_name": "A", "locale": "xx"}, 422, INVALID),
    ("user-bad-role",          "POST",   "/users", {"display_name": "A", "role": "root"}, 422, VALIDATION),
    ("user-short-password",    "POST",   "/users", {"display_name": "A", "email": "a@example.com", "role": "agent", "password": "short"}, 422, VALIDATION),
    ("user-staff-no-email",    "POST",   "/users", {"display_name": "A", "role": "agent"}, 422, INVALID),
    ("user-blank-name",        "POST",   "/users", {"display_name": "   "},             422, INVALID),
    ("user-taken-email",       "POST",   "/users", {"display_name": "A", "email": "<agent-email>"}, 409, "email_taken"),
    ("patch-user-locale",      "PATCH",  "/users/<customer>", {"locale": "xx"},          422, INVALID),
    ("patch-user-active-text", "PATCH",  "/users/<customer>", {"is_active": "nope"},     422, VALIDATION),
    ("deactivate-self",        "PATCH",  "/users/<admin>", {"is_active": False},         422, INVALID),
    ("team-blank-name",        "POST",   "/teams", {"name": "   "},                      422, INVALID),
    ("team-taken-name",        "POST",   "/teams", {"name": "Tier 1"},                   409, "team_exists"),
    ("team-member-customer",   "PUT",    "/teams/<team>/members/<customer>", None,       422, INVALID),
    ("team-remove-stranger",   "DELETE", "/teams/<team>/members/<admin>", None,          404, "not_found"),
    ("token-naive-expiry",     "POST",   "/auth/tokens", {"name": "x", "scopes": ["tickets:read"], "expires_at": "2099-01-01T00:00:00"}, 422, VALIDATION),
    ("token-past-expiry",      "POST",   "/auth/tokens", {"name": "x", "scopes": ["tickets:read"], "expires_at": "2001-01-01T00:00:00Z"}, 422, INVALID),
    ("token-no-scopes",        "POST",   "/auth/tokens", {"name": "x", "scopes": []},    422, VALIDATION),
    ("token-unknown-scope",    "POST",   "/auth/tokens", {"name": "x", "scopes": ["root"]}, 422, VALIDATION),
    ("token-blank-name",       "POST",   "/auth/tokens", {"name": " ", "scopes": ["admin"]}, 422, INVALID),
    ("revoke-unknown-token",   "DELETE", "/auth/tokens/<ghost>", None,                   404, "not_found"),
    # Integer ids out of the column's range, or digits that are not ASCII: not found, never
    # a database error.
    ("payout-huge-id",         "POST",   "/payouts/99999999999999999999/reject", {"reason": "x"}, 404, "not_found"),
    ("payout-superscript-id",  "POST",   "/payouts/²/reject", {"reason": "x"},         404, "not_found"),
    ("sla-huge-id",            "DELETE", "/sla/policies/2147483648", None,               404, "not_found"),
    ("sla-arabic-digits",      "DELETE", "/sla/policies/١٢", None,                       404, "not_found"),
    ("macro-huge-id",          "DELETE", "/macros/99999999999999999999", None,           404, "not_found"),
]
# fmt: on


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), cases(ACCOUNT_CASES))
def test_bad_account_change(
    client: TestClient,
    db: Database,
    org: Tenant,
    outsider: Tenant,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    code: str,
) -> None:
    names = placeholders(org, outsider)
    with changes_nothing(client, db, org):
        url, body = API + fill(path, names), fill(body, names)
        assert_error(
            client.request(method, url, json=body, headers=org.admin.headers), status, code
        )


# --- fuzz ----------------------------------------------------------------------------------

FIELDS = [
    *OPEN,
    *("channel", "priority", "category", "tags", "team_id", "assignee_id", "requester_id"),
    *("order_id", "wallet_address", "chain_id", "tx_hash", "attachment_ids"),
]
# Text leaning on characters that have broken text handling before: NUL (PostgreSQL cannot
# store it), other controls, LIKE wildcards, quotes, bidi and zero-width marks, non-BMP.
TRICKY = "\x00\x01\t\n\r %_\\'\"#\u200b\u202e\ufeffé²١中😀"
tricky_text = st.text(alphabet=st.sampled_from(TRICKY), max_size=20) | st.text(max_size=20)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | tricky_text
    | st.sampled_from(["question", "api", "urgent", "0x" + "ab" * 32, "0x" + "cd" * 20, " "])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
# Mostly a valid ticket with one to three fields changed, so that many bodies get past
# validation into the action and the database; sometimes unknown fields, or no base at all.
ticket_bodies = st.builds(
    lambda base, changes, unknown: base | changes | unknown,
    st.sampled_from([OPEN, OPEN, OPEN, {}]),
    st.lists(
        st.tuples(st.sampled_from(FIELDS), tricky_text | json_values), min_size=1, max_size=3
    ).map(dict),
    st.just({}) | st.dictionaries(st.text(max_size=12), json_values, min_size=1, max_size=2),
)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=ticket_bodies, who=st.sampled_from(["customer", "customer", "agent"]))
# Found before: PostgreSQL answered 500 to a NUL character (SQLite stored it).
@example(body=OPEN | {"subject": "Withdrawal\x00pending"}, who="customer")
@example(body=OPEN | {"body": "\x00"}, who="customer")
@example(body=OPEN | {"category": "kyc\x00"}, who="agent")
def test_fuzz_new_ticket(client: TestClient, org: Tenant, body: dict[str, Any], who: str) -> None:
    if who == "agent":  # staff must name the requester; let most bodies get past that
        body = {"requester_id": org.customer.user_id} | body
    r = client.post(f"{API}/tickets", json=body, headers=org.members[who].headers)
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.status_code in (403, 409, 422), r.text
        error = r.json()["error"]
        assert set(error) == {"code", "message", "details"}, error
        assert isinstance(error["code"], str) and error["code"], error
    else:
        assert r.status_code == 201, r.text
        assert r.json()["subject"] == body["subject"].strip()
