"""Sign-in state: SIWE and signed-submission nonces, sign-in links, presence, the second
factor's recovery codes and known devices (see :mod:`proofdesk.identity`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.store.models.base import ID, TZ, Base


class SiweNonce(Base):
    """A Sign-In with Ethereum nonce: issued for one organization, used at most once."""

    __tablename__ = "siwe_nonces"
    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    created_at: Mapped[datetime] = mapped_column(TZ)
    expires_at: Mapped[datetime] = mapped_column(TZ, index=True)
    used_at: Mapped[datetime | None] = mapped_column(TZ)


class Presence(Base):
    """Who has a ticket open in the agent console now, and when they last typed
    (``proofdesk.app.presence``); short-lived rows, no history."""

    __tablename__ = "presence"
    ticket_id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    seen_at: Mapped[datetime] = mapped_column(TZ, index=True)
    typed_at: Mapped[datetime | None] = mapped_column(TZ)


class LoginLink(Base):
    """A sign-in link e-mailed to a customer: the SHA-256 of its token, used at most once."""

    __tablename__ = "login_links"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(TZ)
    expires_at: Mapped[datetime] = mapped_column(TZ, index=True)
    used_at: Mapped[datetime | None] = mapped_column(TZ)


class RecoveryCode(Base):
    """A one-time recovery code of a user's second factor (SHA-256 of it)."""

    __tablename__ = "recovery_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(TZ)
    used_at: Mapped[datetime | None] = mapped_column(TZ)


class KnownDevice(Base):
    """A browser a user logged in from (its device cookie's SHA-256). Log-ins from a known
    device skip the account lock, so that an attacker cannot lock the owner out."""

    __tablename__ = "known_devices"
    device_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    user_agent: Mapped[str] = mapped_column(String(300))
    first_seen_at: Mapped[datetime] = mapped_column(TZ)
    last_seen_at: Mapped[datetime] = mapped_column(TZ)


class SignedNonce(Base):
    """A (signer, nonce) of a signed submission already accepted: the same signature twice is
    a replay."""

    __tablename__ = "signed_nonces"
    signer: Mapped[str] = mapped_column(String(42), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(78), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(TZ)
