"""A ticket crosses between two ProofDesk servers on loopback, each with a data directory and a
log of its own: an exchange sends it to a wallet provider with its proofs, signed updates flow
both ways through the ``transfers`` worker, a tampered bundle is refused with the failing check
named and nothing created, a partner that refuses is reported with the check it named, and
the receipts on both sides verify and cite each other."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from proofdesk.ledger.transfers import transfer_key
from proofdesk.verify.note import Verifier, open_checkpoint
from proofdesk.verify.receipt import parse_leaf, verify_receipt
from proofdesk.verify.transfer import public_key_text, seal
from tests.support.server import Deployment, proofdesk, start

pytestmark = pytest.mark.server


class Side:
    """One organization on a server of its own, with a token per role it needs."""

    def __init__(self, root: Path, name: str) -> None:
        data = root / name
        data.mkdir()
        self.name = name
        self.where = Deployment(
            data,
            f"sqlite:///{data / 'proofdesk.db'}",
            {
                "PROOFDESK_LOG_ORIGIN": f"{name}.example/log",
                "PROOFDESK_TRANSFERS_ALLOW_PRIVATE": "true",
                "PROOFDESK_TRANSFERS_POLL_SECONDS": "0.2",
                "PROOFDESK_WEBHOOK_RATE_PER_MINUTE": "1000000",
            },
        )
        proofdesk(self.where, "migrate")
        proofdesk(self.where, "org", "create", name)
        self.tokens: dict[str, str] = {}
        for role in ("admin", "agent", "customer"):
            email = f"{role}@{name}.example"
            proofdesk(
                self.where, "user", "create", email, "--org", name, "--role", role,
                "--password", "correct horse battery staple",
            )  # fmt: skip
            token = proofdesk(self.where, "token", "create", email, "--org", name)
            self.tokens[role] = token.stdout.strip()
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> None:
        self.process, self.url = start(self.where)

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
            self.process = None

    def call(self, method: str, path: str, role: str | None = "agent", **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx2.request(method, f"{self.url}/api/v1{path}", headers=headers, timeout=30, **kw)

    @property
    def key(self) -> Ed25519PrivateKey:
        return transfer_key(self.where.data / "transfer.key")


@pytest.fixture
def sides(tmp_path: Path) -> Iterator[tuple[Side, Side]]:
    exchange, wallet = Side(tmp_path, "exchange"), Side(tmp_path, "wallet")
    try:
        exchange.start()
        wallet.start()
        yield exchange, wallet
    finally:
        exchange.stop()
        wallet.stop()


def eventually(check: Callable[[], bool], what: str, seconds: float = 45) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def agree(side: Side, other: Side, other_info: dict[str, Any]) -> str:
    body = {
        "name": other.name,
        "peer_url": f"{other.url}/api/v1",
        "peer_organization": other_info["organization_id"],
        "peer_key": other_info["key"],
    }
    r = side.call("POST", "/transfers/agreements", "admin", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def event_types(side: Side, ticket_id: str) -> list[str]:
    r = side.call("GET", f"/tickets/{ticket_id}/receipt")
    assert r.status_code == 200, r.text
    return [str(parse_leaf(e["leaf"])["type"]) for e in r.json()["entries"]]


def revealed(entry: dict[str, Any]) -> dict[str, Any]:
    return {name: json.loads(o["value"]) for name, o in entry["revealed"].items()}


def test_a_ticket_crosses_between_two_servers_and_both_receipts_cite_each_other(
    sides: tuple[Side, Side],
) -> None:
    exchange, wallet = sides
    info = {s.name: s.call("GET", "/transfers/partners").json() for s in sides}
    to_wallet = agree(exchange, wallet, info["wallet"])
    wallet_agreement = agree(wallet, exchange, info["exchange"])

    ticket = {"kind": "transaction_problem", "subject": "Withdrawal to my wallet not arrived",
              "body": "I withdrew 50 USDT to my wallet an hour ago.", "order_id": "w-77"}  # fmt: skip
    r = exchange.call("POST", "/tickets", "customer", json=ticket)
    assert r.status_code == 201, r.text
    ticket_id = r.json()["id"]
    consent = {"agreement_id": to_wallet, "fields": ["subject", "kind", "order_id", "messages"]}
    r = exchange.call("POST", f"/tickets/{ticket_id}/transfer-consents", "customer", json=consent)
    assert r.status_code == 201, r.text
    transfer_id = r.json()["transfer_id"]

    # A tampered bundle (the exchange's own key, a revealed value changed) never gets in.
    receipt = exchange.call("GET", f"/tickets/{ticket_id}/receipt").json()
    body = {
        "transfer_id": transfer_id,
        "from": {"organization": info["exchange"]["organization_id"]},
        "to": {"organization": info["wallet"]["organization_id"]},
        "ticket_id": ticket_id,
        "fields": consent["fields"],
        "log_key": info["exchange"]["log_key"],
        "receipt": receipt,
        "sent_at": "2026-12-03T09:00:00.000000Z",
    }
    tampered = copy.deepcopy(body)
    entry = tampered["receipt"]["entries"][0]
    entry["revealed"]["order_id"]["value"] = json.dumps("w-78")
    for envelope, check in (
        (seal("bundle", tampered, exchange.key), "receipt"),
        ({**seal("bundle", body, exchange.key), "body": tampered}, "signature"),
    ):
        r = wallet.call("POST", "/transfers/inbound", None, json=envelope)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"]["check"] == check
    assert wallet.call("GET", "/tickets").json()["items"] == []

    # The wallet provider does not know the exchange's key: the exchange is told which check.
    stranger = public_key_text(Ed25519PrivateKey.generate())
    patch = {"peer_key": stranger}
    wallet.call("PATCH", f"/transfers/agreements/{wallet_agreement}", "admin", json=patch)
    r = exchange.call("POST", f"/tickets/{ticket_id}/transfers", json={"transfer_id": transfer_id})
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "partner_refused"
    assert r.json()["error"]["details"]["check"] == "agreement key"
    patch = {"peer_key": info["exchange"]["key"]}
    wallet.call("PATCH", f"/transfers/agreements/{wallet_agreement}", "admin", json=patch)

    r = exchange.call("POST", f"/tickets/{ticket_id}/transfers", json={"transfer_id": transfer_id})
    assert r.status_code == 200, r.text
    sent = r.json()
    assert sent["status"] == "sent"
    linked = sent["peer_ticket_id"]
    r = wallet.call("GET", f"/tickets/{linked}")
    assert r.status_code == 200 and r.json()["subject"] == ticket["subject"]
    assert r.json()["order_id"] == "w-77"
    got = wallet.call("GET", f"/tickets/{linked}/transfers").json()
    assert [(t["direction"], t["transfer_id"]) for t in got] == [("received", transfer_id)]

    # Replies and status flow both ways, each as a signed event on both logs.
    update = {"message": "The transfer is confirmed in our wallet.", "status": "solved"}
    r = wallet.call("POST", f"/tickets/{linked}/transfers/{transfer_id}/updates", json=update)
    assert r.status_code == 202, r.text
    r = exchange.call("POST", f"/tickets/{ticket_id}/transfers/{transfer_id}/updates",
                      json={"message": "Thank you, we told the customer."})  # fmt: skip
    assert r.status_code == 202, r.text
    eventually(lambda: event_types(exchange, ticket_id).count("transfer.updated") == 2, "update in")
    eventually(lambda: event_types(wallet, linked).count("transfer.updated") == 2, "update out")

    # Both receipts verify against their own log's key, and each cites the other.
    exchange_key = Verifier.parse(info["exchange"]["log_key"])
    wallet_key = Verifier.parse(info["wallet"]["log_key"])
    ours = exchange.call("GET", f"/tickets/{ticket_id}/receipt").json()
    theirs = wallet.call("GET", f"/tickets/{linked}/receipt").json()
    assert verify_receipt(ours, key=exchange_key).ok
    assert verify_receipt(theirs, key=wallet_key).ok
    by_type = {str(parse_leaf(e["leaf"])["type"]): e for e in ours["entries"]}
    received = revealed(by_type["transfer.sent"])["received"]
    assert received["ticket_id"] == linked and received["origin"] == "wallet.example/log"
    cp = open_checkpoint(received["checkpoint"], wallet_key, "wallet.example/log")
    assert received["index"] < cp.size
    at = {e["index"]: str(parse_leaf(e["leaf"])["type"]) for e in theirs["entries"]}
    assert at[received["index"]] == "transfer.received"
    cited = revealed(theirs["entries"][0])["transferred_from"]
    assert cited["ticket_id"] == ticket_id and cited["origin"] == "exchange.example/log"
    consent_entry = by_type["transfer.consented"]
    assert cited["index"] == consent_entry["index"]
    in_theirs = [revealed(e) for e in theirs["entries"] if "update_hash" in e["revealed"]]
    assert {u["direction"] for u in in_theirs} == {"in", "out"}
