"""Logging in and out with a password, the same for ``POST /api/v1/auth/login`` and the
``/login`` page: the rate limits, the password and second-factor check (``identity``), the
account lock, and the session both adapters then set as cookies (``app.cookies``).

The rate limits are keyed by the client's address, and by address, organization and e-mail
together, so that one attacker cannot lock a person out from everywhere.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete

from proofdesk.actions.sessions import do_check_password, do_close_session, do_open_session
from proofdesk.canonical import utc_now
from proofdesk.domain.roles import Role
from proofdesk.identity.credentials import RateLimiter, new_token
from proofdesk.store.db import Database
from proofdesk.store.models import Session as BrowserSession
from proofdesk.store.models import User

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """The two sliding windows every sign-in attempt counts against (see the module)."""

    by_address: RateLimiter
    by_account: RateLimiter

    def hit(self, address: str, organization: str, email: str) -> None:
        """Count one attempt; :class:`RateLimited` when either window is full."""
        self.by_address.hit(address)
        self.by_account.hit(f"{address}|{organization}|{email.strip().lower()}")


@dataclass(frozen=True, slots=True)
class PasswordAttempt:
    organization: str
    email: str
    password: str
    totp_code: str | None
    recovery_code: str | None
    #: The browser's device cookie, if it sent one (a new id is made otherwise).
    device: str | None
    user_agent: str
    address: str


@dataclass(frozen=True, slots=True)
class LoggedIn:
    user: User
    token: str
    csrf: str
    #: The device id to keep in the browser's device cookie.
    device: str
    #: False: staff who must still enrol a second factor got an enrolment-only session.
    mfa_ok: bool
    new_device: bool

    @property
    def is_staff(self) -> bool:
        return self.user.role != Role.CUSTOMER.value


def do_password_login(
    db: Database, limits: LoginLimits, ttl_seconds: int, attempt: PasswordAttempt
) -> LoggedIn:
    """Check the attempt and open a session. A failed attempt is counted on the account and
    committed before its error is raised, so the count holds even though the caller fails."""
    limits.hit(attempt.address, attempt.organization, attempt.email)
    keyring = db.keyring
    assert keyring is not None  # create_app sets it
    device = attempt.device or new_token()
    with db.writer() as session:
        outcome = do_check_password(
            session,
            keyring,
            attempt.organization,
            attempt.email,
            attempt.password,
            totp_code=attempt.totp_code,
            recovery_code=attempt.recovery_code,
            device_cookie=device,
            user_agent=attempt.user_agent,
        )
        opened = None
        if outcome.user is not None:
            opened = do_open_session(session, outcome.user, ttl_seconds, mfa_ok=outcome.mfa_ok)
    if outcome.error is not None or outcome.user is None or opened is None:
        assert outcome.error is not None
        raise outcome.error
    if outcome.new_device:
        log.info(
            "log-in from a new device: user %s from %s (%s)",
            outcome.user.id,
            attempt.address,
            attempt.user_agent[:120],
        )
    token, csrf = opened
    return LoggedIn(outcome.user, token, csrf, device, outcome.mfa_ok, outcome.new_device)


def do_log_out(db: Database, token: str, user_id: str) -> None:
    """End the session of ``token`` (if it is ``user_id``'s)."""
    with db.writer() as session:
        do_close_session(session, token, user_id)


def do_log_out_everywhere(db: Database, user_id: str) -> None:
    """End every session of ``user_id`` (API tokens stay: they are revoked one by one)."""
    with db.writer() as session:
        session.execute(delete(BrowserSession).where(BrowserSession.user_id == user_id))


def do_mark_used(db: Database, model: Any, key: str, column: str) -> None:
    """Record that a session or an API token was used now (callers do it at most about once a
    minute each, so that reads do not all become writes)."""
    with db.writer() as session:
        row = session.get(model, key)
        if row is not None:
            setattr(row, column, utc_now())
