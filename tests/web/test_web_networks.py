"""The Tron USDT case end to end, over HTTP: a customer's form takes a TRC20 transaction id on
Tron, the agent's "on chain" box shows its status from the Tron API (a loopback server that
speaks TronGrid's documented API), and the contract facts (``chain.tx.*``) see it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from proofdesk.actions.accounts import do_create_user
from proofdesk.app.factory import create_app
from proofdesk.canonical import utc_now
from proofdesk.domain.networks import tron_hex_to_base58
from proofdesk.domain.roles import Role
from proofdesk.facts.providers import ChainFacts, FactContext
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import Ticket
from proofdesk.store.rows import row_to_state
from tests.support.network_apis import TronApi, serving
from tests.support.tenants import Tenant, make_tenant
from tests.support.web import PASSWORD, csrf_of, sign_in

TXID = "3f" * 32
SENDER = tron_hex_to_base58("41" + "11" * 20)
RECIPIENT = tron_hex_to_base58("41" + "22" * 20)


@pytest.fixture
def tron() -> Iterator[TronApi]:
    api = TronApi(head=2000)
    api.add_usdt_transfer(TXID, SENDER, RECIPIENT, 250_000_000, block=1950)
    with serving(api):
        yield api


@pytest.fixture
def tron_settings(backend: tuple[str, Path], tron: TronApi) -> Settings:
    """The suite's settings with the Tron look-up pointed at the loopback server."""
    return Settings(
        data_dir=backend[1],
        database_url=backend[0],
        login_rate_per_minute=1000,
        checkpoint_interval_seconds=0,
        anchor_every_seconds=0,
        automation_poll_seconds=0,
        sla_poll_seconds=0,
        automation_sweep_seconds=0,
        network_endpoints={"tron": SecretStr(tron.url)},
    )


@pytest.fixture
def desk(tron_settings: Settings, db: Database) -> Iterator[TestClient]:
    """An app of its own on the session's database, with those settings."""
    with TestClient(create_app(tron_settings, db), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def shop(db: Database) -> Tenant:
    """A tenant whose agent and customer ``webcustomer`` have passwords."""
    tenant = make_tenant(db, password=PASSWORD)
    with db.writer() as session:
        user = do_create_user(
            session,
            tenant.org_id,
            role=Role.CUSTOMER,
            display_name="Tron 客户",
            email=f"webcustomer@{tenant.slug}.example",
            password=PASSWORD,
        )
    member = tenant.members["customer"]
    tenant.members["webcustomer"] = replace(member, user_id=user.id, email=str(user.email))
    return tenant


def test_a_trc20_txid_is_taken_seen_on_chain_and_by_the_facts(
    desk: TestClient, db: Database, shop: Tenant, tron_settings: Settings, tron: TronApi
) -> None:
    customer = sign_in(desk, shop.slug, shop.webcustomer.email)
    form = customer.get("/requests/new?kind=transaction_problem").text
    data = {
        "csrf_token": csrf_of(form),
        "kind": "transaction_problem",
        "subject": "USDT 没到账",
        "body": "我从钱包转了 250 USDT (TRC20)，交易所没有到账。",
        "tx_hash": TXID,
    }
    unnamed = customer.post("/requests/new", data=data)
    assert unnamed.status_code == 422 and "choose its network" in unnamed.text
    assert 'name="network"' in form and ">Tron (TRC20)</option>" in form
    assert 'name="chain_id"' not in form  # a network by its name, not a number
    created = customer.post("/requests/new", data={**data, "network": "tron"})
    assert created.status_code == 303, created.text
    ticket_id = created.headers["location"].rsplit("/", 1)[1]
    token = {"Authorization": f"Bearer {shop.agent.token}"}
    api = desk.get(f"/api/v1/tickets/{ticket_id}", headers=token).json()
    assert api["network"] == "tron" and api["tx_hash"] == TXID and api["chain_id"] is None

    agent = sign_in(desk, shop.slug, shop.agent.email)
    side = agent.get(f"/agent/tickets/{ticket_id}/side").text
    assert "<dd>Tron</dd>" in side and "<dd>success</dd>" in side
    assert "51 / 19" in side and "250 USDT" in side and RECIPIENT in side
    assert "/wallet/gettransactionbyid" in tron.requests

    with db.reader() as session:
        state = row_to_state(session.get(Ticket, ticket_id))  # type: ignore[arg-type]
        context = FactContext(session, state, utc_now(), None, settings=tron_settings)
        values, unknown = ChainFacts().provide(
            context, {"chain.tx.found", "chain.tx.status", "chain.tx.confirmations"}
        )
    assert values == {
        "chain.tx.found": True,
        "chain.tx.status": "success",
        "chain.tx.confirmations": 51,
    }
    assert unknown == {}


def test_without_an_endpoint_the_box_says_not_configured(
    desk: TestClient, db: Database, shop: Tenant, tron_settings: Settings
) -> None:
    tron_settings.network_endpoints.clear()
    customer = sign_in(desk, shop.slug, shop.webcustomer.email)
    form = customer.get("/requests/new?kind=transaction_problem").text
    created = customer.post(
        "/requests/new",
        data={
            "csrf_token": csrf_of(form),
            "kind": "transaction_problem",
            "subject": "BTC deposit",
            "body": "My bitcoin deposit is missing.",
            "tx_hash": TXID,
            "network": "bitcoin",
        },
    )
    ticket_id = created.headers["location"].rsplit("/", 1)[1]
    agent = sign_in(desk, shop.slug, shop.agent.email)
    side = agent.get(f"/agent/tickets/{ticket_id}/side").text
    assert "No transaction look-up is configured for Bitcoin." in side
