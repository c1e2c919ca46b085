"""The Bot API, through python-telegram-bot, behind a small synchronous face for the workers.

Every call opens its own event loop and HTTP client (a worker step makes a handful of calls;
the Bot API's own limits are far below what that costs). Failures become our errors:
:class:`RetryLater` for 429 (with the ``retry_after`` Telegram asked for), :class:`Refused`
for an answer that will not change on a retry (400, 403: a blocked bot, a bad request),
:class:`Unavailable` for the network and 5xx. The token is never in a message or a log line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from proofdesk.errors import Error

T = TypeVar("T")

#: Where the Bot API is by default; tests point at a loopback server.
DEFAULT_API = "https://api.telegram.org"


class BotApiError(Error):
    http_status = 502
    code = "telegram_error"


class RetryLater(BotApiError):
    code = "telegram_rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class Refused(BotApiError):
    code = "telegram_refused"


class Unavailable(BotApiError):
    code = "telegram_unavailable"


@dataclass(frozen=True, slots=True)
class Me:
    id: int
    username: str


@dataclass(frozen=True, slots=True)
class Sent:
    message_id: int


class BotClient:
    """One bot's Bot API. ``api_url`` is the server (``PROOFDESK_TELEGRAM_API_URL``)."""

    def __init__(self, token: str, api_url: str = DEFAULT_API, timeout: float = 15.0) -> None:
        self._token = token
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    def __repr__(self) -> str:  # never the token
        return f"BotClient({self.api_url!r})"

    def _run(self, call: Callable[[Bot], Awaitable[T]], poll_seconds: float = 0) -> T:
        async def go() -> T:
            request = HTTPXRequest(
                connect_timeout=self.timeout,
                read_timeout=self.timeout + poll_seconds,
                write_timeout=self.timeout,
            )
            bot = Bot(
                self._token,
                base_url=f"{self.api_url}/bot",
                base_file_url=f"{self.api_url}/file/bot",
                request=request,
                get_updates_request=request,
            )
            try:
                return await call(bot)
            finally:
                await request.shutdown()

        try:
            return asyncio.run(go())
        except RetryAfter as exc:
            seconds = exc._retry_after.total_seconds()  # the timedelta PTB keeps
            raise RetryLater(f"Telegram asks to retry after {seconds:g} s", seconds) from None
        except (BadRequest, Forbidden, InvalidToken, Conflict) as exc:
            raise Refused(f"Telegram refused: {_clean(exc.message, self._token)}") from None
        except TelegramError as exc:
            raise Unavailable(f"Telegram unavailable: {_clean(exc.message, self._token)}") from None
        except (OSError, ValueError) as exc:
            raise Unavailable(f"Telegram unavailable: {type(exc).__name__}") from None

    def get_me(self) -> Me:
        user = self._run(lambda bot: bot.get_me())
        return Me(user.id, user.username or "")

    def get_updates(self, offset: int, timeout: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Raw updates (dicts as Telegram sent them), from ``offset`` on; ``timeout`` is the
        long-polling wait in seconds."""

        async def call(bot: Bot) -> list[dict[str, Any]]:
            found: tuple[Update, ...] = await bot.get_updates(
                offset=offset or None, limit=limit, timeout=timeout, allowed_updates=ALLOWED
            )
            return [u.to_dict() for u in found]

        return self._run(call, poll_seconds=timeout)

    def set_webhook(self, url: str, secret_token: str) -> bool:
        return self._run(
            lambda bot: bot.set_webhook(url, secret_token=secret_token, allowed_updates=ALLOWED)
        )

    def delete_webhook(self) -> bool:
        return self._run(lambda bot: bot.delete_webhook())

    def send_message(
        self, chat_id: int, text: str, reply_markup: dict[str, Any] | None = None
    ) -> Sent:
        """Send HTML ``text`` (escaped by the caller: :mod:`proofdesk.telegram.text`)."""

        async def call(bot: Bot) -> Sent:
            markup = InlineKeyboardMarkup.de_json(reply_markup, bot) if reply_markup else None
            message = await bot.send_message(chat_id, text, parse_mode="HTML", reply_markup=markup)
            return Sent(message.message_id)

        return self._run(call)

    def answer_callback(self, callback_query_id: str, text: str | None = None) -> bool:
        return self._run(lambda bot: bot.answer_callback_query(callback_query_id, text=text))

    def download(self, file_id: str, max_bytes: int) -> bytes:
        """A file's bytes by its ``file_id`` (``getFile``, then the file path); refuses one
        that says it is larger than ``max_bytes`` before fetching it."""

        async def call(bot: Bot) -> bytes:
            file = await bot.get_file(file_id)
            if file.file_size is not None and file.file_size > max_bytes:
                raise TooLarge(f"the file is {file.file_size} bytes, over {max_bytes}")
            data = bytes(await file.download_as_bytearray())
            if len(data) > max_bytes:
                raise TooLarge(f"the file is over {max_bytes} bytes")
            return data

        return self._run(call)


class TooLarge(Refused):
    code = "telegram_file_too_large"


#: The kinds of update the bot asks for.
ALLOWED = ("message", "callback_query")


def _clean(message: str, token: str) -> str:
    return message.replace(token, "<token>")[:200]
