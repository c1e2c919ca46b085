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

import base64
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from proofdesk.verify.errors import NoteError
from proofdesk.verify.note import Signature, _b64decode, _check_name, key_id, split_note

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
        key = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{key}"

    @classmethod
    def parse(cls, text: str) -> CosignerKey:
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError("a witness key reads <name>+<key id>+<base64 key>")
        name, id_hex, b64 = parts
        _check_name(name)
        raw = _b64decode(b64, "witness key")
        if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
            raise NoteError("witness key is not an Ed25519 cosignature/v1 key (type 0x04)")
        key = cls(name, raw[1:])
        if id_hex != key.key_id.hex():
            raise NoteError("witness key id does not match its name and key")
        return key

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
    """A witness's signing key."""

    name: str
    seed: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.seed) != 32:
            raise NoteError("an Ed25519 seed has 32 bytes")

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        key = Ed25519PrivateKey.generate()
        return cls(name, key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    @property
    def key(self) -> CosignerKey:
        public = Ed25519PrivateKey.from_private_bytes(self.seed).public_key()
        return CosignerKey(self.name, public.public_bytes(Encoding.Raw, PublicFormat.Raw))

    def encode(self) -> str:
        seed = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key.key_id.hex()}+{seed}"

    @classmethod
    def parse(cls, text: str) -> Cosigner:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a witness signer key reads PRIVATE+KEY+<name>+<key id>+<base64>")
        _, _, name, id_hex, b64 = parts
        raw = _b64decode(b64, "witness signer key")
        if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
            raise NoteError("witness signer key is not an Ed25519 cosignature/v1 key")
        cosigner = cls(name, raw[1:])
        if id_hex != cosigner.key.key_id.hex():
            raise NoteError("witness signer key id does not match its name and key")
        return cosigner

    def cosign(self, checkpoint_text: str, timestamp: int) -> Signature:
        """The cosignature on a checkpoint's note body at ``timestamp``."""
        message = cosigned_message(checkpoint_text, timestamp)
        signature = Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)
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
