"""Abuse limits (``app.limits``, the table in docs/security.md): every path a stranger can make
work, and every path that runs the assistant, has a window per client address (and per account
where the request names or holds one); one request past it is ``429 rate_limited`` with
``Retry-After``; another address is not limited; ``X-Forwarded-For`` counts only from a
trusted proxy.

``test_every_operation_a_stranger_reaches_is_in_the_table`` walks the OpenAPI: an operation
that answers a request without credentials by anything but 401 must be in :data:`PUBLIC`, so a
new public route cannot arrive without its limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from proofdesk.app.factory import create_app
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from tests.support.tenants import Tenant
from tests.support.web import PASSWORD, new_agent

API = "/api/v1"
LIMIT = 2
PROXY = "10.0.0.2"
ZERO = "00000000-0000-4000-8000-000000000000"
LOGIN = {"organization": "nowhere", "email": "a@b.example", "password": "wrong-password"}

#: Every operation that does work for a caller without credentials: (method, path as in the
#: OpenAPI) → (a request's URL, its JSON body, the setting of its window per address).
PUBLIC: dict[tuple[str, str], tuple[str, dict[str, Any] | None, str]] = {
    ("POST", "/auth/login"): ("/auth/login", LOGIN, "login"),
    ("POST", "/auth/siwe/nonce"): ("/auth/siwe/nonce", {"organization": "nowhere"}, "login"),
    ("POST", "/auth/siwe/verify"): (
        "/auth/siwe/verify",
        {"message": "x", "signature": "0x00"},
        "login",
    ),
    ("GET", "/auth/typed-data"): ("/auth/typed-data", None, "public"),
    ("GET", "/log/checkpoint"): ("/log/checkpoint", None, "public"),
    ("GET", "/log/checkpoints/{size}"): ("/log/checkpoints/1", None, "public"),
    ("GET", "/log/key"): ("/log/key", None, "public"),
    ("GET", "/log/proof/inclusion"): ("/log/proof/inclusion?index=0&size=1", None, "public"),
    ("GET", "/log/proof/consistency"): ("/log/proof/consistency?first=1&second=1", None, "public"),
    ("GET", "/log/entries"): ("/log/entries?start=0&end=1", None, "public"),
    ("GET", "/log/anchors"): ("/log/anchors", None, "public"),
    ("GET", "/log/tile/{path}"): ("/log/tile/0/000", None, "tiles"),
    ("GET", "/witness/key"): ("/witness/key", None, "public"),
    ("POST", "/witness/add-checkpoint"): ("/witness/add-checkpoint", None, "public"),
    ("GET", "/chain"): ("/chain", None, "public"),
    ("GET", "/networks"): ("/networks", None, "public"),
    ("GET", "/webhooks/signing-key"): ("/webhooks/signing-key", None, "public"),
    ("GET", "/contracts"): ("/contracts?organization=nowhere", None, "public"),
    ("GET", "/contracts/activations/receipt"): (
        "/contracts/activations/receipt?organization=nowhere",
        None,
        "public",
    ),
    ("GET", "/contracts/{contract_hash}"): ("/contracts/ab?organization=nowhere", None, "public"),
    ("POST", "/widget/messages"): (
        "/widget/messages",
        {"organization": "nowhere", "text": "hello"},
        "assistant",
    ),
    ("POST", "/widget/turns/{turn_id}/feedback"): (
        "/widget/turns/1/feedback",
        {"organization": "nowhere", "conversation_id": ZERO, "helpful": False},
        "assistant",
    ),
    ("POST", "/widget/conversations/{conversation_id}/contact"): (
        f"/widget/conversations/{ZERO}/contact",
        {"organization": "nowhere", "contact": "a@b.example"},
        "assistant",
    ),
    ("GET", "/widget/conversations/{conversation_id}/messages"): (
        f"/widget/conversations/{ZERO}/messages?organization=nowhere",
        None,
        "public",
    ),
    ("POST", "/widget/conversations/{conversation_id}/messages"): (
        f"/widget/conversations/{ZERO}/messages",
        {"organization": "nowhere", "text": "hello"},
        "assistant",
    ),
    ("GET", "/rewards/policy"): ("/rewards/policy?organization=nowhere", None, "public"),
    ("GET", "/rewards/epochs"): ("/rewards/epochs?organization=nowhere", None, "public"),
    ("POST", "/webhooks/orders"): (
        "/webhooks/orders?organization=nowhere",
        {"external_id": "o-1"},
        "webhook",
    ),
    ("GET", "/transfers/key"): ("/transfers/key", None, "public"),
    ("POST", "/transfers/inbound"): ("/transfers/inbound", {"format": "x"}, "webhook"),
    ("POST", "/transfers/updates"): ("/transfers/updates", {"format": "x"}, "webhook"),
    ("POST", "/telegram/{bot_id}/webhook"): (
        "/telegram/00000000-0000-0000-0000-000000000000/webhook",
        {"update_id": 1},
        "telegram",
    ),
    # Community Q&A: anyone reads (docs/community.md); the similar-question search runs the
    # assistant's model, so it has the assistant's window.
    ("GET", "/community/questions"): ("/community/questions?organization=nowhere", None, "public"),
    ("GET", "/community/questions/{question_id}"): (
        f"/community/questions/{ZERO}?organization=nowhere",
        None,
        "public",
    ),
    ("GET", "/community/similar"): (
        "/community/similar?organization=nowhere&text=withdrawal",
        None,
        "assistant",
    ),
    ("GET", "/community/attachments/{attachment_id}"): (
        f"/community/attachments/{ZERO}?organization=nowhere",
        None,
        "public",
    ),
}
#: Public but not limited, and why: a liveness probe does nothing.
UNLIMITED = {("GET", "/health")}
#: The pages a stranger can make work, outside the API: (method, URL, form) → window.
WEB: dict[tuple[str, str], tuple[dict[str, str] | None, str]] = {
    ("POST", "/login"): (LOGIN, "login"),
    ("POST", "/login/link"): ({"organization": "nowhere", "email": "a@b.example"}, "login"),
    ("POST", "/login/link/not-a-token"): ({}, "login"),
    ("GET", "/widget?org=nowhere"): (None, "public"),
    ("GET", "/.well-known/proofdesk/log-key"): (None, "public"),
    ("GET", "/verify"): (None, "public"),
    ("GET", "/verify/proofdesk-verifier.html"): (None, "public"),
}


def allowed(settings: Settings, window: str) -> int:
    """How many requests from one address the window lets through."""
    return {
        # The log-in limit per address is ten times the one per (address, account).
        "login": settings.login_rate_per_minute * 10,
        "public": settings.public_rate_per_minute,
        "webhook": settings.webhook_rate_per_minute,
        "tiles": settings.tiles_rate_per_minute,
        "assistant": settings.assistant_rate_per_minute,
        "telegram": settings.telegram_rate_per_minute,
    }[window]


@pytest.fixture
def limited(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "login_rate_per_minute": 1,
            "public_rate_per_minute": LIMIT,
            "webhook_rate_per_minute": LIMIT,
            "tiles_rate_per_minute": LIMIT,
            "telegram_rate_per_minute": LIMIT,
            "assistant_rate_per_minute": LIMIT,
            "assistant_account_rate_per_minute": LIMIT,
            "trusted_proxies": (PROXY,),
            # A sign-in link needs an e-mail server to be offered; nothing is sent to it.
            "smtp_url": SecretStr("smtp://127.0.0.1:9"),
        }
    )


@pytest.fixture
def app_client(limited: Settings, db: Database) -> Iterator[TestClient]:
    """The app with small windows, reached through our proxy, so that each request can say
    which client it is for with ``X-Forwarded-For``."""
    with TestClient(
        create_app(limited, db),
        raise_server_exceptions=False,
        follow_redirects=False,
        client=(PROXY, 40000),
        headers={"origin": "http://testserver"},
    ) as c:
        yield c


def send(
    c: TestClient,
    method: str,
    url: str,
    body: Any,
    address: str,
    *,
    form: bool = False,
    n: int | None = None,
) -> Any:
    """One request from ``address``; the ``n``-th names an account of its own, so that only
    the window per address fills."""
    headers = {"x-forwarded-for": address}
    if n is not None and isinstance(body, dict) and "email" in body:
        body = body | {"email": f"a{n}@b.example"}
    if form:
        return c.request(method, url, data=body, headers=headers)
    return c.request(method, url, json=body, headers=headers)


def assert_limited(answer: Any) -> None:
    assert answer.status_code == 429, answer.text[:300]
    assert int(answer.headers["retry-after"]) >= 1
    if answer.headers["content-type"].startswith("application/json"):
        assert answer.json()["error"]["code"] == "rate_limited"


def test_every_operation_a_stranger_reaches_is_in_the_table(client: TestClient) -> None:
    spec = client.get(f"{API}/openapi.json").json()
    public = set()
    for path, operations in spec["paths"].items():
        for method in operations:
            url = re.sub(r"\{[^}]+\}", "1", path)
            answer = client.request(method.upper(), url)
            if answer.status_code != 401:
                public.add((method.upper(), path.removeprefix(API)))
    assert public == set(PUBLIC) | UNLIMITED


@pytest.mark.parametrize(("method", "path"), list(PUBLIC))
def test_each_public_operation_is_limited_per_address(
    app_client: TestClient, limited: Settings, method: str, path: str
) -> None:
    url, body, window = PUBLIC[(method, path)]
    count = allowed(limited, window)
    for n in range(count):
        answer = send(app_client, method, API + url, body, "198.51.100.1", n=n)
        assert answer.status_code != 429, answer.text
    assert_limited(send(app_client, method, API + url, body, "198.51.100.1", n=count))
    # Another client is not held up by the first one's flood.
    assert send(app_client, method, API + url, body, "198.51.100.2").status_code != 429


@pytest.mark.parametrize(("method", "url"), list(WEB))
def test_each_public_page_is_limited_per_address(
    app_client: TestClient, limited: Settings, method: str, url: str
) -> None:
    form, window = WEB[(method, url)]
    count = allowed(limited, window)
    for n in range(count):
        answer = send(app_client, method, url, form, "198.51.100.1", form=True, n=n)
        assert answer.status_code != 429, answer.text[:300]
    assert_limited(send(app_client, method, url, form, "198.51.100.1", form=True, n=count))
    assert send(app_client, method, url, form, "198.51.100.2", form=True).status_code != 429


def test_tiles_have_a_window_of_their_own(app_client: TestClient) -> None:
    """A monitor catching up on tiles does not use up its address's window for proofs and
    checkpoints, nor the other way round."""
    address = "198.51.100.3"
    for _ in range(LIMIT):
        assert send(app_client, "GET", f"{API}/log/checkpoint", None, address).status_code == 200
    assert_limited(send(app_client, "GET", f"{API}/log/checkpoint", None, address))
    assert send(app_client, "GET", f"{API}/log/tile/0/000.p/1", None, address).status_code != 429


def test_forwarded_for_counts_only_from_a_trusted_proxy(limited: Settings, db: Database) -> None:
    """A client that writes its own X-Forwarded-For is still one address."""
    with TestClient(
        create_app(limited, db), raise_server_exceptions=False, client=("203.0.113.7", 40000)
    ) as c:
        for i in range(LIMIT):
            headers = {"x-forwarded-for": f"198.51.100.{i + 10}"}
            assert c.get(f"{API}/log/checkpoint", headers=headers).status_code != 429
        assert_limited(c.get(f"{API}/log/checkpoint", headers={"x-forwarded-for": "192.0.2.99"}))


def test_the_login_limit_is_per_address_and_per_account(
    app_client: TestClient, limited: Settings
) -> None:
    """One (address, organization, e-mail) gets ``login_rate_per_minute``; the address as a
    whole ten times that, whatever e-mails it tries."""
    url = f"{API}/auth/login"
    assert send(app_client, "POST", url, LOGIN, "198.51.100.1").status_code == 401
    assert_limited(send(app_client, "POST", url, LOGIN, "198.51.100.1"))
    other = LOGIN | {"email": "c@d.example"}
    assert send(app_client, "POST", url, other, "198.51.100.1").status_code == 401
    assert send(app_client, "POST", url, LOGIN, "198.51.100.3").status_code == 401


def assistant_turn(c: TestClient, member_headers: dict[str, str], address: str) -> Any:
    return c.post(
        f"{API}/assistant/messages",
        json={"text": "my deposit has not arrived"},
        headers=member_headers | {"x-forwarded-for": address},
    )


def test_assistant_turns_are_limited_per_account(app_client: TestClient, tenant: Tenant) -> None:
    customer, other = tenant.customer.headers, tenant.customer2.headers
    for _ in range(LIMIT):
        assert assistant_turn(app_client, customer, "198.51.100.1").status_code != 429
    # The same person from another address is the same person.
    assert_limited(assistant_turn(app_client, customer, "198.51.100.2"))
    assert assistant_turn(app_client, other, "198.51.100.3").status_code != 429


def test_assistant_turns_are_limited_per_address(
    limited: Settings, db: Database, tenant: Tenant
) -> None:
    per_address = limited.model_copy(update={"assistant_account_rate_per_minute": 100})
    with TestClient(
        create_app(per_address, db), raise_server_exceptions=False, client=(PROXY, 40000)
    ) as c:
        assert assistant_turn(c, tenant.customer.headers, "198.51.100.1").status_code != 429
        assert assistant_turn(c, tenant.customer2.headers, "198.51.100.1").status_code != 429
        assert_limited(assistant_turn(c, tenant.admin.headers, "198.51.100.1"))
        assert assistant_turn(c, tenant.admin.headers, "198.51.100.9").status_code != 429


@pytest.mark.parametrize(
    ("method", "url", "who"),
    [
        ("POST", f"/assistant/turns/{ZERO}/feedback", "customer"),
        ("GET", f"/tickets/{ZERO}/assist", "agent"),
        ("GET", "/analytics/top-issues", "admin"),
    ],
)
def test_every_api_route_that_runs_the_assistant_is_limited(
    app_client: TestClient, tenant: Tenant, method: str, url: str, who: str
) -> None:
    headers = tenant.members[who].headers | {"x-forwarded-for": "198.51.100.1"}
    body = {"helpful": True} if method == "POST" else None
    for _ in range(LIMIT):
        assert app_client.request(method, API + url, json=body, headers=headers).status_code != 429
    assert_limited(app_client.request(method, API + url, json=body, headers=headers))


def test_the_pages_that_run_the_assistant_are_limited(
    app_client: TestClient, db: Database, tenant: Tenant
) -> None:
    new_agent(db, tenant, "side@limits.example")
    web = TestClient(
        app_client.app,
        raise_server_exceptions=False,
        follow_redirects=False,
        client=(PROXY, 40001),
        headers={"origin": "http://testserver", "x-forwarded-for": "198.51.100.4"},
    )
    signed = web.post(
        "/login",
        data={"organization": tenant.slug, "email": "side@limits.example", "password": PASSWORD},
    )
    assert signed.status_code == 303, signed.text
    suggest = "/requests/suggest?subject=deposit+missing"
    for _ in range(LIMIT):
        assert web.get(suggest).status_code != 429
    assert_limited(web.get(suggest))
    assert_limited(web.get(f"/agent/tickets/{ZERO}/side"))
