"""Secrets pasted by customers never reach storage, the log, the search index or the
application log; the customer is told to move their funds, in their language."""

from __future__ import annotations

import io
import json
import logging

from embit.wordlists.bip39 import WORDLIST
from eth_account import Account
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from proofdesk.domain.redaction import MARKERS, RedactingFilter, install_log_filter, redact
from proofdesk.store.db import Database
from proofdesk.store.models import Attachment, User
from tests.support.tenants import Tenant, new_ticket

API = "/api/v1"
MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
KEYSTORE = json.dumps(Account.encrypt("0x" + KEY, "pw", iterations=2))
CHINESE = "的 一 是 在 不 了 有 和 人 这 中 大"


def test_every_kind_of_secret_is_removed_and_nothing_else() -> None:
    cases = [
        (f"my words: {MNEMONIC}. help!", "seed_phrase"),
        (f"助记词是 {MNEMONIC.replace(' ', '，')}", "seed_phrase"),
        (f"中文助记词 {CHINESE}", "seed_phrase"),
        (f"私钥：0x{KEY}", "private_key"),
        (f"exported from MetaMask: {KEY}", "private_key"),
        (f"keystore: {KEYSTORE} thanks", "keystore"),
        ("key KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617", "private_key"),
    ]
    for text, kind in cases:
        result = redact(text)
        assert result.kinds == [kind], text
        assert MARKERS[kind] in result.text
        assert KEY not in result.text and "legal winner" not in result.text
        assert "ciphertext" not in result.text
    for text in (
        "txid " + "ab" * 32,
        "交易哈希 0x" + "cd" * 32,
        "tx 0x" + KEY,
        "我的提币一直没有到账已经三个小时了请帮忙看看是什么原因",
        "Please help, my wallet shows zero after the update.",
        "the able abandon ability",  # a few list words are ordinary English
    ):
        assert redact(text).kinds == [], text


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(WORDLIST), min_size=12, max_size=24), st.text(max_size=40))
def test_any_long_run_of_list_words_is_removed(words: list[str], around: str) -> None:
    text = f"{around} {' '.join(words)} {around}"
    result = redact(text)
    assert "seed_phrase" in result.kinds
    assert " ".join(words) not in result.text
    assert redact(result.text).text == result.text  # idempotent


def test_a_ticket_with_a_seed_phrase_stores_none_of_it(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    with db.writer() as session:
        customer = session.get(User, tenant.customer.user_id)
        assert customer is not None
        customer.locale = "zh-CN"
    ticket = new_ticket(
        client,
        tenant.customer,
        subject=f"wallet {MNEMONIC}",
        body=f"钱包被盗？我的助记词 {MNEMONIC}，私钥 {KEY}",
    )
    assert "legal winner" not in json.dumps(ticket)
    reply = client.post(
        f"{API}/tickets/{ticket['id']}/messages",
        json={"body": f"keystore {KEYSTORE}"},
        headers=tenant.customer.headers,
    )
    assert reply.status_code == 201
    everything = json.dumps(
        [
            client.get(f"{API}/tickets/{ticket['id']}", headers=tenant.agent.headers).json(),
            client.get(
                f"{API}/tickets/{ticket['id']}/messages", headers=tenant.agent.headers
            ).json(),
            client.get(f"{API}/tickets/{ticket['id']}/events", headers=tenant.agent.headers).json(),
            client.get(
                f"{API}/tickets/{ticket['id']}/receipt", headers=tenant.customer.headers
            ).json(),
        ],
        ensure_ascii=False,
    )
    assert "legal winner" not in everything and KEY not in everything
    assert "ciphertext" not in everything
    assert MARKERS["seed_phrase"] in everything  # also what the log committed to (receipt)
    messages = client.get(
        f"{API}/tickets/{ticket['id']}/messages", headers=tenant.customer.headers
    ).json()
    warnings = [m for m in messages if m["author_role"] == "automation"]
    assert len(warnings) == 2 and "请立即将资产转移到新钱包" in warnings[0]["body"]
    # The search index (the stored messages) holds the marker, not the words.
    found = client.get(f"{API}/tickets", params={"q": "legal winner"}, headers=tenant.agent.headers)
    assert ticket["id"] not in [t["id"] for t in found.json()["items"]]
    with db.reader() as session:
        from sqlalchemy import select

        from proofdesk.store.models import LedgerLeaf, Message, TicketEvent

        stored = " ".join(
            [*session.scalars(select(Message.body).where(Message.ticket_id == ticket["id"]))]
        )
        raw = " ".join(
            session.scalars(
                select(TicketEvent.payload).where(TicketEvent.ticket_id == ticket["id"])
            )
        )
        leaves = " ".join(session.scalars(select(LedgerLeaf.record)))
    for text in (stored, raw, leaves):
        assert "legal winner" not in text and KEY not in text


def test_a_secret_pasted_by_staff_is_removed_and_noted_internally(
    client: TestClient, tenant: Tenant
) -> None:
    ticket = new_ticket(client, tenant.customer)
    client.post(
        f"{API}/tickets/{ticket['id']}/messages",
        json={"body": f"the customer's key is {KEY}", "visibility": "internal"},
        headers=tenant.agent.headers,
    )
    customer_view = client.get(
        f"{API}/tickets/{ticket['id']}/messages", headers=tenant.customer.headers
    ).json()
    assert all(m["author_role"] != "automation" for m in customer_view)
    staff_view = client.get(
        f"{API}/tickets/{ticket['id']}/messages", headers=tenant.agent.headers
    ).json()
    assert any("was removed from a staff message" in m["body"] for m in staff_view)
    assert KEY not in json.dumps(staff_view)


def test_the_application_log_never_shows_a_secret() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("uvicorn.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        install_log_filter()
        logger.info('%s - "GET /api/v1/tickets?q=%s HTTP/1.1" 200', "127.0.0.1", MNEMONIC)
        logging.getLogger("proofdesk.test").addHandler(handler)
        logging.getLogger("proofdesk.test").warning("payload %s", {"body": KEY})
    finally:
        logger.removeHandler(handler)
        logging.getLogger("proofdesk.test").removeHandler(handler)
    written = stream.getvalue()
    assert any(isinstance(f, RedactingFilter) for f in handler.filters)
    assert "legal winner" not in written and KEY not in written
    assert written.count("[redacted") == 2


def test_a_signed_text_with_a_secret_is_refused_whole(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    from proofdesk.actions.accounts import do_attach_wallet
    from tests.support.typed_data import sign

    account = Account.create()
    with db.writer() as session:
        customer = session.get(User, tenant.customer.user_id)
        assert customer is not None
        do_attach_wallet(session, customer, account.address, "test")
    request = {"kind": "question", "subject": "Help", "body": f"my phrase {MNEMONIC}"}
    signed = sign(client, tenant, account, "ticket.create", request)
    before = client.get(f"{API}/tickets", headers=tenant.customer.headers).json()["items"]
    refused = client.post(
        f"{API}/tickets", json={**request, "signed": signed}, headers=tenant.customer.headers
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (
        422,
        "secret_in_signed_text",
    )
    assert "legal winner" not in refused.text
    after = client.get(f"{API}/tickets", headers=tenant.customer.headers).json()["items"]
    assert after == before


def test_hostile_text_never_fails(client: TestClient, tenant: Tenant) -> None:
    for text in (
        '{"a":' * 10_000 + " ciphertext kdf",  # deeper than Python's JSON parser goes
        "{" * 60_000,
        ("abandon " * 8_000)[:60_000],
    ):
        redact(text)
    nested = client.post(
        f"{API}/tickets",
        json={"kind": "question", "subject": "x", "body": '{"a":' * 10_000 + " ciphertext kdf"},
        headers=tenant.customer.headers,
    )
    assert nested.status_code == 201


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list('{}[]":,0123456789abcdefx 助记词私钥\n')), max_size=400)
)
def test_redaction_never_raises_and_is_stable(text: str) -> None:
    once = redact(text)
    assert redact(once.text).text == once.text


def test_a_text_file_with_a_secret_is_refused_and_nothing_stored(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    for content in (f"backup: {MNEMONIC}\n", KEYSTORE, f"私钥 {KEY}"):
        response = client.post(
            f"{API}/attachments",
            files={"file": ("notes.txt", content.encode(), "text/plain")},
            headers=tenant.customer.headers,
        )
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "secret_in_attachment" and "新钱包" in error["message"]
    with db.reader() as session:
        stored = "\n".join(
            repr(tuple(row))
            for row in session.execute(select(Attachment).where(Attachment.filename == "notes.txt"))
        )
    assert stored == ""
    harmless = client.post(
        f"{API}/attachments",
        files={"file": ("notes.txt", b"txid 0x" + b"ab" * 32, "text/plain")},
        headers=tenant.customer.headers,
    )
    assert harmless.status_code == 201, harmless.text
