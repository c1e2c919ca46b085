"""Transfer bundles: what a sender reveals of a ticket to a partner organization, and the
deployment's transfer key.

A bundle is the ticket's receipt (:func:`proofdesk.ledger.receipts.stream_receipt`) against a
(cosigned, when witnesses are configured) checkpoint, revealing only the fields the customer
agreed to share (:data:`SHAREABLE`, mapped to payload fields by :func:`shared_fields`), sealed
in a signed envelope (:mod:`proofdesk.verify.transfer`) by the transfer key. The key is one of
its own, not the log's nor the webhooks': one key, one purpose.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from proofdesk.canonical import format_time, utc_now
from proofdesk.domain.tickets import Event, EventType, Visibility
from proofdesk.errors import ConfigError, InvalidInput
from proofdesk.ledger.keyfiles import read_or_create_private
from proofdesk.ledger.receipts import stream_receipt
from proofdesk.ledger.witnessing import WitnessPolicy
from proofdesk.store.db import Database
from proofdesk.verify.note import Signer
from proofdesk.verify.transfer import seal

_PREFIX = "proofdesk-transfer-key-v1:"

#: What a customer may agree to share, each a ticket field or ``messages`` (the public
#: conversation) or ``contact`` (their name and e-mail address, so the partner can answer).
TICKET_FIELDS = (
    "subject",
    "kind",
    "priority",
    "order_id",
    "wallet_address",
    "chain_id",
    "tx_hash",
    "network",
)
SHAREABLE = (*TICKET_FIELDS, "messages", "contact")
#: Revealed whenever the event is: the transfer's own steps, and where the ticket stands.
_ALWAYS = {
    EventType.TRANSFER_CONSENTED: None,
    EventType.TRANSFER_SENT: None,
    EventType.TRANSFER_RECEIVED: None,
    EventType.STATUS_CHANGED: ("from", "to"),
}
_MESSAGE_FIELDS = ("body", "author_role", "visibility")


def check_shareable(fields: Collection[str]) -> list[str]:
    unknown = sorted(set(fields) - set(SHAREABLE))
    if unknown:
        raise InvalidInput(
            f"cannot share {', '.join(unknown)}; shareable: {', '.join(SHAREABLE)}",
            code="invalid_transfer_fields",
            field="fields",
        )
    return sorted(set(fields))


def shared_fields(chosen: Collection[str], event: Event) -> Collection[str]:
    """The payload fields of ``event`` a bundle sharing ``chosen`` reveals."""
    if event.type in _ALWAYS:
        named = _ALWAYS[event.type]
        return event.payload.keys() if named is None else named
    if event.type is EventType.CREATED:
        return [name for name in TICKET_FIELDS if name in chosen]
    if event.type is EventType.MESSAGE_ADDED:
        public = event.payload.get("visibility") == Visibility.PUBLIC.value
        return _MESSAGE_FIELDS if public and "messages" in chosen else ()
    if event.type is EventType.TRANSFER_UPDATED:
        names = [n for n in event.payload if n != "message"]
        return [*names, "message"] if "messages" in chosen else names
    return ()


def build_bundle(
    db: Database,
    signer: Signer,
    key: Ed25519PrivateKey,
    policy: WitnessPolicy,
    *,
    transfer_id: str,
    organization_id: str,
    peer_organization: str,
    ticket_id: str,
    last_seq: int,
    fields: Collection[str],
    customer: dict[str, Any] | None,
) -> dict[str, Any]:
    """The signed bundle of a ticket whose last event (the consent) is ``last_seq``."""
    receipt = stream_receipt(
        db,
        signer,
        ticket_id,
        last_seq,
        lambda event: True,
        None,
        policy,
        fields=lambda event: shared_fields(fields, event),
    )
    body: dict[str, Any] = {
        "transfer_id": transfer_id,
        "from": {"organization": organization_id},
        "to": {"organization": peer_organization},
        "ticket_id": ticket_id,
        "fields": sorted(fields),
        "log_key": signer.verifier.encode(),
        "receipt": receipt,
        "sent_at": format_time(utc_now()),
    }
    if customer is not None:
        body["customer"] = customer
    return seal("bundle", body, key)


def _new() -> str:
    raw = Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    return _PREFIX + base64.b64encode(raw).decode() + "\n"


@lru_cache(maxsize=8)
def transfer_key(path: Path) -> Ed25519PrivateKey:
    """The key stored at ``path``, made there first if there is none."""
    text = read_or_create_private(path, "transfers_key_file", _new).strip()
    if not text.startswith(_PREFIX):
        raise ConfigError(f"{path} is not a ProofDesk transfer key", key="transfers_key_file")
    try:
        raw = base64.b64decode(text[len(_PREFIX) :], validate=True)
        return Ed25519PrivateKey.from_private_bytes(raw)
    except (binascii.Error, ValueError):
        raise ConfigError(
            f"{path} is not a ProofDesk transfer key", key="transfers_key_file"
        ) from None
