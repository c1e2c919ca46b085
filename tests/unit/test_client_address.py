"""The client's address is the socket's, unless the socket is a configured proxy: then the
rightmost X-Forwarded-For hop that is not one of our proxies (a client can write the header
itself, so anything left of that is not believed)."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from proofdesk.app.guards import client_address


def request(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "client": (peer, 4242), "headers": headers})


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "expected"),
    [
        ("203.0.113.9", ("1.2.3.4",), (), "203.0.113.9"),  # no proxy configured: the socket
        ("203.0.113.9", ("1.2.3.4",), ("10.0.0.0/8",), "203.0.113.9"),  # not from our proxy
        ("10.0.0.2", ("198.51.100.7",), ("10.0.0.0/8",), "198.51.100.7"),
        ("10.0.0.2", ("6.6.6.6, 198.51.100.7",), ("10.0.0.0/8",), "198.51.100.7"),  # spoofed left
        ("10.0.0.2", ("198.51.100.7, 10.0.0.3",), ("10.0.0.0/8",), "198.51.100.7"),  # two hops
        ("10.0.0.2", ("6.6.6.6", "198.51.100.7"), ("10.0.0.2",), "198.51.100.7"),  # two headers
        ("10.0.0.2", (), ("10.0.0.0/8",), "10.0.0.2"),  # a proxy that forwarded nothing
        ("10.0.0.2", ("not-an-address",), ("10.0.0.0/8",), "10.0.0.2"),
        ("::1", ("2001:db8::5",), ("::1",), "2001:db8::5"),
    ],
)
def test_client_address(
    peer: str, forwarded: tuple[str, ...], proxies: tuple[str, ...], expected: str
) -> None:
    assert client_address(request(peer, *forwarded), proxies) == expected


def test_a_bad_proxy_setting_is_refused_by_name() -> None:
    from pydantic import ValidationError

    from proofdesk.settings import Settings

    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(trusted_proxies=("a proxy",))
