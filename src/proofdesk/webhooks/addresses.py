"""Which URLs a webhook may be sent to, and a network backend that connects only there.

Server-side request forgery: an admin (or whoever steals an admin token) could point an
endpoint at the deployment's own network (``http://127.0.0.1:5432``, a cloud metadata service
at ``169.254.169.254``, an intranet host) and read what answers in the delivery log. So a URL
is refused when its host resolves to any address that is not globally reachable — loopback,
private, link-local, shared (CGNAT), multicast, reserved, unspecified — including an IPv4
address hidden in an IPv6 one (``::ffff:127.0.0.1``, 6to4, Teredo, NAT64). The check runs when
an endpoint is saved and again at every connection, on the addresses the connection then
uses: :class:`GuardedBackend` resolves the host itself, checks every address it got and
connects to the checked address (pinned), so a DNS answer that changes between the check and
the connection (rebinding) cannot send it elsewhere. Whatever form the host is written in
(``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``[::1]``), it is judged by what the system
resolver makes of it, which is what a connection would reach.

``PROOFDESK_WEBHOOKS_ALLOW_PRIVATE`` turns the address check off, and allows plain ``http``
(tests, and deployments whose receivers live on their own network).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpcore2
from httpcore2 import NetworkBackend, NetworkStream, SyncBackend

from proofdesk.errors import InvalidInput

MAX_URL_LENGTH = 2000
IP = ipaddress.IPv4Address | ipaddress.IPv6Address
#: (host, port) → the addresses it resolves to, as text.
Resolver = Callable[[str, int], list[str]]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: The special-purpose blocks of the IANA registries (RFC 6890 and after) that are not
#: globally reachable, refused whatever this Python's ``is_global`` says of them (its tables
#: lag the registry: 3.11 calls 192.0.0.8 global).
NOT_PUBLIC = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/127",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)


class UrlRefused(InvalidInput):
    code = "webhook_url_refused"


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (TCP)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UrlRefused(f"the host {host!r} does not resolve", reason="unresolvable") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IP) -> bool:
    """Whether ``ip`` is a globally reachable unicast address (and so is any IPv4 address it
    carries)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False
        inner = _embedded_ipv4(ip)
        if inner is not None and not is_public(inner):
            return False
    if any(ip.version == n.version and ip in n for n in NOT_PUBLIC):
        return False
    return bool(
        ip.is_global
        and not ip.is_multicast
        and not ip.is_reserved
        and not ip.is_loopback
        and not ip.is_link_local
        and not ip.is_private
        and not ip.is_unspecified
    )


def parse_url(url: str, *, allow_private: bool) -> SplitResult:
    """The parts of an endpoint URL, or :class:`UrlRefused` saying what is wrong with it:
    ``https`` (``http`` only when private addresses are allowed), a host, no user name or
    password (they would end up in logs), no fragment."""
    if len(url) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 0x20 for c in url):
        raise UrlRefused("the URL is too long or holds spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("not a URL") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise UrlRefused("the URL must be https://", reason="scheme")
    if not parts.hostname:
        raise UrlRefused("the URL names no host", reason="host")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("the URL must not hold a user name or password", reason="userinfo")
    if parts.fragment or url.endswith("#"):
        raise UrlRefused("the URL must not have a fragment", reason="fragment")
    if port == 0:
        raise UrlRefused("the URL's port must be 1-65535", reason="port")
    return parts


def default_port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def allowed_addresses(
    host: str, port: int, *, allow_private: bool, resolver: Resolver = system_resolver
) -> list[str]:
    """The addresses ``host`` resolves to, all of them public (else :class:`UrlRefused`).
    One refused address refuses the host: a name that answers both a public and a private
    address is a rebinding attempt, or a misconfiguration."""
    addresses = resolver(host.strip("[]"), port)
    if not addresses:
        raise UrlRefused(f"the host {host!r} does not resolve", reason="unresolvable")
    if allow_private:
        return addresses
    for text in addresses:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            raise UrlRefused(f"the host {host!r} resolves to {text!r}") from None
        if not is_public(ip):
            raise UrlRefused(
                f"the host {host!r} resolves to a non-public address ({ip})",
                reason="private_address",
            )
    return addresses


def check_url(url: str, *, allow_private: bool, resolver: Resolver = system_resolver) -> str:
    """Refuse an endpoint URL that is malformed or reaches a non-public address; returns it."""
    parts = parse_url(url, allow_private=allow_private)
    if not allow_private:
        assert parts.hostname is not None
        allowed_addresses(
            parts.hostname, default_port(parts), allow_private=False, resolver=resolver
        )
    return url


class Deadline(threading.local):
    """When the current thread's request must be over (``time.monotonic``); None: no limit."""

    at: float | None = None

    def remaining(self, timeout: float | None) -> float | None:
        """``timeout``, shortened to what is left of the deadline; ``ReadTimeout`` once it
        has passed."""
        if self.at is None:
            return timeout
        left = self.at - time.monotonic()
        if left <= 0:
            raise httpcore2.ReadTimeout("the webhook attempt's time is up")
        return left if timeout is None else min(timeout, left)


class _BoundedStream(NetworkStream):
    """A connection whose every read and write ends by the request's deadline, so an endpoint
    that trickles bytes cannot hold a worker past it."""

    def __init__(self, inner: NetworkStream, deadline: Deadline) -> None:
        self._inner, self._deadline = inner, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.remaining(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> NetworkStream:
        inner = self._inner.start_tls(
            ssl_context, server_hostname, self._deadline.remaining(timeout)
        )
        return _BoundedStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(NetworkBackend):
    """Connects only to checked addresses of the requested host (TLS still names the host:
    httpcore sends the URL's host as SNI and ``Host``), within the thread's deadline."""

    def __init__(
        self,
        *,
        allow_private: bool,
        deadline: Deadline,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.allow_private, self.deadline, self.resolver = allow_private, deadline, resolver
        self._inner = SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> NetworkStream:
        addresses = allowed_addresses(
            host, port, allow_private=self.allow_private, resolver=self.resolver
        )
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(
                    address,
                    port,
                    timeout=self.deadline.remaining(timeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                failure = exc
                continue
            return _BoundedStream(stream, self.deadline)
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> NetworkStream:
        raise UrlRefused("webhooks are not sent to local sockets")
