"""Zendesk: tickets (Tickets API objects) with their comments (Ticket Comments API objects).

A file holds JSON lines or one JSON document (``{"tickets": [...]}`` or an array). Each ticket
is either a ticket object with a ``comments`` array — the shape of Zendesk's JSON export — or
``{"ticket": {...}, "comments": [...], "users": [...]}`` as the API returns it with
``include=users``. A line ``{"user": {...}}`` (or a ``users`` array beside a ticket) names the
people the tickets refer to by id; a person named nowhere is imported as a deleted user.

From the REST API (``api_records``): the cursor-based incremental ticket export
(``GET /api/v2/incremental/tickets/cursor.json?start_time=…&include=users``, then ``?cursor=``
until ``end_of_stream``), and for each ticket its comments
(``GET /api/v2/tickets/{id}/comments.json``, cursor pagination, ``include=users``), turned
into the records the file reader takes.
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
    text,
    time,
)

SYSTEM = "zendesk"
PREFIXES = ("tickets.item", "item")
STAFF_ROLES = frozenset({"agent", "admin"})
#: The tag Zendesk puts on a ticket it closed by merging it into another.
MERGED_TAG = "closed_by_merge"


class People(PeopleById):
    def add(self, user: dict[str, Any]) -> None:
        uid = ident(user, "id", "user")
        email = user.get("email") or None
        self.by_id[uid] = SourcePerson(
            source_id=uid,
            name=text(user.get("name")) or (email or ""),
            email=None if user.get("active") is False and not email else email,
            staff=user.get("role") in STAFF_ROLES,
            locale=locale_of(user.get("locale")),
        )


def tickets(
    records: Iterable[dict[str, Any]], people: People | None = None
) -> Iterator[SourceTicket]:
    people = people or People()
    for record in records:
        if "user" in record and isinstance(record["user"], dict):
            people.add(record["user"])
            continue
        for user in record.get("users") or []:
            if isinstance(user, dict):
                people.add(user)
        inner = record.get("ticket")
        ticket: dict[str, Any] = inner if isinstance(inner, dict) else record
        yield ticket_of(ticket, record.get("comments", ticket.get("comments")), people)


def ticket_of(ticket: dict[str, Any], comments: Any, people: People) -> SourceTicket:
    tid = ident(ticket, "id", "ticket")
    where = f"ticket {tid}"
    status, priority, notes = mapped(SYSTEM, field(ticket, "status", where), ticket.get("priority"))
    if not isinstance(comments, list):
        raise BadImportFile(f"{where}: 'comments' must be a list")
    tags = tuple(str(t) for t in ticket.get("tags") or [])
    merged_into = None
    source_comments = []
    for comment in comments:
        if not isinstance(comment, dict):
            raise BadImportFile(f"{where}: a comment is not an object")
        source_comments.append(comment_of(comment, where, people))
        via = comment.get("via") or {}
        source = (via.get("source") or {}) if isinstance(via, dict) else {}
        if isinstance(source, dict) and source.get("rel") == "merge":
            to = source.get("to") or {}
            if isinstance(to, dict) and to.get("ticket_id") is not None:
                merged_into = str(to["ticket_id"])
    if MERGED_TAG not in tags:
        merged_into = None
    fields = {
        str(f.get("id")): f.get("value")
        for f in ticket.get("custom_fields") or []
        if isinstance(f, dict) and f.get("value") not in (None, "", [])
    }
    if ticket.get("organization_id") is not None:
        fields["organization_id"] = ticket["organization_id"]
    assignee = ticket.get("assignee_id")
    return SourceTicket(
        source_id=tid,
        subject=text(ticket.get("subject") or ticket.get("raw_subject")),
        status=status,
        priority=priority,
        requester=people.get(field(ticket, "requester_id", where)),
        created_at=time(ticket.get("created_at"), where),
        updated_at=time(ticket.get("updated_at") or ticket.get("created_at"), where),
        comments=tuple(source_comments),
        assignee=people.get(assignee) if assignee is not None else None,
        tags=tags,
        fields=fields,
        merged_into=merged_into,
        notes=tuple(notes),
    )


def comment_of(comment: dict[str, Any], where: str, people: People) -> SourceComment:
    cid = ident(comment, "id", f"{where} comment")
    here = f"{where} comment {cid}"
    attachments = tuple(
        SourceAttachment(
            source_id=ident(a, "id", f"{here} attachment"),
            filename=text(a.get("file_name")) or "attachment",
            content_type=text(a.get("content_type")) or "application/octet-stream",
            url=text(field(a, "content_url", f"{here} attachment")),
            inline=bool(a.get("inline")),
        )
        for a in comment.get("attachments") or []
        if isinstance(a, dict)
    )
    return SourceComment(
        source_id=cid,
        author=people.get(field(comment, "author_id", here)),
        body=text(comment.get("plain_body") or comment.get("body")),
        public=comment.get("public", True) is not False,
        created_at=time(comment.get("created_at"), here),
        attachments=attachments,
    )


def api_records(http: SourceHttp, since: int = 0) -> Iterator[dict[str, Any]]:
    """The records of every ticket changed at or after ``since`` (Unix seconds), read from
    Zendesk's API page by page: its users first, then the ticket with its comments."""
    params: dict[str, Any] = {"start_time": since, "include": "users"}
    while True:
        page, _ = http.get_json("/api/v2/incremental/tickets/cursor.json", params)
        for user in listed(page, "users", "incremental export", required=False):
            yield {"user": user}
        for ticket in listed(page, "tickets", "incremental export"):
            tid = ident(ticket, "id", "ticket")
            yield from _with_comments(http, ticket, tid)
        if page.get("end_of_stream") is True:
            return
        cursor = page.get("after_cursor")
        if not isinstance(cursor, str) or not cursor:
            raise BadImportFile(
                "incremental export: a page without end_of_stream has no after_cursor"
            )
        params = {"cursor": cursor, "include": "users"}


def _with_comments(http: SourceHttp, ticket: dict[str, Any], tid: str) -> Iterator[dict[str, Any]]:
    comments: list[dict[str, Any]] = []
    url: str | None = f"/api/v2/tickets/{tid}/comments.json"
    params: dict[str, Any] | None = {"page[size]": 100, "include": "users"}
    while url is not None:
        page, _ = http.get_json(url, params)
        for user in listed(page, "users", f"ticket {tid} comments", required=False):
            yield {"user": user}
        comments += listed(page, "comments", f"ticket {tid} comments")
        meta, links = page.get("meta") or {}, page.get("links") or {}
        more = isinstance(meta, dict) and meta.get("has_more") is True
        after = links.get("next") if isinstance(links, dict) else None
        url, params = (after, None) if more and isinstance(after, str) else (None, None)
    yield {"ticket": ticket, "comments": comments}


def auth(token: str, user: str | None) -> dict[str, str]:
    """Zendesk's API headers: an API token of an agent (``user``), or an OAuth access token."""
    if user:
        return {"Authorization": "Basic " + b64encode(f"{user}/token:{token}".encode()).decode()}
    return {"Authorization": f"Bearer {token}"}
