"""Logging in and out: the rows a password log-in, a browser session and an API token write.

The rules they apply live in :mod:`proofdesk.identity`: argon2 and token hashing in
``credentials``, TOTP steps, recovery-code hashes, locks and known devices in ``mfa``. What a
log-in changes (a failure counted, a code spent, a device remembered, a session opened) is here,
so that the API and the web pages share one log-in and neither writes rows itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session as DbSession

from proofdesk.canonical import utc_now
from proofdesk.domain.roles import Scope
from proofdesk.errors import Error, RateLimited, Unauthenticated
from proofdesk.identity.credentials import API_TOKEN_PREFIX, new_token, token_hash, verify_password
from proofdesk.identity.mfa import (
    FREE_FAILURES,
    MAX_LOCK,
    accepted_step,
    device_hash,
    is_known_device,
    locked_for,
    recovery_hash,
    requires_mfa,
    secret_context,
)
from proofdesk.ledger.keys import Keyring
from proofdesk.store.models import ApiToken, KnownDevice, Organization, RecoveryCode, Session, User


@dataclass(frozen=True)
class PasswordLogin:
    """The outcome of a log-in attempt. On failure ``error`` is set and the attempt has been
    counted on the account (commit the transaction, then raise it)."""

    user: User | None = None
    #: False: staff who must still enrol a second factor get an enrolment-only session.
    mfa_ok: bool = True
    new_device: bool = False
    error: Error | None = None


def do_check_password(
    session: DbSession,
    keyring: Keyring,
    organization_slug: str,
    email: str,
    password: str,
    *,
    totp_code: str | None,
    recovery_code: str | None,
    device_cookie: str,
    user_agent: str,
) -> PasswordLogin:
    """Password, then the second factor if the user has one; account locks after repeated
    failures except on a device the user logged in from before (``identity.mfa``)."""
    user = session.scalars(
        select(User)
        .join(Organization, Organization.id == User.organization_id)
        .where(Organization.slug == organization_slug, User.email == email.strip().lower())
    ).first()
    now = utc_now()
    if user is not None and not is_known_device(session, user, device_cookie):
        wait = locked_for(user, now)
        if wait:
            return PasswordLogin(
                error=RateLimited(
                    "too many failed log-ins on this account; try again later or from a "
                    "device you used before",
                    code="account_locked",
                    retry_after=wait,
                )
            )
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        if user is not None:
            do_record_login_failure(user, now)
        return PasswordLogin(
            error=Unauthenticated("wrong organization, e-mail or password", code="bad_credentials")
        )
    mfa_ok = True
    if user.totp_secret is not None:
        if not (totp_code or recovery_code):
            return PasswordLogin(
                error=Unauthenticated(
                    "enter the code from your authenticator app (or a recovery code)",
                    code="mfa_required",
                )
            )
        if not do_spend_second_factor(session, user, keyring, totp_code, recovery_code):
            do_record_login_failure(user, now)
            return PasswordLogin(
                error=Unauthenticated("wrong or used authentication code", code="bad_mfa_code")
            )
    elif requires_mfa(session, user):
        mfa_ok = False
    new_device = do_record_login_success(session, user, device_cookie, user_agent)
    return PasswordLogin(user=user, mfa_ok=mfa_ok, new_device=new_device)


def do_open_session(
    session: DbSession, user: User, ttl_seconds: int, *, mfa_ok: bool = True
) -> tuple[str, str]:
    """Create a browser session; returns (session token, CSRF token). Always a new token:
    a session id chosen before log-in never becomes a logged-in one (no fixation)."""
    token, csrf = new_token(), new_token()
    now = utc_now()
    session.add(
        Session(
            token_hash=token_hash(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
            last_seen_at=now,
            mfa_ok=mfa_ok,
        )
    )
    return token, csrf


def do_close_session(session: DbSession, token: str, user_id: str) -> None:
    """End the session of ``token`` (if it is ``user_id``'s)."""
    session.execute(
        delete(Session).where(Session.token_hash == token_hash(token), Session.user_id == user_id)
    )


def do_issue_api_token(
    session: DbSession,
    user: User,
    name: str,
    scopes: frozenset[Scope],
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Returns the row and the token, which is shown once and never stored."""
    token = API_TOKEN_PREFIX + new_token()
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=token_hash(token),
        prefix=token[:12],
        scopes=" ".join(sorted(s.value for s in scopes)),
        created_at=utc_now(),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row, token


def do_spend_second_factor(
    session: DbSession,
    user: User,
    keyring: Keyring,
    totp_code: str | None,
    recovery_code: str | None,
) -> bool:
    """Whether the code (TOTP, or else a recovery code) is right; spends what it uses."""
    now = utc_now()
    if totp_code and user.totp_secret is not None:
        secret = keyring.unwrap(secret_context(user), user.totp_secret).decode()
        step = accepted_step(secret, totp_code.strip(), user.totp_last_step, now)
        if step is not None:
            user.totp_last_step = step
            return True
    if recovery_code:
        row = session.get(RecoveryCode, recovery_hash(recovery_code))
        if row is not None and row.user_id == user.id and row.used_at is None:
            row.used_at = now
            return True
    return False


def do_record_login_failure(user: User, now: datetime) -> None:
    """Count a failed log-in; from the ``FREE_FAILURES``-th on the account is locked for
    2^(n-5) seconds, at most ``MAX_LOCK``."""
    user.failed_logins = (user.failed_logins or 0) + 1
    extra = user.failed_logins - FREE_FAILURES
    if extra >= 0:
        user.locked_until = now + min(timedelta(seconds=2**extra), MAX_LOCK)


def do_record_login_success(session: DbSession, user: User, cookie: str, user_agent: str) -> bool:
    """Reset the failure count and remember the device; True if the device is new."""
    user.failed_logins, user.locked_until = 0, None
    now = utc_now()
    digest = device_hash(cookie)
    assert digest is not None
    known = session.get(KnownDevice, (digest, user.id))
    if known is not None:
        known.last_seen_at = now
        return False
    session.add(
        KnownDevice(
            device_hash=digest,
            user_id=user.id,
            user_agent=user_agent[:300],
            first_seen_at=now,
            last_seen_at=now,
        )
    )
    return True
