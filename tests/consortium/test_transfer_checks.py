"""A ticket moves between two organizations of one deployment (on SQLite and PostgreSQL): the
bundle the sender builds is accepted, and its receiver's linked ticket cites the sender's log;
every kind of tampering is refused naming its check, and nothing is created; updates are
signed, and taken once."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from proofdesk.access import access_ticket
from proofdesk.actions import transfers
from proofdesk.actions.webhooks import UrlPolicy
from proofdesk.ledger.checkpoints import signer_for
from proofdesk.ledger.transfers import build_bundle, transfer_key
from proofdesk.ledger.witnessing import WitnessPolicy
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import Ticket, TicketEvent, Transfer, TransferAgreement
from proofdesk.verify.receipt import verify_receipt
from proofdesk.verify.transfer import check_signed, public_key_text, seal
from tests.support.tenants import Tenant, actor_of, new_ticket

PARTNER_URL = "http://127.0.0.1:9/api/v1"


class Pair:
    """The exchange (sender, a key made here) and the wallet provider (receiver, the
    deployment's own transfer key, so the API's inbound endpoint speaks for it)."""

    def __init__(self, settings: Settings, db: Database, sender: Tenant, receiver: Tenant):
        self.db, self.sender, self.receiver = db, sender, receiver
        self.signer = signer_for(settings)
        self.sender_key = Ed25519PrivateKey.generate()
        self.receiver_key = transfer_key(settings.effective_transfers_key_file)
        urls = UrlPolicy(allow_private=True)
        self.parts = transfers.Parts(
            db, self.signer, self.receiver_key, WitnessPolicy(), urls, timeout=5
        )
        with db.writer() as session:
            self.agreement = transfers.do_make_agreement(
                session,
                actor_of(sender.admin, sender),
                urls,
                name="Wallet provider",
                peer_url=PARTNER_URL,
                peer_organization=receiver.org_id,
                peer_key=public_key_text(self.receiver_key),
            ).id
            transfers.do_make_agreement(
                session,
                actor_of(receiver.admin, receiver),
                urls,
                name="Exchange",
                peer_url=PARTNER_URL,
                peer_organization=sender.org_id,
                peer_key=public_key_text(self.sender_key),
            )

    def consented(self, client: TestClient, fields: list[str]) -> tuple[str, str]:
        ticket = new_ticket(client, self.sender.customer, subject="Deposit missing", order_id="o-1")
        ticket_id = str(ticket["id"])
        reply = {"body": "We are looking at it.", "visibility": "public"}
        headers = self.sender.agent.headers
        r = client.post(f"/api/v1/tickets/{ticket_id}/messages", json=reply, headers=headers)
        assert r.status_code in (200, 201), r.text
        note = {"body": "Internal: customer looks legit", "visibility": "internal"}
        r = client.post(f"/api/v1/tickets/{ticket_id}/messages", json=note, headers=headers)
        assert r.status_code in (200, 201), r.text
        body = {"agreement_id": self.agreement, "fields": fields}
        r = client.post(
            f"/api/v1/tickets/{ticket_id}/transfer-consents", json=body, headers=headers
        )
        assert r.status_code == 201, r.text
        return ticket_id, r.json()["transfer_id"]

    def bundle(
        self, ticket_id: str, transfer_id: str, fields: list[str], email: str | None = None
    ) -> dict[str, Any]:
        with self.db.reader() as session:
            last = session.scalar(select(Ticket.last_seq).where(Ticket.id == ticket_id))
        return build_bundle(
            self.db,
            self.signer,
            self.sender_key,
            WitnessPolicy(),
            transfer_id=transfer_id,
            organization_id=self.sender.org_id,
            peer_organization=self.receiver.org_id,
            ticket_id=ticket_id,
            last_seq=int(last or 0),
            fields=fields,
            customer={"display_name": "Ana", "email": email},
        )

    def created(self) -> tuple[int, int]:
        """The receiver's tickets and transfers: what a refusal must leave as it was."""
        org = self.receiver.org_id
        with self.db.reader() as session:
            tickets = session.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.organization_id == org)
            )
            moved = session.scalar(
                select(func.count()).select_from(Transfer).where(Transfer.organization_id == org)
            )
        return int(tickets or 0), int(moved or 0)


@pytest.fixture
def pair(settings: Settings, db: Database, tenant: Tenant, other_tenant: Tenant) -> Pair:
    return Pair(settings, db, tenant, other_tenant)


FIELDS = ["subject", "kind", "order_id", "messages", "contact"]


def test_a_ticket_crosses_with_its_proofs_and_both_sides_cite_each_other(
    client: TestClient, pair: Pair
) -> None:
    ticket_id, transfer_id = pair.consented(client, FIELDS)
    bundle = pair.bundle(ticket_id, transfer_id, FIELDS)
    report = verify_receipt(bundle["body"]["receipt"], key=pair.signer.verifier)
    assert report.ok, report.failures
    revealed = {name for _, name, _ in report.revealed}
    assert "subject" in revealed and "order_id" in revealed
    bodies = [v for _, name, v in report.revealed if name == "body"]
    assert bodies == ["My USDT withdrawal has been pending for 3 hours.", "We are looking at it."]
    assert all("Internal" not in str(v) for _, _, v in report.revealed)  # notes stay home

    ack = transfers.do_accept_bundle(pair.parts, bundle)
    body = check_signed(ack, "acknowledgement", public_key_text(pair.receiver_key))
    received = body["received"]
    with pair.db.reader() as session:
        first = session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == received["ticket_id"])
            .order_by(TicketEvent.ticket_seq)
        ).first()
        assert first is not None and first.type == "ticket.created"
        cited = json.loads(first.payload)["transferred_from"]
        linked = session.get(Ticket, received["ticket_id"])
        assert linked is not None and linked.organization_id == pair.receiver.org_id
    consent_index = bundle["body"]["receipt"]["entries"][-1]["index"]
    assert cited["ticket_id"] == ticket_id and cited["index"] == consent_index
    assert cited["origin"] == pair.signer.name and cited["transfer_id"] == transfer_id
    assert transfers.do_accept_bundle(pair.parts, bundle) == ack  # again: the same answer
    assert pair.created()[1] == 1

    sender = actor_of(pair.sender.agent, pair.sender)
    with pair.db.writer() as session:
        ticket = access_ticket(session, sender, ticket_id, write=True, lock=True)
        row = session.scalars(select(Transfer).where(Transfer.transfer_id == transfer_id)).first()
        agreement = session.get(TransferAgreement, pair.agreement)
        assert row is not None and agreement is not None
        forged = seal("acknowledgement", body, Ed25519PrivateKey.generate())
        with pytest.raises(transfers.TransferRefusedError) as caught:
            transfers.do_record_sent(session, sender, ticket, row, agreement, bundle, forged)
        assert caught.value.details["check"] == "agreement key"
        transfers.do_record_sent(session, sender, ticket, row, agreement, bundle, ack)
    r = client.get(f"/api/v1/tickets/{ticket_id}/receipt", headers=pair.sender.agent.headers)
    sent = [e for e in r.json()["entries"] if "received" in e["revealed"]]
    assert json.loads(sent[0]["revealed"]["received"]["value"]) == received


def _retarget(body: dict[str, Any], org: str) -> None:
    body["to"]["organization"] = org


def _reveal_other(body: dict[str, Any], _: str) -> None:
    entry = next(e for e in body["receipt"]["entries"] if "subject" in e["revealed"])
    entry["revealed"]["subject"]["value"] = json.dumps("Deposit found, all fine")


def _bad_proof(body: dict[str, Any], _: str) -> None:
    entry = body["receipt"]["entries"][0]
    entry["inclusion_proof"] = [*entry["inclusion_proof"][:-1], "00" * 32]


def _other_consent(body: dict[str, Any], _: str) -> None:
    body["transfer_id"] = "00000000-0000-4000-8000-000000000000"


def _no_consent(body: dict[str, Any], _: str) -> None:
    entry = body["receipt"]["entries"][-1]
    entry["revealed"] = {}


def _long_id(body: dict[str, Any], _: str) -> None:
    body["ticket_id"] = "t" * 5000


#: (tamper, check it must fail): each body change is signed again by the sender's own key,
#: as a dishonest sender would; the changes to the envelope are not.
RESIGNED: dict[str, tuple[Callable[[dict[str, Any], str], None], str]] = {
    "addressed to another organization": (_retarget, "receiver"),
    "a revealed value changed": (_reveal_other, "receipt"),
    "an inclusion proof altered": (_bad_proof, "receipt"),
    "consent for another transfer": (_other_consent, "consent"),
    "consent not revealed": (_no_consent, "consent"),
    "an id longer than any of ours": (_long_id, "envelope"),
}


@pytest.mark.parametrize("case", sorted(RESIGNED))
def test_a_dishonest_bundle_is_refused_naming_its_check_and_creates_nothing(
    client: TestClient, pair: Pair, db: Database, tenant: Tenant, case: str
) -> None:
    ticket_id, transfer_id = pair.consented(client, FIELDS)
    bundle = pair.bundle(ticket_id, transfer_id, FIELDS)
    body = copy.deepcopy(bundle["body"])
    tamper, check = RESIGNED[case]
    tamper(body, tenant.org_id)
    before = pair.created()
    with pytest.raises(transfers.TransferRefusedError) as caught:
        transfers.do_accept_bundle(pair.parts, seal("bundle", body, pair.sender_key))
    assert caught.value.code == "transfer_refused"
    assert caught.value.details["check"] == check, caught.value.message
    assert pair.created() == before


def _stranger(bundle: dict[str, Any], pair: Pair) -> dict[str, Any]:
    return seal("bundle", bundle["body"], Ed25519PrivateKey.generate())


def _changed_after_signing(bundle: dict[str, Any], pair: Pair) -> dict[str, Any]:
    bundle["body"]["fields"] = [*bundle["body"]["fields"], "wallet_address"]
    return bundle


def _bad_format(bundle: dict[str, Any], pair: Pair) -> dict[str, Any]:
    return {**bundle, "format": "proofdesk-transfer/v0"}


def _wrong_kind(bundle: dict[str, Any], pair: Pair) -> dict[str, Any]:
    return seal("update", bundle["body"], pair.sender_key)


ENVELOPE: dict[str, tuple[Callable[[dict[str, Any], Pair], dict[str, Any]], str]] = {
    "signed by a key of no agreement": (_stranger, "agreement key"),
    "body changed after signing": (_changed_after_signing, "signature"),
    "another format": (_bad_format, "envelope"),
    "an update's signature": (_wrong_kind, "envelope"),
}


@pytest.mark.parametrize("case", sorted(ENVELOPE))
def test_a_tampered_envelope_is_refused_over_the_api(
    client: TestClient, pair: Pair, case: str
) -> None:
    ticket_id, transfer_id = pair.consented(client, FIELDS)
    tamper, check = ENVELOPE[case]
    bundle = tamper(pair.bundle(ticket_id, transfer_id, FIELDS), pair)
    before = pair.created()
    r = client.post("/api/v1/transfers/inbound", json=bundle)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "transfer_refused" and error["details"]["check"] == check
    assert pair.created() == before


def test_an_ended_agreement_accepts_nothing_and_a_keyless_one_sends_nothing(
    client: TestClient, pair: Pair
) -> None:
    ticket_id, transfer_id = pair.consented(client, FIELDS)
    bundle = pair.bundle(ticket_id, transfer_id, FIELDS)
    admin = pair.receiver.admin.headers
    rows = client.get("/api/v1/transfers/agreements", headers=admin).json()
    assert [a["active"] for a in rows] == [True]
    r = client.patch(
        f"/api/v1/transfers/agreements/{rows[0]['id']}", json={"ended": True}, headers=admin
    )
    assert r.status_code == 200 and r.json()["active"] is False
    r = client.post("/api/v1/transfers/inbound", json=bundle)
    assert r.json()["error"]["details"]["check"] == "agreement key"

    sender_admin = pair.sender.admin.headers
    r = client.patch(
        f"/api/v1/transfers/agreements/{pair.agreement}",
        json={"peer_key": None},
        headers=sender_admin,
    )
    assert r.json()["active"] is False
    other = new_ticket(client, pair.sender.customer)
    body = {"agreement_id": pair.agreement, "fields": ["subject"]}
    r = client.post(
        f"/api/v1/tickets/{other['id']}/transfer-consents",
        json=body,
        headers=pair.sender.agent.headers,
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "agreement_inactive"
    r = client.post(
        f"/api/v1/tickets/{other['id']}/transfer-consents",
        json={"agreement_id": pair.agreement, "fields": ["password"]},
        headers=pair.sender.agent.headers,
    )
    assert r.status_code in (409, 422)


def test_updates_are_signed_and_taken_once(client: TestClient, pair: Pair) -> None:
    ticket_id, transfer_id = pair.consented(client, FIELDS)
    ack = transfers.do_accept_bundle(pair.parts, pair.bundle(ticket_id, transfer_id, FIELDS))
    linked = ack["body"]["received"]["ticket_id"]
    update = seal(
        "update",
        {
            "update_id": "11111111-1111-4111-8111-111111111111",
            "transfer_id": transfer_id,
            "from": {"organization": pair.sender.org_id},
            "to": {"organization": pair.receiver.org_id},
            "message": "The deposit arrived on our side.",
            "status": "solved",
        },
        pair.sender_key,
    )
    for _ in range(2):
        r = client.post("/api/v1/transfers/updates", json=update)
        assert r.status_code == 200, r.text
    long = seal("update", {**update["body"], "update_id": "u" * 5000}, pair.sender_key)
    r = client.post("/api/v1/transfers/updates", json=long)
    assert r.status_code == 422 and r.json()["error"]["details"]["check"] == "envelope"
    forged = seal("update", {**update["body"], "update_id": "x"}, Ed25519PrivateKey.generate())
    r = client.post("/api/v1/transfers/updates", json=forged)
    assert r.json()["error"]["details"]["check"] == "agreement key"
    with pair.db.reader() as session:
        types = session.scalars(
            select(TicketEvent.type).where(TicketEvent.ticket_id == linked)
        ).all()
    assert types.count("transfer.updated") == 1


def test_a_partner_that_does_not_answer_leaves_the_transfer_to_send_again(
    client: TestClient, pair: Pair
) -> None:
    ticket_id, transfer_id = pair.consented(client, FIELDS)
    headers = pair.sender.agent.headers
    body = {"transfer_id": transfer_id}
    r = client.post(f"/api/v1/tickets/{ticket_id}/transfers", json=body, headers=headers)
    assert r.status_code == 502, r.text
    assert r.json()["error"]["code"] == "partner_unreachable"
    listed = client.get(f"/api/v1/tickets/{ticket_id}/transfers", headers=headers).json()
    assert [(t["transfer_id"], t["status"]) for t in listed] == [(transfer_id, "consented")]


def test_a_partner_cannot_put_a_ticket_into_one_of_our_customers_portals(
    client: TestClient, pair: Pair
) -> None:
    ticket_id, transfer_id = pair.consented(client, FIELDS)
    ours = pair.receiver.customer
    bundle = pair.bundle(ticket_id, transfer_id, FIELDS, email=ours.email)
    linked = transfers.do_accept_bundle(pair.parts, bundle)["body"]["received"]["ticket_id"]
    with pair.db.reader() as session:
        ticket = session.get(Ticket, linked)
        assert ticket is not None and ticket.requester_id != ours.user_id
    mine = client.get("/api/v1/tickets", headers=ours.headers).json()["items"]
    assert linked not in {t["id"] for t in mine}
