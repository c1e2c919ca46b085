"""Reading an update as Telegram sends it (https://core.telegram.org/bots/api#update) into
what the channel acts on. Never raises anything but :class:`BadUpdate`: garbage, a missing
field or a field of the wrong type is refused with a reason, and the caller records it.

Only private chats are conversations; anything else (groups, channels, edited messages,
other kinds of update) is ``ignored`` with its kind as the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from telegram import Update

from proofdesk.errors import InvalidInput
from proofdesk.jsonlimits import loads as loads_limited

#: An update is small (4096 characters of text at most); a larger body is not one.
MAX_UPDATE_BYTES = 256 * 1024
#: Telegram's own limit on a message's text and a caption.
MAX_TEXT = 4096


class BadUpdate(InvalidInput):
    code = "bad_telegram_update"


@dataclass(frozen=True, slots=True)
class FileRef:
    file_id: str
    name: str
    size: int | None
    mime_type: str | None


@dataclass(frozen=True, slots=True)
class Incoming:
    """One update. ``kind`` is ``message``, ``callback`` or ``ignored`` (``reason`` says why)."""

    update_id: int
    kind: str
    reason: str | None = None
    chat_id: int = 0
    user_id: int = 0
    first_name: str = ""
    language: str | None = None
    message_id: int | None = None
    text: str = ""
    #: ``/start`` for ``/start abc`` (without a ``@bot`` suffix), and its argument.
    command: str | None = None
    argument: str = ""
    files: list[FileRef] = field(default_factory=list)
    callback_id: str | None = None
    callback_data: str | None = None


def update_id_of(data: Any) -> int | None:
    """The ``update_id`` of a decoded update, when it has a usable one."""
    if isinstance(data, dict):
        value = data.get("update_id")
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62:
            return value
    return None


def decode(body: bytes) -> dict[str, Any]:
    """The JSON object of an update's body (bounded), or :class:`BadUpdate`."""
    if len(body) > MAX_UPDATE_BYTES:
        raise BadUpdate("the update is too large", reason="too_large")
    try:
        data = loads_limited(body, what="update")
    except (ValueError, RecursionError, InvalidInput):
        raise BadUpdate("the update is not JSON", reason="not_json") from None
    if not isinstance(data, dict):
        raise BadUpdate("an update is a JSON object", reason="not_an_object")
    return data


def read(data: dict[str, Any]) -> Incoming:
    update_id = update_id_of(data)
    if update_id is None:
        raise BadUpdate("the update has no update_id", reason="no_update_id")
    try:
        update = Update.de_json(data, None)
    # The library reads outside input with plain indexing: whatever it raises on a bad shape
    # (KeyError, TypeError, AttributeError…) means a bad update, not a bug of ours.
    except Exception:
        raise BadUpdate("the update is missing fields", reason="missing_fields") from None
    if update is None:
        raise BadUpdate("the update is empty", reason="missing_fields")
    try:
        return _incoming(update_id, update)
    except BadUpdate:
        raise
    except Exception:
        raise BadUpdate("the update has fields of the wrong type", reason="wrong_types") from None


def _incoming(update_id: int, update: Update) -> Incoming:
    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        chat = message.chat if message is not None else None
        if chat is None or chat.type != "private":
            return Incoming(update_id, "ignored", "not_a_private_chat")
        return Incoming(
            update_id,
            "callback",
            chat_id=int(chat.id),
            user_id=int(query.from_user.id),
            first_name=str(query.from_user.first_name or "")[:100],
            language=query.from_user.language_code,
            message_id=int(message.message_id) if message is not None else None,
            callback_id=str(query.id),
            callback_data=str(query.data or "")[:64],
        )
    message = update.message
    if message is None:
        kind = next((k for k in update.to_dict() if k != "update_id"), "nothing")
        return Incoming(update_id, "ignored", f"unhandled_{kind}"[:40])
    if message.chat.type != "private":
        return Incoming(update_id, "ignored", "not_a_private_chat")
    sender = message.from_user
    if sender is None or sender.is_bot:
        return Incoming(update_id, "ignored", "not_from_a_person")
    text = message.text if message.text is not None else (message.caption or "")
    if not isinstance(text, str):
        raise TypeError("text")
    if len(text) > MAX_TEXT:
        raise BadUpdate(
            f"the text is longer than Telegram's {MAX_TEXT} characters", reason="text_too_long"
        )
    command, argument = None, ""
    if text.startswith("/") and message.text is not None:
        head, _, argument = text.partition(" ")
        command = head.split("@", 1)[0].lower()[:33]
        argument = argument.strip()
    files: list[FileRef] = []
    if message.photo:
        largest = message.photo[-1]  # sizes come smallest first
        files.append(FileRef(largest.file_id, "photo.jpg", largest.file_size, "image/jpeg"))
    if message.document is not None:
        doc = message.document
        files.append(FileRef(doc.file_id, doc.file_name or "file", doc.file_size, doc.mime_type))
    return Incoming(
        update_id,
        "message",
        chat_id=int(message.chat.id),
        user_id=int(sender.id),
        first_name=str(sender.first_name or "")[:100],
        language=sender.language_code,
        message_id=int(message.message_id),
        text=text,
        command=command,
        argument=argument,
        files=files,
    )


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
