"""The Telegram channel end to end on SQLite and PostgreSQL, against the loopback Bot API server
(``tests/support/telegram.py``, the documented subset): a chat from /start to the assistant's
answer, a "no" that hands off, an agent's reply arriving in the chat; /status; binding by a
signed /start link; files as attachments; polling that survives a restart; the outbox and 429."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from proofdesk.access import Actor
from proofdesk.actions import telegram_out
from proofdesk.actions.accounts import do_create_user
from proofdesk.actions.blobs import BlobStore
from proofdesk.actions.telegram_bots import do_add_bot, link_key, start_link
from proofdesk.actions.telegram_in import Desk, Taken, take_update
from proofdesk.assistant.conversation import Models
from proofdesk.canonical import utc_now
from proofdesk.domain.roles import Role
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import (
    Attachment,
    Message,
    TelegramBot,
    TelegramChat,
    TelegramOutbox,
    TelegramUpdate,
    Ticket,
)
from proofdesk.telegram import links
from proofdesk.workers.telegram import TelegramOutbox as OutboxWorker
from proofdesk.workers.telegram import TelegramPoller
from tests.support.assistant import load_kb
from tests.support.telegram import BotApi, Sent, bot_api
from tests.support.tenants import Tenant, make_tenant
from tests.support.web import PASSWORD, sign_in

API = "/api/v1"


@dataclass
class Chat:
    api: BotApi
    db: Database
    settings: Settings
    tenant: Tenant
    bot_id: str
    models: Models

    @property
    def desk(self) -> Desk:
        return Desk(self.db, self.settings, BlobStore(self.settings.blob_dir), self.models)

    def poll(self) -> int:
        return TelegramPoller(self.db, self.settings, self.models, 0).step()

    def send(self, **kwargs: object) -> int:
        return OutboxWorker(self.db, self.settings, 0, **kwargs).step()  # type: ignore[arg-type]

    def take(self, update: dict[str, object]) -> Taken:
        return take_update(self.desk, self.bot_id, update)

    def round(self) -> list[Sent]:
        """Poll, send what that queued, and return what reached the chat."""
        before = len(self.api.sent)
        self.poll()
        self.send()
        return self.api.sent[before:]

    def chat_row(self, chat_id: int = 4242) -> TelegramChat:
        with self.db.reader() as session:
            row = session.scalars(
                select(TelegramChat).where(
                    TelegramChat.bot_id == self.bot_id, TelegramChat.chat_id == chat_id
                )
            ).one()
            session.expunge(row)
            return row


@pytest.fixture
def chat(db: Database, settings: Settings, tenant: Tenant) -> Iterator[Chat]:
    load_kb(db, tenant)
    with bot_api() as api:
        conf = settings.model_copy(update={"telegram_api_url": api.url})
        with db.writer() as session:
            assert db.keyring is not None
            bot = do_add_bot(
                session,
                Actor(tenant.admin.user_id, tenant.org_id, Role.ADMIN),
                db.keyring,
                token=api.token,
                telegram_id=api.bot_id,
                username=api.username,
            )
            bot_id = bot.id
        yield Chat(api, db, conf, tenant, bot_id, Models())
        with db.writer() as session:  # the next test's tenant gets a bot of the same id
            row = session.get(TelegramBot, bot_id)
            assert row is not None
            row.is_active = False
            row.telegram_id = -row.telegram_id - 1


def messages(db: Database, ticket_id: str) -> list[Message]:
    with db.reader() as session:
        rows = session.scalars(
            select(Message).where(Message.ticket_id == ticket_id).order_by(Message.seq)
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def test_a_chat_from_start_to_answer_to_hand_off_to_an_agent_reply_in_the_chat(
    client: TestClient, chat: Chat
) -> None:
    api = chat.api
    api.command("/start")
    (welcome,) = chat.round()
    assert "/status" in welcome.shown and welcome.parse_mode == "HTML"

    api.message("how long does identity verification take?")
    (answer,) = chat.round()
    assert "Source" in answer.shown and "Did this answer your question?" in answer.shown
    assert [b["text"] for b in answer.buttons] == ["Helpful", "Not helpful"]
    assert all(b["callback_data"].startswith("h:") for b in answer.buttons)

    api.press(answer.buttons[1], answer)  # "Not helpful"
    (handed,) = chat.round()
    assert api.answered and api.answered[-1]["callback_query_id"]
    assert "request #" in handed.shown
    ticket_id = chat.chat_row().ticket_id
    assert ticket_id is not None
    with chat.db.reader() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.channel == "telegram"
    first = messages(chat.db, ticket_id)[0]
    ids = json.loads(first.channel_ids)
    assert first.channel == "telegram"
    assert (ids["bot_id"], ids["chat_id"]) == (chat.bot_id, "4242")

    reply = client.post(
        f"{API}/tickets/{ticket_id}/messages",
        json={"body": "Use <b>Settings</b> & then KYC > Status"},
        headers=chat.tenant.agent.headers,
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["channel"] == "telegram"
    assert chat.send() == 1
    agent = api.sent_to()[-1]
    # Escaped: Telegram shows the agent's text as written, not as markup.
    assert agent.shown.startswith("Use <b>Settings</b> & then KYC > Status")
    assert "Request #" in agent.shown
    assert chat.send() == 0  # never twice

    api.message("Thanks, where is the KYC page?")
    assert chat.round() == []  # it went to the ticket, for the agent
    last = messages(chat.db, ticket_id)[-1]
    assert last.body == "Thanks, where is the KYC page?" and last.channel == "telegram"
    assert json.loads(last.channel_ids)["message_id"]

    api.command("/status")
    (status,) = chat.round()
    assert status.shown.startswith("Your requests:")
    with chat.db.reader() as session:
        number = session.scalar(select(Ticket.number).where(Ticket.id == ticket_id))
    assert f"#{number} " in status.shown and "Open" in status.shown


def test_status_with_no_requests_and_an_unknown_command(chat: Chat) -> None:
    chat.api.command("/status")
    (status,) = chat.round()
    assert status.shown == "You have no requests yet."
    chat.api.command("/whatever")
    (helped,) = chat.round()
    assert "/status" in helped.shown


def test_a_signed_start_link_binds_the_chat_to_the_customer(chat: Chat) -> None:
    customer = Actor(chat.tenant.customer.user_id, chat.tenant.org_id, Role.CUSTOMER)
    with chat.db.writer() as session:
        assert chat.db.keyring is not None
        link = start_link(session, chat.db.keyring, customer)
        bot = session.get(TelegramBot, chat.bot_id)
        assert bot is not None
        key = link_key(chat.db.keyring, bot)
    assert link is not None and link.startswith(f"https://t.me/{chat.api.username}?start=")
    token = link.rsplit("=", 1)[1]
    assert len(token) <= 64

    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    expired = links.make_token(key, chat.bot_id, customer.user_id, utc_now() - timedelta(1))
    other_bot = links.make_token(b"k" * 32, chat.bot_id, customer.user_id, utc_now() + timedelta(1))
    for bad, code, said in [
        (forged, "bad_start_token", "not valid"),
        (expired, "start_token_expired", "expired"),
        (other_bot, "bad_start_token", "not valid"),
        ("x" * 64, "bad_start_token", "not valid"),
    ]:
        before = len(chat.api.sent)
        taken = chat.take(chat.api.command(f"/start {bad}"))
        assert (taken.outcome, taken.reason) == ("refused", code)
        assert chat.send() == 1
        assert said in chat.api.sent[before].shown
        assert chat.chat_row().customer_id != customer.user_id

    taken = chat.take(chat.api.command(f"/start {token}"))
    assert taken.outcome == "linked"
    chat.send()
    assert "now linked" in chat.api.sent[-1].shown
    row = chat.chat_row()
    assert row.customer_id == customer.user_id and row.bound_at is not None
    # The chat now asks as that customer: /status lists the customer's portal requests.
    created = chat.take(chat.api.message("I want to talk to a human please"))
    assert created.outcome == "ticket"
    with chat.db.reader() as session:
        ticket = session.get(Ticket, created.ticket_id)
        assert ticket is not None and ticket.requester_id == customer.user_id


def test_photos_and_documents_become_attachments_through_the_api_checks(chat: Chat) -> None:
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
    taken = chat.take(chat.api.photo(jpeg, caption="Here is the screenshot"))
    assert taken.outcome == "ticket" and taken.ticket_id
    chat.send()
    assert "request #" in chat.api.sent[-1].shown
    first = messages(chat.db, taken.ticket_id)[0]
    with chat.db.reader() as session:
        kept = session.scalars(
            select(Attachment).where(Attachment.organization_id == chat.tenant.org_id)
        ).all()
        assert [a.content_type for a in kept] == ["image/jpeg"]
    assert first.body == "Here is the screenshot"

    too_big = chat.take(
        chat.api.document(
            b"%PDF-1.4", "big.pdf", declared_size=chat.settings.attachment_max_bytes + 1
        )
    )
    assert too_big.outcome == "reply"
    chat.send()
    assert "big.pdf was not accepted (payload_too_large)" in chat.api.sent[-1].shown
    program = chat.take(chat.api.document(b"MZ\x90\x00" + b"\x00" * 200, "setup.exe"))
    assert program.outcome == "reply"
    chat.send()
    assert "setup.exe was not accepted" in chat.api.sent[-1].shown
    with chat.db.reader() as session:
        assert (
            session.scalar(
                select(func.count(Attachment.id)).where(
                    Attachment.organization_id == chat.tenant.org_id
                )
            )
            == 1
        )


def test_polling_stores_its_offset_so_a_restart_reprocesses_nothing(chat: Chat) -> None:
    chat.api.message("I want to talk to a human please")
    assert chat.poll() == 1
    assert chat.poll() == 0  # a new poller (each call builds one) starts from the stored offset
    with chat.db.reader() as session:
        bot = session.get(TelegramBot, chat.bot_id)
        assert bot is not None and bot.update_offset > 0
        assert session.scalar(select(func.count()).select_from(TelegramUpdate)) >= 1
    # A poller that died after handling an update but before storing the offset: the update
    # comes again and is a duplicate.
    update = chat.api.message("and one more thing")
    assert chat.take(update).outcome == "reply"
    assert chat.poll() == 1  # fetched again ...
    assert chat.take(update).outcome == "duplicate"  # ... and done once
    ticket_id = chat.chat_row().ticket_id
    assert ticket_id is not None
    bodies = [m.body for m in messages(chat.db, ticket_id)]
    assert bodies.count("and one more thing") == 1


def test_a_429_waits_the_retry_after_telegram_asked_for(chat: Chat) -> None:
    chat.take(chat.api.command("/status"))
    chat.take(chat.api.command("/help"))
    chat.api.limit("sendMessage", times=1, retry_after=30)
    now = utc_now()
    assert chat.send(now=lambda: now) == 0
    calls = chat.api.calls.count("sendMessage")
    assert calls == 1  # the second row of the bot waits too: no call during the wait
    with chat.db.reader() as session:
        rows = session.scalars(
            select(TelegramOutbox).where(TelegramOutbox.bot_id == chat.bot_id)
        ).all()
        first = min(rows, key=lambda r: r.created_at)
        assert first.sent_at is None
        wait = first.next_attempt_at.replace(tzinfo=None) - now.replace(tzinfo=None)
        assert wait >= timedelta(seconds=29)
        assert "retry after 30" in (first.last_error or "")
    assert chat.send(now=lambda: now + timedelta(seconds=10)) == 0
    assert chat.api.calls.count("sendMessage") == calls
    assert chat.send(now=lambda: now + timedelta(seconds=31)) == 2
    assert [s.shown.split()[0] for s in chat.api.sent_to()] == ["You", "Hello!"]


def test_malformed_updates_get_a_clear_outcome(chat: Chat) -> None:
    cases = [
        ({"message": {"text": "hi"}}, None, "no_update_id"),
        ({"update_id": 1, "message": {"text": "no chat, no date"}}, 1, "missing_fields"),
        ({"update_id": 2, "message": "not an object"}, 2, "missing_fields"),
        ({"update_id": "3", "message": {}}, None, "no_update_id"),
        ([1, 2, 3], None, "no_update_id"),
    ]
    for data, update_id, reason in cases:
        taken = chat.take(data)  # type: ignore[arg-type]
        assert (taken.outcome, taken.update_id, taken.reason) == ("refused", update_id, reason)
    huge = chat.api.message("x" * 5000)
    assert chat.take(huge).reason == "text_too_long"
    group = chat.api.message("hello group")
    group["message"]["chat"] = {"id": -100, "type": "supergroup", "title": "g"}  # type: ignore[index]
    assert chat.take(group).outcome == "ignored"
    edited = {"update_id": 99, "edited_message": chat.api.message("x")["message"]}
    assert chat.take(edited).reason == "unhandled_edited_message"
    with chat.db.reader() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(TelegramChat)
                .where(TelegramChat.bot_id == chat.bot_id)
            )
            == 0
        )
        recorded = session.scalars(
            select(TelegramUpdate.outcome).where(TelegramUpdate.bot_id == chat.bot_id)
        ).all()
        assert set(recorded) == {"refused", "ignored"}
    assert chat.api.sent == []


def test_a_row_rolled_back_with_its_change_is_never_sent(chat: Chat) -> None:
    class Boom(Exception):
        pass

    def queue_then_fail() -> None:
        with chat.db.writer() as session:
            bot = session.get(TelegramBot, chat.bot_id)
            assert bot is not None
            telegram_out.do_queue(session, bot, "sendMessage", {"chat_id": 4242, "text": "x"})
            raise Boom

    with pytest.raises(Boom):
        queue_then_fail()
    assert chat.send() == 0 and chat.api.sent == []


def test_the_portal_sends_a_signed_in_customer_to_the_bot_with_a_binding_link(
    client: TestClient, db: Database, settings: Settings
) -> None:
    shop = make_tenant(db)
    email = f"portal@{shop.slug}.example"
    with db.writer() as session:
        customer_id = do_create_user(
            session,
            shop.org_id,
            role=Role.CUSTOMER,
            display_name="Portal",
            email=email,
            password=PASSWORD,
        ).id
    web = sign_in(client, shop.slug, email)
    assert web.get("/requests/telegram").status_code == 404  # no bot yet
    assert "/requests/telegram" not in web.get("/requests").text
    api = BotApi(token="987654321:AAAnotherFakeTokenForThePortalTest_xyz", username="shop_bot")
    with bot_api(api):
        conf = settings.model_copy(update={"telegram_api_url": api.url})
        assert db.keyring is not None
        with db.writer() as session:
            bot = do_add_bot(
                session,
                Actor(shop.admin.user_id, shop.org_id, Role.ADMIN),
                db.keyring,
                token=api.token,
                telegram_id=api.bot_id,
                username=api.username,
            )
            bot_id = bot.id
        try:
            assert "/requests/telegram" in web.get("/requests").text
            moved = web.get("/requests/telegram")
            assert moved.status_code == 303
            link = moved.headers["location"]
            assert link.startswith("https://t.me/shop_bot?start=")
            chat = Chat(api, db, conf, shop, bot_id, Models())
            taken = chat.take(api.command(f"/start {link.rsplit('=', 1)[1]}"))
            assert taken.outcome == "linked"
            assert chat.chat_row().customer_id == customer_id
        finally:
            with db.writer() as session:
                row = session.get(TelegramBot, bot_id)
                assert row is not None
                row.is_active = False
                row.telegram_id = -row.telegram_id - 1
