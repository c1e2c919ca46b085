"""A loopback Bot API server: the subset of https://core.telegram.org/bots/api the Telegram
channel uses, on the standard library's threading HTTP server.

Faithful to the documented shapes: every answer is ``{"ok": true, "result": …}`` or ``{"ok":
false, "error_code": …, "description": …, "parameters": {…}}``; requests are
``https://<server>/bot<token>/<method>`` with parameters in the query string,
``application/x-www-form-urlencoded``, ``application/json`` or ``multipart/form-data`` (JSON
objects such as ``reply_markup`` arrive serialised, as the reference says); files are fetched
from ``/file/bot<token>/<file_path>``. Methods: ``getMe``, ``getUpdates`` (``offset``,
``limit``, ``timeout``: an update below the offset is confirmed and forgotten; 409 while a
webhook is set), ``setWebhook`` (``secret_token`` 1-256 of ``A-Za-z0-9_-``), ``deleteWebhook``,
``getWebhookInfo``, ``sendMessage`` (``parse_mode`` HTML checked like Telegram checks it: only
its tags, only its entities — an unescaped ``<`` is 400 "can't parse entities"; at most 4096
characters of text; ``reply_markup`` inline keyboards with 1-64 bytes of ``callback_data``),
``answerCallbackQuery``, ``getFile`` (20 MB download limit). A test can make the next calls of
a method answer 429 with ``parameters.retry_after`` (``limit``).

The test side makes updates as Telegram would (``message``, ``command``, ``photo``,
``document``, ``press``) and reads what the bot sent (``sent``, ``answered``).
"""

from __future__ import annotations

import html.parser
import http.server
import itertools
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Any

#: getFile refuses files larger than this (the Bot API's download limit).
DOWNLOAD_LIMIT = 20 * 1024 * 1024
MAX_TEXT = 4096
#: Tags (and the attributes they may carry) of the HTML parse mode.
HTML_TAGS = {
    "b": set(),
    "strong": set(),
    "i": set(),
    "em": set(),
    "u": set(),
    "ins": set(),
    "s": set(),
    "strike": set(),
    "del": set(),
    "a": {"href"},
    "code": {"class"},
    "pre": set(),
    "blockquote": {"expandable"},
    "tg-spoiler": set(),
    "span": {"class"},
}
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class ApiError(Exception):
    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


class _HtmlCheck(html.parser.HTMLParser):
    """Telegram's HTML parse mode: its tags only, properly nested; ``&lt;``, ``&gt;``,
    ``&amp;``, ``&quot;`` and numeric entities only. Collects the plain text."""

    ENTITIES = re.compile(r"&(?!(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def check(self, source: str) -> str:
        if self.ENTITIES.search(source):
            raise ApiError(400, "Bad Request: can't parse entities: unsupported entity")
        # A "<" that starts no tag is refused by Telegram; the standard parser would keep it.
        for match in re.finditer(r"<", source):
            if not re.match(r"</?[a-zA-Z][a-zA-Z-]*[\s>/]", source[match.start() :]):
                raise ApiError(
                    400,
                    "Bad Request: can't parse entities: unsupported start tag at byte offset "
                    f"{match.start()}",
                )
        self.feed(source)
        self.close()
        if self.stack:
            raise ApiError(400, f"Bad Request: can't parse entities: unclosed <{self.stack[-1]}>")
        return "".join(self.text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS or any(name not in HTML_TAGS[tag] for name, _ in attrs):
            raise ApiError(
                400, f'Bad Request: can\'t parse entities: unsupported start tag "{tag}"'
            )
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise ApiError(400, f'Bad Request: can\'t parse entities: unexpected end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@dataclass
class Sent:
    """A message the bot sent: its parameters as they arrived, and the text Telegram shows."""

    chat_id: int
    text: str
    shown: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    message_id: int

    @property
    def buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


@dataclass
class BotApi:
    """The server's state. ``token`` is the one bot it knows."""

    token: str = "123456789:AAFakeTokenForTheLoopbackBotApiServer_x"
    username: str = "proofdesk_test_bot"
    url: str = ""
    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    answered: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    #: Calls made, by method, in order (every call, refused ones too).
    calls: list[str] = field(default_factory=list)
    #: method -> how many more calls answer 429, and with which retry_after.
    limits: dict[str, tuple[int, int]] = field(default_factory=dict)
    lock: threading.Condition = field(default_factory=threading.Condition)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))

    @property
    def bot_id(self) -> int:
        return int(self.token.split(":", 1)[0])

    @property
    def api_url(self) -> str:
        """What ``PROOFDESK_TELEGRAM_API_URL`` is set to."""
        return self.url

    # -- the test side: updates as Telegram makes them -------------------------------------

    def user(self, user_id: int = 4242, first_name: str = "Alice") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}

    def _push(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            update = {"update_id": next(self._ids), kind: body}
            self.updates.append(update)
            self.lock.notify_all()
            return update

    def _message(self, user_id: int, **fields: Any) -> dict[str, Any]:
        sender = self.user(user_id)
        return {
            "message_id": next(self._ids),
            "from": sender,
            "chat": {"id": user_id, "type": "private", "first_name": sender["first_name"]},
            "date": int(time.time()),
            **fields,
        }

    def message(self, text: str, user_id: int = 4242) -> dict[str, Any]:
        return self._push("message", self._message(user_id, text=text))

    def command(self, text: str, user_id: int = 4242) -> dict[str, Any]:
        """A bot command such as ``/start abc``: the text with a ``bot_command`` entity."""
        length = len(text.split(" ", 1)[0].encode("utf-16-le")) // 2
        entities = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._push("message", self._message(user_id, text=text, entities=entities))

    def add_file(self, data: bytes, name: str = "photo.jpg") -> str:
        file_id = f"AgAC{next(self._ids)}"
        with self.lock:
            self.files[file_id] = (f"documents/{name}", data)
        return file_id

    def photo(self, data: bytes, caption: str = "", user_id: int = 4242) -> dict[str, Any]:
        file_id = self.add_file(data, "file_0.jpg")
        sizes = [
            {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "width": 90,
                "height": 90,
                "file_size": len(data),
            }
        ]
        extra = {"caption": caption} if caption else {}
        return self._push("message", self._message(user_id, photo=sizes, **extra))

    def document(
        self,
        data: bytes,
        name: str,
        caption: str = "",
        user_id: int = 4242,
        mime_type: str = "application/pdf",
        declared_size: int | None = None,
    ) -> dict[str, Any]:
        file_id = self.add_file(data, name)
        document = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": name,
            "mime_type": mime_type,
            "file_size": declared_size if declared_size is not None else len(data),
        }
        extra = {"caption": caption} if caption else {}
        return self._push("message", self._message(user_id, document=document, **extra))

    def press(self, button: dict[str, Any], sent: Sent, user_id: int = 4242) -> dict[str, Any]:
        """The user pressing an inline button of a message the bot sent."""
        shown = {
            "message_id": sent.message_id,
            "from": {"id": self.bot_id, "is_bot": True, "first_name": "Bot"},
            "chat": {"id": sent.chat_id, "type": "private"},
            "date": int(time.time()),
            "text": sent.shown,
        }
        return self._push(
            "callback_query",
            {
                "id": str(next(self._ids)),
                "from": self.user(user_id),
                "message": shown,
                "chat_instance": "-1",
                "data": button["callback_data"],
            },
        )

    def limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer 429 Too Many Requests."""
        with self.lock:
            self.limits[method] = (times, retry_after)

    def sent_to(self, chat_id: int = 4242) -> list[Sent]:
        with self.lock:
            return [s for s in self.sent if s.chat_id == chat_id]

    # -- the Bot API side -------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any]) -> Any:
        with self.lock:
            self.calls.append(method)
            times, retry_after = self.limits.get(method, (0, 0))
            if times > 0:
                self.limits[method] = (times - 1, retry_after)
                raise ApiError(
                    429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
                )
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            raise ApiError(404, "Not Found")
        return handler(params)

    def _m_getMe(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "ProofDesk Test",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = _int(params, "offset", 0)
        limit = max(1, min(100, _int(params, "limit", 100)))
        timeout = max(0, min(50, _int(params, "timeout", 0)))
        deadline = time.monotonic() + timeout
        with self.lock:
            if self.webhook.get("url"):
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use "
                    "deleteWebhook to delete the webhook first",
                )
            if offset:
                # "An update is considered confirmed as soon as getUpdates is called with an
                # offset higher than its update_id."
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and time.monotonic() < deadline:
                self.lock.wait(deadline - time.monotonic())
            return [dict(u) for u in self.updates[:limit]]

    def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        secret = params.get("secret_token")
        if secret is not None and not SECRET_TOKEN.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if url and not url.startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        with self.lock:
            self.webhook = {"url": url, "secret_token": secret} if url else {}
        return True

    def _m_deleteWebhook(self, _: dict[str, Any]) -> bool:
        with self.lock:
            self.webhook = {}
        return True

    def _m_getWebhookInfo(self, _: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            return {
                "url": self.webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self.updates),
            }

    def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        if "chat_id" not in params:
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat_id = _int(params, "chat_id", 0)
        text = str(params.get("text") or "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        parse_mode = params.get("parse_mode")
        if parse_mode not in (None, "", "HTML", "MarkdownV2", "Markdown"):
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode}")
        shown = _HtmlCheck().check(text) if parse_mode == "HTML" else text
        if len(shown) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        markup = _json(params.get("reply_markup"))
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        sent = Sent(chat_id, text, shown, parse_mode, markup, next(self._ids))
        with self.lock:
            self.sent.append(sent)
        return {
            "message_id": sent.message_id,
            "from": {
                "id": self.bot_id,
                "is_bot": True,
                "first_name": "ProofDesk Test",
                "username": self.username,
            },
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            "text": shown,
        }

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        with self.lock:
            self.answered.append(dict(params))
        return True

    def _m_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id") or "")
        with self.lock:
            found = self.files.get(file_id)
        if found is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        path, data = found
        if len(data) > DOWNLOAD_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(data),
            "file_path": path,
        }

    def download(self, path: str) -> bytes | None:
        with self.lock:
            for stored_path, data in self.files.values():
                if stored_path == path:
                    return data
        return None


def _int(params: dict[str, Any], name: str, default: int) -> int:
    value = params.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f'Bad Request: field "{name}" must be a number') from None


def _json(value: Any) -> Any:
    if value is None or isinstance(value, dict | list):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object") from None


def _params(handler: http.server.BaseHTTPRequestHandler, body: bytes) -> dict[str, Any]:
    query = urllib.parse.urlsplit(handler.path).query
    params: dict[str, Any] = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    kind = (handler.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if kind == "application/json":
        loaded = json.loads(body or b"{}")
        if not isinstance(loaded, dict):
            raise ApiError(400, "Bad Request: parameters must be a JSON object")
        params.update(loaded)
    elif kind == "application/x-www-form-urlencoded":
        params.update(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
    elif kind == "multipart/form-data":
        head = f"Content-Type: {handler.headers['Content-Type']}\r\n\r\n".encode()
        for part in message_from_bytes(head + body, policy=policy.HTTP).iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                payload = part.get_payload(decode=True) or b""
                params[str(name)] = payload.decode("utf-8", "replace")
    return params


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(
        self, status: int, body: dict[str, Any] | bytes, kind: str = "application/json"
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _serve(self) -> None:
        api = self.server.api
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        file_prefix = f"/file/bot{api.token}/"
        if path.startswith(file_prefix):
            data = api.download(path[len(file_prefix) :])
            if data is None:
                self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            else:
                self._answer(200, data, "application/octet-stream")
            return
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", path)
        try:
            if match is None:
                raise ApiError(404, "Not Found")
            if match.group(1) != api.token:
                raise ApiError(401, "Unauthorized")
            result = api.call(match.group(2), _params(self, body))
        except ApiError as exc:
            error: dict[str, Any] = {
                "ok": False,
                "error_code": exc.code,
                "description": exc.description,
            }
            if exc.parameters:
                error["parameters"] = exc.parameters
            self._answer(exc.code, error)
            return
        except ValueError:
            self._answer(400, {"ok": False, "error_code": 400, "description": "Bad Request"})
            return
        self._answer(200, {"ok": True, "result": result})

    do_GET = _serve
    do_POST = _serve


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    api: BotApi


@contextmanager
def bot_api(api: BotApi | None = None) -> Iterator[BotApi]:
    """A Bot API server on a free loopback port for the length of the block."""
    api = api or BotApi()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.api = api
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
