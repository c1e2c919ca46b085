"""A CSV of tickets, one row per comment, in the columns of ``docs/import.md``.

The rows of one ticket follow each other; the ticket's own columns are read from its first
row. Read row by row (the standard ``csv`` module): memory stays flat.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path
from typing import Any

from proofdesk.domain.imported import (
    SourceComment,
    SourcePerson,
    SourceTicket,
)
from proofdesk.moving.sources.common import BadImportFile, mapped, text, time

SYSTEM = "csv"
COLUMNS = (
    "ticket_id",
    "subject",
    "status",
    "priority",
    "tags",
    "created_at",
    "updated_at",
    "requester_email",
    "requester_name",
    "comment_id",
    "author_email",
    "author_name",
    "author_is_staff",
    "public",
    "comment_created_at",
    "body",
)
REQUIRED = frozenset({"ticket_id", "status", "requester_email", "comment_id", "body"})
TRUE = frozenset({"1", "true", "yes", "y"})


def _person(email: str, name: str, staff: bool) -> SourcePerson:
    email = email.strip()
    return SourcePerson(
        source_id=email.lower() or name, name=name or email, email=email or None, staff=staff
    )


def tickets(path: Path) -> Iterator[SourceTicket]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise BadImportFile(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = REQUIRED - set(reader.fieldnames or ())
        if missing:
            raise BadImportFile(f"{path.name}: missing columns {', '.join(sorted(missing))}")
        try:
            for ticket_id, rows in groupby(reader, key=lambda r: text(r.get("ticket_id"))):
                yield ticket_of(ticket_id, list(rows))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise BadImportFile(f"{path.name}: not a CSV file ({exc})") from None


def ticket_of(ticket_id: str, rows: list[dict[str, Any]]) -> SourceTicket:
    where = f"ticket {ticket_id!r}"
    if not ticket_id:
        raise BadImportFile("a row has no ticket_id")
    first = rows[0]
    status, priority, notes = mapped(
        SYSTEM, text(first.get("status")), text(first.get("priority")) or None
    )
    requester = _person(
        text(first.get("requester_email")), text(first.get("requester_name")), False
    )
    created = time(first.get("created_at") or first.get("comment_created_at"), where)
    comments = []
    for row in rows:
        cid = text(row.get("comment_id"))
        if not cid:
            raise BadImportFile(f"{where}: a row has no comment_id")
        author_email = text(row.get("author_email")) or text(first.get("requester_email"))
        comments.append(
            SourceComment(
                source_id=f"{ticket_id}/{cid}",
                author=_person(
                    author_email,
                    text(row.get("author_name")),
                    text(row.get("author_is_staff")).lower() in TRUE,
                ),
                body=text(row.get("body")),
                public=text(row.get("public") or "true").lower() in TRUE,
                created_at=time(row.get("comment_created_at") or created, f"{where} {cid}"),
            )
        )
    return SourceTicket(
        source_id=ticket_id,
        subject=text(first.get("subject")),
        status=status,
        priority=priority,
        requester=requester,
        created_at=created,
        updated_at=time(first.get("updated_at") or created, where),
        comments=tuple(comments),
        tags=tuple(text(first.get("tags")).split()),
        notes=tuple(notes),
    )
