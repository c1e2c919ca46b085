"""Envelope encryption of ticket content, and the keys behind commitments.

Each ticket has a random 32-byte secret, stored only wrapped (AES-256-GCM) under the
deployment's data key, with the ticket id as associated data. From the secret, HKDF-SHA-256
derives two keys: one for the salts of the log's commitments (``ledger.store.salt``) and one
that seals the ticket's private content in the event stream (:mod:`ledger.sealing`). Erasing a
ticket deletes its wrapped secret: its sealed content can no longer be read and its
commitments no longer opened, while every leaf and proof stays as it was.

The data key lives in ``data_dir/data.key`` (mode 0600, generated on first start), apart from
the database: a copy of the database alone reveals no sealed content.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from proofdesk.errors import ConfigError
from proofdesk.ledger.keyfiles import read_or_create_private
from proofdesk.ledger.tree import LedgerError

_PREFIX = "proofdesk-data-key-v1:"
_WRAP_CONTEXT = b"proofdesk/ticket-secret/v1\n"
NONCE_SIZE = 12


@dataclass(frozen=True)
class TicketKeys:
    salt_key: bytes
    content: AESGCM


def derive(secret: bytes) -> TicketKeys:
    def hkdf(info: bytes) -> bytes:
        return HKDF(hashes.SHA256(), 32, salt=None, info=info).derive(secret)

    return TicketKeys(
        salt_key=hkdf(b"proofdesk/commitment-salt/v1"),
        content=AESGCM(hkdf(b"proofdesk/content/v1")),
    )


class Keyring:
    """Wraps and unwraps ticket secrets under the deployment's data key."""

    def __init__(self, data_key: bytes) -> None:
        if len(data_key) != 32:
            raise ConfigError("the data key must be 32 bytes", key="data_key_file")
        self._aead = AESGCM(data_key)

    @classmethod
    def from_file(cls, path: Path) -> Keyring:
        text = read_or_create_private(
            path,
            "data_key_file",
            lambda: _PREFIX + base64.b64encode(secrets.token_bytes(32)).decode() + "\n",
        ).strip()
        if not text.startswith(_PREFIX):
            raise ConfigError(f"{path} is not a ProofDesk data key", key="data_key_file")
        try:
            return cls(base64.b64decode(text[len(_PREFIX) :], validate=True))
        except binascii.Error:
            raise ConfigError(f"{path} is not a ProofDesk data key", key="data_key_file") from None

    def new_secret(self, ticket_id: str) -> tuple[bytes, bytes]:
        """A fresh ticket secret and its wrapped form."""
        secret = secrets.token_bytes(32)
        return secret, self.wrap(ticket_id, secret)

    def wrap(self, ticket_id: str, secret: bytes) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, secret, _WRAP_CONTEXT + ticket_id.encode())

    def unwrap(self, ticket_id: str, wrapped: bytes) -> bytes:
        try:
            return self._aead.decrypt(
                wrapped[:NONCE_SIZE], wrapped[NONCE_SIZE:], _WRAP_CONTEXT + ticket_id.encode()
            )
        except (InvalidTag, ValueError):
            raise LedgerError(
                f"the secret of ticket {ticket_id} does not unwrap: wrong data key or altered"
            ) from None
