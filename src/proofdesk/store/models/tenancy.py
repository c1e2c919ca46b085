"""Organizations, their people, wallets, orders and teams."""

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


class Organization(Base):
    __tablename__ = "organizations"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZ)
    #: Admins and supervisors always need a second factor; agents when this is set.
    require_mfa_for_agents: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The account whose bond in the WarrantyEscrow contract pays this organization's claims.
    merchant_address: Mapped[str | None] = mapped_column(String(42))
    #: The HMAC key of signed order webhooks, wrapped under the data key.
    webhook_secret: Mapped[bytes | None] = mapped_column(LargeBinary)


class User(Base):
    """Everyone who can act: customers and staff. ``role`` is one of ``domain.roles.Role``."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("organization_id", "email", name="uq_users_org_email"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    tier: Mapped[str | None] = mapped_column(String(32))
    #: The name customers see on a staff member's replies (``domain.people.alias``): this, or
    #: else the first word of ``display_name``.
    agent_alias: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(TZ)
    #: The TOTP secret, wrapped under the data key; set once enrolment is confirmed.
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: A secret offered by ``/auth/mfa/totp/setup``, not yet confirmed by a code.
    totp_pending: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(TZ)


class Wallet(Base):
    """A wallet address linked to a customer (CAIP-2 style namespace, EVM for now)."""

    __tablename__ = "wallets"
    __table_args__ = (
        UniqueConstraint("organization_id", "address", name="uq_wallets_org_address"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    namespace: Mapped[str] = mapped_column(String(16), default="eip155")
    address: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TZ)
    #: When the customer proved control by a signature; payouts go to such wallets only.
    verified_at: Mapped[datetime | None] = mapped_column(TZ)


class Order(Base):
    """A purchase or a withdrawal that a shop or exchange synced (API or signed webhook); the
    source of ``order.*`` and ``withdrawal.*`` facts of service contracts."""

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("organization_id", "external_id", name="uq_orders_org_ext"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[str] = mapped_column(String(80))  # decimal string, never a float
    currency: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(TZ)
    #: ``purchase`` or ``withdrawal``.
    kind: Mapped[str] = mapped_column(String(16), default="purchase")
    paid_at: Mapped[datetime | None] = mapped_column(TZ)
    delivered_at: Mapped[datetime | None] = mapped_column(TZ)
    #: The chain and transaction that paid the order (or carried the withdrawal).
    chain_id: Mapped[int | None] = mapped_column(BigInteger)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    updated_at: Mapped[datetime | None] = mapped_column(TZ)
    #: Who says so: ``staff`` (typed in by an agent), ``api`` (an admin's integration token) or
    #: ``webhook`` (signed by the shop). Contracts take only synced orders as facts.
    source: Mapped[str] = mapped_column(String(16), default="staff")


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("organization_id", "name", name="uq_teams_org_name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TZ)


class TeamMember(Base):
    __tablename__ = "team_members"
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)


class CustomerNote(Base):
    """What staff wrote about a customer (not about one ticket): seen by staff only, erased
    with the customer. Its writing is an organization event of the log (``customer.noted``)
    that carries the note's id, not its text."""

    __tablename__ = "customer_notes"
    __table_args__ = (Index("ix_customer_notes_customer", "customer_id", "created_at"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ)
    #: The ``customer.noted`` event that logged it.
    seq: Mapped[int] = mapped_column(BigInteger)
