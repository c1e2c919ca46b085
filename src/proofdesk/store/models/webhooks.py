"""Outbound webhooks: the endpoints an organization subscribes, the outbox of deliveries
(one row per endpoint and event, written in the event's transaction) and each attempt's log
(``docs/webhooks.md``)."""

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


class WebhookEndpoint(Base):
    """A URL an organization's admin subscribed to some webhook types."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    #: The webhook types (``domain.webhooks.WEBHOOK_TYPES``), as a sorted JSON list.
    event_types: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Why it was disabled when it was not by a person: ``gone`` (the receiver answered 410).
    disabled_reason: Mapped[str | None] = mapped_column(String(32))
    #: The ``whsec_`` secret, wrapped under the data key (``Keyring.wrap``).
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    #: The secret before the last rotation, still signing until ``previous_expires_at``.
    previous_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_expires_at: Mapped[datetime | None] = mapped_column(TZ)
    created_by: Mapped[str | None] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ)


class WebhookDelivery(Base):
    """The outbox: one event to deliver to one endpoint, and where its delivery stands."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_seq", name="uq_webhook_deliveries_endpoint_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    organization_id: Mapped[str] = mapped_column(ID)
    #: The event's sequence number (its log index): the ``webhook-id``.
    event_seq: Mapped[int] = mapped_column(BigInteger, index=True)
    webhook_type: Mapped[str] = mapped_column(String(40))
    #: ``pending``, ``delivered`` or ``failed``.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    #: Attempts made since the row was created or last redelivered.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(TZ)
    #: The worker that claimed the row, and until when its claim holds.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(TZ)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ)


class WebhookAttempt(Base):
    """One request sent for a delivery, and what came back."""

    __tablename__ = "webhook_attempts"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(TZ)
    #: The worker that sent it (host:pid:random), for the operator.
    worker: Mapped[str] = mapped_column(String(64), default="")
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer)
    #: The first bytes of the answer, as text, for the admin's delivery log.
    response_excerpt: Mapped[str] = mapped_column(String(1000), default="")
