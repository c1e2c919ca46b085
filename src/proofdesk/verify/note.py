"""C2SP signed notes (Ed25519) and tlog checkpoints.

A signed note is UTF-8 text ending in a newline, a blank line, then one line per signature:
``— <key name> <base64(4-byte key id || signature)>``. The key id of an Ed25519 key is the
first four bytes of ``SHA-256(name || "\\n" || 0x01 || public key)``. Verifier keys are
written ``<name>+<hex key id>+<base64(0x01 || public key)>`` and signer keys
``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>``, as the Go ``note`` package does,
so keys and notes move between our tools and theirs.

A checkpoint (C2SP tlog-checkpoint) is the body of such a note: the log's origin, the tree
size in decimal and the root hash in base64, one per line, then optional extension lines.
Signature lines of other keys (for example witness cosignatures) are kept and ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from proofdesk.verify.errors import NoteError as NoteError  # re-exported: callers name it here

ALG_ED25519 = 0x01
SIGNATURE_PREFIX = "\u2014 "  # em dash and a space
MAX_SIGNATURES = 100
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


def _check_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() or not c.isprintable() for c in name):
        raise NoteError(f"key name {name!r} must be non-empty, printable, without spaces or '+'")


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise NoteError(f"{what} is not valid base64") from None


def key_id(name: str, public_key: bytes, alg: int = ALG_ED25519) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


def new_seed() -> bytes:
    """A fresh Ed25519 private key, as its 32-byte seed."""
    return Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )


def public_key_of(seed: bytes) -> bytes:
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def encode_vkey(name: str, alg: int, public_key: bytes) -> str:
    """``<name>+<hex key id>+base64(alg || public key)``."""
    key = base64.b64encode(bytes([alg]) + public_key).decode()
    return f"{name}+{key_id(name, public_key, alg).hex()}+{key}"


def parse_vkey(text: str, alg: int, what: str) -> tuple[str, bytes]:
    """Name and public key of a vkey of signature type ``alg``, its key id checked."""
    parts = text.strip().split("+", 2)  # base64 may hold '+' too; names and ids do not
    if len(parts) != 3:
        raise NoteError(f"a {what} reads <name>+<key id>+<base64 key>")
    name, id_hex, b64 = parts
    _check_name(name)
    raw = _b64decode(b64, what)
    if len(raw) != 33 or raw[0] != alg:
        raise NoteError(f"{what} is not an Ed25519 key of type 0x{alg:02x}")
    if id_hex != key_id(name, raw[1:], alg).hex():
        raise NoteError(f"{what} id does not match its name and key")
    return name, raw[1:]


def encode_private(name: str, alg: int, seed: bytes) -> str:
    """``PRIVATE+KEY+<name>+<hex key id>+base64(alg || seed)``."""
    b64 = base64.b64encode(bytes([alg]) + seed).decode()
    return f"PRIVATE+KEY+{name}+{key_id(name, public_key_of(seed), alg).hex()}+{b64}"


def parse_private(text: str, alg: int, what: str) -> tuple[str, bytes]:
    """Name and seed of a private key of signature type ``alg``, its key id checked."""
    parts = text.strip().split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise NoteError(f"a {what} reads PRIVATE+KEY+<name>+<key id>+<base64 seed>")
    _, _, name, id_hex, b64 = parts
    _check_name(name)
    raw = _b64decode(b64, what)
    if len(raw) != 33 or raw[0] != alg or len(raw[1:]) != 32:
        raise NoteError(f"{what} is not an Ed25519 key of type 0x{alg:02x}")
    if id_hex != key_id(name, public_key_of(raw[1:]), alg).hex():
        raise NoteError(f"{what} id does not match its name and key")
    return name, raw[1:]


@dataclass(frozen=True)
class Verifier:
    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def encode(self) -> str:
        return encode_vkey(self.name, ALG_ED25519, self.public_key)

    @classmethod
    def parse(cls, text: str) -> Verifier:
        return cls(*parse_vkey(text, ALG_ED25519, "verifier key"))

    def check(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    name: str
    seed: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.seed) != 32:
            raise NoteError("an Ed25519 seed has 32 bytes")

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(name, new_seed())

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, public_key_of(self.seed))

    def encode(self) -> str:
        return encode_private(self.name, ALG_ED25519, self.seed)

    @classmethod
    def parse(cls, text: str) -> Signer:
        return cls(*parse_private(text, ALG_ED25519, "signer key"))

    def sign(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        blob = base64.b64encode(self.key_id + self.signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {blob}\n"


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if any(c != "\n" and (ord(c) < 0x20 or ord(c) == 0x7F) for c in text):
        raise NoteError("note text holds a control character")


def sign_note(text: str, *signers: Signer) -> str:
    """The signed note: ``text`` (which must end in a newline), a blank line, signatures."""
    _check_text(text)
    if "\n\n" in text:
        raise NoteError("note text must not contain a blank line")
    message = text.encode()
    lines = [Signature(s.name, s.verifier.key_id, s.sign(message)).line() for s in signers]
    return text + "\n" + "".join(lines)


def split_note(note: str) -> tuple[str, list[Signature]]:
    """Text and signatures of a signed note, without checking any signature."""
    text, sep, block = note.rpartition("\n\n")
    if not sep:
        raise NoteError("note has no blank line before its signatures")
    text += "\n"
    _check_text(text)
    if not block.endswith("\n"):
        raise NoteError("note does not end with a newline")
    signatures = []
    for line in block[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"malformed signature line {line!r}")
        name, space, blob = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not space or " " in blob:
            raise NoteError(f"malformed signature line {line!r}")
        _check_name(name)
        raw = _b64decode(blob, "signature")
        if len(raw) < 5:
            raise NoteError(f"signature of {name} is too short")
        signatures.append(Signature(name, raw[:4], raw[4:]))
    if not signatures:
        raise NoteError("note has no signatures")
    if len(signatures) > MAX_SIGNATURES:
        raise NoteError(f"note has more than {MAX_SIGNATURES} signatures")
    return text, signatures


def open_note(note: str, verifier: Verifier) -> str:
    """The text of ``note`` if it carries a valid signature by ``verifier``.

    Signatures by other keys are ignored (they may be witness cosignatures); a signature that
    claims to be by ``verifier`` and does not verify is an error, whatever else the note holds.
    """
    text, signatures = split_note(note)
    message = text.encode()
    found = False
    for sig in signatures:
        if sig.name == verifier.name and sig.key_id == verifier.key_id:
            if not verifier.check(message, sig.signature):
                raise NoteError(f"signature of {verifier.name} does not verify")
            found = True
    if not found:
        raise NoteError(f"note is not signed by {verifier.name}+{verifier.key_id.hex()}")
    return text


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        root = base64.b64encode(self.root).decode()
        lines = [self.origin, str(self.size), root, *self.extensions]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        _check_text(text)
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("a checkpoint has an origin, a size and a root hash line")
        origin, size, root_b64, *extensions = lines
        if not origin:
            raise NoteError("checkpoint origin is empty")
        if not _DECIMAL.fullmatch(size) or int(size) >= 2**63:
            raise NoteError(f"checkpoint size {size!r} is not a decimal number")
        root = _b64decode(root_b64, "checkpoint root hash")
        if len(root) != 32:
            raise NoteError("checkpoint root hash is not 32 bytes")
        if any(not line for line in extensions):
            raise NoteError("checkpoint has an empty extension line")
        return cls(origin, int(size), root, tuple(extensions))


def open_checkpoint(note: str, verifier: Verifier, origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint and parse it; ``origin`` defaults to the key name."""
    checkpoint = Checkpoint.parse(open_note(note, verifier))
    expected = verifier.name if origin is None else origin
    if checkpoint.origin != expected:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not {expected!r}")
    return checkpoint
