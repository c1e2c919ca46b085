"""The chat widget for shop visitors without an account, over HTTP: a visitor talks with the
assistant, is asked for an e-mail or a wallet before a person takes over (checked; a staff
address refused), the request opens for the customer that address stands for (found or
created), the visitor reads the agents' public replies — never notes — and writes back; one
language per conversation; leaving contacts is limited per address and per contact."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from proofdesk.app.factory import create_app
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import User, Wallet
from tests.support.assistant import API, load_kb
from tests.support.tenants import Tenant, make_tenant


@pytest.fixture
def shop(db: Database, tenant: Tenant) -> Tenant:
    load_kb(db, tenant)
    return tenant


def visit(client: TestClient, shop: Tenant, text: str, **extra: Any) -> dict[str, Any]:
    answer = client.post(
        f"{API}/widget/messages", json={"organization": shop.slug, "text": text, **extra}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_visitor_chats_then_leaves_an_email_and_a_person_takes_over(
    client: TestClient, db: Database, shop: Tenant
) -> None:
    first = visit(client, shop, "how long does identity verification take?")
    assert (first["kind"], first["locale"], first["needs_contact"]) == ("answer", "en", False)
    conversation = first["conversation_id"]
    # One language per conversation: a Chinese question later still gets English.
    person = visit(client, shop, "转人工", conversation_id=conversation)
    assert person["kind"] == "handoff" and person["needs_contact"] is True
    assert person["ticket_id"] is None and person["locale"] == "en"
    assert "e-mail address or your wallet address" in person["text"]
    contact = f"{API}/widget/conversations/{conversation}/contact"
    for bad in ("not an address", "someone@", "0x1234"):
        refused = client.post(contact, json={"organization": shop.slug, "contact": bad})
        assert refused.status_code == 422, bad
        assert refused.json()["error"]["code"] == "invalid_contact"
    staff = client.post(contact, json={"organization": shop.slug, "contact": shop.agent.email})
    assert staff.status_code == 403  # a stranger never writes as staff
    opened = client.post(contact, json={"organization": shop.slug, "contact": "Ann@Shop.example"})
    assert opened.status_code == 200, opened.text
    ticket_id, number = opened.json()["ticket_id"], opened.json()["ticket_number"]
    assert f"#{number}" in opened.json()["text"]
    with db.reader() as session:
        ann = session.scalars(
            select(User).where(
                User.organization_id == shop.org_id, User.email == "ann@shop.example"
            )
        ).one()
        assert ann.role == "customer"
    ticket = client.get(f"{API}/tickets/{ticket_id}", headers=shop.agent.headers).json()
    assert ticket["requester_id"] == ann.id and ticket["channel"] == "chat"
    # The agents' note is a readable summary, not a JSON dump.
    notes = client.get(f"{API}/tickets/{ticket_id}/messages", headers=shop.agent.headers).json()
    note = next(m["body"] for m in notes if m["visibility"] == "internal")
    assert "Assistant hand-off: the customer asked for a person" in note
    assert "The customer asked: how long does identity verification take?" in note
    assert "Intent: not recognised" in note and "意图：未识别" in note
    assert '"intent"' not in note and 'confidence": ' not in note
    again = client.post(contact, json={"organization": shop.slug, "contact": "ann@shop.example"})
    assert again.status_code == 409
    # The agent answers and notes; the visitor reads the answer, never the note.
    for body, visibility in (("secret note", "internal"), ("Hello Ann, checking now.", "public")):
        client.post(
            f"{API}/tickets/{ticket_id}/messages",
            json={"body": body, "visibility": visibility},
            headers=shop.agent.headers,
        )
    messages = f"{API}/widget/conversations/{conversation}/messages"
    seen = client.get(messages, params={"organization": shop.slug}).json()
    bodies = [m["body"] for m in seen]
    assert "Hello Ann, checking now." in bodies and "secret note" not in bodies
    assert seen[0]["mine"] is True  # the transcript
    wrote = client.post(messages, json={"organization": shop.slug, "text": "thanks!"})
    assert wrote.status_code == 204
    seen = client.get(messages, params={"organization": shop.slug}).json()
    assert seen[-1]["body"] == "thanks!" and seen[-1]["mine"] is True
    # The key is the conversation: another organization's slug or a made-up id reaches nothing.
    zero = "00000000-0000-4000-8000-000000000000"
    missing = client.get(
        f"{API}/widget/conversations/{zero}/messages", params={"organization": shop.slug}
    )
    assert missing.status_code == 404


def test_a_signed_in_customers_conversation_is_not_a_visitors(
    client: TestClient, shop: Tenant
) -> None:
    mine = client.post(
        f"{API}/assistant/messages",
        json={"text": "how long does identity verification take?"},
        headers=shop.customer.headers,
    ).json()
    conversation = mine["conversation_id"]
    stolen = client.post(
        f"{API}/widget/messages",
        json={"organization": shop.slug, "text": "hello", "conversation_id": conversation},
    )
    assert stolen.status_code == 404
    contact = client.post(
        f"{API}/widget/conversations/{conversation}/contact",
        json={"organization": shop.slug, "contact": "x@y.example"},
    )
    assert contact.status_code == 404


def test_a_wallet_address_and_a_no_hand_off_to_the_wallets_customer(
    client: TestClient, db: Database, shop: Tenant
) -> None:
    first = visit(client, shop, "质押收益什么时候发放")
    assert (first["kind"], first["locale"]) == ("answer", "zh-CN")
    feedback = client.post(
        f"{API}/widget/turns/{first['turn_id']}/feedback",
        json={
            "organization": shop.slug,
            "conversation_id": first["conversation_id"],
            "helpful": False,
        },
    )
    assert feedback.status_code == 200 and feedback.json()["needs_contact"] is True
    assert "钱包地址" in feedback.json()["text"]
    wallet = "0x" + "ab" * 20
    opened = client.post(
        f"{API}/widget/conversations/{first['conversation_id']}/contact",
        json={"organization": shop.slug, "contact": wallet},
    )
    assert opened.status_code == 200, opened.text
    with db.reader() as session:
        held = session.scalars(select(Wallet).where(Wallet.address == wallet)).one()
        assert held.verified_at is None  # typed, not proven: no payout goes to it
    ticket = client.get(
        f"{API}/tickets/{opened.json()['ticket_id']}", headers=shop.agent.headers
    ).json()
    assert ticket["requester_id"] == held.user_id
    # A turn id of another conversation is refused.
    other = visit(client, shop, "how long does identity verification take?")
    crossed = client.post(
        f"{API}/widget/turns/{other['turn_id']}/feedback",
        json={
            "organization": shop.slug,
            "conversation_id": first["conversation_id"],
            "helpful": False,
        },
    )
    assert crossed.status_code == 404


def test_leaving_contacts_is_limited_per_contact(settings: Settings, db: Database) -> None:
    limited = settings.model_copy(update={"assistant_account_rate_per_minute": 2})
    with TestClient(create_app(limited, db), raise_server_exceptions=False) as c:
        shop = make_tenant(db)
        codes = []
        for n in range(3):
            turn = c.post(
                f"{API}/widget/messages", json={"organization": shop.slug, "text": f"转人工 {n}"}
            ).json()
            codes.append(
                c.post(
                    f"{API}/widget/conversations/{turn['conversation_id']}/contact",
                    json={"organization": shop.slug, "contact": "flood@shop.example"},
                    headers={"x-forwarded-for": f"198.51.100.{n}"},
                ).status_code
            )
        assert codes[:2] == [200, 200] and codes[2] == 429
