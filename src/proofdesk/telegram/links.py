"""Signed ``/start`` tokens: the portal's deep link ``https://t.me/<bot>?start=<token>`` that
binds a Telegram account to the signed-in customer who opened it.

The Bot API passes the ``start`` parameter through (1-64 characters of ``A-Za-z0-9_-``), so
the token is base64url without padding of: the customer's id (16 bytes of its UUID), the
expiry (4 bytes, Unix seconds, big-endian) and 12 bytes of HMAC-SHA256 under the bot's link
key over the bot's id and those 20 bytes — 43 characters. Like the signed reply addresses of
the e-mail channel, 96 bits of tag make forging one hopeless; the expiry bounds a leaked link.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import uuid
from datetime import datetime, timedelta

from proofdesk.errors import InvalidInput

TAG_BYTES = 12
#: How long a link from the portal binds (it is meant to be opened at once).
LIFETIME = timedelta(minutes=30)


class BadStartToken(InvalidInput):
    code = "bad_start_token"


class ExpiredStartToken(BadStartToken):
    code = "start_token_expired"


def _tag(key: bytes, bot_id: str, body: bytes) -> bytes:
    return hmac.new(
        key, b"tg-start\x00" + bot_id.encode() + b"\x00" + body, hashlib.sha256
    ).digest()[:TAG_BYTES]


def make_token(key: bytes, bot_id: str, customer_id: str, expires: datetime) -> str:
    body = uuid.UUID(customer_id).bytes + struct.pack(">I", int(expires.timestamp()))
    raw = body + _tag(key, bot_id, body)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def read_token(key: bytes, bot_id: str, token: str, now: datetime) -> str:
    """The customer id a token binds, or :class:`BadStartToken` / :class:`ExpiredStartToken`."""
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii") + b"=" * (-len(token) % 4))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise BadStartToken("this link is not one of ours") from None
    if len(raw) != 20 + TAG_BYTES:
        raise BadStartToken("this link is not one of ours")
    body, tag = raw[:20], raw[20:]
    if not hmac.compare_digest(tag, _tag(key, bot_id, body)):
        raise BadStartToken("this link is not one of ours")
    (expires,) = struct.unpack(">I", body[16:])
    if expires < now.timestamp():
        raise ExpiredStartToken("this link has expired: open it again from the portal")
    return str(uuid.UUID(bytes=body[:16]))
