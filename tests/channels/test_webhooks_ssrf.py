"""Server-side request forgery: endpoint URLs that reach a non-public address are refused when
saved and again when sent, whatever form the address is written in, and the connection goes
to the address that was checked (a DNS answer that changes afterwards cannot move it).

Nothing here connects to a refused address: the checks refuse before any connection."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime

import httpcore2
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from proofdesk.app.factory import create_app
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.webhooks.addresses import (
    Deadline,
    GuardedBackend,
    UrlRefused,
    check_url,
    is_public,
)
from proofdesk.webhooks.sender import Sender
from tests.support.tenants import Tenant
from tests.support.webhooks import Receiver, receiver_on_loopback

API = "/api/v1"
#: Networks no webhook may reach (the examples are drawn from them).
REFUSED_V4 = [
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "0.0.0.0/8",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "192.0.0.0/24",
    "198.18.0.0/15",
]
REFUSED_V6 = ["::1/128", "fe80::/10", "fc00::/7", "ff00::/8", "::/128", "2001:db8::/32"]


def addresses_in(networks: list[str]) -> st.SearchStrategy[ipaddress.IPv4Address]:
    def draw(net: str) -> st.SearchStrategy[ipaddress.IPv4Address]:
        n = ipaddress.IPv4Network(net)
        return st.integers(int(n.network_address), int(n.broadcast_address)).map(
            ipaddress.IPv4Address
        )

    return st.one_of([draw(n) for n in networks])


def spellings(ip: ipaddress.IPv4Address) -> list[str]:
    """The ways a URL's host can name an IPv4 address, each of which the system resolver
    reads as that address."""
    octets = ip.packed
    number = int(ip)
    return [
        str(ip),
        str(number),  # http://2130706433/
        hex(number),  # http://0x7f000001/
        ".".join(f"0{o:o}" for o in octets),  # http://0177.0.0.01/
        ".".join(hex(o) for o in octets),  # http://0x7f.0x0.0x0.0x1/
        f"{octets[0]}.{int.from_bytes(octets[1:], 'big')}",  # http://127.1/
        f"[::ffff:{ip}]",  # IPv4-mapped IPv6
        f"[::ffff:{octets[0]:02x}{octets[1]:02x}:{octets[2]:02x}{octets[3]:02x}]",
        f"[2002:{octets[0]:02x}{octets[1]:02x}:{octets[2]:02x}{octets[3]:02x}::1]",  # 6to4
        f"[64:ff9b::{ip}]",  # NAT64
    ]


@settings(max_examples=150, deadline=None)
@given(ip=addresses_in(REFUSED_V4), form=st.integers(0, 9), port=st.integers(1, 65535))
def test_every_spelling_of_a_non_public_ipv4_address_is_refused(
    ip: ipaddress.IPv4Address, form: int, port: int
) -> None:
    host = spellings(ip)[form]
    for url in (f"https://{host}/hook", f"https://{host}:{port}/x?y=1"):
        with pytest.raises(UrlRefused):
            check_url(url, allow_private=False)


@settings(max_examples=80, deadline=None)
@given(
    net=st.sampled_from(REFUSED_V6),
    offset=st.integers(0, 2**64),
    compressed=st.booleans(),
)
def test_non_public_ipv6_addresses_are_refused(net: str, offset: int, compressed: bool) -> None:
    network = ipaddress.IPv6Network(net)
    ip = network.network_address + (offset % network.num_addresses)
    host = ip.compressed if compressed else ip.exploded
    with pytest.raises(UrlRefused):
        check_url(f"https://[{host}]/hook", allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/hook",
        "https://[::1]/hook",
        "https://[0:0:0:0:0:0:0:1]:8443/",
        "https://127.1/",
        "https://0/",
        "https://[::ffff:169.254.169.254]/latest/meta-data",
        "https://169.254.169.254/latest/meta-data",
    ],
)
def test_the_usual_suspects_are_refused(url: str) -> None:
    with pytest.raises(UrlRefused) as caught:
        check_url(url, allow_private=False)
    assert caught.value.code == "webhook_url_refused"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://93.184.216.34/hook", "scheme"),  # https required
        ("ftp://93.184.216.34/", "scheme"),
        ("https://user:pw@93.184.216.34/", "userinfo"),
        ("https:///nohost", "host"),
        ("https://93.184.216.34/#x", "fragment"),
        ("https://no-such-host.invalid/", "unresolvable"),
    ],
)
def test_malformed_or_plain_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UrlRefused) as caught:
        check_url(url, allow_private=False)
    assert caught.value.details.get("reason") == reason


def test_public_addresses_pass_and_allow_private_lets_loopback_in() -> None:
    assert check_url("https://93.184.216.34/hook", allow_private=False)
    assert check_url("https://[2606:4700::1111]/hook", allow_private=False)
    assert check_url("http://127.0.0.1:9/hook", allow_private=True)
    assert is_public(ipaddress.ip_address("8.8.8.8"))
    assert not is_public(ipaddress.ip_address("::ffff:10.0.0.1"))


def test_a_name_answering_public_and_private_addresses_is_refused() -> None:
    both = ["93.184.216.34", "10.0.0.7"]
    with pytest.raises(UrlRefused):
        check_url("https://hooks.example/", allow_private=False, resolver=lambda h, p: both)


# -- at delivery time ----------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiver_on_loopback() as r:
        yield r


def test_delivery_refuses_a_private_address_without_connecting(receiver: Receiver) -> None:
    sender = Sender(timeout=2, allow_private=False)
    try:
        outcome = sender.send(receiver.url + "/hook", b"{}", {}, datetime.now(UTC))
    finally:
        sender.close()
    assert outcome.status_code is None and outcome.error and "refused" in outcome.error
    assert receiver.received == []


def test_the_connection_goes_to_the_address_checked_not_a_second_lookup(
    receiver: Receiver,
) -> None:
    """DNS rebinding: the name is resolved once per connection, by the check, and the socket
    connects to exactly that address; the Host header still names the host."""
    port = int(receiver.url.rsplit(":", 1)[1])
    lookups: list[str] = []

    def rebinding(host: str, _: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]  # loopback is allowed here (the test's receiver)

    backend = GuardedBackend(allow_private=True, deadline=Deadline(), resolver=rebinding)

    with httpcore2.ConnectionPool(network_backend=backend) as pool:
        response = pool.request("POST", f"http://hooks.rebind.test:{port}/hook", content=b"{}")
    assert response.status == 204
    assert lookups == ["hooks.rebind.test"]
    (got,) = receiver.received
    assert got.headers["host"] == f"hooks.rebind.test:{port}"

    def now_private(host: str, _: int) -> list[str]:
        return ["127.0.0.1"]

    strict = GuardedBackend(allow_private=False, deadline=Deadline(), resolver=now_private)
    with httpcore2.ConnectionPool(network_backend=strict) as pool, pytest.raises(UrlRefused):
        pool.request("POST", f"http://hooks.rebind.test:{port}/hook", content=b"{}")
    assert len(receiver.received) == 1


def test_the_api_refuses_private_endpoints_unless_the_setting_allows_them(
    settings: Settings, db: Database, tenant: Tenant, client: TestClient
) -> None:
    strict = settings.model_copy(update={"webhooks_allow_private": False})
    body = {"url": "https://127.0.0.1/hook", "event_types": ["ticket.created"]}
    with TestClient(create_app(strict, db, run_workers=()), raise_server_exceptions=False) as c:
        for url in ("https://127.0.0.1/hook", "https://2130706433/", "http://93.184.216.34/"):
            r = c.post(
                f"{API}/webhooks/endpoints", json={**body, "url": url}, headers=tenant.admin.headers
            )
            assert r.status_code == 422, r.text
            assert r.json()["error"]["code"] == "webhook_url_refused"
        r = c.get(f"{API}/webhooks/endpoints", headers=tenant.admin.headers)
        assert r.json() == []
    # the test deployment allows loopback (PROOFDESK_WEBHOOKS_ALLOW_PRIVATE)
    r = client.post(f"{API}/webhooks/endpoints", json=body, headers=tenant.admin.headers)
    assert r.status_code == 201, r.text
    assert r.json()["url"] == body["url"]
