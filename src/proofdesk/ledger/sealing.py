"""Which parts of an event payload are private, and sealing them in the event stream.

Private values (message bodies and attachment lists, ticket subjects, order ids, wallet
addresses, transaction hashes — in ``fields.changed`` too —, an imported ticket's custom
fields) are stored as ``{"$sealed": base64(nonce || AES-256-GCM ciphertext)}`` with the event's sequence number and
the value's path as associated data, so a sealed value cannot be moved to another event or
field. Readers unseal with the ticket's content key; once the ticket is erased they get the
placeholder of each field instead, the same on every read, so projections rebuilt after an
erasure match the ones the erasure scrubbed.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from proofdesk.canonical import canonical_json
from proofdesk.domain.tickets import ERASED_TEXT, EventType
from proofdesk.errors import IntegrityFailure
from proofdesk.ledger.keys import NONCE_SIZE

SEALED = "$sealed"
_TICKET_FIELDS: dict[str, Any] = {
    "subject": ERASED_TEXT,
    "order_id": None,
    "wallet_address": None,
    "tx_hash": None,
}
#: Private top-level payload fields per event type, with what an erased one reads as.
PRIVATE: dict[str, dict[str, Any]] = {
    # An imported ticket keeps the old desk's custom fields: they may name anyone or anything.
    EventType.CREATED.value: {**_TICKET_FIELDS, "source_fields": {}},
    EventType.MESSAGE_ADDED.value: {"body": ERASED_TEXT, "attachments": [], "signature": None},
    # The facts a decision saw may name orders, wallets and amounts.
    EventType.DECIDED.value: {"facts": {}},
    EventType.PAYOUT.value: {"recipient": None},
    EventType.RATED.value: {"comment": ERASED_TEXT},
    # The wallet that filed a request on chain, and the transaction that names it.
    EventType.CHAIN_FILED.value: {"sender": None, "tx_hash": "0x"},
    EventType.CHAIN_DROPPED.value: {"tx_hash": "0x"},
    # A partner's reply is the customer's conversation, like a message body.
    EventType.TRANSFER_UPDATED.value: {"message": ERASED_TEXT},
}
#: In ``fields.changed``, the changes of these fields are private.
PRIVATE_CHANGES = _TICKET_FIELDS


def _aad(seq: int, path: str) -> bytes:
    return b"proofdesk/sealed/v1\n%d\n%s" % (seq, path.encode())


def _seal(key: AESGCM, seq: int, path: str, value: Any) -> dict[str, str]:
    nonce = os.urandom(NONCE_SIZE)
    blob = nonce + key.encrypt(nonce, canonical_json(value), _aad(seq, path))
    return {SEALED: base64.b64encode(blob).decode()}


def _unseal(key: AESGCM, seq: int, path: str, value: Any) -> Any:
    if not (isinstance(value, dict) and set(value) == {SEALED}):
        return value  # written before sealing existed, or not private
    try:
        blob = base64.b64decode(value[SEALED], validate=True)
        plain = key.decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], _aad(seq, path))
    except (binascii.Error, ValueError, InvalidTag):
        raise IntegrityFailure(
            f"event {seq}: sealed {path} does not decrypt (altered, or moved from elsewhere)",
            seq=seq,
        ) from None
    return json.loads(plain)


def _paths(event_type: str, payload: dict[str, Any]) -> list[tuple[str, tuple[str, ...], Any]]:
    """(path, keys, placeholder) of the private values present in ``payload``."""
    out: list[tuple[str, tuple[str, ...], Any]] = [
        (name, (name,), erased)
        for name, erased in PRIVATE.get(event_type, {}).items()
        if name in payload
    ]
    if event_type == EventType.FIELDS_CHANGED.value and isinstance(payload.get("changes"), dict):
        out += [
            (f"changes.{name}", ("changes", name), {"from": erased, "to": erased})
            for name, erased in PRIVATE_CHANGES.items()
            if name in payload["changes"]
        ]
    return out


def _replace(payload: dict[str, Any], keys: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = dict(payload)
    if len(keys) == 1:
        out[keys[0]] = value
    else:
        out[keys[0]] = _replace(out[keys[0]], keys[1:], value)
    return out


def _get(payload: dict[str, Any], keys: tuple[str, ...]) -> Any:
    value: Any = payload
    for key in keys:
        value = value[key]
    return value


def seal(event_type: str, payload: dict[str, Any], seq: int, key: AESGCM) -> dict[str, Any]:
    """``payload`` with its private values sealed."""
    for path, keys, _ in _paths(event_type, payload):
        payload = _replace(payload, keys, _seal(key, seq, path, _get(payload, keys)))
    return payload


def unseal(
    event_type: str, payload: dict[str, Any], seq: int, key: AESGCM | None
) -> dict[str, Any]:
    """``payload`` with its private values readable, or their placeholders if ``key`` is None
    (the ticket was erased)."""
    for path, keys, erased in _paths(event_type, payload):
        value = erased if key is None else _unseal(key, seq, path, _get(payload, keys))
        payload = _replace(payload, keys, value)
    return payload


def is_sealed(event_type: str, payload: dict[str, Any]) -> bool:
    """Whether every private value of ``payload`` is sealed."""
    return all(
        isinstance(v := _get(payload, keys), dict) and set(v) == {SEALED}
        for _, keys, _ in _paths(event_type, payload)
    )


def has_private(event_type: str, payload: dict[str, Any]) -> bool:
    return bool(_paths(event_type, payload))
