"""Freshdesk (API v2): ticket objects with their ``conversations``.

A file holds JSON lines or a JSON array of ticket objects as ``GET /api/v2/tickets/{id}``
returns them with ``include=requester,conversations`` (the conversations may also sit in a
``conversations`` array beside the ticket). Lines ``{"contact": {...}}`` and
``{"agent": {...}}`` name people by id; the ticket's description is its first message.
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
from proofdesk.moving.sources.common import (
    BadImportFile,
    PeopleById,
    field,
    ident,
    locale_of,
    mapped,
    text,
    time,
)

SYSTEM = "freshdesk"
PREFIXES = ("item",)


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
