"""Requests filed from a wallet through the RequestInbox contract: the worker opens the ticket
from the final event, once; copies, strangers and other desks' filings open nothing; a
reorganisation below the depth creates nothing and one above it is written into the ticket.
The embedded chain carries the flow; anvil (a real node on loopback) the reorganisations."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from sqlalchemy import select

from proofdesk.actions.chain_requests import do_prepare_chain_request
from proofdesk.chain.base import Chain, SignedTx
from proofdesk.chain.deployments import deploy_contracts
from proofdesk.chain.embedded import EmbeddedChain
from proofdesk.chain.inbox import file_call, inbox_address, organization_key
from proofdesk.domain.tickets import Kind
from proofdesk.ledger import checkpoints
from proofdesk.store.models import ChainFiling, ChainScan, Ticket, TicketEvent, Wallet
from proofdesk.verify.receipt import verify_receipt
from proofdesk.workers.inbox import InboxWorker
from tests.support.chain import Anvil, SmallLog
from tests.support.vyper_calls import ALICE, MALLORY

SUBJECT = "USDT withdrawal stuck"
BODY = "My withdrawal of 500 USDT has been pending since this morning."


@pytest.fixture
def log(tmp_path: Path) -> SmallLog:
    return SmallLog.create(tmp_path / "data")


@pytest.fixture
def embedded(tmp_path: Path) -> Any:
    chain = EmbeddedChain(tmp_path / "evm.sqlite3")
    yield chain
    chain.close()


def verified_wallet(log: SmallLog, account: LocalAccount, *, verified: bool = True) -> None:
    with log.db.writer() as session:
        session.add(
            Wallet(
                organization_id=log.actor.organization_id,
                user_id=log.actor.user_id,
                address=account.address.lower(),
                created_at=datetime.now(UTC),
                verified_at=datetime.now(UTC) if verified else None,
            )
        )


def prepare(log: SmallLog, subject: str = SUBJECT) -> str:
    with log.db.writer() as session:
        draft = do_prepare_chain_request(session, log.actor, Kind.QUESTION, subject, BODY)
        return draft.commitment


def file(
    chain: Chain, log: SmallLog, commitment: str, by: LocalAccount, org: str | None = None
) -> SignedTx:
    """Send ``file(org, commitment, 0x)`` from ``by``'s wallet, as the portal's page would."""
    address = inbox_address(log.db, chain)
    assert address is not None
    call = file_call(chain, address, org or log.actor.organization_id, commitment)
    assert call["gas"] and call["cost_wei"]  # shown to the customer before they send
    signed = chain.prepare({"to": address, "data": call["data"]}, account=by)
    chain.broadcast(signed)
    chain.wait(signed.tx_hash)
    return signed


def filings(log: SmallLog) -> list[ChainFiling]:
    with log.db.reader() as session:
        return list(session.scalars(select(ChainFiling).order_by(ChainFiling.id)))


def events_of(log: SmallLog, ticket_id: str) -> list[tuple[str, dict[str, Any]]]:
    with log.db.reader() as session:
        rows = session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.ticket_seq)
        )
        return [(r.type, json.loads(r.payload)) for r in rows]


def inbox(log: SmallLog, chain: Chain) -> InboxWorker:
    deploy_contracts(log.db, chain, ("RequestInbox",))
    return InboxWorker(log.db, lambda: chain, 0)


def test_a_filing_opens_the_request_once_and_its_receipt_cites_the_transaction(
    log: SmallLog, embedded: EmbeddedChain
) -> None:
    worker = inbox(log, embedded)
    verified_wallet(log, ALICE)
    commitment = prepare(log)
    signed = file(embedded, log, commitment, ALICE)
    assert worker.step().recorded == 1
    [row] = filings(log)
    assert (row.status, row.tx_hash, row.sender) == (
        "opened",
        signed.tx_hash,
        ALICE.address.lower(),
    )
    with log.db.reader() as session:
        ticket = session.get(Ticket, row.ticket_id)
        assert ticket is not None
        assert (ticket.channel, ticket.subject, ticket.requester_id) == (
            "chain",
            SUBJECT,
            log.actor.user_id,
        )
    kinds = [t for t, _ in events_of(log, ticket.id)]
    assert kinds == ["ticket.created", "message.added", "chain.filed"]
    # Nothing twice: the same blocks read again, and a second worker, record nothing new.
    assert worker.step().recorded == 0
    assert InboxWorker(log.db, lambda: embedded, 0).step().recorded == 0
    assert len(filings(log)) == 1
    # The receipt carries the filing; the verifier accepts it.
    with log.db.writer() as session:
        checkpoints.issue(session, checkpoints.signer_for(log.settings))
    receipt = log.receipt(ticket.id)
    assert verify_receipt(receipt).ok
    cited = [
        json.loads(e["revealed"]["tx_hash"]["value"])
        for e in receipt["entries"]
        if "tx_hash" in e["revealed"] and "block_hash" in e["revealed"]
    ]
    assert cited == [signed.tx_hash]
    # Filed again from the same wallet: linked to the same request, a second record of it.
    file(embedded, log, commitment, ALICE)
    worker.step()
    assert [f.status for f in filings(log)] == ["opened", "linked"]
    assert [t for t, _ in events_of(log, ticket.id)][-1] == "chain.filed"


def test_copies_strangers_and_other_desks_open_nothing(
    log: SmallLog, embedded: EmbeddedChain
) -> None:
    worker = inbox(log, embedded)
    verified_wallet(log, ALICE, verified=False)
    commitment = prepare(log)
    file(embedded, log, commitment, MALLORY)  # copied from the mempool: not her request
    file(embedded, log, commitment, ALICE)  # the customer's wallet, not verified yet
    file(embedded, log, commitment, ALICE, org="another-desk")
    worker.step()
    rows = filings(log)
    assert [(r.status, r.ticket_id) for r in rows] == [
        ("unmatched", None),
        ("unmatched", None),
        ("refused", None),
    ]
    assert "not a verified wallet" in (rows[0].reason or "")
    assert rows[2].reason == "not an organization of this desk"
    with log.db.reader() as session:
        assert session.scalars(select(Ticket)).all() == []
    # The customer proves the wallet: the next round opens their request, Mallory's stays out.
    with log.db.writer() as session:
        wallet = session.scalars(select(Wallet)).one()
        wallet.verified_at = datetime.now(UTC)
    assert worker.step().retried == 1
    assert [r.status for r in filings(log)] == ["unmatched", "opened", "refused"]


def test_a_secret_cannot_be_committed_and_only_customers_prepare(log: SmallLog) -> None:
    from proofdesk.access import Actor
    from proofdesk.domain.roles import Role
    from proofdesk.errors import Forbidden, InvalidInput

    seed = " ".join(["abandon"] * 11 + ["about"])
    with log.db.writer() as session, pytest.raises(InvalidInput) as caught:
        do_prepare_chain_request(session, log.actor, Kind.QUESTION, "help", f"seed: {seed}")
    assert caught.value.code == "secret_in_signed_text"
    agent = Actor(log.actor.user_id, log.actor.organization_id, Role.AGENT)
    with log.db.writer() as session, pytest.raises(Forbidden):
        do_prepare_chain_request(session, agent, Kind.QUESTION, "help", BODY)


def test_the_cursor_moves_once_when_two_workers_read_the_same_blocks(
    log: SmallLog, embedded: EmbeddedChain
) -> None:
    first = inbox(log, embedded)
    second = InboxWorker(log.db, lambda: embedded, 0)
    verified_wallet(log, ALICE)
    file(embedded, log, prepare(log), ALICE)
    address = inbox_address(log.db, embedded)
    assert address is not None
    start = first._position(embedded, address)
    second._position = lambda chain, address: start  # type: ignore[method-assign]
    assert first.read_new(embedded, address) == 1
    assert second.read_new(embedded, address) == 0  # it read the same range: refused
    assert len(filings(log)) == 1
    with log.db.reader() as session:
        assert session.get(ChainScan, (embedded.chain_id, address)) is not None


@pytest.mark.server
def test_reorganisations_below_and_above_the_depth(tmp_path: Path, log: SmallLog) -> None:
    (tmp_path / "anvil").mkdir()
    node = Anvil(tmp_path / "anvil").start()
    try:
        chain = node.chain(confirmations=3)
        worker = inbox(log, chain)
        verified_wallet(log, ALICE)
        commitment = prepare(log)
        # Below the depth: the filing is in one block of three, then the block is gone.
        shallow = node.rpc("evm_snapshot")
        file(chain, log, commitment, ALICE)
        worker.step()
        assert filings(log) == []
        assert node.rpc("evm_revert", shallow) is True
        for _ in range(3):
            node.rpc("evm_mine")
        worker.step()
        assert filings(log) == []
        # Above the depth: final, opened, then cut away by a deep reorganisation.
        deep = node.rpc("evm_snapshot")
        signed = file(chain, log, commitment, ALICE)
        for _ in range(2):
            node.rpc("evm_mine")
        worker.step()
        [row] = filings(log)
        assert row.status == "opened" and row.ticket_id is not None
        assert node.rpc("evm_revert", deep) is True
        for _ in range(4):
            node.rpc("evm_mine")
        assert worker.step().dropped == 1
        assert filings(log)[0].status == "dropped"
        assert [t for t, _ in events_of(log, row.ticket_id)][-1] == "chain.dropped"
        # The same transaction mined again: recorded again, on the request it opened before.
        node.rpc("eth_sendRawTransaction", HexBytes(signed.raw).to_0x_hex())
        for _ in range(3):
            node.rpc("evm_mine")
        worker.step()
        [again] = filings(log)
        assert again.status == "linked" and again.ticket_id == row.ticket_id
        assert [t for t, _ in events_of(log, row.ticket_id)][-2:] == [
            "chain.dropped",
            "chain.filed",
        ]
        with log.db.reader() as session:
            assert len(session.scalars(select(Ticket)).all()) == 1
    finally:
        node.stop()


def test_the_organization_key_is_keccak_of_the_id() -> None:
    from eth_utils.crypto import keccak

    assert organization_key("org") == "0x" + keccak(b"org").hex()


def test_erasing_the_customer_erases_the_filings_links_to_them(
    log: SmallLog, embedded: EmbeddedChain
) -> None:
    from proofdesk.access import Actor
    from proofdesk.actions.accounts import do_create_user
    from proofdesk.actions.erase import do_erase_customer
    from proofdesk.actions.rebuild import do_rebuild_all
    from proofdesk.domain.roles import Role
    from proofdesk.ledger.audit import audit
    from proofdesk.store.models import ChainRequestDraft, User

    worker = inbox(log, embedded)
    verified_wallet(log, ALICE)
    file(embedded, log, prepare(log), ALICE)
    prepare(log, subject="a second request, never filed")
    worker.step()
    with log.db.writer() as session:
        admin = do_create_user(
            session,
            log.actor.organization_id,
            role=Role.ADMIN,
            display_name="a",
            email="a@x.example",
        )
        customer = session.get(User, log.actor.user_id)
        assert customer is not None
        do_erase_customer(session, Actor(admin.id, admin.organization_id, Role.ADMIN), customer)
    with log.db.reader() as session:
        assert session.scalars(select(ChainRequestDraft)).all() == []
        [row] = session.scalars(select(ChainFiling)).all()
        assert row.sender == "erased"
        ticket = session.get(Ticket, row.ticket_id)
        assert ticket is not None and ticket.subject == "[erased]"
    # The erased history still replays and audits.
    do_rebuild_all(log.db)
    assert audit(log.db, checkpoints.signer_for(log.settings).verifier).ok
