"""The Telegram channel's workers: ``telegram_poll`` (development: long polling of the bots in
polling mode) and ``telegram_outbox`` (every Bot API call we make, from ``telegram_outbox``).

Polling. One poller per deployment (``docs/workers.md``): it asks ``getUpdates`` from the
bot's stored offset, hands each update to ``actions.telegram_in.take_update`` (which records
its ``update_id`` first, so an update is handled once even if the offset was not stored), then
stores the next offset under the writer lock. A restarted poller starts from the stored
offset: nothing is reprocessed, and what Telegram still holds is fetched again and skipped as
a duplicate. Two pollers by mistake get 409 from Telegram (one ``getUpdates`` at a time per
bot) and the update keys keep them from doing one update twice.

Sending. Each row is claimed under the writer lock, sent outside it, then marked sent
(``actions.telegram_out``); a 429 puts the row — and the rest of that bot's rows this step —
off by the ``retry_after`` Telegram asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from proofdesk.actions import telegram_bots, telegram_out
from proofdesk.actions.blobs import BlobStore
from proofdesk.actions.telegram_in import Desk, take_update
from proofdesk.assistant.conversation import Models
from proofdesk.canonical import utc_now
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import TelegramBot
from proofdesk.telegram.client import BotApiError as BotApiError
from proofdesk.telegram.client import BotClient, Refused, RetryLater
from proofdesk.workers.base import PeriodicWorker

log = logging.getLogger(__name__)

#: Makes the Bot API client of a token (tests may point it elsewhere).
Clients = Callable[[str], BotClient]


def _clients(settings: Settings) -> Clients:
    return lambda token: BotClient(token, settings.telegram_api_url)


class TelegramPoller(PeriodicWorker):
    name = "telegram_poll"

    def __init__(
        self,
        db: Database,
        settings: Settings,
        models: Models,
        interval: float,
        *,
        clients: Clients | None = None,
    ) -> None:
        super().__init__(interval)
        self.db, self.settings = db, settings
        self.desk = Desk(db, settings, BlobStore(settings.blob_dir), models)
        self.clients = clients or _clients(settings)

    def step(self) -> int:
        """Take in what the polling bots have; returns how many updates were handled."""
        assert self.db.keyring is not None
        with self.db.reader() as session:
            bots = [
                (row.id, telegram_bots.bot_token(self.db.keyring, row), row.update_offset)
                for row in session.scalars(
                    select(TelegramBot).where(
                        TelegramBot.mode == "polling", TelegramBot.is_active.is_(True)
                    )
                )
            ]
        handled = 0
        for bot_id, token, offset in bots:
            handled += self._poll(bot_id, self.clients(token), offset)
        return handled

    def _poll(self, bot_id: str, client: BotClient, offset: int) -> int:
        try:
            updates = client.get_updates(offset, timeout=self.settings.telegram_poll_timeout)
        except BotApiError as exc:
            with self.db.writer() as session:
                telegram_bots.do_record_poll(session, bot_id, offset=offset, error=exc.message)
            return 0
        handled = 0
        for data in updates:
            update_id = data.get("update_id")
            take_update(self.desk, bot_id, data)
            handled += 1
            if isinstance(update_id, int):
                offset = max(offset, update_id + 1)
                with self.db.writer() as session:
                    telegram_bots.do_record_poll(session, bot_id, offset=offset, error=None)
        if not updates:
            with self.db.writer() as session:
                telegram_bots.do_record_poll(session, bot_id, offset=offset, error=None)
        return handled


class TelegramOutbox(PeriodicWorker):
    name = "telegram_outbox"

    def __init__(
        self,
        db: Database,
        settings: Settings,
        interval: float,
        *,
        clients: Clients | None = None,
        lease: timedelta = telegram_out.LEASE,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(interval)
        self.db, self.lease = db, lease
        self.clients = clients or _clients(settings)
        self._now = now or utc_now

    def _client(self, bot_id: str, cache: dict[str, BotClient]) -> BotClient | None:
        if bot_id not in cache:
            assert self.db.keyring is not None
            with self.db.reader() as session:
                bot = session.get(TelegramBot, bot_id)
                if bot is None or not bot.is_active:
                    return None
                cache[bot_id] = self.clients(telegram_bots.bot_token(self.db.keyring, bot))
        return cache[bot_id]

    def step(self) -> int:
        """Make the calls that are due; returns how many were made."""
        now = self._now()
        with self.db.reader() as session:
            due = telegram_out.due(session, now)
        sent = 0
        clients: dict[str, BotClient] = {}
        waiting: dict[str, float] = {}  # bots that answered 429 in this step: their wait
        for row_id in due:
            with self.db.writer() as session:
                call = telegram_out.do_claim(session, row_id, now, self.lease)
            if call is None:
                continue
            client = self._client(call.bot_id, clients)
            if call.bot_id in waiting or client is None:
                with self.db.writer() as session:
                    telegram_out.do_mark_failed(
                        session,
                        row_id,
                        self._now(),
                        "waiting for Telegram's rate limit",
                        retry_after=waiting.get(call.bot_id),
                        permanent=client is None,
                    )
                continue
            try:
                message_id = _make(client, call)
            except RetryLater as exc:
                waiting[call.bot_id] = exc.retry_after
                with self.db.writer() as session:
                    telegram_out.do_mark_failed(
                        session, row_id, self._now(), exc.message, retry_after=exc.retry_after
                    )
                continue
            except BotApiError as exc:
                with self.db.writer() as session:
                    telegram_out.do_mark_failed(
                        session,
                        row_id,
                        self._now(),
                        exc.message,
                        permanent=isinstance(exc, Refused),
                    )
                continue
            with self.db.writer() as session:
                telegram_out.do_mark_sent(session, row_id, self._now(), message_id)
            sent += 1
        return sent


def _make(client: BotClient, call: telegram_out.Call) -> int | None:
    params = call.params
    if call.method == "sendMessage":
        return client.send_message(
            int(params["chat_id"]), str(params["text"]), params.get("reply_markup")
        ).message_id
    client.answer_callback(str(params["callback_query_id"]), params.get("text"))
    return None
