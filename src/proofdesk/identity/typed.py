"""Signed submissions: what a customer's wallet signs (EIP-712) when it submits something, and
how anyone checks it later from a receipt.

The signed message commits to the content by hash (``contentHash`` = keccak256 of the RFC 8785
JSON of the content fields), names the action, the organization, the ticket (or, for a new
ticket, a request id the client chose), a random nonce and the time. The domain binds it to
one deployment: name ``ProofDesk``, version ``1``, the chain id and the deployment's anchor
contract as verifying contract. The types are published in ``docs/identity.md``.

The server stores the signature with its message in the event's payload; receipts reveal it
like any other field and :func:`check_receipt` verifies it offline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak

from proofdesk.canonical import canonical_json

NAME = "ProofDesk"
VERSION = "1"
PRIMARY_TYPE = "Submission"
TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Submission": [
        {"name": "action", "type": "string"},
        {"name": "organization", "type": "string"},
        {"name": "ticket", "type": "string"},
        {"name": "requestId", "type": "string"},
        {"name": "contentHash", "type": "bytes32"},
        {"name": "nonce", "type": "uint256"},
        {"name": "issuedAt", "type": "uint256"},
    ],
}
#: What each action signs: the names of its content fields.
ACTIONS: dict[str, tuple[str, ...]] = {
    # A new request (any kind: a refund claim is a new request of kind refund_request).
    "ticket.create": ("kind", "subject", "body"),
    # A reply on an existing ticket.
    "message.add": ("body",),
    # A community question (``ticket`` is empty; ``requestId`` the client's), and an answer
    # or a comment (``ticket`` is the question's id).
    "community.ask": ("title", "body"),
    "community.answer": ("body",),
    "community.comment": ("body",),
}


def content_hash(content: dict[str, Any]) -> bytes:
    return keccak(canonical_json(content))


def domain(chain_id: int, verifying_contract: str) -> dict[str, Any]:
    return {
        "name": NAME,
        "version": VERSION,
        "chainId": chain_id,
        "verifyingContract": verifying_contract,
    }


@dataclass(frozen=True)
class Signed:
    """A submission's signature as it is stored in the event (and shown in receipts)."""

    signer: str
    signature: str
    action: str
    organization: str
    ticket: str
    request_id: str
    nonce: int
    issued_at: int
    chain_id: int
    verifying_contract: str

    def message(self, content: dict[str, Any]) -> dict[str, Any]:
        return {
            "action": self.action,
            "organization": self.organization,
            "ticket": self.ticket,
            "requestId": self.request_id,
            "contentHash": content_hash(content),
            "nonce": self.nonce,
            "issuedAt": self.issued_at,
        }

    def typed_data(self, content: dict[str, Any]) -> dict[str, Any]:
        return {
            "types": TYPES,
            "primaryType": PRIMARY_TYPE,
            "domain": domain(self.chain_id, self.verifying_contract),
            "message": self.message(content),
        }

    def record(self) -> dict[str, Any]:
        """The JSON stored in the event payload (integers as decimal strings: uint256)."""
        return {
            "scheme": "eip712",
            "signer": self.signer,
            "signature": self.signature,
            "action": self.action,
            "organization": self.organization,
            "ticket": self.ticket,
            "request_id": self.request_id,
            "nonce": str(self.nonce),
            "issued_at": str(self.issued_at),
            "chain_id": str(self.chain_id),
            "verifying_contract": self.verifying_contract,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Signed:
        return cls(
            signer=str(record["signer"]),
            signature=str(record["signature"]),
            action=str(record["action"]),
            organization=str(record["organization"]),
            ticket=str(record["ticket"]),
            request_id=str(record["request_id"]),
            nonce=int(record["nonce"]),
            issued_at=int(record["issued_at"]),
            chain_id=int(record["chain_id"]),
            verifying_contract=str(record["verifying_contract"]),
        )


@dataclass(frozen=True)
class SignatureClaim:
    """What a client sends with a signed submission; the server fills in the rest from the
    request (action, organization, ticket, content) and checks that it adds up."""

    signer: str
    signature: str
    nonce: int
    issued_at: int
    request_id: str
    chain_id: int
    verifying_contract: str

    def complete(self, action: str, organization: str, ticket: str) -> Signed:
        return Signed(
            signer=self.signer,
            signature=self.signature,
            action=action,
            organization=organization,
            ticket=ticket,
            request_id=self.request_id,
            nonce=self.nonce,
            issued_at=self.issued_at,
            chain_id=self.chain_id,
            verifying_contract=self.verifying_contract,
        )


def recover(signed: Signed, content: dict[str, Any]) -> str | None:
    """The address that signed this submission of ``content``; None for a malformed one."""
    try:
        raw = bytes.fromhex(signed.signature.removeprefix("0x"))
        if len(raw) != 65:
            return None
        encoded = encode_typed_data(full_message=signed.typed_data(content))
        address: str = Account.recover_message(encoded, signature=raw)
    except Exception:  # malformed data or a point off the curve: not a signature
        return None
    return address


def check_receipt(receipt: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """Findings ``(item, ok, detail)`` for every signed submission a receipt reveals: the
    signature recovers the named signer over the revealed content."""
    findings: list[tuple[str, bool, str]] = []
    entries = receipt.get("entries") if isinstance(receipt, dict) else None
    if not isinstance(entries, list):
        return findings
    ticket_fields: dict[str, Any] = {}
    for entry in entries:
        revealed = entry.get("revealed") if isinstance(entry, dict) else None
        if not isinstance(revealed, dict):
            continue
        values = {}
        for name, opening in revealed.items():
            try:
                values[name] = _value(opening)
            except (TypeError, ValueError, KeyError):
                continue
        if not ticket_fields and "kind" in values and "subject" in values:
            ticket_fields = {"kind": values["kind"], "subject": values["subject"]}
        record = values.get("signature")
        if not isinstance(record, dict):
            continue
        item = f"signature of event {entry.get('index')}"
        try:
            signed = Signed.from_record(record)
            names = ACTIONS[signed.action]
        except (KeyError, TypeError, ValueError):
            findings.append((item, False, "malformed signature record"))
            continue
        content = {**ticket_fields, **values}
        missing = [n for n in names if n not in content]
        if missing:
            findings.append((item, False, f"the receipt does not reveal {', '.join(missing)}"))
            continue
        signer = recover(signed, {n: content[n] for n in names})
        if signer is not None and signer.lower() == signed.signer.lower():
            findings.append((item, True, f"{signed.action} signed by {signed.signer}"))
        else:
            findings.append((item, False, f"the signature is not {signed.signer}'s"))
    return findings


def _value(opening: Any) -> Any:
    """A revealed value (canonical JSON text in the receipt)."""
    return json.loads(opening["value"])
