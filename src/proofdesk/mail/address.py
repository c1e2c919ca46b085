"""Signed reply addresses: ``support+<ticket number>.<tag>@example.com``.

The tag is the first 10 bytes of HMAC-SHA256 over the organization's mailbox and the ticket
number, in base32 (16 characters, lower case: local parts are often case-folded by relays).
A reply to such an address threads onto the ticket even when the client dropped
``In-Reply-To``; a forged or altered tag is ignored, so nobody can write into a ticket by
guessing its number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from email.utils import parseaddr

TAG_BYTES = 10
_TAGGED = re.compile(r"^(?P<base>[^+@]+)\+(?P<number>[0-9]{1,12})\.(?P<tag>[a-z2-7]{16})$")


def _tag(key: bytes, mailbox: str, number: int) -> str:
    mac = hmac.new(key, f"{mailbox.lower()}\n{number}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac[:TAG_BYTES]).decode().lower()


def reply_address(key: bytes, mailbox: str, number: int) -> str:
    """The signed reply address of ticket ``number`` under ``mailbox`` (``local@domain``)."""
    local, _, domain = mailbox.partition("@")
    return f"{local}+{number}.{_tag(key, mailbox, number)}@{domain}"


def ticket_of(key: bytes, mailbox: str, address: str) -> int | None:
    """The ticket number a signed reply address names, or None (not ours, or a bad tag)."""
    address = parseaddr(address)[1].lower()
    local, _, domain = address.rpartition("@")
    base_local, _, base_domain = mailbox.lower().partition("@")
    match = _TAGGED.match(local)
    if match is None or domain != base_domain or match["base"] != base_local:
        return None
    number = int(match["number"])
    good = _tag(key, mailbox, number)
    return number if hmac.compare_digest(good, match["tag"]) else None


def is_ours(mailbox: str, address: str) -> bool:
    """Whether ``address`` is the mailbox itself or one of its ``+`` sub-addresses."""
    address = parseaddr(address)[1].lower()
    local, _, domain = address.rpartition("@")
    base_local, _, base_domain = mailbox.lower().partition("@")
    return domain == base_domain and local.split("+", 1)[0] == base_local
