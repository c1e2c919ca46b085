"""The e-mail channel's tables: an organization's mailboxes, every mail taken in (keyed by
``Message-ID``, the one guard against importing a mail twice), the outbox of mail to send
(written in the transaction of the event it tells of), and addresses that bounce."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.store.models.base import ID, TZ, Base, new_id


class Mailbox(Base):
    """A support address of an organization, optionally polled over IMAP."""

    __tablename__ = "mailboxes"
    __table_args__ = (UniqueConstraint("address", name="uq_mailboxes_address"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    #: The support address customers write to (``support@acme.example``), lower case.
    address: Mapped[str] = mapped_column(String(254))
    imap_host: Mapped[str | None] = mapped_column(String(253))
    imap_port: Mapped[int] = mapped_column(Integer, default=993)
    #: ``ssl`` (IMAPS), ``starttls`` or ``plain`` (loopback only).
    imap_security: Mapped[str] = mapped_column(String(10), default="ssl")
    imap_user: Mapped[str | None] = mapped_column(String(254))
    #: The IMAP password wrapped under the data key (``Keyring.wrap``), never stored plain.
    imap_password: Mapped[bytes | None] = mapped_column(LargeBinary)
    imap_folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    #: The key of the signed reply addresses (``support+<number>.<hmac>@…``), wrapped.
    reply_key: Mapped[bytes] = mapped_column(LargeBinary)
    uid_validity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(TZ)
    polled_at: Mapped[datetime | None] = mapped_column(TZ)
    last_error: Mapped[str | None] = mapped_column(String(300))


class MailImport(Base):
    """One mail taken in, whatever became of it: ``outcome`` is ``ticket`` (a new ticket),
    ``reply`` (a message on a ticket), ``loop`` (an automatic mail: logged, not answered),
    ``bounce`` (a delivery report), ``quarantined`` (refused, with ``reason``)."""

    __tablename__ = "mail_imports"
    __table_args__ = (
        UniqueConstraint("organization_id", "message_id", name="uq_mail_imports_org_message"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    mailbox_id: Mapped[str | None] = mapped_column(ID)
    message_id: Mapped[str] = mapped_column(String(300))
    sender: Mapped[str | None] = mapped_column(String(254))
    ticket_id: Mapped[str | None] = mapped_column(ID, index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    #: How the sender's domain authenticated (``pass``/``fail``/``none``), from
    #: ``Authentication-Results``.
    trust: Mapped[str | None] = mapped_column(String(10))
    received_at: Mapped[datetime] = mapped_column(TZ)


class MailOutbox(Base):
    """A mail to send. Written in the same transaction as the event it tells of, so a rolled
    back change sends nothing; ``sent_at`` is set once, by the sender that claimed the row."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        UniqueConstraint("message_id", name="uq_mail_outbox_message_id"),
        Index("ix_mail_outbox_due", "sent_at", "next_attempt_at"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    ticket_id: Mapped[str | None] = mapped_column(ID, index=True)
    #: The event this mail tells of (None for a notification of no event).
    event_seq: Mapped[int | None] = mapped_column(BigInteger)
    #: Our ``Message-ID`` (without angle brackets): replies name it in ``In-Reply-To``.
    message_id: Mapped[str] = mapped_column(String(300))
    sender: Mapped[str] = mapped_column(String(300))
    recipient: Mapped[str] = mapped_column(String(254))
    reply_to: Mapped[str | None] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(400))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(String(300))
    references: Mapped[str] = mapped_column(Text, default="")
    #: Automatic mail (the assistant, notifications) carries ``Auto-Submitted: auto-replied``.
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(TZ)
    #: When the sender took the row: another sender leaves it alone until the lease ends.
    claimed_until: Mapped[datetime | None] = mapped_column(TZ)
    sent_at: Mapped[datetime | None] = mapped_column(TZ)
    failed_at: Mapped[datetime | None] = mapped_column(TZ)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(TZ)


class MailAddressState(Base):
    """An address mail to which bounced: replies to it are held, and agents are told."""

    __tablename__ = "mail_address_states"
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    address: Mapped[str] = mapped_column(String(254), primary_key=True)
    failing: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(TZ)


class MailNotificationPrefs(Base):
    """Which e-mail notifications a staff member wants; no row: all of them."""

    __tablename__ = "mail_notification_prefs"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    assigned: Mapped[bool] = mapped_column(Boolean, default=True)
    customer_replied: Mapped[bool] = mapped_column(Boolean, default=True)
    sla_warning: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(TZ)
