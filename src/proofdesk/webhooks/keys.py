"""The deployment's Ed25519 webhook key (``data_dir/webhook.key``, mode 0600, made on first
use). It signs every delivery's ``v1a`` signature; its public half is served at
``GET /api/v1/webhooks/signing-key``. It is a key of its own, not the log's checkpoint key:
one key, one purpose, so no webhook body can ever be passed off as a signed checkpoint."""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from proofdesk.errors import ConfigError
from proofdesk.ledger.keyfiles import read_or_create_private

_PREFIX = "proofdesk-webhook-key-v1:"


def _new() -> str:
    raw = Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    return _PREFIX + base64.b64encode(raw).decode() + "\n"


@lru_cache(maxsize=8)
def signing_key(path: Path) -> Ed25519PrivateKey:
    """The key stored at ``path``, made there first if there is none."""
    text = read_or_create_private(path, "webhooks_key_file", _new).strip()
    if not text.startswith(_PREFIX):
        raise ConfigError(f"{path} is not a ProofDesk webhook key", key="webhooks_key_file")
    try:
        raw = base64.b64decode(text[len(_PREFIX) :], validate=True)
        return Ed25519PrivateKey.from_private_bytes(raw)
    except (binascii.Error, ValueError):
        raise ConfigError(
            f"{path} is not a ProofDesk webhook key", key="webhooks_key_file"
        ) from None
