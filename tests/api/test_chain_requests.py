"""Filing a request on chain through the API: prepare, send the returned call from the
customer's wallet, follow what the filing did. Only customers prepare; each sees only their
own drafts; nobody can claim the chain channel without a filing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from proofdesk.store.db import Database
from proofdesk.store.models import Ticket, Wallet
from proofdesk.workers.inbox import InboxWorker
from tests.support.tenants import Tenant
from tests.support.vyper_calls import ACCOUNTS

API = "/api/v1"
REQUEST = {"kind": "question", "subject": "Deposit missing", "body": "Sent 20 USDT an hour ago."}


def services(client: TestClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


def test_prepare_file_and_follow(client: TestClient, tenant: Tenant, db: Database) -> None:
    wallet = ACCOUNTS[7]
    with db.writer() as session:
        session.add(
            Wallet(
                organization_id=tenant.org_id,
                user_id=tenant.customer.user_id,
                address=wallet.address.lower(),
                created_at=datetime.now(UTC),
                verified_at=datetime.now(UTC),
            )
        )
    response = client.post(f"{API}/chain-requests", json=REQUEST, headers=tenant.customer.headers)
    assert response.status_code == 201, response.text
    draft = response.json()
    call = draft["call"]
    assert draft["commitment"].startswith("0x") and len(draft["commitment"]) == 66
    assert call["gas"] > 21_000 and call["cost_wei"] > 0
    # The same content again: the same draft.
    again = client.post(f"{API}/chain-requests", json=REQUEST, headers=tenant.customer.headers)
    assert again.json()["id"] == draft["id"]
    chain = services(client).chain()
    with chain.sending:
        signed = chain.prepare({"to": call["to"], "data": call["data"]}, account=wallet)
        chain.broadcast(signed)
    chain.wait(signed.tx_hash)
    InboxWorker(db, services(client).chain, 0).step()
    followed = client.get(f"{API}/chain-requests/{draft['id']}", headers=tenant.customer.headers)
    assert followed.status_code == 200
    body = followed.json()
    assert body["call"] is None
    assert [(f["tx_hash"], f["status"]) for f in body["filings"]] == [(signed.tx_hash, "opened")]
    ticket = client.get(f"{API}/tickets/{body['ticket_id']}", headers=tenant.customer.headers)
    assert ticket.status_code == 200
    assert (ticket.json()["channel"], ticket.json()["subject"]) == ("chain", "Deposit missing")
    # Another customer, an agent of the desk, another tenant: not theirs to follow.
    for member in (tenant.customer2, tenant.agent):
        other = client.get(f"{API}/chain-requests/{draft['id']}", headers=member.headers)
        assert other.status_code == 404
    with db.reader() as session:
        assert session.scalars(select(Ticket).where(Ticket.id == body["ticket_id"])).one()


def test_only_customers_prepare_and_bad_bodies_change_nothing(
    client: TestClient, tenant: Tenant
) -> None:
    agent = client.post(f"{API}/chain-requests", json=REQUEST, headers=tenant.agent.headers)
    assert (agent.status_code, agent.json()["error"]["code"]) == (403, "not_a_customer")
    for bad in (
        {**REQUEST, "kind": "nonsense"},
        {**REQUEST, "subject": ""},
        {**REQUEST, "extra": 1},
        {"kind": "question"},
    ):
        response = client.post(f"{API}/chain-requests", json=bad, headers=tenant.customer.headers)
        assert response.status_code == 422, bad
    missing = client.get(f"{API}/chain-requests/no-such", headers=tenant.customer.headers)
    assert missing.status_code == 404


def test_the_chain_channel_needs_a_filing(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        f"{API}/tickets", json={**REQUEST, "channel": "chain"}, headers=tenant.customer.headers
    )
    assert (response.status_code, response.json()["error"]["code"]) == (
        422,
        "chain_channel_reserved",
    )
