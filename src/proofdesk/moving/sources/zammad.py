"""Zammad: ticket objects (``GET /api/v1/tickets/{id}?expand=true``) with their ``articles``.

A file holds JSON lines or a JSON array of tickets, each with an ``articles`` array (the
ticket articles API objects); lines ``{"user": {...}}`` name people by id. States and
priorities are read by name (``expand=true`` gives ``state`` and ``priority``). HTML bodies
become text.

From the REST API (``api_records``): the users (``GET /api/v1/users?expand=true``), then the
tickets, oldest change first (``GET /api/v1/tickets?expand=true&sort_by=updated_at&
order_by=asc``), each with its articles (``GET /api/v1/ticket_articles/by_ticket/{id}``) and
tags (``GET /api/v1/tags?object=Ticket&o_id={id}``). Zammad's lists are paged by
``page``/``per_page`` and end with an empty page; tickets changed before ``since`` are skipped.
"""

from __future__ import annotations

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
    html_text,
    ident,
    listed,
    locale_of,
    mapped,
    text,
    time,
)

SYSTEM = "zammad"
PREFIXES = ("item",)
PER_PAGE = 100
#: Zammad's role names that mean staff.
STAFF_ROLES = frozenset({"Agent", "Admin"})


class People(PeopleById):
    def add(self, user: dict[str, Any]) -> None:
        uid = ident(user, "id", "user")
        email = user.get("email") or None
        name = " ".join(text(user.get(k)) for k in ("firstname", "lastname")).strip()
        roles = set(user.get("roles") or [])
        self.by_id[uid] = SourcePerson(
            source_id=uid,
            name=name or (email or ""),
            email=email,
            staff=bool(roles & STAFF_ROLES),
            locale=locale_of((user.get("preferences") or {}).get("locale")),
        )


def tickets(
    records: Iterable[dict[str, Any]], people: People | None = None
) -> Iterator[SourceTicket]:
    people = people or People()
    for record in records:
        if isinstance(record.get("user"), dict):
            people.add(record["user"])
            continue
        yield ticket_of(record, people)


def ticket_of(ticket: dict[str, Any], people: People) -> SourceTicket:
    tid = ident(ticket, "id", "ticket")
    where = f"ticket {tid}"
    state = field(ticket, "state", where)
    status, priority, notes = mapped(SYSTEM, state, ticket.get("priority"))
    articles = ticket.get("articles") or []
    if not isinstance(articles, list):
        raise BadImportFile(f"{where}: 'articles' must be a list")
    comments = []
    for a in articles:
        if not isinstance(a, dict):
            raise BadImportFile(f"{where}: an article is not an object")
        aid = ident(a, "id", f"{where} article")
        here = f"{where} article {aid}"
        body = text(a.get("body"))
        if text(a.get("content_type")) == "text/html":
            body = html_text(body)
        attachments = tuple(
            SourceAttachment(
                source_id=ident(f, "id", f"{here} attachment"),
                filename=text(f.get("filename")) or "attachment",
                content_type=text((f.get("preferences") or {}).get("Content-Type"))
                or "application/octet-stream",
                url=text(f.get("url")) or f"/api/v1/ticket_attachment/{tid}/{aid}/{f['id']}",
                inline="Content-ID" in (f.get("preferences") or {}),
            )
            for f in a.get("attachments") or []
            if isinstance(f, dict)
        )
        comments.append(
            SourceComment(
                source_id=aid,
                author=people.get(a.get("created_by_id") or a.get("created_by") or "unknown"),
                body=body,
                public=not a.get("internal", False),
                created_at=time(a.get("created_at"), here),
                attachments=attachments,
            )
        )
    owner = ticket.get("owner_id")
    merged_into = None
    if str(state).lower() == "merged" and ticket.get("merged_into_id") is not None:
        merged_into = str(ticket["merged_into_id"])
    return SourceTicket(
        source_id=tid,
        subject=text(ticket.get("title")),
        status=status,
        priority=priority,
        requester=people.get(field(ticket, "customer_id", where)),
        created_at=time(ticket.get("created_at"), where),
        updated_at=time(ticket.get("updated_at") or ticket.get("created_at"), where),
        comments=tuple(comments),
        # Zammad's owner 1 is its system user: nobody.
        assignee=people.get(owner) if owner not in (None, 1, "1") else None,
        tags=tuple(str(t) for t in ticket.get("tags") or []),
        fields={"number": ticket["number"]} if ticket.get("number") is not None else {},
        merged_into=merged_into,
        notes=tuple(notes),
    )


def _list(http: SourceHttp, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every object of a paged Zammad list, up to its first empty page (not its first short
    one: a server may cap ``per_page`` below what was asked)."""
    number = 1
    while True:
        page, _ = http.get_json(path, {**params, "page": number, "per_page": PER_PAGE})
        items = listed(page, None, path)
        if not items:
            return
        yield from items
        number += 1


def api_records(http: SourceHttp, since: str | None = None) -> Iterator[dict[str, Any]]:
    """The records of every ticket updated at or after ``since`` (RFC 3339, or all), read
    from Zammad's API: its users first, then each ticket with its articles and tags."""
    for user in _list(http, "/api/v1/users", {"expand": "true"}):
        yield {"user": user}
    order = {"expand": "true", "sort_by": "updated_at", "order_by": "asc"}
    for ticket in _list(http, "/api/v1/tickets", order):
        tid = ident(ticket, "id", "ticket")
        if since is not None and time(ticket.get("updated_at"), f"ticket {tid}") < since:
            continue
        articles, _ = http.get_json(f"/api/v1/ticket_articles/by_ticket/{tid}", {"expand": "true"})
        tags, _ = http.get_json("/api/v1/tags", {"object": "Ticket", "o_id": tid})
        names = tags.get("tags") if isinstance(tags, dict) else None
        if not isinstance(names, list):
            raise BadImportFile(f"ticket {tid}: its tags are not a list")
        yield {
            **ticket,
            "articles": listed(articles, None, f"ticket {tid} articles"),
            "tags": names,
        }


def auth(token: str, user: str | None) -> dict[str, str]:
    """Zammad's API headers: an access token."""
    del user
    return {"Authorization": f"Token token={token}"}
