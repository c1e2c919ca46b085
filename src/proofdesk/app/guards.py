"""Checks every request of the app passes, whichever adapter serves it."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import HTTPConnection, Request

from proofdesk.errors import InvalidInput


async def reject_nul_characters(request: Request) -> None:
    """PostgreSQL text cannot hold U+0000 (SQLite can): refuse it in the path and the query
    string of every request, as bad input, instead of failing in the database. Request bodies
    are checked by ``actions.inputs.StrictInput``."""
    if "\x00" in request.scope["path"]:
        raise InvalidInput("the path must not contain NUL characters", field="path")
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise InvalidInput("query parameters must not contain NUL characters", field=name)


def client_address(connection: HTTPConnection, trusted_proxies: Sequence[str]) -> str:
    """The address a request comes from, for rate limits and logs. ``X-Forwarded-For`` is
    believed only when the peer is one of ``trusted_proxies``, and then read from the right,
    past every trusted hop: the first address no proxy of ours wrote is the client's. Anyone
    can send the header; only our proxies append to it honestly."""
    peer = connection.client.host if connection.client else "unknown"
    networks = [ipaddress.ip_network(n, strict=False) for n in trusted_proxies]
    if not networks or not _within(peer, networks):
        return peer
    hops = [
        hop.strip()
        for header in connection.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        if not _within(hop, networks):
            return hop if _is_address(hop) else peer
    return peer


def _within(
    address: str, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
