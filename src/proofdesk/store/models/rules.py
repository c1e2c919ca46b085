"""Service contracts, the payouts their decisions make and the automation's cursors (see
:mod:`proofdesk.rules` and :mod:`proofdesk.workers.automation`)."""

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

from proofdesk.store.models.base import ID, TIME_TEXT, TZ, Base


class ServiceContract(Base):
    """A contract an organization published, found by its content hash. At most one version
    of a name is active."""

    __tablename__ = "service_contracts"
    __table_args__ = (
        UniqueConstraint("organization_id", "name", "version", name="uq_service_contracts_version"),
        UniqueConstraint("organization_id", "contract_hash", name="uq_service_contracts_hash"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_hash: Mapped[str] = mapped_column(String(71))
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)  # canonical JSON
    source: Mapped[str] = mapped_column(Text)  # the YAML as published
    published_at: Mapped[datetime] = mapped_column(TZ)
    published_by: Mapped[str] = mapped_column(ID)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    activated_at: Mapped[datetime | None] = mapped_column(TZ)
    #: The ``contract.activated`` event (log entry) of its latest activation.
    activated_seq: Mapped[int | None] = mapped_column(BigInteger)


# --- automation and payouts (see proofdesk.workers.automation) ----------------------------------------


class Payout(Base):
    """Money a decision moves: a refund or warranty payout from the escrow contract (``escrow``)
    or reward tokens (``reward``). An outbox row, like :class:`Anchor`: the signed transaction
    is stored before it is broadcast, and ``claim_id`` (unique here, and paid at most once by
    the contract) makes the payment happen once whatever fails.

    ``status``: ``held`` (above a limit or missing something: a person approves), ``queued``,
    ``sent``, ``mined``, ``confirmed``, ``failed`` (will be retried by a person), ``rejected``.
    """

    __tablename__ = "payouts"
    __table_args__ = (
        Index("ix_payouts_status", "status"),
        Index("ix_payouts_ticket", "ticket_id"),
        Index("ix_payouts_customer", "customer_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    ticket_id: Mapped[str] = mapped_column(ID)
    decision_seq: Mapped[int] = mapped_column(BigInteger)
    claim_id: Mapped[str] = mapped_column(String(66), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str] = mapped_column(ID)
    recipient: Mapped[str | None] = mapped_column(String(42))
    amount: Mapped[str] = mapped_column(String(80))  # decimal text, in whole coins/tokens
    amount_units: Mapped[str] = mapped_column(String(80))  # integer text, in wei
    status: Mapped[str] = mapped_column(String(16))
    hold_reason: Mapped[str | None] = mapped_column(Text)
    approved_by: Mapped[str | None] = mapped_column(ID)
    chain_id: Mapped[int | None] = mapped_column(BigInteger)
    contract: Mapped[str | None] = mapped_column(String(42))
    merchant: Mapped[str | None] = mapped_column(String(42))
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    raw_tx: Mapped[bytes | None] = mapped_column(LargeBinary)
    sender: Mapped[str | None] = mapped_column(String(42))
    nonce: Mapped[int | None] = mapped_column(BigInteger)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    block_time: Mapped[str | None] = mapped_column(TIME_TEXT)
    gas_used: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    #: The confirmed payment is in the ticket's timeline (a ``payout.changed`` event).
    recorded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[str] = mapped_column(TIME_TEXT)
    updated_at: Mapped[str] = mapped_column(TIME_TEXT)


class Cursor(Base):
    """How far a consumer of the event stream got: the last ``seq`` it handled."""

    __tablename__ = "cursors"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
