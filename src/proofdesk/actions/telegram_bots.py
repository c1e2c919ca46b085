"""An organization's Telegram bot: its token, the webhook's secret token and the key of the
signed ``/start`` links are wrapped under the data key (``Keyring``) and never shown again
(the webhook's secret is given once, to the command that registers the webhook)."""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.access import Actor, require_admin
from proofdesk.canonical import utc_now
from proofdesk.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from proofdesk.ledger.keys import Keyring
from proofdesk.store.models import TelegramBot
from proofdesk.telegram import links

#: A bot token as BotFather gives it: the bot's id, a colon, 35 characters or so.
TOKEN = re.compile(r"(\d{1,20}):[A-Za-z0-9_-]{30,80}")
MODES = ("webhook", "polling")


def _context(kind: str, bot_id: str) -> str:
    return f"telegram-{kind}:{bot_id}"


def bot_token(keyring: Keyring, bot: TelegramBot) -> str:
    return keyring.unwrap(_context("token", bot.id), bot.token).decode()


def webhook_secret(keyring: Keyring, bot: TelegramBot) -> str:
    return keyring.unwrap(_context("webhook", bot.id), bot.webhook_secret).decode()


def link_key(keyring: Keyring, bot: TelegramBot) -> bytes:
    return keyring.unwrap(_context("link", bot.id), bot.link_key)


def check_token(token: str) -> int:
    """The bot's id from a well-formed token (checked before any network call)."""
    match = TOKEN.fullmatch(token.strip())
    if match is None:
        raise InvalidInput("not a bot token (<bot id>:<secret>, from @BotFather)", field="token")
    return int(match.group(1))


def do_add_bot(
    session: Session,
    actor: Actor,
    keyring: Keyring,
    *,
    token: str,
    telegram_id: int,
    username: str,
    mode: str = "polling",
) -> TelegramBot:
    """Record the organization's bot (one per organization; ``getMe`` told its id and name)."""
    require_admin(actor)
    if check_token(token) != telegram_id:
        raise InvalidInput("the token is not this bot's", field="token")
    if mode not in MODES:
        raise InvalidInput(f"mode is one of {', '.join(MODES)}", field="mode")
    if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", username):
        raise InvalidInput("not a bot username", field="username")
    taken = session.scalars(
        select(TelegramBot.id).where(
            (TelegramBot.organization_id == actor.organization_id)
            | (TelegramBot.telegram_id == telegram_id)
        )
    ).first()
    if taken:
        raise Conflict(
            "this organization already has a bot, or this bot belongs to one",
            code="telegram_bot_taken",
        )
    row = TelegramBot(
        organization_id=actor.organization_id,
        username=username,
        telegram_id=telegram_id,
        token=b"",
        webhook_secret=b"",
        link_key=b"",
        mode=mode,
        update_offset=0,
        is_active=True,
        created_at=utc_now(),
    )
    session.add(row)
    session.flush()
    row.token = keyring.wrap(_context("token", row.id), token.strip().encode())
    row.webhook_secret = keyring.wrap(
        _context("webhook", row.id), secrets.token_urlsafe(32).encode()
    )
    row.link_key = keyring.wrap(_context("link", row.id), secrets.token_bytes(32))
    session.flush()
    return row


def bot_of(session: Session, organization_id: str) -> TelegramBot | None:
    return session.scalars(
        select(TelegramBot).where(
            TelegramBot.organization_id == organization_id, TelegramBot.is_active.is_(True)
        )
    ).first()


def do_set_mode(session: Session, actor: Actor, bot_id: str, mode: str) -> TelegramBot:
    require_admin(actor)
    if mode not in MODES:
        raise InvalidInput(f"mode is one of {', '.join(MODES)}", field="mode")
    row = session.get(TelegramBot, bot_id)
    if row is None or row.organization_id != actor.organization_id:
        raise NotFound("no such bot", code="no_such_bot")
    row.mode = mode
    session.flush()
    return row


def do_record_poll(session: Session, bot_id: str, *, offset: int, error: str | None) -> None:
    """Remember where polling got to (the next ``getUpdates`` offset), under the lock."""
    row = session.get(TelegramBot, bot_id)
    if row is None:
        return
    row.update_offset = max(row.update_offset, offset)
    row.polled_at = utc_now()
    row.last_error = error[:300] if error else None


def start_link(
    session: Session, keyring: Keyring, actor: Actor, *, now: datetime | None = None
) -> str | None:
    """The deep link that binds the signed-in customer's Telegram account (None when the
    organization has no bot)."""
    if not actor.is_customer:
        raise InvalidInput("only customers link a Telegram account", code="not_a_customer")
    bot = bot_of(session, actor.organization_id)
    if bot is None:
        return None
    expires = (now or utc_now()) + links.LIFETIME
    token = links.make_token(link_key(keyring, bot), bot.id, actor.user_id, expires)
    return f"https://t.me/{bot.username}?start={token}"


class SecretMissing(Unauthenticated):
    code = "telegram_secret_missing"


class SecretWrong(Forbidden):
    code = "telegram_secret_wrong"


#: The header Telegram sends the webhook's ``secret_token`` in.
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


def check_webhook_secret(
    session: Session, keyring: Keyring, bot_id: str, given: str | None
) -> TelegramBot:
    """The bot a webhook call is for, when it carries the bot's secret token (compared in
    constant time); :class:`SecretMissing` (401) or :class:`SecretWrong` (403) otherwise. A
    bot in polling mode takes no webhook calls."""
    bot = session.get(TelegramBot, bot_id) if len(bot_id) <= 36 else None
    if bot is None or not bot.is_active:
        raise NotFound("no such bot", code="no_such_bot")
    if not given:
        raise SecretMissing(f"the {SECRET_HEADER} header is missing")
    expected = webhook_secret(keyring, bot).encode()
    if not hmac.compare_digest(given.encode("utf-8", "replace"), expected):
        raise SecretWrong(f"the {SECRET_HEADER} header is wrong")
    if bot.mode != "webhook":
        raise Conflict("this bot polls for its updates", code="telegram_bot_polls")
    return bot
