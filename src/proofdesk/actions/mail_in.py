"""Mail that comes in, turned into tickets and messages (``docs/channels.md``).

:func:`ingest` is what both ways in call (IMAP polling and the SMTP endpoint): it parses and
checks the attachments outside the writer lock, then, under it, re-checks that the mail's
``Message-ID`` is new for the organization and takes it in :func:`do_take_mail`. The unique
constraint on ``mail_imports (organization_id, message_id)`` is the real guard: two pollers
that race on one mail cannot both commit it.

Threading, in order: one of our ``Message-ID``s (or one of the customer's earlier mails) in
``In-Reply-To``/``References``; a signed reply address (``mail.address``); the ticket number
in the subject. Each names a ticket only if the sender is its requester — a forwarded mail
or another customer's number opens a new ticket instead of writing into someone else's.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from proofdesk.access import Actor
from proofdesk.actions import tickets
from proofdesk.actions.accounts import do_create_user
from proofdesk.actions.blobs import BlobStore
from proofdesk.actions.contracts import automation_actor
from proofdesk.actions.mail_out import reply_key
from proofdesk.canonical import utc_now
from proofdesk.domain.attachments import check_attachment
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import Channel, Kind, Status, Visibility
from proofdesk.errors import Error
from proofdesk.mail.address import is_ours, ticket_of
from proofdesk.mail.parse import File, Limits, ParsedMail, parse
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.events import lock_ticket
from proofdesk.store.models import (
    Attachment,
    MailAddressState,
    Mailbox,
    MailImport,
    MailOutbox,
    Message,
    Ticket,
    User,
)

log = logging.getLogger(__name__)

_SUBJECT_NUMBER = re.compile(r"\[#(\d{1,12})\]|(?:^|\s)#(\d{1,12})\b")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True, slots=True)
class Taken:
    """What became of one mail: ``outcome`` (``ticket``, ``reply``, ``loop``, ``bounce``,
    ``quarantined``, ``duplicate``), the ticket it went to, and why."""

    outcome: str
    message_id: str
    ticket_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Stored:
    sha256: str
    size: int
    content_type: str
    filename: str


def limits_of(settings: Settings) -> Limits:
    return Limits(max_bytes=settings.mail_max_bytes, max_parts=settings.mail_max_parts)


def _store_files(
    blobs: BlobStore, settings: Settings, files: list[File]
) -> tuple[list[Stored], list[str]]:
    """The attachments that pass the API's checks (type, size, secrets), stored by content;
    and why the others were left out."""
    kept: list[Stored] = []
    refused: list[str] = []
    for file in files:
        try:
            sha256, kind = check_attachment(
                file.filename,
                None,  # a mail's declared types are too often wrong to refuse a file for
                file.data,
                max_bytes=settings.attachment_max_bytes,
                allowed=settings.attachment_types,
            )
        except Error as exc:
            refused.append(f"{file.filename[:80]}: {exc.code}")
            continue
        blobs.put(sha256, file.data)
        name = file.filename.replace("\\", "/").rsplit("/", 1)[-1].strip()[:255] or "file"
        kept.append(Stored(sha256, len(file.data), kind, name))
    return kept, refused


def _original(raw: bytes) -> File:
    """The whole mail as it came, to keep beside the cleaned message. Mail with 8-bit text
    in another charset is re-serialised as 7-bit (base64 bodies) so it is stored as text."""
    data = raw
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            message = BytesParser(policy=policy.default).parsebytes(raw)
            data = message.as_bytes(policy=policy.default.clone(cte_type="7bit", linesep="\r\n"))
            data.decode("utf-8")
        except Exception:  # kept out, then: the cleaned text is still taken in
            data = b""
    return File("original.eml", "text/plain", data)


def ingest(
    db: Database,
    blobs: BlobStore,
    settings: Settings,
    mailbox_id: str,
    raw: bytes,
) -> Taken:
    """Take one raw mail into ``mailbox_id``'s organization. Never raises for a bad mail (it
    is quarantined with its reason); an error of the database or the blob store does."""
    parsed = parse(raw, limits_of(settings))
    files: list[Stored] = []
    refused: list[str] = []
    if parsed.quarantine is None and not parsed.automatic and parsed.bounce is None:
        original = _original(raw)
        files, refused = _store_files(
            blobs, settings, [*parsed.files, *([original] if original.data else [])]
        )
    try:
        with db.writer() as session:
            return do_take_mail(session, mailbox_id, parsed, files, refused)
    except IntegrityError:  # another process committed this Message-ID first
        return Taken("duplicate", parsed.message_id)


def _imported(session: Session, organization_id: str, message_id: str) -> MailImport | None:
    return session.scalars(
        select(MailImport).where(
            MailImport.organization_id == organization_id, MailImport.message_id == message_id
        )
    ).first()


def already_imported(db: Database, organization_id: str, message_ids: list[str]) -> set[str]:
    """Which of these ids the organization has taken in (read only: a hint, not the guard)."""
    if not message_ids:
        return set()
    with db.reader() as session:
        return set(
            session.scalars(
                select(MailImport.message_id).where(
                    MailImport.organization_id == organization_id,
                    MailImport.message_id.in_(message_ids),
                )
            )
        )


def do_take_mail(
    session: Session,
    mailbox_id: str,
    parsed: ParsedMail,
    files: list[Stored],
    refused: list[str],
) -> Taken:
    mailbox = session.get(Mailbox, mailbox_id)
    if mailbox is None:
        raise Error("no such mailbox", mailbox_id=mailbox_id)
    org = mailbox.organization_id
    if _imported(session, org, parsed.message_id) is not None:
        return Taken("duplicate", parsed.message_id)
    taken = _decide(session, mailbox, parsed, files, refused)
    session.add(
        MailImport(
            organization_id=org,
            mailbox_id=mailbox.id,
            message_id=parsed.message_id,
            sender=parsed.sender[:254] or None,
            ticket_id=taken.ticket_id,
            outcome=taken.outcome,
            reason=(taken.reason or "")[:300] or None,
            size=parsed.size,
            trust=parsed.trust,
            received_at=utc_now(),
        )
    )
    session.flush()
    if taken.outcome in ("loop", "quarantined"):
        log.info("mail %s not answered: %s", taken.outcome, taken.reason)
    return taken


def _decide(
    session: Session,
    mailbox: Mailbox,
    parsed: ParsedMail,
    files: list[Stored],
    refused: list[str],
) -> Taken:
    org = mailbox.organization_id
    if parsed.quarantine is not None:
        return Taken("quarantined", parsed.message_id, reason=parsed.quarantine)
    ours = session.scalars(select(Mailbox.address).where(Mailbox.organization_id == org)).all()
    if any(is_ours(address, parsed.sender) for address in ours):
        return Taken("loop", parsed.message_id, reason="sent from our own address")
    if parsed.bounce is not None:
        return _take_bounce(session, org, parsed)
    if parsed.automatic is not None:
        return Taken("loop", parsed.message_id, reason=parsed.automatic)
    customer = session.scalars(
        select(User).where(User.organization_id == org, User.email == parsed.sender)
    ).first()
    if customer is not None and customer.role != Role.CUSTOMER.value:
        return Taken("quarantined", parsed.message_id, reason="sender is a staff address")
    if customer is not None and not customer.is_active:
        return Taken("quarantined", parsed.message_id, reason="sender's account is disabled")
    if customer is None:
        customer = do_create_user(
            session,
            org,
            role=Role.CUSTOMER,
            display_name=parsed.sender_name or parsed.sender.split("@", 1)[0] or parsed.sender,
            email=parsed.sender,
            locale="zh-CN" if _CJK.search(parsed.subject + parsed.clean_text[:500]) else "en",
        )
    actor = Actor(customer.id, org, Role.CUSTOMER)
    ids = {"message_id": parsed.message_id, "trust": parsed.trust}
    body = parsed.clean_text.strip() or parsed.subject or "(no text)"
    attachment_ids = [_attach(session, actor, f) for f in files]
    ticket = _thread(session, mailbox, parsed, customer.id)
    if ticket is not None:
        state = tickets.do_add_message(
            session,
            actor,
            ticket,
            body=body[: tickets.MAX_BODY],
            attachment_ids=attachment_ids,
            channel=Channel.EMAIL,
            channel_ids=ids,
        )
        outcome = "reply"
    else:
        subject = re.sub(
            r"^\s*((re|fwd?|aw|回复|答复|转发)\s*[:：]\s*)+", "", parsed.subject, flags=re.I
        )
        state = tickets.do_create_ticket(
            session,
            actor,
            tickets.NewTicket(
                kind=Kind.QUESTION,
                subject=(subject.strip() or body.splitlines()[0])[: tickets.MAX_SUBJECT],
                body=body[: tickets.MAX_BODY],
                channel=Channel.EMAIL,
                channel_ids=ids,
                attachment_ids=attachment_ids,
            ),
        )
        outcome = "ticket"
    if refused:
        note = "Attachments of this e-mail were not stored: " + "; ".join(refused)
        row = lock_ticket(session, state.id)
        assert row is not None
        tickets.do_add_message(
            session, automation_actor(org), row, body=note[:2000], visibility=Visibility.INTERNAL
        )
    return Taken(outcome, parsed.message_id, state.id)


def _attach(session: Session, actor: Actor, file: Stored) -> str:
    row = Attachment(
        organization_id=actor.organization_id,
        sha256=file.sha256,
        size=file.size,
        content_type=file.content_type,
        filename=file.filename,
        uploaded_by=actor.user_id,
        created_at=utc_now(),
    )
    session.add(row)
    session.flush()
    return row.id


def find_thread(session: Session, mailbox: Mailbox, parsed: ParsedMail) -> str | None:
    """The ticket a mail would thread onto, read only (what ``do_take_mail`` decides under the
    lock; the benchmark and diagnostics use it)."""
    sender = session.scalars(
        select(User.id).where(
            User.organization_id == mailbox.organization_id, User.email == parsed.sender
        )
    ).first()
    if sender is None:
        return None
    found = _thread(session, mailbox, parsed, sender)
    return found.id if found is not None else None


def _open_ticket(session: Session, org: str, ticket_id: str | None) -> Ticket | None:
    """The ticket (followed through merges), locked; None if it cannot take a reply."""
    for _ in range(10):
        if ticket_id is None:
            return None
        row = lock_ticket(session, ticket_id)
        if row is None or row.organization_id != org:
            return None
        if row.merged_into_id is None:
            closed = row.status == Status.CLOSED.value or row.erased_at is not None
            return None if closed else row
        ticket_id = row.merged_into_id
    return None


def _thread(
    session: Session, mailbox: Mailbox, parsed: ParsedMail, sender_id: str
) -> Ticket | None:
    org = mailbox.organization_id
    candidates: list[str | None] = []
    if parsed.thread_ids:
        for message_id in parsed.thread_ids:
            candidates.append(
                session.scalars(
                    select(MailOutbox.ticket_id).where(
                        MailOutbox.organization_id == org, MailOutbox.message_id == message_id
                    )
                ).first()
                or session.scalars(
                    select(MailImport.ticket_id).where(
                        MailImport.organization_id == org, MailImport.message_id == message_id
                    )
                ).first()
            )
    key = reply_key(session, mailbox)
    for address in parsed.recipients:
        number = ticket_of(key, mailbox.address, address)
        if number is not None:
            candidates.append(_by_number(session, org, number))
    for ticket_id in candidates:
        ticket = _open_ticket(session, org, ticket_id)
        if ticket is not None and ticket.requester_id == sender_id:
            return ticket
    for match in _SUBJECT_NUMBER.finditer(parsed.subject):
        number = int(match.group(1) or match.group(2))
        ticket = _open_ticket(session, org, _by_number(session, org, number))
        if ticket is not None and _on_ticket(session, ticket, sender_id):
            return ticket
    return None


def _by_number(session: Session, org: str, number: int) -> str | None:
    return session.scalars(
        select(Ticket.id).where(Ticket.organization_id == org, Ticket.number == number)
    ).first()


def _on_ticket(session: Session, ticket: Ticket, user_id: str) -> bool:
    """Whether the user already takes part in the ticket (its requester, or wrote on it)."""
    if ticket.requester_id == user_id:
        return True
    return (
        session.scalars(
            select(Message.id).where(Message.ticket_id == ticket.id, Message.author_id == user_id)
        ).first()
        is not None
    )


def _take_bounce(session: Session, org: str, parsed: ParsedMail) -> Taken:
    """Mark each failed address as failing (replies to it are held) and tell the agents in an
    internal note on the ticket whose mail bounced."""
    assert parsed.bounce is not None
    now = utc_now()
    for address, why in parsed.bounce.failed:
        row = session.get(MailAddressState, (org, address))
        if row is None:
            session.add(
                MailAddressState(
                    organization_id=org, address=address, failing=True, reason=why, updated_at=now
                )
            )
        else:
            row.failing, row.reason, row.updated_at = True, why, now
    ticket_id = None
    if parsed.bounce.original_message_id:
        ticket_id = session.scalars(
            select(MailOutbox.ticket_id).where(
                MailOutbox.organization_id == org,
                MailOutbox.message_id == parsed.bounce.original_message_id,
            )
        ).first()
    ticket = _open_ticket(session, org, ticket_id)
    summary = "; ".join(f"{a} ({why or 'failed'})" for a, why in parsed.bounce.failed)
    if ticket is not None:
        tickets.do_add_message(
            session,
            automation_actor(org),
            ticket,
            body=(
                f"E-mail to {summary} bounced. Further replies to this address are held: "
                "reach the customer another way, or correct the address."
            )[:2000],
            visibility=Visibility.INTERNAL,
        )
    return Taken("bounce", parsed.message_id, ticket.id if ticket else None, reason=summary)


def fingerprint(raw: bytes) -> str:
    """A short digest of a raw mail, for log lines that must not carry its content."""
    return hashlib.sha256(raw).hexdigest()[:16]
