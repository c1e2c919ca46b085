"""Cross-organization transfers: the agreements with partner organizations, each ticket that
crossed (on the side that sent it and on the side that received it), and the outbox of signed
status updates between the two (``docs/consortium.md``)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.store.models.base import ID, TIME_TEXT, Base, new_id

KEY = String(100)  # ed25519:<base64 of 32 bytes>


class TransferAgreement(Base):
    """An organization's agreement with a partner organization, here or on another
    deployment: where it is (``peer_url``, its API base), which organization, and its public
    key (None until it is set: an agreement without a key sends and accepts nothing)."""

    __tablename__ = "transfer_agreements"
    __table_args__ = (
        UniqueConstraint("organization_id", "peer_organization", name="uq_transfer_agreements"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    peer_url: Mapped[str] = mapped_column(String(2000))
    peer_organization: Mapped[str] = mapped_column(String(100))
    peer_key: Mapped[str | None] = mapped_column(KEY)
    created_at: Mapped[str] = mapped_column(TIME_TEXT)
    ended_at: Mapped[str | None] = mapped_column(TIME_TEXT)


class Transfer(Base):
    """One ticket's crossing, as one side sees it: ``direction`` is ``sent`` (our ticket went
    to the partner, ``peer_ticket_id`` is theirs) or ``received`` (our ticket came from the
    partner). The same ``transfer_id`` names it on both sides."""

    __tablename__ = "transfers"
    __table_args__ = (
        UniqueConstraint("organization_id", "transfer_id", "direction", name="uq_transfers"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transfer_id: Mapped[str] = mapped_column(ID)
    organization_id: Mapped[str] = mapped_column(ID)
    agreement_id: Mapped[str] = mapped_column(ID)
    direction: Mapped[str] = mapped_column(String(16))
    #: ``consented`` (sender, nothing sent yet), ``sent`` (acknowledged), ``received``.
    status: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[str] = mapped_column(ID, index=True)
    peer_ticket_id: Mapped[str | None] = mapped_column(ID)
    fields: Mapped[str] = mapped_column(Text)  # the shared fields, a sorted JSON list
    bundle_hash: Mapped[str | None] = mapped_column(String(64))
    acknowledgement: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(TIME_TEXT)
    updated_at: Mapped[str] = mapped_column(TIME_TEXT)


class TransferUpdate(Base):
    """A signed status update of a transfer: ``out`` is ours, waiting for (or done with) its
    delivery to the partner; ``in`` is the partner's, taken once (``update_id`` is unique per
    organization and direction, so a redelivery changes nothing)."""

    __tablename__ = "transfer_updates"
    __table_args__ = (
        UniqueConstraint("organization_id", "update_id", "direction", name="uq_transfer_updates"),
        Index("ix_transfer_updates_due", "direction", "delivered_at", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    update_id: Mapped[str] = mapped_column(ID)
    organization_id: Mapped[str] = mapped_column(ID)
    transfer_id: Mapped[str] = mapped_column(ID)
    direction: Mapped[str] = mapped_column(String(8))
    envelope: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[str] = mapped_column(TIME_TEXT)
    delivered_at: Mapped[str | None] = mapped_column(TIME_TEXT)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(TIME_TEXT)
