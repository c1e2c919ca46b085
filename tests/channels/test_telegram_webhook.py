"""The Telegram webhook (production) over HTTP on SQLite and PostgreSQL: the secret token is
checked before anything else, a duplicate update is handled once, a malformed one gets a
clear answer; and an outbox sender process killed between the event and the send delivers
exactly once after restart."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from proofdesk.access import Actor
from proofdesk.actions import telegram_out
from proofdesk.actions.telegram_bots import do_add_bot, webhook_secret
from proofdesk.canonical import utc_now
from proofdesk.domain.roles import Role
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import TelegramBot, TelegramChat, TelegramOutbox, TelegramUpdate
from proofdesk.workers.telegram import TelegramOutbox as OutboxWorker
from tests.support.telegram import BotApi, bot_api
from tests.support.tenants import Tenant

HEADER = "X-Telegram-Bot-Api-Secret-Token"


class Hook:
    def __init__(self, api: BotApi, db: Database, settings: Settings, bot_id: str, secret: str):
        self.api, self.db, self.settings, self.bot_id, self.secret = (
            api,
            db,
            settings,
            bot_id,
            secret,
        )
        self.url = f"/api/v1/telegram/{bot_id}/webhook"

    def post(self, client: TestClient, body: Any, secret: str | None = "ok") -> Any:  # noqa: S107
        headers = {"content-type": "application/json"}
        if secret is not None:
            headers[HEADER] = self.secret if secret == "ok" else secret
        if isinstance(body, bytes):
            return client.post(self.url, content=body, headers=headers)
        return client.post(self.url, json=body, headers=headers)

    def count(self, table: Any) -> int:
        column = table.bot_id
        with self.db.reader() as session:
            return int(
                session.scalar(select(func.count()).select_from(table).where(column == self.bot_id))
                or 0
            )

    def send(self, **kwargs: Any) -> int:
        return OutboxWorker(self.db, self.settings, 0, **kwargs).step()


@pytest.fixture
def hook(db: Database, settings: Settings, tenant: Tenant) -> Iterator[Hook]:
    with bot_api() as api:
        conf = settings.model_copy(update={"telegram_api_url": api.url})
        assert db.keyring is not None
        with db.writer() as session:
            bot = do_add_bot(
                session,
                Actor(tenant.admin.user_id, tenant.org_id, Role.ADMIN),
                db.keyring,
                token=api.token,
                telegram_id=api.bot_id,
                username=api.username,
                mode="webhook",
            )
            secret = webhook_secret(db.keyring, bot)
            bot_id = bot.id
        yield Hook(api, db, conf, bot_id, secret)
        with db.writer() as session:
            row = session.get(TelegramBot, bot_id)
            assert row is not None
            row.is_active = False
            row.telegram_id = -row.telegram_id - 1


def test_a_forged_update_without_the_secret_changes_nothing(client: TestClient, hook: Hook) -> None:
    update = hook.api.message("I want to talk to a human please")
    missing = hook.post(client, update, secret=None)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "telegram_secret_missing"
    wrong = hook.post(client, update, secret="A" * len(hook.secret))
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "telegram_secret_wrong"
    nobody = client.post(
        "/api/v1/telegram/00000000-0000-0000-0000-000000000000/webhook",
        json=update,
        headers={HEADER: hook.secret},
    )
    assert nobody.status_code == 404 and nobody.json()["error"]["code"] == "no_such_bot"
    assert hook.count(TelegramUpdate) == hook.count(TelegramChat) == 0
    assert hook.count(TelegramOutbox) == 0
    # The genuine delivery of the same update is taken.
    taken = hook.post(client, update)
    assert taken.status_code == 200, taken.text
    assert taken.json()["outcome"] == "ticket"


def test_a_duplicate_update_id_is_processed_once(client: TestClient, hook: Hook) -> None:
    update = hook.api.command("/status")
    first = hook.post(client, update)
    again = hook.post(client, update)
    assert (first.json()["outcome"], again.json()["outcome"]) == ("status", "duplicate")
    assert hook.count(TelegramUpdate) == 1
    assert hook.send() == 1
    assert hook.send() == 0
    assert len(hook.api.sent) == 1


def test_malformed_updates_get_a_clear_answer_and_no_crash(client: TestClient, hook: Hook) -> None:
    garbage = hook.post(client, b"{not json")
    assert garbage.status_code == 422
    assert garbage.json()["error"]["code"] == "bad_telegram_update"
    not_object = hook.post(client, [1, 2])
    assert not_object.status_code == 422
    no_id = hook.post(client, {"message": {"text": "hi"}})
    assert no_id.status_code == 422
    missing = hook.post(client, {"update_id": 7, "message": {"text": "no chat"}})
    assert missing.status_code == 200
    assert missing.json() == {"ok": True, "outcome": "refused", "reason": "missing_fields"}
    huge = hook.api.message("字" * 5000)
    answer = hook.post(client, huge)
    assert answer.status_code == 200 and answer.json()["reason"] == "text_too_long"
    too_big = hook.post(client, b'{"update_id": 8, "x": "' + b"a" * 300_000 + b'"}')
    assert too_big.status_code in (413, 422)
    assert hook.count(TelegramChat) == 0 and hook.api.sent == []
    # And the endpoint still works.
    fine = hook.post(client, hook.api.command("/help"))
    assert fine.json()["outcome"] == "answered"


_KILLED_SENDER = """
import sys, time
from pathlib import Path
from proofdesk.ledger.keys import Keyring
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.workers.telegram import TelegramOutbox

url, key, ready = sys.argv[1:4]
db = Database(url, keyring=Keyring.from_file(Path(key)))

class Client:
    def send_message(self, chat_id, text, reply_markup=None):
        Path(ready).write_text(text)
        time.sleep(600)  # killed here: the row is claimed, the message not yet sent

TelegramOutbox(db, Settings(database_url=url), 0, clients=lambda token: Client()).step()
"""


def test_a_sender_process_killed_before_the_send_delivers_once_after_restart(
    client: TestClient, hook: Hook, backend: tuple[str, Path], tmp_path: Path
) -> None:
    assert hook.post(client, hook.api.command("/status")).json()["outcome"] == "status"
    ready = tmp_path / "claimed"
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _KILLED_SENDER, backend[0], str(backend[1] / "data.key"), str(ready)]
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the sender never reached the send"
    finally:
        child.kill()
        child.wait()
    assert hook.send() == 0  # the dead sender's lease holds
    later = lambda: utc_now() + telegram_out.LEASE + timedelta(seconds=1)  # noqa: E731
    assert hook.send(now=later) == 1
    assert hook.send(now=later) == 0
    assert len(hook.api.sent) == 1
    assert hook.api.sent[0].text == ready.read_text()
