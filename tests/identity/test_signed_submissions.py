"""EIP-712 signed submissions: a customer's wallet signs a request and a reply; the server
checks and keeps the signature; tampering, replay and foreign wallets are refused; receipts
carry the signatures and verify offline."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from proofdesk.actions.accounts import do_attach_wallet
from proofdesk.canonical import canonical_json
from proofdesk.cli.main import app as cli
from proofdesk.identity.typed import check_receipt
from proofdesk.store.db import Database
from proofdesk.store.models import User
from proofdesk.verify.receipt import verify_receipt
from tests.support.tenants import Member, Tenant
from tests.support.typed_data import sign

API = "/api/v1"


@pytest.fixture
def wallet(db: Database, tenant: Tenant) -> LocalAccount:
    account: LocalAccount = Account.create()
    with db.writer() as session:
        customer = session.get(User, tenant.customer.user_id)
        assert customer is not None
        do_attach_wallet(session, customer, account.address, "test")
    return account


REQUEST = {
    "kind": "refund_request",
    "subject": "Refund for order 77",
    "body": "Paid twice on chain.",
}


def open_signed(client: TestClient, tenant: Tenant, account: LocalAccount, member: Member) -> Any:
    signed = sign(client, tenant, account, "ticket.create", REQUEST)
    return client.post(f"{API}/tickets", json={**REQUEST, "signed": signed}, headers=member.headers)


def test_signed_request_and_reply_are_kept_and_shown(
    client: TestClient, tenant: Tenant, wallet: LocalAccount, tmp_path: Path
) -> None:
    created = open_signed(client, tenant, wallet, tenant.customer)
    assert created.status_code == 201, created.text
    tid = created.json()["id"]
    reply = {"body": "Here is the transaction hash."}
    signed = sign(client, tenant, wallet, "message.add", reply, ticket=tid)
    posted = client.post(
        f"{API}/tickets/{tid}/messages",
        json={**reply, "signed": signed},
        headers=tenant.customer.headers,
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["signed_by"] == wallet.address
    unsigned = client.post(
        f"{API}/tickets/{tid}/messages", json={"body": "Hello?"}, headers=tenant.customer.headers
    )
    assert unsigned.json()["signed_by"] is None  # unsigned stays possible, and is marked
    timeline = client.get(f"{API}/tickets/{tid}/messages", headers=tenant.agent.headers).json()
    assert [m["signed_by"] for m in timeline] == [wallet.address, wallet.address, None]

    receipt = client.get(f"{API}/tickets/{tid}/receipt", headers=tenant.customer.headers).json()
    assert verify_receipt(receipt).ok
    findings = check_receipt(receipt)
    assert [(ok, detail.split(" signed")[0]) for _, ok, detail in findings] == [
        (True, "ticket.create"),
        (True, "message.add"),
    ]
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    result = CliRunner().invoke(cli, ["verify", str(path)])
    assert result.exit_code == 0, result.output
    assert f"ticket.create signed by {wallet.address}" in result.output
    # A receipt whose signed content was swapped fails on the signature too.
    forged = json.loads(path.read_text())
    for entry in forged["entries"]:
        if "signature" in entry["revealed"]:
            record = json.loads(entry["revealed"]["signature"]["value"])
            record["signer"] = Account.create().address
            entry["revealed"]["signature"]["value"] = canonical_json(record).decode()
    assert not all(ok for _, ok, _ in check_receipt(forged))


def test_tampering_replay_and_foreign_wallets_are_refused(
    client: TestClient, tenant: Tenant, wallet: LocalAccount
) -> None:
    signed = sign(client, tenant, wallet, "ticket.create", REQUEST)
    for change in ({"body": "Paid three times."}, {"kind": "complaint"}, {"subject": "Other"}):
        tampered = client.post(
            f"{API}/tickets",
            json={**REQUEST, **change, "signed": signed},
            headers=tenant.customer.headers,
        )
        assert (tampered.status_code, tampered.json()["error"]["code"]) == (422, "bad_signature"), (
            change
        )
    first = client.post(
        f"{API}/tickets", json={**REQUEST, "signed": signed}, headers=tenant.customer.headers
    )
    assert first.status_code == 201
    replay = client.post(
        f"{API}/tickets", json={**REQUEST, "signed": signed}, headers=tenant.customer.headers
    )
    assert (replay.status_code, replay.json()["error"]["code"]) == (409, "replayed_signature")
    stranger = Account.create()
    foreign = open_signed(client, tenant, stranger, tenant.customer)
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (403, "not_your_wallet")
    other_customer = open_signed(client, tenant, wallet, tenant.customer2)
    assert other_customer.json()["error"]["code"] == "not_your_wallet"
    stale = sign(client, tenant, wallet, "ticket.create", REQUEST, issuedAt=int(time.time()) - 3600)
    old = client.post(
        f"{API}/tickets", json={**REQUEST, "signed": stale}, headers=tenant.customer.headers
    )
    assert old.json()["error"]["code"] == "stale_signature"
    wrong_action = sign(client, tenant, wallet, "message.add", REQUEST)
    mismatch = client.post(
        f"{API}/tickets", json={**REQUEST, "signed": wrong_action}, headers=tenant.customer.headers
    )
    assert mismatch.json()["error"]["code"] == "bad_signature"
    staff = client.post(
        f"{API}/tickets",
        json={**REQUEST, "requester_id": tenant.customer.user_id, "signed": signed},
        headers=tenant.agent.headers,
    )
    assert (staff.status_code, staff.json()["error"]["code"]) == (403, "not_a_customer")
    malformed = client.post(
        f"{API}/tickets",
        json={**REQUEST, "signed": {**signed, "signature": "0x12"}},
        headers=tenant.customer.headers,
    )
    assert malformed.status_code == 422


def test_typed_data_names_this_deployment(client: TestClient) -> None:
    spec = client.get(f"{API}/auth/typed-data").json()
    assert spec["domain"]["name"] == "ProofDesk" and spec["domain"]["version"] == "1"
    assert spec["domain"]["verifyingContract"].startswith("0x")
    assert spec["actions"]["ticket.create"] == ["kind", "subject", "body"]
