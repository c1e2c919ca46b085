"""Rewards through the API: publishing a policy, verified feedback earning points (and losing
them), the rewards ledger, and an end-to-end epoch on the app's embedded chain from points to a
claimed token balance."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from proofdesk.actions import rewards as reward_actions
from proofdesk.app.services import Services
from proofdesk.canonical import utc_now
from proofdesk.chain.base import contract, transact
from proofdesk.rewards import policy
from proofdesk.rewards.engine import Basis
from proofdesk.rewards.policy import Reason
from proofdesk.store.db import Database
from proofdesk.store.models import RewardGrant, TicketEvent
from tests.support.rewards import COMMENT, rate, seasoned, solved_with_reply
from tests.support.tenants import Tenant

API = "/api/v1"


@pytest.fixture
def services(client: TestClient) -> Services:
    found: Services = client.app.state.services  # type: ignore[attr-defined]
    return found


def points(client: TestClient, tenant: Tenant) -> dict[str, Any]:
    got = client.get(f"{API}/rewards/points", headers=tenant.customer.headers)
    assert got.status_code == 200, got.text
    result: dict[str, Any] = got.json()
    return result


def test_a_policy_is_published_by_its_hash_and_read_by_anyone(
    client: TestClient, tenant: Tenant
) -> None:
    default = client.get(f"{API}/rewards/policy", params={"organization": tenant.slug})
    assert default.status_code == 200
    assert default.json()["published"] is False
    assert default.json()["policy_hash"] == policy.default().policy_hash
    source = policy.DEFAULT_SOURCE.replace("name: default", "name: house").replace(
        "verified_feedback: 10", "verified_feedback: 12"
    )
    made = client.post(
        f"{API}/rewards/policies", json={"source": source}, headers=tenant.admin.headers
    )
    assert made.status_code == 201, made.text
    assert made.json()["policy_hash"] == policy.parse(source).policy_hash
    again = client.post(
        f"{API}/rewards/policies", json={"source": source}, headers=tenant.admin.headers
    )
    assert again.status_code == 200
    seen = client.get(f"{API}/rewards/policy", params={"organization": tenant.slug}).json()
    assert seen["published"] and seen["document"]["points"]["verified_feedback"] == 12
    assert seen["activated_seq"] is not None
    bad = client.post(
        f"{API}/rewards/policies",
        json={"source": source.replace("holding_days: 7", "holding_days: -1")},
        headers=tenant.admin.headers,
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_reward_policy"
    assert bad.json()["error"]["details"]["field"] == "holding_days"
    clash = client.post(
        f"{API}/rewards/policies",
        json={"source": source.replace("verified_feedback: 12", "verified_feedback: 13")},
        headers=tenant.admin.headers,
    )
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "version_exists"
    denied = client.post(
        f"{API}/rewards/policies", json={"source": source}, headers=tenant.agent.headers
    )
    assert denied.status_code == 403
    unknown = client.get(f"{API}/rewards/policy", params={"organization": "no-such-org"})
    assert unknown.status_code == 404


def test_verified_feedback_earns_points_and_loses_them_when_withdrawn(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    seasoned(db, tenant.customer)
    ticket_id = solved_with_reply(client, tenant)
    rate(client, tenant, ticket_id, score=5, comment=COMMENT)
    mine = points(client, tenant)
    assert (mine["pending"], mine["vested"], mine["claimed"]) == (10, 0, 0)
    (grant,) = mine["grants"]
    assert grant["reason"] == "verified_feedback" and grant["rule"] == "points.verified_feedback"
    assert grant["subject"] == f"ticket:{ticket_id}" and grant["status"] == "pending"
    # rating again with the same comment is no second reward
    rate(client, tenant, ticket_id, score=4, comment=COMMENT)
    assert points(client, tenant)["pending"] == 10
    # the grant is an event of the customer's stream in the log
    with db.reader() as session:
        logged = session.scalars(
            select(TicketEvent.type).where(TicketEvent.ticket_id == tenant.customer.user_id)
        ).all()
    assert "reward.granted" in logged
    # rated again without a comment, within the holding period: clawed back
    rate(client, tenant, ticket_id, score=4)
    mine = points(client, tenant)
    assert mine["pending"] == 0 and mine["grants"][0]["status"] == "clawed_back"
    ledger = client.get(f"{API}/rewards/ledger", headers=tenant.supervisor.headers)
    assert ledger.status_code == 200
    assert [g["status"] for g in ledger.json()] == ["clawed_back"]
    assert client.get(f"{API}/rewards/ledger", headers=tenant.customer.headers).status_code == 403


def test_feedback_without_a_human_reply_or_comment_earns_nothing(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    seasoned(db, tenant.customer)
    unanswered = solved_with_reply(client, tenant, reply=False)
    rate(client, tenant, unanswered, score=5, comment=COMMENT)
    answered = solved_with_reply(client, tenant)
    rate(client, tenant, answered, score=5, comment="ok")
    assert points(client, tenant)["grants"] == []


def test_a_new_account_or_one_without_a_verified_wallet_earns_nothing(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    seasoned(db, tenant.customer, days=1)
    ticket_id = solved_with_reply(client, tenant)
    rate(client, tenant, ticket_id, score=5, comment=COMMENT)
    assert points(client, tenant)["grants"] == []
    seasoned(db, tenant.customer, days=30, wallet=False)  # old now, still no verified wallet?
    assert points(client, tenant)["grants"] == []


def test_from_points_to_a_claimed_token_balance(
    client: TestClient, db: Database, tenant: Tenant, services: Services
) -> None:
    wallet = seasoned(db, tenant.customer)
    earlier = utc_now() - timedelta(days=8)
    with db.writer() as session:
        for n in range(3):
            outcome = reward_actions.do_grant(
                session,
                tenant.org_id,
                Basis(
                    Reason.VERIFIED_FEEDBACK,
                    f"ticket:e2e-{n}",
                    tenant.customer.user_id,
                    tenant.agent.user_id,
                ),
                at=earlier + timedelta(minutes=n),
            )
            assert outcome.decision.granted
    mine = points(client, tenant)
    assert (mine["pending"], mine["vested"]) == (0, 30)
    # a customer cannot settle an epoch
    assert client.post(f"{API}/rewards/epochs", headers=tenant.customer.headers).status_code == 403
    closed = client.post(f"{API}/rewards/epochs", headers=tenant.admin.headers)
    assert closed.status_code == 201, closed.text
    epoch = closed.json()
    assert epoch["points"] == 30 and epoch["total"] == str(30 * 10**18)
    nothing = client.post(f"{API}/rewards/epochs", headers=tenant.admin.headers)
    assert nothing.status_code == 422 and nothing.json()["error"]["code"] == "nothing_vested"
    (claim,) = points(client, tenant)["claims"]
    assert claim["published"] is False and claim["account"] == wallet.address
    published = client.post(
        f"{API}/rewards/epochs/{epoch['number']}/publish", headers=tenant.admin.headers
    )
    assert published.status_code == 200, published.text
    assert published.json()["publish_tx"]
    again = client.post(
        f"{API}/rewards/epochs/{epoch['number']}/publish", headers=tenant.admin.headers
    )
    assert again.json()["publish_tx"] == published.json()["publish_tx"]
    public = client.get(f"{API}/rewards/epochs", params={"organization": tenant.slug}).json()
    assert public[0]["root"] == epoch["root"]
    (claim,) = points(client, tenant)["claims"]
    assert claim["published"] and claim["claimed"] is False
    chain = services.chain()
    distributor = contract(chain, "RewardDistributor", claim["distributor"])
    token = contract(chain, "RewardToken", distributor.functions.token().call())
    before = token.functions.balanceOf(wallet.address).call()
    call = distributor.functions.claim(
        claim["chain_epoch"], claim["index"], claim["account"], int(claim["amount"]), claim["proof"]
    )
    # the call the portal's wallet sends is exactly this one
    assert claim["calldata"] == call._encode_transaction_data()
    transact(chain, call)  # anyone may send it; the tokens go to the wallet
    assert token.functions.balanceOf(wallet.address).call() == before + 30 * 10**18
    mine = points(client, tenant)
    assert (mine["pending"], mine["vested"], mine["claimed"]) == (0, 0, 30)
    assert mine["claims"][0]["claimed"] is True
    with db.reader() as session:
        settled = session.scalars(
            select(RewardGrant.epoch).where(RewardGrant.account_id == tenant.customer.user_id)
        ).all()
    assert settled == [epoch["number"]] * 3
    missing = client.post(f"{API}/rewards/epochs/9999/publish", headers=tenant.admin.headers)
    assert missing.status_code == 404


def test_two_organizations_share_the_distributor_by_chain_epochs(
    client: TestClient, db: Database, tenant: Tenant, other_tenant: Tenant, services: Services
) -> None:
    earlier = utc_now() - timedelta(days=8)
    wallets = {}
    for t in (tenant, other_tenant):
        wallets[t.org_id] = seasoned(db, t.customer)
        with db.writer() as session:
            basis = Basis(
                Reason.VERIFIED_FEEDBACK, f"ticket:{t.slug}", t.customer.user_id, t.agent.user_id
            )
            assert reward_actions.do_grant(session, t.org_id, basis, at=earlier).grant
        # customer2 has no verified wallet: refused, so no leaf of theirs
        seasoned(db, t.customer2, wallet=False)
        with db.writer() as session:
            basis = Basis(
                Reason.VERIFIED_FEEDBACK, f"ticket:{t.slug}-2", t.customer2.user_id, t.agent.user_id
            )
            assert reward_actions.do_grant(session, t.org_id, basis, at=earlier).decision.refused
    chain_epochs = []
    for t in (tenant, other_tenant):
        closed = client.post(f"{API}/rewards/epochs", headers=t.admin.headers).json()
        assert closed["number"] == 0
        published = client.post(f"{API}/rewards/epochs/0/publish", headers=t.admin.headers)
        assert published.status_code == 200, published.text
        chain_epochs.append(published.json()["chain_epoch"])
    assert chain_epochs[1] == chain_epochs[0] + 1
    chain = services.chain()
    for t in (tenant, other_tenant):
        (claim,) = points(client, t)["claims"]
        assert claim["account"] == wallets[t.org_id].address
        distributor = contract(chain, "RewardDistributor", claim["distributor"])
        assert distributor.functions.verify(
            claim["chain_epoch"],
            claim["index"],
            claim["account"],
            int(claim["amount"]),
            claim["proof"],
        ).call()
    # the log has each step, in each organization's own stream
    with db.reader() as session:
        types = session.scalars(
            select(TicketEvent.type).where(TicketEvent.ticket_id == tenant.org_id)
        ).all()
    assert "reward.epoch_closed" in types and "reward.epoch_published" in types


def test_points_without_a_wallet_wait_for_a_later_epoch(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    source = policy.DEFAULT_SOURCE.replace("name: default", "name: nowallet").replace(
        "verified_wallet: true", "verified_wallet: false"
    )
    made = client.post(
        f"{API}/rewards/policies", json={"source": source}, headers=tenant.admin.headers
    )
    assert made.status_code == 201, made.text
    seasoned(db, tenant.customer)
    seasoned(db, tenant.customer2, wallet=False)
    earlier = utc_now() - timedelta(days=8)
    with db.writer() as session:
        for member in (tenant.customer, tenant.customer2):
            basis = Basis(
                Reason.VERIFIED_FEEDBACK, f"ticket:{member.user_id}", member.user_id, None
            )
            assert reward_actions.do_grant(session, tenant.org_id, basis, at=earlier).grant
    first = client.post(f"{API}/rewards/epochs", headers=tenant.admin.headers).json()
    assert first["points"] == 10  # only the customer with a wallet
    assert (
        client.get(f"{API}/rewards/points", headers=tenant.customer2.headers).json()["claims"] == []
    )
    seasoned(db, tenant.customer2)  # now verified
    second = client.post(f"{API}/rewards/epochs", headers=tenant.admin.headers).json()
    assert (second["number"], second["points"]) == (1, 10)
    (claim,) = client.get(f"{API}/rewards/points", headers=tenant.customer2.headers).json()[
        "claims"
    ]
    assert claim["epoch"] == 1 and claim["points"] == 10
