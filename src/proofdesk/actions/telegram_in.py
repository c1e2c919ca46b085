"""Updates that come in, from the webhook or from polling, turned into the same actions every
channel uses (``docs/telegram.md``).

Once only: each update is keyed by ``(bot, update_id)`` in ``telegram_updates``, inserted in
its own transaction before anything is done, so a repeated update (Telegram retries a webhook
it got no 200 for; a poller restarted before it stored its offset) is a ``duplicate`` and does
nothing. The price is at-most-once: an update whose handling dies half-way stays
``received`` and is not tried again (it is visible there, with no effect written — every
write below is one transaction).

A private chat is a conversation: the assistant answers first (``assistant.conversation``,
the widget's conversation), with its sources and "did this help?" buttons; a "no", or the
assistant handing off, opens a ticket on the ``telegram`` channel, whose messages record the
bot, chat and message ids. Afterwards the chat writes to that ticket until it is closed.
``/status`` lists the customer's requests; ``/start <token>`` binds the Telegram account to
the portal customer who made the link (``telegram.links``); photos and documents become
attachments through the API's checks. Every answer is queued in ``telegram_outbox``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from proofdesk.access import Actor, visible_tickets
from proofdesk.actions import telegram_out, tickets
from proofdesk.actions.accounts import do_create_user
from proofdesk.actions.blobs import BlobStore
from proofdesk.actions.telegram_bots import bot_token, link_key
from proofdesk.actions.uploads import do_store_upload
from proofdesk.assistant import conversation
from proofdesk.assistant.conversation import Models
from proofdesk.canonical import utc_now
from proofdesk.chain.base import Chain
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import Channel, Kind, Status
from proofdesk.errors import Error
from proofdesk.i18n import N_, translate
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.events import lock_ticket
from proofdesk.store.models import TelegramBot, TelegramChat, TelegramUpdate, Ticket, User
from proofdesk.telegram import links
from proofdesk.telegram.client import BotClient
from proofdesk.telegram.text import bold, escape, fit
from proofdesk.telegram.updates import BadUpdate, Incoming, read, update_id_of

log = logging.getLogger(__name__)

WELCOME = N_(
    "Hello! Ask your question here: our assistant answers first, and a person takes over "
    "when needed. /status lists your requests."
)
LINKED = N_("Your Telegram account is now linked to your account ({name}).")
BAD_LINK = N_("This link is not valid. Open the Telegram link again from the portal.")
EXPIRED_LINK = N_("This link has expired. Open the Telegram link again from the portal.")
NO_REQUESTS = N_("You have no requests yet.")
YOUR_REQUESTS = N_("Your requests:")
HELPED_YES = N_("Helpful")  # the same buttons as the widget's
HELPED_NO = N_("Not helpful")
THANKS = N_("Thank you for the feedback.")
FILE_REFUSED = N_("The file {name} was not accepted ({reason}).")
FILES_TAKEN = N_(
    "We passed your message to our team (request #{number}); a person will reply here."
)
#: What a customer sees of each status (the portal's words).
STATUS_WORDS = {
    Status.NEW: N_("New"),
    Status.OPEN: N_("Open"),
    Status.PENDING: N_("Waiting for you"),
    Status.ON_HOLD: N_("On hold"),
    Status.SOLVED: N_("Solved"),
    Status.CLOSED: N_("Closed"),
}
#: How many requests /status lists.
STATUS_LIMIT = 10
#: The callback data of the "did this help?" buttons: ``h:<turn id>:y|n``.
HELPED_PREFIX = "h:"


@dataclass(frozen=True, slots=True)
class Taken:
    """What became of one update: ``outcome`` (``answered``, ``ticket``, ``reply``, ``status``,
    ``linked``, ``feedback``, ``ignored``, ``refused``, ``duplicate``) and why."""

    outcome: str
    update_id: int | None
    ticket_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Desk:
    """What handling an update uses."""

    db: Database
    settings: Settings
    blobs: BlobStore
    models: Models
    chain: Chain | None = None


def take_update(desk: Desk, bot_id: str, data: Any) -> Taken:
    """Handle one decoded update for ``bot_id``. Never raises for a bad update (it is
    ``refused`` with its reason, recorded when it has an ``update_id``); an error of the
    database does."""
    update_id = update_id_of(data)
    try:
        incoming = read(data)
    except BadUpdate as exc:
        reason = str(exc.details.get("reason") or exc.code)
        if update_id is not None:
            if not _claim(desk.db, bot_id, update_id):
                return Taken("duplicate", update_id)
            _finish(desk.db, bot_id, update_id, Taken("refused", update_id, reason=reason))
        log.info("telegram update refused: %s", reason)
        return Taken("refused", update_id, reason=reason)
    if not _claim(desk.db, bot_id, incoming.update_id):
        return Taken("duplicate", incoming.update_id)
    try:
        taken = _handle(desk, bot_id, incoming)
    except Error as exc:
        taken = Taken("refused", incoming.update_id, reason=exc.code)
        log.info("telegram update refused: %s", exc.code)
    _finish(desk.db, bot_id, incoming.update_id, taken)
    return taken


def _claim(db: Database, bot_id: str, update_id: int) -> bool:
    """Record the update as received; False when it was already (here or by another
    process: the primary key settles a race)."""
    try:
        with db.writer() as session:
            if session.get(TelegramUpdate, (bot_id, update_id)) is not None:
                return False
            session.add(
                TelegramUpdate(
                    bot_id=bot_id, update_id=update_id, outcome="received", received_at=utc_now()
                )
            )
    except IntegrityError:
        return False
    return True


def _finish(db: Database, bot_id: str, update_id: int, taken: Taken) -> None:
    with db.writer() as session:
        row = session.get(TelegramUpdate, (bot_id, update_id))
        if row is not None:
            row.outcome = taken.outcome
            row.reason = (taken.reason or "")[:300] or None
            row.ticket_id = taken.ticket_id


def _bot(session: Session, bot_id: str) -> TelegramBot:
    bot = session.get(TelegramBot, bot_id)
    if bot is None or not bot.is_active:
        raise BadUpdate("no such bot", code="no_such_bot")
    session.expunge(bot)
    return bot


def _locale(incoming: Incoming, customer: User | None = None) -> str:
    if customer is not None and customer.locale in ("en", "zh-CN"):
        return customer.locale
    return "zh-CN" if (incoming.language or "").lower().startswith("zh") else "en"


def _chat(session: Session, bot: TelegramBot, incoming: Incoming) -> TelegramChat:
    """The chat's row, made on first contact with a customer of its own (one per chat, until
    a ``/start`` link binds it to a portal customer)."""
    chat = session.scalars(
        select(TelegramChat).where(
            TelegramChat.bot_id == bot.id, TelegramChat.chat_id == incoming.chat_id
        )
    ).first()
    if chat is not None:
        return chat
    customer = do_create_user(
        session,
        bot.organization_id,
        role=Role.CUSTOMER,
        display_name=(incoming.first_name.strip() or "Telegram user")[:100],
        email=None,
        locale=_locale(incoming),
    )
    chat = TelegramChat(
        bot_id=bot.id,
        chat_id=incoming.chat_id,
        telegram_user_id=incoming.user_id,
        customer_id=customer.id,
        created_at=utc_now(),
    )
    session.add(chat)
    session.flush()
    return chat


@dataclass(frozen=True, slots=True)
class _Context:
    bot: TelegramBot
    chat_id: int
    customer_id: str
    locale: str
    conversation_id: str | None
    ticket_id: str | None

    @property
    def actor(self) -> Actor:
        return Actor(self.customer_id, self.bot.organization_id, Role.CUSTOMER)

    def ids(self, incoming: Incoming) -> dict[str, str]:
        ids = {"bot_id": self.bot.id, "chat_id": str(self.chat_id)}
        if incoming.message_id is not None:
            ids["message_id"] = str(incoming.message_id)
        return ids


def _context(desk: Desk, bot_id: str, incoming: Incoming) -> _Context:
    with desk.db.writer() as session:
        bot = _bot(session, bot_id)
        chat = _chat(session, bot, incoming)
        customer = session.get(User, chat.customer_id)
        ticket_id = chat.ticket_id
        if ticket_id is not None:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None or ticket.status == Status.CLOSED.value:
                # A closed request is not reopened from the chat: the next message starts a
                # new conversation with the assistant.
                chat.ticket_id = chat.conversation_id = ticket_id = None
        if customer is None or not customer.is_active:
            raise BadUpdate("the chat's customer is disabled", code="customer_disabled")
        return _Context(
            bot,
            incoming.chat_id,
            chat.customer_id,
            _locale(incoming, customer),
            chat.conversation_id,
            ticket_id,
        )


def _say(
    session: Session,
    context: _Context,
    html: str,
    *,
    buttons: list[dict[str, str]] | None = None,
    ticket_id: str | None = None,
) -> None:
    params: dict[str, Any] = {"chat_id": context.chat_id, "text": html}
    if buttons:
        params["reply_markup"] = {"inline_keyboard": [buttons]}
    telegram_out.do_queue(session, context.bot, "sendMessage", params, ticket_id=ticket_id)


def _handle(desk: Desk, bot_id: str, incoming: Incoming) -> Taken:
    if incoming.kind == "ignored":
        return Taken("ignored", incoming.update_id, reason=incoming.reason)
    context = _context(desk, bot_id, incoming)
    if incoming.kind == "callback":
        return _callback(desk, context, incoming)
    if incoming.command == "/start":
        return _start(desk, context, incoming)
    if incoming.command == "/status":
        return _status(desk, context, incoming)
    if incoming.command == "/help" or (incoming.command and not incoming.files):
        with desk.db.writer() as session:
            _say(session, context, escape(translate(context.locale, WELCOME)))
        return Taken("answered", incoming.update_id, reason="help")
    attachment_ids, refusals = _files(desk, context, incoming)
    text = incoming.text.strip()
    if context.ticket_id is not None:
        return _reply(desk, context, incoming, text, attachment_ids, refusals)
    if attachment_ids or refusals:
        return _open_with_files(desk, context, incoming, text, attachment_ids, refusals)
    if not text:
        return Taken("ignored", incoming.update_id, reason="no_text")
    return _assistant(desk, context, incoming, text)


def _files(desk: Desk, context: _Context, incoming: Incoming) -> tuple[list[str], list[str]]:
    """Each photo or document fetched (``getFile``) and stored through the API's checks;
    the refused ones by name and reason. Done before any write transaction."""
    if not incoming.files:
        return [], []
    with desk.db.reader() as session:
        bot = session.get(TelegramBot, context.bot.id)
        assert bot is not None
        assert desk.db.keyring is not None
        client = BotClient(bot_token(desk.db.keyring, bot), desk.settings.telegram_api_url)
    kept: list[str] = []
    refused: list[str] = []
    limit = desk.settings.attachment_max_bytes
    for ref in incoming.files:
        name = ref.name.replace("\\", "/").rsplit("/", 1)[-1].strip()[:255] or "file"
        try:
            if ref.size is not None and ref.size > limit:
                raise BadUpdate("too large", code="payload_too_large")
            data = client.download(ref.file_id, limit)
            # The declared type is the sender's app's guess from the name: the content
            # decides, as for mail.
            stored = do_store_upload(
                desk.db, desk.blobs, desk.settings, context.actor, name, None, data
            )
        except Error as exc:
            refused.append(translate(context.locale, FILE_REFUSED, name=name, reason=exc.code))
            continue
        kept.append(stored.id)
    return kept, refused


def _reply(
    desk: Desk,
    context: _Context,
    incoming: Incoming,
    text: str,
    attachment_ids: list[str],
    refusals: list[str],
) -> Taken:
    with desk.db.writer() as session:
        ticket = lock_ticket(session, context.ticket_id or "")
        assert ticket is not None
        tickets.do_add_message(
            session,
            context.actor,
            ticket,
            body=(text or "(file)")[: tickets.MAX_BODY],
            attachment_ids=attachment_ids,
            channel=Channel.TELEGRAM,
            channel_ids=context.ids(incoming),
        )
        if refusals:
            _say(session, context, escape("\n".join(refusals)), ticket_id=ticket.id)
    return Taken("reply", incoming.update_id, context.ticket_id)


def _open_with_files(
    desk: Desk,
    context: _Context,
    incoming: Incoming,
    text: str,
    attachment_ids: list[str],
    refusals: list[str],
) -> Taken:
    """Files sent before any request: a person looks at them (the assistant reads text)."""
    with desk.db.writer() as session:
        state = tickets.do_create_ticket(
            session,
            context.actor,
            tickets.NewTicket(
                kind=Kind.QUESTION,
                subject=(text.splitlines()[0] if text else "Files sent on Telegram")[
                    : tickets.MAX_SUBJECT
                ],
                body=(text or "(file)")[: tickets.MAX_BODY],
                channel=Channel.TELEGRAM,
                channel_ids=context.ids(incoming),
                attachment_ids=attachment_ids,
            ),
        )
        _link_ticket(session, context, state.id, None)
        said = [translate(context.locale, FILES_TAKEN, number=state.number), *refusals]
        _say(session, context, escape("\n".join(said)), ticket_id=state.id)
    return Taken("ticket", incoming.update_id, state.id)


def _link_ticket(
    session: Session, context: _Context, ticket_id: str | None, conversation_id: str | None
) -> None:
    chat = session.scalars(
        select(TelegramChat).where(
            TelegramChat.bot_id == context.bot.id, TelegramChat.chat_id == context.chat_id
        )
    ).first()
    if chat is None:
        return
    if conversation_id is not None:
        chat.conversation_id = conversation_id
    if ticket_id is not None:
        chat.ticket_id = ticket_id


def _assistant(desk: Desk, context: _Context, incoming: Incoming, text: str) -> Taken:
    result = conversation.take_turn(
        desk.db,
        desk.models,
        context.actor,
        text[: conversation.MAX_TEXT],
        conversation_id=context.conversation_id,
        locale=context.locale,
        chain=desk.chain,
        settings=desk.settings,
        channel=Channel.TELEGRAM,
        channel_ids=context.ids(incoming),
    )
    ticket_id = result.ticket.id if result.ticket is not None else None
    buttons = None
    if result.reply.kind == "answer":
        lang = result.turn.locale
        buttons = [
            {
                "text": translate(lang, HELPED_YES),
                "callback_data": f"{HELPED_PREFIX}{result.turn.id}:y",
            },
            {
                "text": translate(lang, HELPED_NO),
                "callback_data": f"{HELPED_PREFIX}{result.turn.id}:n",
            },
        ]
    with desk.db.writer() as session:
        _link_ticket(session, context, ticket_id, result.turn.conversation_id)
        _say(session, context, fit(result.text), buttons=buttons, ticket_id=ticket_id)
    return Taken("ticket" if ticket_id else "answered", incoming.update_id, ticket_id)


def _callback(desk: Desk, context: _Context, incoming: Incoming) -> Taken:
    data = incoming.callback_data or ""
    answer: dict[str, Any] = {"callback_query_id": incoming.callback_id}
    parts = data[len(HELPED_PREFIX) :].split(":") if data.startswith(HELPED_PREFIX) else []
    if len(parts) != 2 or parts[1] not in ("y", "n"):
        with desk.db.writer() as session:
            telegram_out.do_queue(session, context.bot, "answerCallbackQuery", answer)
        return Taken("ignored", incoming.update_id, reason="unknown_button")
    try:
        result = conversation.feedback(
            desk.db,
            desk.models,
            context.actor,
            parts[0],
            parts[1] == "y",
            channel=Channel.TELEGRAM,
            channel_ids=context.ids(incoming),
        )
    except Error as exc:
        with desk.db.writer() as session:
            telegram_out.do_queue(session, context.bot, "answerCallbackQuery", answer)
        return Taken("refused", incoming.update_id, reason=exc.code)
    answer["text"] = translate(context.locale, THANKS)
    ticket_id = result.ticket.id if result is not None and result.ticket is not None else None
    with desk.db.writer() as session:
        telegram_out.do_queue(session, context.bot, "answerCallbackQuery", answer)
        if result is not None:
            _link_ticket(session, context, ticket_id, result.turn.conversation_id)
            _say(session, context, fit(result.text), ticket_id=ticket_id)
    return Taken("ticket" if ticket_id else "feedback", incoming.update_id, ticket_id)


def _start(desk: Desk, context: _Context, incoming: Incoming) -> Taken:
    if not incoming.argument:
        with desk.db.writer() as session:
            _say(session, context, escape(translate(context.locale, WELCOME)))
        return Taken("answered", incoming.update_id, reason="welcome")
    assert desk.db.keyring is not None
    with desk.db.writer() as session:
        bot = session.get(TelegramBot, context.bot.id)
        assert bot is not None
        try:
            customer_id = links.read_token(
                link_key(desk.db.keyring, bot), bot.id, incoming.argument, utc_now()
            )
            customer = session.get(User, customer_id)
            if (
                customer is None
                or customer.organization_id != bot.organization_id
                or customer.role != Role.CUSTOMER.value
                or not customer.is_active
            ):
                raise links.BadStartToken("this link is not one of ours")
        except links.BadStartToken as exc:
            said = EXPIRED_LINK if isinstance(exc, links.ExpiredStartToken) else BAD_LINK
            _say(session, context, escape(translate(context.locale, said)))
            return Taken("refused", incoming.update_id, reason=exc.code)
        chat = session.scalars(
            select(TelegramChat).where(
                TelegramChat.bot_id == bot.id, TelegramChat.chat_id == context.chat_id
            )
        ).first()
        assert chat is not None
        if chat.customer_id != customer.id:
            # The chat writes as the portal customer from now on (their verified wallets, their
            # requests); what it wrote before stays with the account it was written as.
            chat.customer_id = customer.id
            chat.ticket_id = chat.conversation_id = None
        chat.bound_at = utc_now()
        _say(
            session,
            context,
            escape(translate(customer.locale, LINKED, name=customer.display_name)),
        )
    return Taken("linked", incoming.update_id)


def _status(desk: Desk, context: _Context, incoming: Incoming) -> Taken:
    with desk.db.writer() as session:
        rows = session.scalars(
            visible_tickets(context.actor)
            .order_by(Ticket.updated_at.desc(), Ticket.number.desc())
            .limit(STATUS_LIMIT)
        ).all()
        if not rows:
            html = escape(translate(context.locale, NO_REQUESTS))
        else:
            lines = [bold(translate(context.locale, YOUR_REQUESTS))]
            for row in rows:
                word = STATUS_WORDS.get(Status(row.status), row.status)
                lines.append(
                    f"#{row.number} {escape(row.subject[:80])} — "
                    f"{escape(translate(context.locale, word))}"
                )
            html = "\n".join(lines)
        _say(session, context, html)
    return Taken("status", incoming.update_id)
