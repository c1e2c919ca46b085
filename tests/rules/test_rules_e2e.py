"""Each example contract, end to end through the API on the embedded chain: shops sync orders,
customers open tickets, the automation worker decides and acts, the payer pays from escrow
exactly once (also across a crash between sending and recording), and every decision replays.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import select

from proofdesk.actions import contracts as contract_actions
from proofdesk.actions.accounts import do_attach_wallet
from proofdesk.actions.tickets import NewTicket, do_add_message, do_create_ticket
from proofdesk.app.services import Services
from proofdesk.canonical import format_time
from proofdesk.chain.base import contract, transact
from proofdesk.chain.embedded import dev_accounts
from proofdesk.chain.outbox import Follower
from proofdesk.domain.tickets import Kind
from proofdesk.store.db import Database
from proofdesk.store.models import Payout, Team, User
from proofdesk.workers.payouts import PayoutWorker
from tests.support import paths
from tests.support.tenants import Tenant, actor_of, make_tenant

API = "/api/v1"
EXAMPLES = paths.ROOT / "examples" / "contracts"
WEI = 10**18


@pytest.fixture
def services(client: TestClient) -> Services:
    found: Services = client.app.state.services  # type: ignore[attr-defined]
    return found


def payouts(services: Services) -> PayoutWorker:
    """The payouts worker on the app's chain, its steps run by hand."""
    return PayoutWorker(services.db, services.chain, 0)


@pytest.fixture
def world(client: TestClient, db: Database, services: Services) -> dict[str, Any]:
    """A tenant whose merchant has a bond in the escrow, and whose customer verified a wallet."""
    tenant = make_tenant(db)
    chain = services.chain()
    payer = payouts(services).payer()
    escrow = contract(chain, "WarrantyEscrow", str(payer.contract_address("escrow")))
    merchant = dev_accounts()[3]
    transact(chain, escrow.functions.deposit(), account=merchant, value=5 * WEI)
    wallet = Account.create()
    with db.writer() as session:
        user = session.get(User, tenant.customer.user_id)
        assert user is not None
        do_attach_wallet(session, user, wallet.address, "main", proven=True)
        session.add(
            Team(organization_id=tenant.org_id, name="wallet-ops", created_at=user.created_at)
        )
        session.add(
            Team(organization_id=tenant.org_id, name="warranty", created_at=user.created_at)
        )
    escrow_set = client.put(
        f"{API}/organization/escrow",
        json={"merchant_address": merchant.address},
        headers=tenant.admin.headers,
    )
    assert escrow_set.status_code == 200, escrow_set.text
    services.automation.cursor()  # the worker starts from here
    return {"tenant": tenant, "chain": chain, "escrow": escrow, "wallet": wallet.address}


def activate(client: TestClient, tenant: Tenant, name: str) -> str:
    source = (EXAMPLES / f"{name}.yaml").read_text()
    published = client.post(
        f"{API}/contracts", json={"source": source}, headers=tenant.admin.headers
    )
    assert published.status_code == 201, published.text
    digest = str(published.json()["contract_hash"])
    on = client.post(f"{API}/contracts/{digest}/activate", headers=tenant.admin.headers)
    assert on.status_code == 200
    return digest


def sync_order(client: TestClient, tenant: Tenant, **fields: Any) -> str:
    external_id = f"ORD-{uuid.uuid4().hex[:10]}"
    body = {"customer_id": tenant.customer.user_id, "currency": "ETH", **fields}
    response = client.put(f"{API}/orders/{external_id}", json=body, headers=tenant.admin.headers)
    assert response.status_code == 200, response.text
    return external_id


def paid_tx(world: dict[str, Any]) -> str:
    """A real, successful payment on the embedded chain."""
    chain = world["chain"]
    payer, shop = dev_accounts()[4], dev_accounts()[3]
    with chain.sending:
        signed = chain.prepare({"to": shop.address, "value": WEI // 10}, account=payer)
        chain.broadcast(signed)
    chain.wait(signed.tx_hash)
    return signed.tx_hash


def messages(
    client: TestClient, tenant: Tenant, tid: str, who: str = "customer"
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get(
        f"{API}/tickets/{tid}/messages", headers=tenant.members[who].headers
    ).json()
    return found


def ago(**delta: float) -> str:
    return format_time(datetime.now(UTC) - timedelta(**delta))


def decisions(client: TestClient, tenant: Tenant, tid: str) -> list[dict[str, Any]]:
    events = client.get(f"{API}/tickets/{tid}/events", headers=tenant.agent.headers).json()
    items = events["items"] if isinstance(events, dict) else events
    return [e for e in items if e["type"] == "contract.decided"]


def test_a_valid_refund_is_paid_to_the_verified_wallet_exactly_once(
    client: TestClient, db: Database, services: Services, world: dict[str, Any]
) -> None:
    tenant, chain = world["tenant"], world["chain"]
    activate(client, tenant, "refund-7-days")
    order = sync_order(
        client, tenant, amount="0.75", status="failed", paid_at=ago(days=2), tx_hash=paid_tx(world)
    )
    ticket = client.post(
        f"{API}/tickets",
        json={
            "kind": "refund_request",
            "subject": "Refund",
            "body": "It failed",
            "order_id": order,
        },
        headers=tenant.customer.headers,
    ).json()
    assert services.automation.step() >= 1
    told = [m for m in messages(client, tenant, ticket["id"]) if m["author_role"] == "automation"]
    assert "refunded in full" in told[0]["body"] and "“refund”" in told[0]["body"]
    payouts = client.get(
        f"{API}/tickets/{ticket['id']}/payouts", headers=tenant.customer.headers
    ).json()
    assert [(p["status"], p["amount"], p["recipient"]) for p in payouts] == [
        ("queued", "0.75", world["wallet"].lower())
    ]
    before = chain.w3.eth.get_balance(world["wallet"])

    # The worker crashes after broadcasting, before it records what happened.
    crashing = PayoutWorker(db, lambda: chain, 0)

    def crash(row: Any, adopt: Any) -> Any:
        raise RuntimeError("killed")

    crashing.payer().follower.follow = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        crashing.step()
    with db.reader() as session:
        row = session.scalars(select(Payout).where(Payout.ticket_id == ticket["id"])).one()
        assert row.status == "sent" and row.tx_hash
    # A fresh worker (after the restart) finds the transaction and records it once.
    fresh = PayoutWorker(db, lambda: chain, 0)
    fresh.step()
    fresh.step()
    with db.reader() as session:
        row = session.scalars(select(Payout).where(Payout.ticket_id == ticket["id"])).one()
        assert (row.status, row.recorded) == ("confirmed", True)
        tx_hash, payout_id = row.tx_hash, row.id
    assert chain.w3.eth.get_balance(world["wallet"]) - before == 75 * WEI // 100

    # Even a row that forgot it was sent is not paid again: the escrow knows the claim.
    Follower(db, chain, Payout, "payout").update(
        payout_id, status="queued", tx_hash=None, raw_tx=None, nonce=None, recorded=True
    )
    fresh.step()
    with db.reader() as session:
        again = session.get(Payout, payout_id)
        assert again is not None and again.status == "confirmed" and again.tx_hash == tx_hash
    assert chain.w3.eth.get_balance(world["wallet"]) - before == 75 * WEI // 100
    # Asking the contract again decides again, but pays nothing more.
    digest = decisions(client, tenant, ticket["id"])[0]["payload"]["contract_hash"]
    client.post(
        f"{API}/tickets/{ticket['id']}/decisions",
        json={"contract_hash": digest},
        headers=tenant.agent.headers,
    )
    assert (
        len(
            client.get(f"{API}/tickets/{ticket['id']}/payouts", headers=tenant.agent.headers).json()
        )
        == 1
    )

    # The payment is in the customer's receipt, and every decision replays.
    receipt = client.get(f"{API}/tickets/{ticket['id']}/receipt", headers=tenant.customer.headers)
    assert tx_hash in receipt.text
    with db.reader() as session:
        from proofdesk.store.models import Ticket

        row_ticket = session.get(Ticket, ticket["id"])
        assert row_ticket is not None
        replays = contract_actions.replay_ticket(session, row_ticket)
    assert len(replays) == 2 and all(not differences for _, _, differences in replays)


def test_an_out_of_window_refund_is_refused_with_the_reason_in_the_customer_language(
    client: TestClient, db: Database, services: Services, world: dict[str, Any]
) -> None:
    tenant = world["tenant"]
    with db.writer() as session:
        user = session.get(User, tenant.customer.user_id)
        assert user is not None
        user.locale = "zh-CN"
    activate(client, tenant, "refund-7-days")
    order = sync_order(
        client, tenant, amount="0.5", status="failed", paid_at=ago(days=10), tx_hash=paid_tx(world)
    )
    ticket = client.post(
        f"{API}/tickets",
        json={"kind": "refund_request", "subject": "退款", "body": "订单失败", "order_id": order},
        headers=tenant.customer.headers,
    ).json()
    services.automation.step()
    [decision] = decisions(client, tenant, ticket["id"])
    assert decision["payload"]["outcome"] == "invalid"
    assert decision["payload"]["decision"]["rule"] == "out-of-window"
    told = [
        m["body"]
        for m in messages(client, tenant, ticket["id"])
        if m["author_role"] == "automation"
    ]
    assert "付款后 7 天内可申请退款" in told[0] and "out-of-window" in told[0]
    assert (
        client.get(f"{API}/tickets/{ticket['id']}/payouts", headers=tenant.agent.headers).json()
        == []
    )


def test_a_missing_fact_routes_to_a_human_with_the_reason(
    client: TestClient, services: Services, world: dict[str, Any]
) -> None:
    tenant = world["tenant"]
    activate(client, tenant, "refund-7-days")
    ticket = client.post(
        f"{API}/tickets",
        json={"kind": "refund_request", "subject": "Refund", "body": "x", "order_id": "NOT-SYNCED"},
        headers=tenant.customer.headers,
    ).json()
    services.automation.step()
    [decision] = decisions(client, tenant, ticket["id"])
    assert decision["payload"]["outcome"] == "needs_human"
    shown = client.get(f"{API}/tickets/{ticket['id']}", headers=tenant.agent.headers).json()
    assert "needs-human" in shown["tags"]
    notes = [
        m["body"]
        for m in messages(client, tenant, ticket["id"], "agent")
        if m["visibility"] == "internal"
    ]
    assert any("NOT-SYNCED is not known" in n for n in notes)
    # Another customer's order is never used to decide this customer's claim.
    other = sync_order(client, tenant, amount="1", status="failed", paid_at=ago(days=1))
    with_other = client.post(
        f"{API}/tickets",
        json={"kind": "refund_request", "subject": "Refund", "body": "x", "order_id": other},
        headers=tenant.customer2.headers,
    ).json()
    services.automation.step()
    [decision] = decisions(client, tenant, with_other["id"])
    assert decision["payload"]["outcome"] == "needs_human"


def test_payouts_above_the_limit_wait_for_a_supervisor(
    client: TestClient, services: Services, world: dict[str, Any]
) -> None:
    tenant = world["tenant"]
    activate(client, tenant, "refund-7-days")
    order = sync_order(
        client, tenant, amount="2.5", status="failed", paid_at=ago(days=1), tx_hash=paid_tx(world)
    )
    ticket = client.post(
        f"{API}/tickets",
        json={"kind": "refund_request", "subject": "Refund", "body": "x", "order_id": order},
        headers=tenant.customer.headers,
    ).json()
    services.automation.step()
    [payout] = client.get(f"{API}/payouts?status=held", headers=tenant.supervisor.headers).json()
    assert "per-claim limit of 2" in payout["hold_reason"]
    told = [
        m["body"]
        for m in messages(client, tenant, ticket["id"])
        if m["author_role"] == "automation"
    ]
    assert any("needs a supervisor's approval" in t for t in told)
    refused = client.post(
        f"{API}/payouts/{payout['id']}/approve", json={}, headers=tenant.agent.headers
    )
    assert refused.status_code == 403
    approved = client.post(
        f"{API}/payouts/{payout['id']}/approve", json={}, headers=tenant.supervisor.headers
    )
    assert approved.json()["status"] == "queued"
    payouts(services).step()
    payouts(services).step()
    [done] = client.get(
        f"{API}/tickets/{ticket['id']}/payouts", headers=tenant.customer.headers
    ).json()
    assert done["status"] == "confirmed"
    assert Decimal(world["chain"].w3.eth.get_balance(world["wallet"])) == Decimal("2.5") * WEI


def test_a_stuck_withdrawal_is_escalated_and_a_confirmed_one_explained(
    client: TestClient, services: Services, world: dict[str, Any]
) -> None:
    tenant, chain = world["tenant"], world["chain"]
    activate(client, tenant, "withdrawal-stuck")
    stuck = sync_order(
        client,
        tenant,
        kind="withdrawal",
        amount="300",
        currency="USDT",
        status="pending",
        updated_at=ago(hours=3),
    )
    ticket = client.post(
        f"{API}/tickets",
        json={
            "kind": "transaction_problem",
            "subject": "提币未到账",
            "body": "3 小时了",
            "order_id": stuck,
        },
        headers=tenant.customer.headers,
    ).json()
    services.automation.step()
    shown = client.get(f"{API}/tickets/{ticket['id']}", headers=tenant.agent.headers).json()
    assert shown["priority"] == "urgent" and shown["team_id"] is not None
    [decision] = decisions(client, tenant, ticket["id"])
    assert decision["payload"]["decision"]["rule"] == "stuck"

    tx = paid_tx(world)
    chain.mine(12)
    done = sync_order(client, tenant, kind="withdrawal", amount="1", status="sent", tx_hash=tx)
    confirmed = client.post(
        f"{API}/tickets",
        json={
            "kind": "transaction_problem",
            "subject": "Where is it",
            "body": "x",
            "order_id": done,
        },
        headers=tenant.customer.headers,
    ).json()
    services.automation.step()
    [decision] = decisions(client, tenant, confirmed["id"])
    assert decision["payload"]["decision"]["rule"] == "confirmed"
    assert decision["payload"]["sources"]["chain.tx.confirmations"] == "chain"
    told = [
        m["body"]
        for m in messages(client, tenant, confirmed["id"])
        if m["author_role"] == "automation"
    ]
    assert "confirmed on chain" in told[0]


def test_a_warranty_claim_waits_for_the_inspection_then_is_accepted(
    client: TestClient, services: Services, world: dict[str, Any]
) -> None:
    tenant = world["tenant"]
    digest = activate(client, tenant, "hardware-wallet-warranty")
    order = sync_order(client, tenant, amount="0.1", status="delivered", delivered_at=ago(days=90))
    ticket = client.post(
        f"{API}/tickets",
        json={"kind": "warranty_claim", "subject": "Screen dead", "body": "x", "order_id": order},
        headers=tenant.customer.headers,
    ).json()
    services.automation.step()
    [first] = decisions(client, tenant, ticket["id"])
    assert first["payload"]["outcome"] == "needs_human"
    assert first["payload"]["decision"]["missing"] == ["claim.physical_damage"]
    inspected = client.post(
        f"{API}/tickets/{ticket['id']}/decisions",
        json={"contract_hash": digest, "facts": {"claim.physical_damage": False}},
        headers=tenant.agent.headers,
    )
    assert inspected.json()["rule"] == "covered"
    second = decisions(client, tenant, ticket["id"])[1]
    assert second["payload"]["sources"]["claim.physical_damage"] == f"staff:{tenant.agent.user_id}"
    shown = client.get(f"{API}/tickets/{ticket['id']}", headers=tenant.agent.headers).json()
    assert shown["team_id"] is not None


def test_a_late_first_response_to_a_vip_is_compensated_in_reward_tokens(
    client: TestClient, db: Database, services: Services, world: dict[str, Any]
) -> None:
    tenant, chain = world["tenant"], world["chain"]
    activate(client, tenant, "vip-sla")
    with db.writer() as session:
        user = session.get(User, tenant.customer.user_id)
        assert user is not None
        user.tier = "vip"
        state = do_create_ticket(
            session,
            actor_of(tenant.customer, tenant),
            NewTicket(kind=Kind.QUESTION, subject="API keys", body="How?"),
            at=datetime.now(UTC) - timedelta(minutes=90),
        )
    services.automation.step()
    assert decisions(client, tenant, state.id) == []  # decided on the first response only
    with db.writer() as session:
        from proofdesk.access import access_ticket

        agent = actor_of(tenant.agent, tenant)
        do_add_message(
            session, agent, access_ticket(session, agent, state.id, write=True), body="Here"
        )
    services.automation.step()
    [decision] = decisions(client, tenant, state.id)
    assert decision["payload"]["decision"]["rule"] == "late"
    payouts(services).step()
    payouts(services).step()
    token = contract(
        chain, "RewardToken", str(payouts(services).payer().contract_address("reward"))
    )
    assert token.functions.balanceOf(world["wallet"]).call() == 100 * WEI
