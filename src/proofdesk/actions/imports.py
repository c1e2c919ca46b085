"""Writing another help desk's tickets into ours as imported history.

:func:`do_import_ticket` writes one source ticket — new, or changed since the last run — in the
caller's write transaction, so a ticket is all or nothing: a run killed half way leaves whole
tickets behind, and the next run picks up from the map of source ids (``imported_records``).
Every event it writes carries the import marker (``domain.tickets.IMPORTED``) with the source
system, the source id and the moment of the import, and the original time as its
``occurred_at``; nothing that follows the stream acts on such events. Secrets pasted into the
old desk are removed on the way in by the same redactor as live messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from proofdesk.actions.accounts import normalize_email
from proofdesk.canonical import format_time, parse_time, utc_now
from proofdesk.domain import identifiers
from proofdesk.domain.imported import SourceComment, SourcePerson, SourceTicket, status_path
from proofdesk.domain.redaction import redact
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import (
    IMPORTED,
    Channel,
    EventType,
    Kind,
    Status,
    TicketState,
    Visibility,
)
from proofdesk.errors import Error
from proofdesk.store.events import EventAppender, row_to_state
from proofdesk.store.models import Attachment, ImportedRecord, Ticket, User, new_id

#: The actor of imported changes no person of ours made (status steps, tags, fields).
IMPORT_ACTOR_ID = "import"
MAX_TAGS = 20


@dataclass(frozen=True, slots=True)
class StoredFile:
    """An attachment already fetched into the blob store (outside the write transaction)."""

    sha256: str
    size: int
    content_type: str
    filename: str


@dataclass(slots=True)
class TicketOutcome:
    #: ``created``, ``updated`` or ``unchanged``.
    result: str
    ticket_id: str
    events: int = 0
    comments: int = 0
    people: int = 0
    attachments: int = 0
    notes: list[str] = field(default_factory=list)


class _Writer:
    """The events of one source ticket, each marked, each at its original time or later."""

    def __init__(self, session: Session, organization_id: str, system: str, imported_at: str):
        self.session, self.organization_id = session, organization_id
        self.system, self.imported_at = system, imported_at
        self.appender = EventAppender(session)
        self.events = 0
        self.last_at = ""

    def marker(self, source_id: str, **extra: Any) -> dict[str, Any]:
        return {"from": self.system, "id": source_id, "at": self.imported_at, **extra}

    def append(
        self,
        state: TicketState | None,
        ticket_id: str,
        type: EventType,
        actor_id: str,
        at: str,
        payload: dict[str, Any],
    ) -> TicketState:
        # Keep a ticket's events in time order even where the source's times are not.
        self.last_at = max(self.last_at, at)
        _, new_state = self.appender.append(
            state,
            ticket_id=ticket_id,
            organization_id=self.organization_id,
            type=type,
            actor_id=actor_id,
            occurred_at=self.last_at,
            payload=payload,
        )
        self.events += 1
        return new_state


def _record(session: Session, organization_id: str, system: str, kind: str, source_id: str) -> Any:
    return session.get(ImportedRecord, (organization_id, system, kind, source_id))


def _remember(
    session: Session,
    organization_id: str,
    system: str,
    kind: str,
    source_id: str,
    target_id: str,
    fingerprint: str = "",
    imported_as: dict[str, Any] | None = None,
) -> None:
    row = _record(session, organization_id, system, kind, source_id)
    if row is None:
        row = ImportedRecord(
            organization_id=organization_id, system=system, kind=kind, source_id=source_id
        )
        session.add(row)
    row.target_id, row.fingerprint = target_id, fingerprint
    row.imported_as = json.dumps(imported_as or {}, sort_keys=True)
    row.imported_at = utc_now()


def do_import_person(
    session: Session, organization_id: str, system: str, person: SourcePerson, out: TicketOutcome
) -> User:
    """The user a source person is: the one made for them before, else the one with their
    e-mail address (one customer per address, never two), else a new one. A person without a
    usable address (a deleted user) becomes an inactive user of their own."""
    found = _record(session, organization_id, system, "user", person.source_id)
    if found is not None:
        user = session.get(User, found.target_id)
        if user is not None:
            return user
    email: str | None = None
    if person.email:
        try:
            email = normalize_email(person.email)
        except Error:
            out.notes.append(f"user {person.source_id}: e-mail {person.email!r} is not valid")
    user = None
    if email is not None:
        user = session.scalars(
            select(User).where(User.organization_id == organization_id, User.email == email)
        ).first()
    if user is None:
        user = User(
            organization_id=organization_id,
            role=(Role.AGENT if person.staff else Role.CUSTOMER).value,
            email=email,
            display_name=(person.name.strip() or email or "deleted user")[:200],
            locale=person.locale if person.locale in ("en", "zh-CN") else "en",
            is_active=email is not None,
            created_at=utc_now(),
        )
        session.add(user)
        session.flush()
        out.people += 1
    _remember(session, organization_id, system, "user", person.source_id, user.id)
    return user


def _tags(values: tuple[str, ...], out: TicketOutcome) -> list[str]:
    tags: set[str] = set()
    for value in values:
        try:
            tags.add(identifiers.tag(value))
        except Error:
            out.notes.append(f"tag {value!r} is not a valid tag here: left out")
    kept = sorted(tags)
    if len(kept) > MAX_TAGS:
        out.notes.append(f"{len(kept) - MAX_TAGS} tags over the limit of {MAX_TAGS}: left out")
    return kept[:MAX_TAGS]


def _time(text: str) -> str:
    return format_time(parse_time(text))


def do_import_ticket(
    session: Session,
    organization_id: str,
    system: str,
    source: SourceTicket,
    files: dict[str, StoredFile | None],
    *,
    imported_at: str | None = None,
) -> TicketOutcome:
    """Import one source ticket (new, changed or unchanged) in the caller's transaction.

    ``files`` maps the source ids of the ticket's attachments to what was fetched (None for
    one that could not be: it is reported, the ticket still imports)."""
    fingerprint = source.fingerprint()
    found = _record(session, organization_id, system, "ticket", source.source_id)
    if found is not None and found.fingerprint == fingerprint:
        return TicketOutcome("unchanged", found.target_id)
    writer = _Writer(session, organization_id, system, imported_at or format_time(utc_now()))
    out = TicketOutcome("created" if found is None else "updated", "", notes=list(source.notes))
    requester = do_import_person(session, organization_id, system, source.requester, out)
    assignee = (
        do_import_person(session, organization_id, system, source.assignee, out)
        if source.assignee is not None
        else None
    )
    assignee_id = assignee.id if assignee is not None and assignee.is_active else None
    if assignee is not None and Role(assignee.role) is Role.CUSTOMER:
        assignee_id = None
    tags = _tags(source.tags, out)
    subject = redact(source.subject.strip() or "(no subject)")
    state: TicketState | None
    if found is None:
        ticket_id = new_id()
        number = (
            session.scalar(
                select(func.max(Ticket.number)).where(Ticket.organization_id == organization_id)
            )
            or 0
        ) + 1
        state = writer.append(
            None,
            ticket_id,
            EventType.CREATED,
            requester.id,
            _time(source.created_at),
            {
                "organization_id": organization_id,
                "number": number,
                "kind": Kind.QUESTION.value,
                "subject": subject.text[:300],
                "status": Status.NEW.value,
                "priority": source.priority.value,
                "channel": Channel.EMAIL.value,
                "requester_id": requester.id,
                "category": None,
                "tags": tags,
                "team_id": None,
                "assignee_id": assignee_id,
                "source_fields": source.fields,
                IMPORTED: writer.marker(source.source_id, redacted=subject.kinds),
            },
        )
    else:
        ticket = session.get(Ticket, found.target_id)
        if ticket is None:
            out.notes.append(f"ticket {source.source_id}: its ticket here is gone")
            return out
        ticket_id = ticket.id
        state = row_to_state(ticket)
        writer.last_at = state.updated_at
        if state.status is Status.CLOSED or state.erased_at is not None:
            out.result = "unchanged"
            out.notes.append(f"ticket {source.source_id}: closed here, later changes not imported")
            _remember_ticket(session, organization_id, system, source, ticket_id, fingerprint)
            out.ticket_id = ticket_id
            return out
        state = _update(writer, state, source, subject.text[:300], tags, assignee_id)
    out.ticket_id = ticket_id
    for comment in source.comments:
        state = _comment(writer, session, organization_id, system, state, comment, files, out)
    state = _status(writer, session, organization_id, system, state, source, out)
    _remember_ticket(session, organization_id, system, source, ticket_id, fingerprint)
    out.events = writer.events
    return out


def _remember_ticket(
    session: Session,
    organization_id: str,
    system: str,
    source: SourceTicket,
    ticket_id: str,
    fingerprint: str,
) -> None:
    _remember(
        session,
        organization_id,
        system,
        "ticket",
        source.source_id,
        ticket_id,
        fingerprint,
        {"status": source.status.value, "updated_at": source.updated_at},
    )


def _update(
    writer: _Writer,
    state: TicketState,
    source: SourceTicket,
    subject: str,
    tags: list[str],
    assignee_id: str | None,
) -> TicketState:
    """The events that bring an imported ticket up to its changed source (not its comments,
    not its status)."""
    at = _time(source.updated_at)
    marker = writer.marker(source.source_id)
    changes = {
        name: {"from": old, "to": new}
        for name, old, new in (
            ("subject", state.subject, subject),
            ("priority", state.priority.value, source.priority.value),
        )
        if old != new
    }
    if changes:
        state = writer.append(
            state,
            state.id,
            EventType.FIELDS_CHANGED,
            IMPORT_ACTOR_ID,
            at,
            {"changes": changes, IMPORTED: marker},
        )
    added = sorted(set(tags) - set(state.tags))
    removed = sorted(set(state.tags) - set(tags))
    if added or removed:
        state = writer.append(
            state,
            state.id,
            EventType.TAGS_CHANGED,
            IMPORT_ACTOR_ID,
            at,
            {"added": added, "removed": removed, IMPORTED: marker},
        )
    if assignee_id != state.assignee_id:
        state = writer.append(
            state,
            state.id,
            EventType.ASSIGNED,
            IMPORT_ACTOR_ID,
            at,
            {
                "assignee_id": assignee_id,
                "team_id": state.team_id,
                "previous_assignee_id": state.assignee_id,
                "previous_team_id": state.team_id,
                IMPORTED: marker,
            },
        )
    return state


def _comment(
    writer: _Writer,
    session: Session,
    organization_id: str,
    system: str,
    state: TicketState,
    comment: SourceComment,
    files: dict[str, StoredFile | None],
    out: TicketOutcome,
) -> TicketState:
    if _record(session, organization_id, system, "comment", comment.source_id) is not None:
        return state  # imported by an earlier run
    author = do_import_person(session, organization_id, system, comment.author, out)
    body = redact(comment.body.strip())
    refs: list[dict[str, Any]] = []
    for attachment in comment.attachments:
        stored = files.get(attachment.source_id)
        if stored is None:
            out.notes.append(
                f"comment {comment.source_id}: attachment {attachment.filename!r} could not be "
                "fetched"
            )
            continue
        row = Attachment(
            organization_id=organization_id,
            sha256=stored.sha256,
            size=stored.size,
            content_type=stored.content_type,
            filename=stored.filename,
            uploaded_by=author.id,
            ticket_id=state.id,
            created_at=utc_now(),
        )
        session.add(row)
        session.flush()
        refs.append(
            {
                "id": row.id,
                "sha256": stored.sha256,
                "size": stored.size,
                "content_type": stored.content_type,
                "filename": stored.filename,
                **({"inline": True} if attachment.inline else {}),
            }
        )
        out.attachments += 1
    if not body.text and not refs:
        out.notes.append(f"comment {comment.source_id}: empty, left out")
        _remember(session, organization_id, system, "comment", comment.source_id, state.id)
        return state
    if body.kinds:
        out.notes.append(f"comment {comment.source_id}: a secret was removed ({body.kinds[0]})")
    customer = author.id == state.requester_id or Role(author.role) is Role.CUSTOMER
    message_id = new_id()
    state = writer.append(
        state,
        state.id,
        EventType.MESSAGE_ADDED,
        author.id,
        _time(comment.created_at),
        {
            "message_id": message_id,
            "author_id": author.id,
            "author_role": (Role.CUSTOMER if customer else Role(author.role)).value,
            "visibility": (Visibility.PUBLIC if comment.public else Visibility.INTERNAL).value,
            "body": body.text,
            "attachments": refs,
            IMPORTED: writer.marker(comment.source_id, redacted=body.kinds),
        },
    )
    _remember(session, organization_id, system, "comment", comment.source_id, message_id)
    out.comments += 1
    return state


def _status(
    writer: _Writer,
    session: Session,
    organization_id: str,
    system: str,
    state: TicketState,
    source: SourceTicket,
    out: TicketOutcome,
) -> TicketState:
    """Walk the ticket to its source status; a merged one is merged into its target if that
    was imported already."""
    at = _time(source.updated_at)
    marker = writer.marker(source.source_id)
    if source.merged_into is not None:
        target = _record(session, organization_id, system, "ticket", source.merged_into)
        target_row = session.get(Ticket, target.target_id) if target is not None else None
        if target_row is not None and target_row.requester_id == state.requester_id:
            target_state = row_to_state(target_row)
            if target_state.status is not Status.CLOSED:
                state = writer.append(
                    state,
                    state.id,
                    EventType.MERGED,
                    IMPORT_ACTOR_ID,
                    at,
                    {
                        "into_ticket_id": target_row.id,
                        "from_status": state.status.value,
                        IMPORTED: marker,
                    },
                )
                writer.append(
                    target_state,
                    target_row.id,
                    EventType.MERGE_RECEIVED,
                    IMPORT_ACTOR_ID,
                    at,
                    {"from_ticket_id": state.id, IMPORTED: marker},
                )
                return state
        out.notes.append(
            f"ticket {source.source_id}: merged into {source.merged_into}, which is not here "
            "(or not the same requester's): closed without the link"
        )
    for step in status_path(state.status, source.status):
        state = writer.append(
            state,
            state.id,
            EventType.STATUS_CHANGED,
            IMPORT_ACTOR_ID,
            at,
            {"from": state.status.value, "to": step.value, IMPORTED: marker},
        )
    if state.status is not source.status:
        out.notes.append(
            f"ticket {source.source_id}: cannot go from {state.status.value} to "
            f"{source.status.value} here"
        )
    return state
