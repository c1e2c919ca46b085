"""Mail that goes out: replies on e-mail tickets queued in ``mail_outbox`` in the transaction
of their ``message.added`` event, and the outbox's life (claimed, sent, retried, failed).

Why an outbox: an SMTP server is not part of our transaction. Writing the mail with the event
means a rolled-back change sends nothing, and a crash after the commit leaves the row for the
next sender. A row is *claimed* under the writer lock (a lease, ``claimed_until``), sent
outside it, then marked sent (``sent_at`` set once, ``WHERE sent_at IS NULL``): two senders
never both send a row, and a sender killed before the send leaves it to be sent after the
lease. A sender killed after the server took the mail but before marking it sends it again
after the lease — with the same ``Message-ID``, which mail clients use to drop the copy; that
is the one window, as with any SMTP client (``docs/channels.md``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, make_msgid
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from proofdesk.canonical import utc_now
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import Channel, TicketState, Visibility
from proofdesk.errors import InvalidInput
from proofdesk.i18n import N_, translate
from proofdesk.ledger.keys import Keyring
from proofdesk.mail.address import reply_address
from proofdesk.mail.compose import Outgoing, text_to_html
from proofdesk.store.models import (
    MailAddressState,
    Mailbox,
    MailNotificationPrefs,
    MailOutbox,
    Message,
    Organization,
    User,
)

#: Attempts before a mail is given up (about a day with the backoff below).
MAX_ATTEMPTS = 8
#: How long a claimed row is left to its sender before another may take it.
LEASE = timedelta(minutes=2)
#: How many ids of earlier mails a reply cites in ``References``.
MAX_REFERENCES = 20

FOOTER = N_("Reply to this e-mail to add to your request #{number}.")

#: Staff notifications by kind: the subject, then the body's first line.
NOTICES = {
    "assigned": N_("Request #{number} was assigned to you: {subject}"),
    "customer_replied": N_("The customer replied on request #{number}: {subject}"),
    "sla_warning": N_("Request #{number} is about to miss its SLA target ({target}): {subject}"),
}
NOTICE_FOOTER = N_(
    "Open request #{number} in the agent console. You can turn these e-mails off in your "
    "notification settings."
)


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 30 s, 1 min, 2 min, … doubling, at most 4 h."""
    return timedelta(seconds=min(30 * 2 ** max(0, attempts - 1), 4 * 3600))


def reply_channel(session: Session, state: TicketState) -> Channel:
    """The channel of the customer's latest message (where a reply goes), else the ticket's."""
    last = session.scalars(
        select(Message.channel)
        .where(Message.ticket_id == state.id, Message.author_id == state.requester_id)
        .order_by(Message.seq.desc())
        .limit(1)
    ).first()
    try:
        return Channel(last) if last else state.channel
    except ValueError:
        return state.channel


def mailbox_of(session: Session, organization_id: str) -> Mailbox | None:
    """The organization's first active mailbox: the address its replies come from."""
    return session.scalars(
        select(Mailbox)
        .where(Mailbox.organization_id == organization_id, Mailbox.is_active.is_(True))
        .order_by(Mailbox.created_at, Mailbox.id)
        .limit(1)
    ).first()


def reply_key(session: Session, mailbox: Mailbox) -> bytes:
    keyring: Keyring = session.info["keyring"]
    return keyring.unwrap(f"mailbox-reply:{mailbox.id}", mailbox.reply_key)


def new_message_id(session: Session, state: TicketState) -> str | None:
    """A fresh ``Message-ID`` (no angle brackets) for a mail about this ticket, or None when
    the organization has no mailbox to send from."""
    mailbox = mailbox_of(session, state.organization_id)
    if mailbox is None:
        return None
    return make_msgid(domain=mailbox.address.rpartition("@")[2]).strip("<>")


def thread_ids(session: Session, ticket_id: str) -> list[str]:
    """The ``Message-ID`` of every mail of the ticket, in order (in and out)."""
    found: list[str] = []
    for text in session.scalars(
        select(Message.channel_ids)
        .where(Message.ticket_id == ticket_id, Message.channel == Channel.EMAIL.value)
        .order_by(Message.seq)
    ):
        value = json.loads(text or "{}").get("message_id")
        if value:
            found.append(value)
    return found


def _failing(session: Session, organization_id: str, address: str) -> bool:
    row = session.get(MailAddressState, (organization_id, address))
    return row is not None and row.failing


@dataclass(frozen=True, slots=True)
class Queued:
    id: str
    message_id: str


def do_queue_reply(session: Session, state: TicketState, payload: dict[str, Any]) -> Queued | None:
    """Queue the e-mail of a public staff or automatic message on an e-mail ticket (its
    ``channel_ids.message_id`` was chosen before the event was written). Nothing is queued for
    a customer without an address, or one whose address bounces."""
    message_id = (payload.get("channel_ids") or {}).get("message_id")
    if (
        payload.get("visibility") != Visibility.PUBLIC.value
        or payload.get("channel") != Channel.EMAIL.value
        or not message_id
    ):
        return None
    mailbox = mailbox_of(session, state.organization_id)
    customer = session.get(User, state.requester_id)
    if mailbox is None or customer is None or not customer.email or not customer.is_active:
        return None
    if _failing(session, state.organization_id, customer.email):
        return None
    org = session.get(Organization, state.organization_id)
    earlier = [m for m in thread_ids(session, state.id) if m != message_id]
    footer = translate(customer.locale, FOOTER, number=state.number)
    body = str(payload["body"])
    now = utc_now()
    row = MailOutbox(
        organization_id=state.organization_id,
        ticket_id=state.id,
        event_seq=state.last_seq,
        message_id=message_id,
        sender=formataddr((org.name if org else "", mailbox.address)),
        recipient=customer.email,
        reply_to=reply_address(reply_key(session, mailbox), mailbox.address, state.number),
        subject=one_line(f"Re: {state.subject} [#{state.number}]")[:400],
        text=f"{body}\n\n-- \n{footer}\n",
        html=text_to_html(body, footer),
        in_reply_to=earlier[-1] if earlier else None,
        references=" ".join(earlier[-MAX_REFERENCES:]),
        automatic=payload.get("author_role") == Role.AUTOMATION.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return Queued(row.id, message_id)


def one_line(text: str) -> str:
    """Header text on one line (the ``email`` policy would refuse a line break anyway)."""
    return " ".join(text.split())


def wants(session: Session, user_id: str, kind: str) -> bool:
    prefs = session.get(MailNotificationPrefs, user_id)
    return prefs is None or bool(getattr(prefs, kind))


def do_notify(
    session: Session, state: TicketState, user_id: str | None, kind: str, **values: str
) -> Queued | None:
    """Queue a staff notification (``NOTICES``) about this ticket, unless the person turned
    that kind off, has no address, or the organization has no mailbox to send from. Marked
    ``Auto-Submitted``; it carries no message content, only the ticket's number and subject."""
    if user_id is None or kind not in NOTICES:
        return None
    person = session.get(User, user_id)
    if (
        person is None
        or not person.email
        or not person.is_active
        or person.role == Role.CUSTOMER.value
        or not wants(session, user_id, kind)
    ):
        return None
    mailbox = mailbox_of(session, state.organization_id)
    if mailbox is None:
        return None
    subject = one_line(
        translate(
            person.locale, NOTICES[kind], number=state.number, subject=state.subject, **values
        )
    )
    footer = translate(person.locale, NOTICE_FOOTER, number=state.number)
    message_id = make_msgid(domain=mailbox.address.rpartition("@")[2]).strip("<>")
    now = utc_now()
    row = MailOutbox(
        organization_id=state.organization_id,
        ticket_id=state.id,
        event_seq=state.last_seq,
        message_id=message_id,
        sender=formataddr(("ProofDesk", mailbox.address)),
        recipient=person.email,
        reply_to=None,
        subject=subject[:400],
        text=f"{subject}\n\n{footer}\n",
        html=text_to_html(subject, footer),
        in_reply_to=None,
        references="",
        automatic=True,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return Queued(row.id, message_id)


def do_set_notifications(session: Session, user: User, **choices: bool) -> MailNotificationPrefs:
    """Turn kinds of staff notification on or off for ``user`` (the caller checked who may)."""
    unknown = sorted(set(choices) - set(NOTICES))
    if unknown:
        raise InvalidInput(f"unknown notifications: {', '.join(unknown)}", field="notifications")
    prefs = session.get(MailNotificationPrefs, user.id)
    if prefs is None:
        prefs = MailNotificationPrefs(
            user_id=user.id, assigned=True, customer_replied=True, sla_warning=True
        )
        session.add(prefs)
    for kind, on in choices.items():
        setattr(prefs, kind, on)
    prefs.updated_at = utc_now()
    session.flush()
    return prefs


def due(session: Session, now: datetime, limit: int = 50) -> list[str]:
    """Ids of rows to try now (read without the lock; :func:`do_claim` re-checks)."""
    return list(
        session.scalars(
            select(MailOutbox.id)
            .where(
                MailOutbox.sent_at.is_(None),
                MailOutbox.failed_at.is_(None),
                MailOutbox.next_attempt_at <= now,
                or_(MailOutbox.claimed_until.is_(None), MailOutbox.claimed_until < now),
            )
            .order_by(MailOutbox.next_attempt_at, MailOutbox.id)
            .limit(limit)
        )
    )


def do_claim(
    session: Session, row_id: str, now: datetime, lease: timedelta = LEASE
) -> Outgoing | None:
    """Take a row for sending, under the writer lock; None if another sender has it or it is
    done. Counts the attempt."""
    taken = session.execute(
        update(MailOutbox)
        .where(
            MailOutbox.id == row_id,
            MailOutbox.sent_at.is_(None),
            MailOutbox.failed_at.is_(None),
            or_(MailOutbox.claimed_until.is_(None), MailOutbox.claimed_until < now),
        )
        .values(claimed_until=now + lease, attempts=MailOutbox.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = session.get(MailOutbox, row_id)
    assert row is not None
    session.refresh(row)
    return Outgoing(
        message_id=row.message_id,
        sender=row.sender,
        recipient=row.recipient,
        subject=row.subject,
        text=row.text,
        html=row.html,
        reply_to=row.reply_to,
        in_reply_to=row.in_reply_to,
        references=tuple(row.references.split()),
        automatic=row.automatic,
    )


def do_mark_sent(session: Session, row_id: str, now: datetime) -> bool:
    """Record the send once; the content is dropped (the event keeps the message)."""
    done = session.execute(
        update(MailOutbox)
        .where(MailOutbox.id == row_id, MailOutbox.sent_at.is_(None))
        .values(sent_at=now, claimed_until=None, last_error=None, text="", html="")
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def do_mark_failed(
    session: Session, row_id: str, now: datetime, error: str, *, permanent: bool = False
) -> None:
    """Try again after the backoff, or give up after :data:`MAX_ATTEMPTS` (or at once for a
    permanent refusal)."""
    row = session.get(MailOutbox, row_id)
    if row is None or row.sent_at is not None:
        return
    row.claimed_until = None
    row.last_error = error[:300]
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.failed_at = now
    else:
        row.next_attempt_at = now + backoff(row.attempts)
