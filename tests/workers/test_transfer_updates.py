"""Signed transfer updates are taken once however often they are delivered: two ``transfers``
workers (two ``Database`` objects, as two processes) deliver one outbox on one PostgreSQL
database to a partner on loopback that loses its first answers; every update is delivered,
and each is one event on the partner's linked ticket."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from proofdesk.access import access_ticket
from proofdesk.actions import transfers
from proofdesk.actions.tickets import NewTicket, do_create_ticket
from proofdesk.actions.webhooks import UrlPolicy
from proofdesk.domain.tickets import Kind
from proofdesk.errors import Error
from proofdesk.ledger.transfers import build_bundle
from proofdesk.ledger.witnessing import WitnessPolicy
from proofdesk.store.db import Database
from proofdesk.store.models import Ticket, TicketEvent, Transfer, TransferAgreement, TransferUpdate
from proofdesk.verify.note import Signer
from proofdesk.verify.transfer import public_key_text
from tests.support.environment import two_pg_databases
from tests.support.tenants import actor_of, make_tenant
from tests.support.webhooks import Received, receiver_on_loopback

pytestmark = pytest.mark.pg
UPDATES = 6


@pytest.fixture
def two_databases(tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    with two_pg_databases("proofdesk_transfers", tmp_path / "data.key") as dbs:
        yield dbs


def test_two_workers_deliver_each_update_and_the_partner_takes_it_once(
    two_databases: tuple[Database, Database],
) -> None:
    db = two_databases[0]
    signer = Signer.generate("transfers.test/log")
    exchange, wallet = make_tenant(db), make_tenant(db)
    keys = {
        exchange.org_id: Ed25519PrivateKey.generate(),
        wallet.org_id: Ed25519PrivateKey.generate(),
    }
    lost: set[str] = set()

    def partner(got: Received) -> tuple[int, dict[str, str], bytes]:
        envelope = json.loads(got.body)
        update_id = envelope["body"]["update_id"]
        try:
            answer = transfers.do_take_update(db, envelope)
        except Error as exc:
            return (
                422,
                {"Content-Type": "application/json"},
                json.dumps({"error": exc.as_dict()}).encode(),
            )
        if update_id not in lost:  # taken, but the answer is lost: the sender must retry
            lost.add(update_id)
            return 500, {}, b""
        return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()

    with receiver_on_loopback() as receiver:
        receiver.answer = partner
        urls = UrlPolicy(allow_private=True)
        with db.writer() as session:
            for ours, theirs in ((exchange, wallet), (wallet, exchange)):
                transfers.do_make_agreement(
                    session,
                    actor_of(ours.admin, ours),
                    urls,
                    name=theirs.slug,
                    peer_url=f"{receiver.url}/api/v1",
                    peer_organization=theirs.org_id,
                    peer_key=public_key_text(keys[theirs.org_id]),
                )
        sender = actor_of(exchange.agent, exchange)
        with db.writer() as session:
            customer = actor_of(exchange.customer, exchange)
            spec = NewTicket(kind=Kind.QUESTION, subject="Deposit missing", body="Where is it?")
            ticket_id = do_create_ticket(session, customer, spec).id
            ticket = access_ticket(session, sender, ticket_id, write=True)
            agreement = session.scalars(
                select(TransferAgreement).where(
                    TransferAgreement.organization_id == exchange.org_id
                )
            ).one()
            row = transfers.do_consent_transfer(session, sender, ticket, agreement, ["subject"])
            transfer_id = row.transfer_id
        with db.reader() as session:
            last = session.scalar(select(Ticket.last_seq).where(Ticket.id == ticket_id))
        bundle = build_bundle(
            db, signer, keys[exchange.org_id], WitnessPolicy(),
            transfer_id=transfer_id, organization_id=exchange.org_id,
            peer_organization=wallet.org_id, ticket_id=ticket_id, last_seq=int(last or 0),
            fields=["subject"], customer=None,
        )  # fmt: skip
        parts = [
            transfers.Parts(each, signer, keys[exchange.org_id], WitnessPolicy(), urls, 5)
            for each in two_databases
        ]
        receiving = transfers.Parts(db, signer, keys[wallet.org_id], WitnessPolicy(), urls, 5)
        ack = transfers.do_accept_bundle(receiving, bundle)
        linked = ack["body"]["received"]["ticket_id"]
        with db.writer() as session:
            ticket = access_ticket(session, sender, ticket_id, write=True, lock=True)
            row = session.scalars(select(Transfer).where(Transfer.ticket_id == ticket_id)).one()
            agreement = session.get(TransferAgreement, row.agreement_id)
            assert agreement is not None
            transfers.do_record_sent(session, sender, ticket, row, agreement, bundle, ack)
        for n in range(UPDATES):
            with db.writer() as session:
                ticket = access_ticket(session, sender, ticket_id, write=True, lock=True)
                transfers.do_queue_update(
                    session, sender, ticket, keys[exchange.org_id], transfer_id,
                    message=f"update {n}", status=None,
                )  # fmt: skip

        start = threading.Barrier(2)
        failures: list[BaseException] = []

        def work(each: transfers.Parts) -> None:
            try:
                start.wait()
                for _ in range(3):
                    transfers.do_advance_updates(each)
                    with each.db.writer() as session:  # no waiting for the retry in a test
                        for update in session.scalars(select(TransferUpdate)):
                            update.next_attempt_at = update.created_at
            except BaseException as exc:  # reported below
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(each,)) for each in parts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        posted = receiver.at("/api/v1/transfers/updates")

    with db.reader() as session:
        out = session.scalars(select(TransferUpdate).where(TransferUpdate.direction == "out")).all()
        events: list[Any] = session.scalars(
            select(TicketEvent.payload).where(
                TicketEvent.ticket_id == linked, TicketEvent.type == "transfer.updated"
            )
        ).all()
    assert len(out) == UPDATES and all(u.delivered_at is not None for u in out)
    assert len(posted) >= 2 * UPDATES  # every one lost its first answer
    assert len(events) == UPDATES
    assert len({json.loads(p)["update_id"] for p in events}) == UPDATES
