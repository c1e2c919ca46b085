"""Freshdesk (API v2): ticket objects with their ``conversations``.

A file holds JSON lines or a JSON array of ticket objects as ``GET /api/v2/tickets/{id}``
returns them with ``include=requester,conversations`` (the conversations may also sit in a
``conversations`` array beside the ticket). Lines ``{"contact": {...}}`` and
``{"agent": {...}}`` name people by id; the ticket's description is its first message.

From the REST API (``api_records``): the agents (``GET /api/v2/agents``), then the tickets
updated since a time, oldest change first (``GET /api/v2/tickets?updated_since=…&order_by=
updated_at&order_type=asc&include=requester,description``), each with its conversations
(``GET /api/v2/tickets/{id}/conversations``), every list followed through its ``Link: <…>;
rel="next"`` header. Freshdesk lists only the last 30 days without ``updated_since`` and stops
at page 300, so ``updated_since`` is always sent, and a run that reaches the last page starts
again from the last ticket's change time (skipping the tickets it already read at that time).
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Iterable, Iterator
from typing import Any

from proofdesk.domain.imported import (
    SourceAttachment,
    SourceComment,
    SourcePerson,
    SourceTicket,
)
from proofdesk.moving.http import SourceHttp
from proofdesk.moving.sources.common import (
    BadImportFile,
    PeopleById,
    field,
    ident,
    listed,
    locale_of,
    mapped,
    next_link,
    text,
    time,
)

SYSTEM = "freshdesk"
PREFIXES = ("item",)
PER_PAGE = 100
#: Freshdesk answers no page of a list beyond this one.
LAST_PAGE = 300


class People(PeopleById):
    def add(self, obj: dict[str, Any], staff: bool) -> SourcePerson:
        # An agent object keeps the person under "contact".
        contact = obj.get("contact")
        inner: dict[str, Any] = contact if staff and isinstance(contact, dict) else obj
        uid = ident(obj, "id", "agent" if staff else "contact")
        email = inner.get("email") or None
        person = SourcePerson(
            source_id=uid,
            name=text(inner.get("name")) or (email or ""),
            email=email if not obj.get("deleted") else None,
            staff=staff,
            locale=locale_of(inner.get("language")),
        )
        self.by_id[uid] = person
        return person


def tickets(
    records: Iterable[dict[str, Any]], people: People | None = None
) -> Iterator[SourceTicket]:
    people = people or People()
    for record in records:
        if isinstance(record.get("contact"), dict) and "subject" not in record:
            people.add(record["contact"], staff=False)
            continue
        if isinstance(record.get("agent"), dict) and "subject" not in record:
            people.add(record["agent"], staff=True)
            continue
        yield ticket_of(record, people)


def _attachments(items: Any, here: str) -> tuple[SourceAttachment, ...]:
    return tuple(
        SourceAttachment(
            source_id=ident(a, "id", f"{here} attachment"),
            filename=text(a.get("name")) or "attachment",
            content_type=text(a.get("content_type")) or "application/octet-stream",
            url=text(field(a, "attachment_url", f"{here} attachment")),
            inline=bool(a.get("inline")),
        )
        for a in items or []
        if isinstance(a, dict)
    )


def ticket_of(ticket: dict[str, Any], people: People) -> SourceTicket:
    tid = ident(ticket, "id", "ticket")
    where = f"ticket {tid}"
    status, priority, notes = mapped(SYSTEM, field(ticket, "status", where), ticket.get("priority"))
    if isinstance(ticket.get("requester"), dict):
        requester = people.add(ticket["requester"], staff=False)
    else:
        requester = people.get(field(ticket, "requester_id", where))
    created = time(ticket.get("created_at"), where)
    comments = [
        SourceComment(
            source_id=f"{tid}-description",
            author=requester,
            body=text(ticket.get("description_text") or ticket.get("description")),
            public=True,
            created_at=created,
            attachments=_attachments(ticket.get("attachments"), where),
        )
    ]
    conversations = ticket.get("conversations") or []
    if not isinstance(conversations, list):
        raise BadImportFile(f"{where}: 'conversations' must be a list")
    for c in conversations:
        if not isinstance(c, dict):
            raise BadImportFile(f"{where}: a conversation is not an object")
        cid = ident(c, "id", f"{where} conversation")
        here = f"{where} conversation {cid}"
        comments.append(
            SourceComment(
                source_id=cid,
                author=people.get(field(c, "user_id", here)),
                body=text(c.get("body_text") or c.get("body")),
                public=not c.get("private", False),
                created_at=time(c.get("created_at"), here),
                attachments=_attachments(c.get("attachments"), here),
            )
        )
    responder = ticket.get("responder_id")
    return SourceTicket(
        source_id=tid,
        subject=text(ticket.get("subject")),
        status=status,
        priority=priority,
        requester=requester,
        created_at=created,
        updated_at=time(ticket.get("updated_at") or ticket.get("created_at"), where),
        comments=tuple(comments),
        assignee=people.get(responder) if responder is not None else None,
        tags=tuple(str(t) for t in ticket.get("tags") or []),
        fields={
            k: v for k, v in (ticket.get("custom_fields") or {}).items() if v not in (None, "")
        },
        notes=tuple(notes),
    )


def _pages(
    http: SourceHttp, path: str, params: dict[str, Any], where: str, cut: list[bool] | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Every page of a Freshdesk list, through its ``Link`` headers, up to ``LAST_PAGE``;
    ``cut`` (if given) is told whether a next page was left unread there."""
    url: str | None = path
    query: dict[str, Any] | None = {**params, "per_page": PER_PAGE}
    for _ in range(LAST_PAGE):
        page, answer = http.get_json(url or path, query)
        yield listed(page, None, where)
        url, query = next_link(answer.headers.get("Link")), None
        if url is None:
            return
    if cut is not None:
        cut.append(True)


def api_records(http: SourceHttp, since: str = "1970-01-01T00:00:00Z") -> Iterator[dict[str, Any]]:
    """The records of every ticket updated at or after ``since`` (RFC 3339), read from
    Freshdesk's API: its agents first, then each ticket with its conversations."""
    for page in _pages(http, "/api/v2/agents", {}, "agents"):
        for agent in page:
            yield {"agent": agent}
    done: set[str] = set()  # the tickets read that changed at ``since``
    while True:
        params = {
            "updated_since": since,
            "order_by": "updated_at",
            "order_type": "asc",
            "include": "requester,description",
        }
        cut: list[bool] = []
        last, at_last = since, set(done)
        for page in _pages(http, "/api/v2/tickets", params, "tickets", cut):
            for ticket in page:
                tid = ident(ticket, "id", "ticket")
                updated = time(ticket.get("updated_at"), f"ticket {tid}")
                last, at_last = (last, at_last | {tid}) if updated == last else (updated, {tid})
                if tid in done:
                    continue
                conversations = [
                    c
                    for p in _pages(
                        http, f"/api/v2/tickets/{tid}/conversations", {}, f"ticket {tid}"
                    )
                    for c in p
                ]
                yield {**ticket, "conversations": conversations}
        if not cut:
            return
        if last == since:  # a whole listing changed in one second: no way past it
            raise BadImportFile(f"tickets: more than a listing of tickets changed at {since}")
        since, done = last, at_last


def auth(token: str, user: str | None) -> dict[str, str]:
    """Freshdesk's API headers: the API key as the Basic user, any password (``X``)."""
    del user
    return {"Authorization": "Basic " + b64encode(f"{token}:X".encode()).decode()}
