"""Bot API calls that go out: replies on Telegram tickets queued in ``telegram_outbox`` in the
transaction of their ``message.added`` event, the channel's own answers (the assistant, /status,
binding) queued with the update that asked for them, and the outbox's life (claimed, sent,
retried, failed) — the e-mail outbox's pattern (``actions.mail_out``).

A row is claimed under the writer lock with a lease, sent outside it, and marked sent once
(``WHERE sent_at IS NULL``): a rolled-back change sends nothing, two senders never both send a
row, a sender killed before the send leaves the row to the next one after the lease. A 429
answer waits exactly the ``retry_after`` Telegram asked for. The Bot API has no idempotency
key: a sender killed after Telegram took the message but before marking it sends it again
after the lease — the one window, as with SMTP (``docs/telegram.md``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from proofdesk.canonical import utc_now
from proofdesk.domain.tickets import Channel, TicketState, Visibility
from proofdesk.i18n import N_, translate
from proofdesk.store.models import Message, TelegramBot, TelegramOutbox, User
from proofdesk.telegram.text import escape, fit

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)
METHODS = ("sendMessage", "answerCallbackQuery")

REPLY_FOOTER = N_("Request #{number}: reply here to add to it.")


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 30 s, 1 min, 2 min, … doubling, at most 4 h."""
    return timedelta(seconds=min(30 * 2 ** max(0, attempts - 1), 4 * 3600))


def reply_ids(session: Session, state: TicketState) -> dict[str, str] | None:
    """The bot and chat of the customer's latest Telegram message on the ticket."""
    for text in session.scalars(
        select(Message.channel_ids)
        .where(
            Message.ticket_id == state.id,
            Message.author_id == state.requester_id,
            Message.channel == Channel.TELEGRAM.value,
        )
        .order_by(Message.seq.desc())
        .limit(1)
    ):
        ids = json.loads(text or "{}")
        if ids.get("bot_id") and ids.get("chat_id"):
            return {"bot_id": str(ids["bot_id"]), "chat_id": str(ids["chat_id"])}
    return None


def do_queue(
    session: Session,
    bot: TelegramBot,
    method: str,
    params: dict[str, Any],
    *,
    ticket_id: str | None = None,
    event_seq: int | None = None,
) -> str:
    """Queue one Bot API call (``sendMessage`` with HTML text, ``answerCallbackQuery``)."""
    assert method in METHODS
    now = utc_now()
    chat = params.get("chat_id")
    row = TelegramOutbox(
        organization_id=bot.organization_id,
        bot_id=bot.id,
        ticket_id=ticket_id,
        event_seq=event_seq,
        method=method,
        chat_id=int(chat) if chat is not None else None,
        params=json.dumps(params, ensure_ascii=False, separators=(",", ":")),
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row.id


def do_queue_reply(session: Session, state: TicketState, payload: dict[str, Any]) -> str | None:
    """Queue the Telegram message of a public staff or automatic message on a Telegram ticket
    (its ``channel_ids`` name the bot and chat, chosen before the event was written)."""
    ids = payload.get("channel_ids") or {}
    if (
        payload.get("visibility") != Visibility.PUBLIC.value
        or payload.get("channel") != Channel.TELEGRAM.value
        or not ids.get("bot_id")
        or not ids.get("chat_id")
    ):
        return None
    bot = session.get(TelegramBot, ids["bot_id"])
    customer = session.get(User, state.requester_id)
    if bot is None or not bot.is_active or bot.organization_id != state.organization_id:
        return None
    if customer is None or not customer.is_active:
        return None
    footer = translate(customer.locale, REPLY_FOOTER, number=state.number)
    text = f"{fit(str(payload['body']))}\n\n<i>{escape(footer)}</i>"
    return do_queue(
        session,
        bot,
        "sendMessage",
        {"chat_id": int(ids["chat_id"]), "text": text},
        ticket_id=state.id,
        event_seq=state.last_seq,
    )


@dataclass(frozen=True, slots=True)
class Call:
    id: str
    bot_id: str
    method: str
    params: dict[str, Any]


def due(session: Session, now: datetime, limit: int = 50) -> list[str]:
    """Ids of rows to try now, oldest first (read without the lock; :func:`do_claim`
    re-checks)."""
    return list(
        session.scalars(
            select(TelegramOutbox.id)
            .join(TelegramBot, TelegramBot.id == TelegramOutbox.bot_id)
            .where(
                TelegramBot.is_active.is_(True),
                TelegramOutbox.sent_at.is_(None),
                TelegramOutbox.failed_at.is_(None),
                TelegramOutbox.next_attempt_at <= now,
                or_(TelegramOutbox.claimed_until.is_(None), TelegramOutbox.claimed_until < now),
            )
            .order_by(TelegramOutbox.created_at, TelegramOutbox.id)
            .limit(limit)
        )
    )


def do_claim(session: Session, row_id: str, now: datetime, lease: timedelta = LEASE) -> Call | None:
    """Take a row for sending, under the writer lock; None if another sender has it or it is
    done. Counts the attempt."""
    taken = session.execute(
        update(TelegramOutbox)
        .where(
            TelegramOutbox.id == row_id,
            TelegramOutbox.sent_at.is_(None),
            TelegramOutbox.failed_at.is_(None),
            or_(TelegramOutbox.claimed_until.is_(None), TelegramOutbox.claimed_until < now),
        )
        .values(claimed_until=now + lease, attempts=TelegramOutbox.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = session.get(TelegramOutbox, row_id)
    assert row is not None
    session.refresh(row)
    return Call(row.id, row.bot_id, row.method, json.loads(row.params))


def do_mark_sent(session: Session, row_id: str, now: datetime, message_id: int | None) -> bool:
    """Record the send once; the text is dropped (the event keeps the message)."""
    done = session.execute(
        update(TelegramOutbox)
        .where(TelegramOutbox.id == row_id, TelegramOutbox.sent_at.is_(None))
        .values(
            sent_at=now,
            claimed_until=None,
            last_error=None,
            params="{}",
            sent_message_id=message_id,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def do_mark_failed(
    session: Session,
    row_id: str,
    now: datetime,
    error: str,
    *,
    permanent: bool = False,
    retry_after: float | None = None,
) -> None:
    """Try again after ``retry_after`` (Telegram's 429) or the backoff, or give up after
    :data:`MAX_ATTEMPTS` (or at once for a permanent refusal)."""
    row = session.get(TelegramOutbox, row_id)
    if row is None or row.sent_at is not None:
        return
    row.claimed_until = None
    row.last_error = error[:300]
    if retry_after is not None:
        row.next_attempt_at = now + timedelta(seconds=retry_after)
    elif permanent or row.attempts >= MAX_ATTEMPTS:
        row.failed_at = now
    else:
        row.next_attempt_at = now + backoff(row.attempts)
