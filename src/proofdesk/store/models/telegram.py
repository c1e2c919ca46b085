"""The Telegram channel's tables: an organization's bot (its token and keys wrapped under the
data key), each private chat with the customer it stands for, every update taken in (keyed by
``update_id``, the one guard against handling an update twice) and the outbox of Bot API calls
to make (written in the transaction of the event they tell of)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.store.models.base import ID, TZ, Base, new_id


class TelegramBot(Base):
    """An organization's bot (one each)."""

    __tablename__ = "telegram_bots"
    __table_args__ = (UniqueConstraint("organization_id", name="uq_telegram_bots_organization_id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    #: The bot's ``@username`` (without the ``@``), as ``getMe`` told it.
    username: Mapped[str] = mapped_column(String(64))
    #: The bot's own Telegram user id (the token's prefix).
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    #: The bot token, wrapped under the data key (``Keyring.wrap``), never stored plain.
    token: Mapped[bytes] = mapped_column(LargeBinary)
    #: ``X-Telegram-Bot-Api-Secret-Token`` of the webhook, wrapped.
    webhook_secret: Mapped[bytes] = mapped_column(LargeBinary)
    #: The key of the signed ``/start`` tokens that bind a chat to a customer, wrapped.
    link_key: Mapped[bytes] = mapped_column(LargeBinary)
    #: ``webhook`` (production) or ``polling`` (development: the ``telegram_poll`` worker).
    mode: Mapped[str] = mapped_column(String(10), default="polling")
    #: The next ``getUpdates`` offset (the highest ``update_id`` taken in, plus one).
    update_offset: Mapped[int] = mapped_column(BigInteger, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(TZ)
    polled_at: Mapped[datetime | None] = mapped_column(TZ)
    last_error: Mapped[str | None] = mapped_column(String(300))


class TelegramChat(Base):
    """A private chat with the bot, and the customer it writes as."""

    __tablename__ = "telegram_chats"
    __table_args__ = (UniqueConstraint("bot_id", "chat_id", name="uq_telegram_chats_bot_chat"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    bot_id: Mapped[str] = mapped_column(ForeignKey("telegram_bots.id"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    #: Set when a ``/start`` token bound the chat to a portal customer.
    bound_at: Mapped[datetime | None] = mapped_column(TZ)
    #: The assistant conversation of the chat (``assistant_turns.conversation_id``).
    conversation_id: Mapped[str | None] = mapped_column(String(36))
    #: The ticket the chat writes to, once the assistant handed it off.
    ticket_id: Mapped[str | None] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(TZ)


class TelegramUpdate(Base):
    """One update taken in, whatever became of it (``outcome``, ``reason``)."""

    __tablename__ = "telegram_updates"
    bot_id: Mapped[str] = mapped_column(ForeignKey("telegram_bots.id"), primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(300))
    ticket_id: Mapped[str | None] = mapped_column(ID)
    received_at: Mapped[datetime] = mapped_column(TZ)


class TelegramOutbox(Base):
    """A Bot API call to make (``sendMessage``, ``answerCallbackQuery``). Written in the same
    transaction as the event it tells of; ``sent_at`` is set once, by the sender that claimed
    the row."""

    __tablename__ = "telegram_outbox"
    __table_args__ = (Index("ix_telegram_outbox_due", "sent_at", "next_attempt_at"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    bot_id: Mapped[str] = mapped_column(ForeignKey("telegram_bots.id"))
    ticket_id: Mapped[str | None] = mapped_column(ID, index=True)
    event_seq: Mapped[int | None] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(40))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    #: The call's parameters as JSON (dropped once sent).
    params: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(TZ)
    claimed_until: Mapped[datetime | None] = mapped_column(TZ)
    sent_at: Mapped[datetime | None] = mapped_column(TZ)
    failed_at: Mapped[datetime | None] = mapped_column(TZ)
    #: The ``message_id`` Telegram gave the sent message.
    sent_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(TZ)
