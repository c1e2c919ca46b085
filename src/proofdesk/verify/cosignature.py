"""C2SP tlog-cosignature v1 (Ed25519): a witness's timestamped signature on a checkpoint.

A cosignature is one more signature line of the checkpoint's signed note
(``— <name> base64(key id || timestamped_signature)``) where, per the spec ("Format"):

- the key id is ``SHA-256(<name> || "\\n" || 0x04 || 32-byte Ed25519 public key)[:4]``;
- ``timestamped_signature`` is ``u64 timestamp`` (big-endian, POSIX seconds, at most
  ``2**63 - 1``) followed by the 64-byte Ed25519 signature;
- the signed message ("Ed25519 signed message") is ``cosignature/v1\\n``, then
  ``time <timestamp>\\n`` in decimal without leading zeroes, then the whole note body of the
  checkpoint (its final newline included, no signature lines).

Verifier keys are vkeys with signature type 0x04: ``<name>+<hex key id>+base64(0x04 || key)``.
Our signer key files use the same layout as the log's (``PRIVATE+KEY+…``) with type 0x04.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from proofdesk.verify.errors import NoteError
from proofdesk.verify.note import (
    Signature,
    Signer,
    encode_private,
    encode_vkey,
    key_id,
    new_seed,
    parse_private,
    parse_vkey,
    public_key_of,
    split_note,
)

ALG_COSIGNATURE_V1 = 0x04
HEADER = b"cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1
SIGNATURE_BYTES = 8 + 64  # u64 timestamp || Ed25519 signature


def cosigned_message(checkpoint_text: str, timestamp: int) -> bytes:
    """The bytes a v1 cosignature signs (tlog-cosignature, "Ed25519 signed message")."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError(f"cosignature timestamp {timestamp} is out of range")
    return HEADER + b"time %d\n" % timestamp + checkpoint_text.encode()


@dataclass(frozen=True)
class CosignerKey:
    """A witness's verifier key (signature type 0x04)."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key, ALG_COSIGNATURE_V1)

    def encode(self) -> str:
        return encode_vkey(self.name, ALG_COSIGNATURE_V1, self.public_key)

    @classmethod
    def parse(cls, text: str) -> CosignerKey:
        return cls(*parse_vkey(text, ALG_COSIGNATURE_V1, "witness key"))

    def timestamp_of(self, checkpoint_text: str, signature: Signature) -> int:
        """The timestamp of ``signature`` if it is this key's valid cosignature on the
        checkpoint; :class:`NoteError` otherwise."""
        if signature.name != self.name or signature.key_id != self.key_id:
            raise NoteError(f"signature is not by witness {self.name}")
        if len(signature.signature) != SIGNATURE_BYTES:
            raise NoteError(f"cosignature of {self.name} is not {SIGNATURE_BYTES} bytes")
        timestamp = int.from_bytes(signature.signature[:8], "big")
        message = cosigned_message(checkpoint_text, timestamp)
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                signature.signature[8:], message
            )
        except InvalidSignature:
            raise NoteError(f"cosignature of {self.name} does not verify") from None
        return timestamp


@dataclass(frozen=True)
class Cosigner:
    """A witness's signing key; the same Ed25519 seed layout as the log's, type 0x04."""

    name: str
    seed: bytes

    def __post_init__(self) -> None:
        Signer(self.name, self.seed)  # the same checks of the name and the seed

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        return cls(name, new_seed())

    @property
    def key(self) -> CosignerKey:
        return CosignerKey(self.name, public_key_of(self.seed))

    def encode(self) -> str:
        return encode_private(self.name, ALG_COSIGNATURE_V1, self.seed)

    @classmethod
    def parse(cls, text: str) -> Cosigner:
        return cls(*parse_private(text, ALG_COSIGNATURE_V1, "witness signer key"))

    def cosign(self, checkpoint_text: str, timestamp: int) -> Signature:
        """The cosignature on a checkpoint's note body at ``timestamp``."""
        message = cosigned_message(checkpoint_text, timestamp)
        signature = Signer(self.name, self.seed).sign(message)
        return Signature(self.name, self.key.key_id, struct.pack(">Q", timestamp) + signature)


def cosignatures(note: str, keys: list[CosignerKey]) -> dict[str, int]:
    """The witnesses among ``keys`` (by encoded key) whose valid cosignature ``note`` carries,
    with its timestamp. Lines of other keys are ignored; a line that claims to be by one of
    ``keys`` and does not verify is a :class:`NoteError` (as :func:`open_note` does)."""
    text, signatures = split_note(note)
    found: dict[str, int] = {}
    for key in keys:
        for sig in signatures:
            if sig.name == key.name and sig.key_id == key.key_id:
                found[key.encode()] = key.timestamp_of(text, sig)
    return found
