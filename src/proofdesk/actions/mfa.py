"""Enrolling, re-keying and removing a staff member's second factor.

The TOTP and recovery-code rules themselves (steps, hashing, the QR code) are in
:mod:`proofdesk.identity.mfa`; what changes rows is here, like every other state change. A code
checked at log-in is spent by the log-in itself (:mod:`proofdesk.actions.sessions`).
"""

from __future__ import annotations

import base64
import secrets

import pyotp
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from proofdesk.actions.sessions import do_spend_second_factor
from proofdesk.canonical import utc_now
from proofdesk.errors import Conflict, InvalidInput
from proofdesk.identity.mfa import (
    RECOVERY_CODES,
    accepted_step,
    provisioning,
    recovery_hash,
    secret_context,
)
from proofdesk.ledger.keys import Keyring
from proofdesk.store.models import RecoveryCode, User
from proofdesk.store.models import Session as BrowserSession


def do_start_enrolment(
    user: User, keyring: Keyring, *, keep_pending: bool = False
) -> tuple[str, str, str]:
    """Offer a new secret (or, with ``keep_pending``, the one already offered and not yet
    confirmed: a set-up page reloaded after scanning must not change it); returns (base32
    secret, otpauth URI, QR code as SVG)."""
    if user.totp_secret is not None:
        raise Conflict("a second factor is enrolled already; disable it first", code="mfa_enrolled")
    if keep_pending and user.totp_pending is not None:
        secret = keyring.unwrap(secret_context(user), user.totp_pending).decode()
    else:
        secret = pyotp.random_base32(32)
        user.totp_pending = keyring.wrap(secret_context(user), secret.encode())
    uri, svg = provisioning(user, secret)
    return secret, uri, svg


def do_enable_mfa(session: Session, user: User, keyring: Keyring, code: str) -> list[str]:
    """Enable the offered secret once the user proves it with a code; every session of the
    user (the one that proved the factor among them) becomes a full one. Returns the recovery
    codes, shown once."""
    if user.totp_pending is None:
        raise InvalidInput("start the set-up first", code="mfa_not_started")
    secret = keyring.unwrap(secret_context(user), user.totp_pending).decode()
    step = accepted_step(secret, code, None, utc_now())
    if step is None:
        raise InvalidInput("that code is not the authenticator's current one", code="bad_mfa_code")
    user.totp_secret, user.totp_pending, user.totp_last_step = user.totp_pending, None, step
    codes = do_new_recovery_codes(session, user)
    session.execute(
        update(BrowserSession).where(BrowserSession.user_id == user.id).values(mfa_ok=True)
    )
    return codes


def do_new_recovery_codes(session: Session, user: User) -> list[str]:
    """Replace every recovery code of the user; returns the new ones, shown once."""
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    now = utc_now()
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(7)).decode().rstrip("=").lower()[:10]
        code = f"{raw[:5]}-{raw[5:]}"
        session.add(RecoveryCode(code_hash=recovery_hash(code), user_id=user.id, created_at=now))
        codes.append(code)
    return codes


def do_require_code(session: Session, user: User, keyring: Keyring, code: str) -> None:
    """Spend a current TOTP code, for changing the factor itself; else ``bad_mfa_code``."""
    if not do_spend_second_factor(session, user, keyring, code, None):
        raise InvalidInput("wrong or used authentication code", code="bad_mfa_code")


def do_disable_mfa(session: Session, user: User) -> None:
    user.totp_secret = user.totp_pending = user.totp_last_step = None
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
