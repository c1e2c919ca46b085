"""EIP-712 signed submissions as a customer's wallet makes them."""

from __future__ import annotations

import secrets
import time
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from fastapi.testclient import TestClient

from proofdesk.canonical import canonical_json
from tests.support.tenants import Tenant

API = "/api/v1"


def sign(
    client: TestClient,
    tenant: Tenant,
    account: LocalAccount,
    action: str,
    content: dict[str, Any],
    ticket: str = "",
    **overrides: Any,
) -> dict[str, Any]:
    """What a dApp does: fetch the domain and types, build the message, sign it."""
    spec = client.get(f"{API}/auth/typed-data").json()
    nonce, issued = secrets.randbits(128), int(time.time())
    message = {
        "action": action,
        "organization": tenant.org_id,
        "ticket": ticket,
        "requestId": "req-1" if action == "ticket.create" else "",
        "contentHash": "0x" + keccak(canonical_json(content)).hex(),
        "nonce": nonce,
        "issuedAt": issued,
    }
    message.update(overrides)
    typed = {
        "types": spec["types"],
        "primaryType": spec["primaryType"],
        "domain": spec["domain"],
        "message": message,
    }
    signature = Account.sign_typed_data(account.key, full_message=typed).signature
    return {
        "signer": account.address,
        "signature": "0x" + bytes(signature).hex(),
        "nonce": str(nonce),
        "issued_at": message["issuedAt"],
        "request_id": message["requestId"],
    }
