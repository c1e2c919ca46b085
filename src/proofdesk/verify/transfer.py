"""Transfer bundles between organizations: signed envelopes and the checks a receiver makes.

A transfer moves a ticket from one organization (the sender) to another (the receiver), each
on a ProofDesk log of its own. Everything that crosses is a signed *envelope*::

    {"format": "proofdesk-transfer/v1", "kind": <bundle | acknowledgement | update>,
     "body": {...}, "key": "ed25519:<base64 public key>", "signature": "<base64>"}

The Ed25519 signature covers ``DOMAIN[kind]`` followed by the canonical JSON of the body (keys
sorted, no spaces, UTF-8): a signature made for one kind can never be passed off as another,
and none of them as a signed note or a webhook. The key is the agreement key: each side holds
the other's public key in its transfer agreement, exchanged out of band.

A bundle's body carries the sender's receipt of the ticket (:mod:`proofdesk.verify.receipt`)
with the shared fields' values revealed, and the sender's log key: the receiver checks the
inclusion proofs against the (cosigned) checkpoint, and that the customer's consent to this
very receiver is one of the revealed events. :func:`check_bundle` runs the named checks in
:data:`BUNDLE_CHECKS` order and raises :class:`TransferRefused` naming the first that fails.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from proofdesk.verify.errors import NoteError, VerificationError
from proofdesk.verify.note import Verifier
from proofdesk.verify.receipt import Report, parse_leaf, verify_receipt

FORMAT = "proofdesk-transfer/v1"
KEY_PREFIX = "ed25519:"
#: What each kind's signature covers before the body: one key, several messages, never mixed.
DOMAIN = {
    "bundle": b"proofdesk-transfer/v1 bundle\n",
    "acknowledgement": b"proofdesk-transfer/v1 acknowledgement\n",
    "update": b"proofdesk-transfer/v1 update\n",
}
ENVELOPE_KEYS = frozenset({"format", "kind", "body", "key", "signature"})
#: The checks of a bundle, in the order they run; a refusal names one of them.
BUNDLE_CHECKS = ("envelope", "agreement key", "signature", "receiver", "receipt", "consent")
#: The event type of the customer's consent (``domain.tickets.EventType.TRANSFER_CONSENTED``).
CONSENT_EVENT = "transfer.consented"


class TransferRefused(VerificationError):
    """A bundle, acknowledgement or update that fails the check ``check``."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self.reason = message


@dataclass(frozen=True, slots=True)
class Agreement:
    """What the receiver knows of a partner, from its agreement: the organization on each side
    and the partner's public key (None: no key yet, the agreement is inactive)."""

    ours: str
    peer: str
    peer_key: str | None


def canonical(body: Any) -> bytes:
    """The bytes a signature covers: JSON with sorted keys and no spaces (the bodies hold only
    objects, lists, strings, integers, booleans and null, on which this is RFC 8785)."""
    try:
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:
        raise VerificationError(f"body is not JSON: {exc}") from None


def public_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return KEY_PREFIX + base64.b64encode(raw).decode()


def parse_public_key(text: Any) -> Ed25519PublicKey:
    """An ``ed25519:<base64>`` key; :class:`VerificationError` for anything else."""
    if not isinstance(text, str) or not text.startswith(KEY_PREFIX):
        raise VerificationError(f"a key is {KEY_PREFIX}<base64 of 32 bytes>")
    try:
        raw = base64.b64decode(text[len(KEY_PREFIX) :], validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise VerificationError(f"a key is {KEY_PREFIX}<base64 of 32 bytes>") from None


def seal(kind: str, body: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The envelope of ``body``, signed by ``key``."""
    signature = key.sign(DOMAIN[kind] + canonical(body))
    return {
        "format": FORMAT,
        "kind": kind,
        "body": body,
        "key": public_key_text(key),
        "signature": base64.b64encode(signature).decode(),
    }


def envelope_hash(envelope: dict[str, Any]) -> str:
    """SHA-256 hex of the envelope's canonical JSON: what the events on both sides cite."""
    return hashlib.sha256(canonical(envelope)).hexdigest()


def check_envelope(envelope: Any, kind: str) -> dict[str, Any]:
    """The body of an envelope of ``kind`` that has the envelope's shape (not yet its
    signature); :class:`TransferRefused` ``envelope`` otherwise."""
    if not isinstance(envelope, dict) or set(envelope) != ENVELOPE_KEYS:
        raise TransferRefused("envelope", f"not an object of exactly {sorted(ENVELOPE_KEYS)}")
    if envelope["format"] != FORMAT:
        raise TransferRefused("envelope", f"format is not {FORMAT!r}")
    if envelope["kind"] != kind:
        raise TransferRefused("envelope", f"kind is {envelope['kind']!r}, not {kind!r}")
    if not isinstance(envelope["body"], dict):
        raise TransferRefused("envelope", "body is not an object")
    if not isinstance(envelope["key"], str) or not isinstance(envelope["signature"], str):
        raise TransferRefused("envelope", "key and signature are texts")
    return envelope["body"]


def check_signed(envelope: Any, kind: str, expected_key: str | None) -> dict[str, Any]:
    """The body of an envelope of ``kind`` signed by ``expected_key``; raises
    :class:`TransferRefused` naming ``envelope``, ``agreement key`` or ``signature``."""
    body = check_envelope(envelope, kind)
    if expected_key is None:
        raise TransferRefused("agreement key", "the agreement has no key yet: it is inactive")
    if envelope["key"] != expected_key:
        raise TransferRefused("agreement key", "signed by a key that is not the agreement's")
    try:
        public = parse_public_key(expected_key)
        signature = base64.b64decode(envelope["signature"], validate=True)
    except (VerificationError, binascii.Error, ValueError):
        raise TransferRefused("signature", "key or signature is not valid base64") from None
    try:
        public.verify(signature, DOMAIN[kind] + canonical(body))
    except InvalidSignature:
        raise TransferRefused("signature", "the signature does not verify") from None
    return body


#: The longest id a body may name (ProofDesk's are UUIDs, 36 characters).
MAX_ID = 36


def _text(body: dict[str, Any], *path: str, limit: int = 255) -> str:
    value: Any = body
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise TransferRefused("envelope", f"{'.'.join(path)} is not a text of 1-{limit} characters")
    return value


def check_ids(body: dict[str, Any], *names: str) -> None:
    """The ids a body names are texts of at most :data:`MAX_ID` characters."""
    for name in names:
        _text(body, name, limit=MAX_ID)


def check_bundle(bundle: Any, agreement: Agreement) -> tuple[dict[str, Any], Report]:
    """Every check of a bundle, in :data:`BUNDLE_CHECKS` order: the body and the receipt's
    report when all pass, :class:`TransferRefused` naming the first that fails."""
    body = check_envelope(bundle, "bundle")
    sender = _text(body, "from", "organization")
    receiver = _text(body, "to", "organization")
    transfer_id = _text(body, "transfer_id", limit=MAX_ID)
    check_ids(body, "ticket_id")
    if sender != agreement.peer:
        raise TransferRefused("agreement key", f"no agreement with organization {sender!r}")
    check_signed(bundle, "bundle", agreement.peer_key)
    if receiver != agreement.ours:
        raise TransferRefused("receiver", f"addressed to {receiver!r}, not to us")
    report = _check_receipt(body)
    _check_consent(body["receipt"], report, receiver, transfer_id)
    return body, report


def _check_receipt(body: dict[str, Any]) -> Report:
    receipt = body.get("receipt")
    log_key = body.get("log_key")
    try:
        key = Verifier.parse(log_key) if isinstance(log_key, str) else None
    except NoteError as exc:
        raise TransferRefused("receipt", f"log key: {exc}") from None
    if key is None:
        raise TransferRefused("receipt", "the bundle names no log key")
    report = verify_receipt(receipt, key=key)
    if not report.ok:
        item, why = (report.failures or [("receipt", "no checks made")])[0]
        raise TransferRefused("receipt", f"{item}: {why}")
    if not isinstance(receipt, dict) or receipt.get("ticket_id") != body.get("ticket_id"):
        raise TransferRefused("receipt", "the receipt is of another ticket")
    return report


def _check_consent(
    receipt: dict[str, Any], report: Report, receiver: str, transfer_id: str
) -> None:
    """One revealed ``transfer.consented`` event names this receiver and this transfer."""
    consent = consented(receipt, report)
    if consent is None:
        raise TransferRefused("consent", "no consent of the customer is revealed")
    if consent.get("to_organization") != receiver:
        raise TransferRefused("consent", "the customer consented to another organization")
    if consent.get("transfer_id") != transfer_id:
        raise TransferRefused("consent", "the consent is for another transfer")


def revealed_events(
    receipt: dict[str, Any], report: Report
) -> list[tuple[int, str, dict[str, Any]]]:
    """(log index, event type, revealed fields) of each event of a receipt that passed
    :func:`verify_receipt`, in order (the type is the leaf's, the fields checked openings)."""
    fields: dict[int, dict[str, Any]] = {}
    for index, name, value in report.revealed:
        fields.setdefault(index, {})[name] = value
    out = []
    for entry in receipt["entries"]:
        leaf = parse_leaf(entry["leaf"])
        out.append((entry["index"], str(leaf["type"]), fields.get(entry["index"], {})))
    return out


def consented(receipt: dict[str, Any], report: Report) -> dict[str, Any] | None:
    """The revealed fields of the last consent event of a checked receipt, or None."""
    found = [f for _, kind, f in revealed_events(receipt, report) if kind == CONSENT_EVENT]
    return found[-1] if found else None
