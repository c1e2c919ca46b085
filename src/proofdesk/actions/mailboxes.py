"""An organization's support mailboxes: the address replies come from and, optionally, the
IMAP account polled for mail. The IMAP password and the key of the signed reply addresses are
wrapped under the data key (``Keyring``) and never shown again."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.access import Actor, require_admin
from proofdesk.canonical import utc_now
from proofdesk.errors import Conflict, InvalidInput
from proofdesk.ledger.keys import Keyring
from proofdesk.store.models import Mailbox

SECURITIES = ("ssl", "starttls", "plain")


@dataclass(frozen=True, slots=True)
class MailboxSpec:
    address: str
    imap_host: str | None = None
    imap_port: int = 993
    imap_security: str = "ssl"
    imap_user: str | None = None
    imap_password: str | None = None
    imap_folder: str = "INBOX"


def password_context(mailbox_id: str) -> str:
    return f"mailbox-imap:{mailbox_id}"


def imap_password(keyring: Keyring, mailbox: Mailbox) -> str | None:
    if mailbox.imap_password is None:
        return None
    return keyring.unwrap(password_context(mailbox.id), mailbox.imap_password).decode()


def do_create_mailbox(
    session: Session, actor: Actor, keyring: Keyring, spec: MailboxSpec
) -> Mailbox:
    require_admin(actor)
    try:
        address = validate_email(spec.address, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(f"not an e-mail address: {exc}", field="address") from None
    if "+" in address.split("@", 1)[0]:
        raise InvalidInput("a mailbox address has no +tag", field="address")
    if spec.imap_security not in SECURITIES:
        raise InvalidInput(f"security is one of {', '.join(SECURITIES)}", field="imap_security")
    if not 0 < spec.imap_port < 65536:
        raise InvalidInput("the IMAP port is 1-65535", field="imap_port")
    if session.scalars(select(Mailbox.id).where(Mailbox.address == address)).first():
        raise Conflict("this address is already a mailbox", code="mailbox_taken", field="address")
    row = Mailbox(
        organization_id=actor.organization_id,
        address=address,
        imap_host=(spec.imap_host or "").strip() or None,
        imap_port=spec.imap_port,
        imap_security=spec.imap_security,
        imap_user=spec.imap_user,
        imap_folder=spec.imap_folder or "INBOX",
        reply_key=b"",
        last_uid=0,
        is_active=True,
        created_at=utc_now(),
    )
    session.add(row)
    session.flush()
    row.reply_key = keyring.wrap(f"mailbox-reply:{row.id}", secrets.token_bytes(32))
    if spec.imap_password is not None:
        row.imap_password = keyring.wrap(password_context(row.id), spec.imap_password.encode())
    session.flush()
    return row


def do_record_poll(
    session: Session,
    mailbox_id: str,
    *,
    uid_validity: int | None,
    last_uid: int,
    error: str | None,
) -> None:
    """Remember where polling got to (the highest UID taken in, under its UIDVALIDITY)."""
    row = session.get(Mailbox, mailbox_id)
    if row is None:
        return
    if uid_validity is not None and row.uid_validity != uid_validity:
        row.uid_validity, row.last_uid = uid_validity, 0
    row.last_uid = max(row.last_uid, last_uid)
    row.polled_at = utc_now()
    row.last_error = error[:300] if error else None
