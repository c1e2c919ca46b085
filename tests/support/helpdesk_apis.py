"""Other help desks' REST APIs on loopback, serving a :class:`helpdesks.Desk` in the shapes
their documentation gives, for ``proofdesk import SYSTEM http://…`` to read.

- Zendesk: the cursor-based incremental ticket export (``/api/v2/incremental/tickets/
  cursor.json``: ``start_time`` or ``cursor``, ``include=users``, ``after_cursor``,
  ``end_of_stream``) and ticket comments with cursor pagination (``page[size]``,
  ``page[after]``, ``meta.has_more``, ``links.next``), Basic ``{email}/token:{token}``.
- Freshdesk: ``/api/v2/agents``, ``/api/v2/tickets`` (``updated_since``, ordered by
  ``updated_at``, ``include=requester,description``) and ``/api/v2/tickets/{id}/
  conversations``, paged by ``page``/``per_page`` with ``Link: <…>; rel="next"``, Basic
  ``{api_key}:X``.
- Zammad: ``/api/v1/users``, ``/api/v1/tickets`` (``expand=true``, ``sort_by``/``order_by``),
  ``/api/v1/ticket_articles/by_ticket/{id}``, ``/api/v1/tags`` and
  ``/api/v1/ticket_attachment/{ticket}/{article}/{file}``, paged by ``page``/``per_page``
  (a short page ends a list), ``Token token={token}``.

Each server also answers its first ticket-list request with 429 and ``Retry-After: 0``, its
first attachment download with 503, and keeps every request's path and ``Authorization``
header, so tests can see that the client waited, retried and sent its token only home.
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support import helpdesks
from tests.support.helpdesks import Desk, Ticket
from tests.support.loopback import http_on_loopback

TOKEN = "source-api-token-1234"
ZENDESK_USER = "agent1@desk.example"
AUTH = {
    "zendesk": "Basic " + base64.b64encode(f"{ZENDESK_USER}/token:{TOKEN}".encode()).decode(),
    "freshdesk": "Basic " + base64.b64encode(f"{TOKEN}:X".encode()).decode(),
    "zammad": f"Token token={TOKEN}",
}


@dataclass
class SourceDesk:
    system: str
    desk: Desk
    page_size: int = 7
    #: Where attachments are linked (another server's address to test where tokens go).
    files_base: str | None = None
    url: str = ""
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    #: Answers to force, by path prefix: each is used once (status, headers, body).
    faults: list[tuple[str, int, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault(self, path: str) -> tuple[int, dict[str, str], bytes] | None:
        with self.lock:
            for i, (prefix, status, headers, body) in enumerate(self.faults):
                if path.startswith(prefix):
                    del self.faults[i]
                    return status, headers, body
        return None

    # -- the data, in each system's shapes -------------------------------------------------

    def _known(self) -> dict[int, helpdesks.Person]:
        return {p.id: p for p in self.desk.people}

    def _since(self, ticket: Ticket, since: datetime) -> bool:
        return ticket.updated >= since

    def files(self) -> str:
        """Where attachments are linked: ``files_base``, else this server."""
        return self.files_base or self.url

    def _ordered(self) -> list[Ticket]:
        return sorted(self.desk.tickets, key=lambda t: (t.updated, t.id))


def _page(items: list[Any], start: int, size: int) -> tuple[list[Any], int | None]:
    chunk = items[start : start + size]
    return chunk, (start + size if start + size < len(items) else None)


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode()


def _offset(cursor: str) -> int:
    return int(base64.urlsafe_b64decode(cursor.encode()).decode()[1:])


class _Handler(BaseHTTPRequestHandler):
    desk: SourceDesk

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        source = self.desk
        parts = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query).items()}
        with source.lock:
            source.requests.append((self.path, self.headers.get("Authorization")))
        forced = source.fault(parts.path)
        if forced is not None:
            return self._send(*forced)
        if parts.path.startswith("/files/"):
            return self._file(parts.path.removeprefix("/files/"))
        if self.headers.get("Authorization") != AUTH[source.system]:
            return self._json(401, {"error": "Couldn't authenticate you"})
        try:
            answer = ROUTES[source.system](source, parts.path, query)
        except (KeyError, ValueError, IndexError):
            return self._json(404, {"error": "RecordNotFound"})
        if isinstance(answer, _Raw):
            return self._file(str(answer.file_id))
        if isinstance(answer, tuple):
            body, link = answer
            return self._json(200, body, {"Link": f'<{link}>; rel="next"'} if link else {})
        return self._json(200, answer)

    def _file(self, name: str) -> None:
        files = helpdesks.files_of(self.desk.desk)
        fid = int(name.split("-", 1)[0]) if name.split("-", 1)[0].isdigit() else -1
        if fid not in files:
            self._json(404, {"error": "not found"})
        else:
            self._send(200, {"Content-Type": files[fid].content_type}, files[fid].data)

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self._send(status, {"Content-Type": "application/json", **(headers or {})}, data)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


# -- Zendesk -------------------------------------------------------------------------------


def _zendesk(source: SourceDesk, path: str, query: dict[str, str]) -> Any:
    known = source._known()
    size = source.page_size
    if path == "/api/v2/incremental/tickets/cursor.json":
        if "cursor" in query:
            start, since = (
                _offset(query["cursor"].split(".")[0]),
                int(query["cursor"].split(".")[1]),
            )
        else:
            start, since = 0, int(query["start_time"])
        moment = datetime.fromtimestamp(since, UTC)
        items = [t for t in source._ordered() if source._since(t, moment)]
        chunk, after = _page(items, start, size)
        people = {p.id for t in chunk for p in (t.requester, t.assignee) if p} & known.keys()
        tickets = []
        for t in chunk:
            ticket = helpdesks.zendesk_ticket(t, source.files())
            del ticket["comments"]
            tickets.append(ticket)
        return {
            "tickets": tickets,
            "users": [helpdesks.zendesk_user(known[i]) for i in sorted(people)],
            "after_cursor": _cursor(after if after is not None else start + len(chunk))
            + f".{since}",
            "after_url": None,
            "end_of_stream": after is None,
        }
    if path.startswith("/api/v2/tickets/") and path.endswith("/comments.json"):
        tid = int(path.split("/")[4])
        ticket = next(t for t in source.desk.tickets if t.id == tid)
        comments = helpdesks.zendesk_ticket(ticket, source.files())["comments"]
        size = int(query.get("page[size]", 100))
        start = _offset(query["page[after]"]) if "page[after]" in query else 0
        chunk, after = _page(comments, start, min(size, source.page_size))
        authors = {c["author_id"] for c in chunk} & known.keys()
        nxt = None
        if after is not None:
            nxt = f"{source.url}{path}?" + urllib.parse.urlencode(
                {"page[size]": size, "page[after]": _cursor(after), "include": "users"}
            )
        return {
            "comments": chunk,
            "users": [helpdesks.zendesk_user(known[i]) for i in sorted(authors)],
            "meta": {"has_more": after is not None, "after_cursor": _cursor(after or 0)},
            "links": {"next": nxt},
        }
    raise KeyError(path)


# -- Freshdesk -------------------------------------------------------------------------------


def _freshdesk_page(
    source: SourceDesk, path: str, query: dict[str, str], items: list[Any]
) -> tuple[list[Any], str | None]:
    per_page = int(query.get("per_page", 30))
    page = int(query.get("page", 1))
    chunk, after = _page(items, (page - 1) * per_page, per_page)
    link = None
    if after is not None:
        link = f"{source.url}{path}?" + urllib.parse.urlencode({**query, "page": page + 1})
    return chunk, link


def _freshdesk(source: SourceDesk, path: str, query: dict[str, str]) -> Any:
    known = source._known()
    if path == "/api/v2/agents":
        agents = [
            {"id": p.id, "contact": {"name": p.name, "email": p.email}}
            for p in source.desk.people
            if p.staff
        ]
        return _freshdesk_page(source, path, query, agents)
    if path == "/api/v2/tickets":
        since = datetime.fromisoformat(query["updated_since"].replace("Z", "+00:00"))
        items = []
        for t in source._ordered():
            if not source._since(t, since):
                continue
            ticket = helpdesks.freshdesk_ticket(t, source.files())
            del ticket["conversations"]
            if t.requester.id in known:
                p = t.requester
                ticket["requester"] = {"id": p.id, "name": p.name, "email": p.email}
            items.append(ticket)
        return _freshdesk_page(source, path, query, items)
    if path.startswith("/api/v2/tickets/") and path.endswith("/conversations"):
        tid = int(path.split("/")[4])
        ticket = next(t for t in source.desk.tickets if t.id == tid)
        conversations = helpdesks.freshdesk_ticket(ticket, source.files())["conversations"]
        return _freshdesk_page(source, path, query, conversations)
    raise KeyError(path)


# -- Zammad ----------------------------------------------------------------------------------


def _zammad_list(source: SourceDesk, query: dict[str, str], items: list[Any]) -> list[Any]:
    per_page = min(int(query.get("per_page", 100)), source.page_size)  # the server's cap
    page = int(query.get("page", 1))
    return items[(page - 1) * per_page : page * per_page]


def _zammad(source: SourceDesk, path: str, query: dict[str, str]) -> Any:
    tickets = {t.id: t for t in source.desk.tickets}
    if path == "/api/v1/users":
        return _zammad_list(source, query, [helpdesks.zammad_user(p) for p in source.desk.people])
    if path == "/api/v1/tickets":
        items = []
        for t in source._ordered():
            ticket = helpdesks.zammad_ticket(t, source.files_base)
            del ticket["articles"], ticket["tags"]
            items.append(ticket)
        return _zammad_list(source, query, items)
    if path.startswith("/api/v1/ticket_articles/by_ticket/"):
        ticket = tickets[int(path.rsplit("/", 1)[1])]
        articles = helpdesks.zammad_ticket(ticket, source.files_base)["articles"]
        if source.files_base is None:
            for article in articles:
                for f in article["attachments"]:
                    del f["url"]  # Zammad's own: the reader asks ticket_attachment for it
        return articles
    if path == "/api/v1/tags":
        return {"tags": tickets[int(query["o_id"])].tags}
    if path.startswith("/api/v1/ticket_attachment/"):
        fid = int(path.rsplit("/", 1)[1])
        return _Raw(fid)
    raise KeyError(path)


@dataclass
class _Raw:
    file_id: int


ROUTES = {"zendesk": _zendesk, "freshdesk": _freshdesk, "zammad": _zammad}


@contextmanager
def serving(source: SourceDesk) -> Iterator[SourceDesk]:
    """``source`` served on loopback; its ``url`` is set while the block runs."""

    class Handler(_Handler):
        desk = source

    with http_on_loopback(Handler) as server:
        source.url = server.url  # type: ignore[attr-defined]
        yield source
