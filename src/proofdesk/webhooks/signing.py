"""Standard Webhooks signatures (https://www.standardwebhooks.com, "Signature scheme").

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``. ``webhook-signature`` is a
space-separated list of ``{version},{base64 signature}``:

* ``v1``: HMAC-SHA256 under the endpoint's symmetric secret, given out as ``whsec_`` followed
  by the base64 of its bytes. During a rotation there is one ``v1`` per live secret.
* ``v1a``: Ed25519 under the deployment's key; its public half is published as ``whpk_``
  followed by the base64 of the 32 raw bytes, so a receiver can verify without a shared
  secret.

Standard library and ``cryptography`` only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from proofdesk.errors import InvalidInput

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, not a secret)
PUBLIC_KEY_PREFIX = "whpk_"
SECRET_BYTES = 32
HMAC_VERSION = "v1"
ED25519_VERSION = "v1a"


def new_secret() -> str:
    """A fresh symmetric secret, ``whsec_<base64 of 32 random bytes>``."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_bytes(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidInput("a webhook secret starts with whsec_", code="bad_webhook_secret")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("a webhook secret is base64", code="bad_webhook_secret") from None
    if not key:
        raise InvalidInput("a webhook secret may not be empty", code="bad_webhook_secret")
    return key


def signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    """What is signed: ``msg_id.timestamp.body``."""
    return f"{msg_id}.{timestamp}.".encode() + body


def hmac_signature(secret: str, content: bytes) -> str:
    digest = hmac.new(secret_bytes(secret), content, hashlib.sha256).digest()
    return f"{HMAC_VERSION},{base64.b64encode(digest).decode()}"


def ed25519_signature(key: Ed25519PrivateKey, content: bytes) -> str:
    return f"{ED25519_VERSION},{base64.b64encode(key.sign(content)).decode()}"


def public_key_text(key: Ed25519PrivateKey) -> str:
    """The published form of the deployment's key: ``whpk_<base64 of the raw 32 bytes>``."""
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return PUBLIC_KEY_PREFIX + base64.b64encode(raw).decode()


def headers(
    msg_id: str,
    timestamp: int,
    body: bytes,
    secrets_: Iterable[str],
    key: Ed25519PrivateKey,
) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt: a ``v1`` signature per live secret
    (the new one first during a rotation) and the ``v1a`` one."""
    content = signed_content(msg_id, timestamp, body)
    signatures = [hmac_signature(s, content) for s in secrets_]
    signatures.append(ed25519_signature(key, content))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }
