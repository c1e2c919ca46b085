"""Credentials: argon2 passwords, browser sessions, scoped API tokens, and login rate limits.

Tokens are 32 random bytes, URL-safe; only their SHA-256 is stored, so a database leak does not
hand out working credentials. API tokens carry a readable prefix (``pdk_``) so that secret
scanners can recognise them.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session as DbSession

from proofdesk.access import Actor
from proofdesk.canonical import stored_utc, utc_now
from proofdesk.domain.roles import ALL_SCOPES, Role, Scope
from proofdesk.errors import Error, InvalidInput, RateLimited, Unauthenticated
from proofdesk.identity import mfa
from proofdesk.ledger.keys import Keyring
from proofdesk.store.models import ApiToken, Organization, Session, User

API_TOKEN_PREFIX = "pdk_"  # noqa: S105 - a public prefix, not a secret
MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# A hash to verify against when the e-mail is unknown, so that timing does not reveal which
# accounts exist.
_DUMMY_HASH = _hasher.hash("proofdesk-timing-equaliser")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class PasswordLogin:
    """The outcome of a log-in attempt. On failure ``error`` is set and the attempt has been
    counted on the account (commit the transaction, then raise it)."""

    user: User | None = None
    #: False: staff who must still enrol a second factor get an enrolment-only session.
    mfa_ok: bool = True
    new_device: bool = False
    error: Error | None = None


def password_login(
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
    if user is not None and not mfa.is_known_device(session, user, device_cookie):
        wait = mfa.locked_for(user, now)
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
            mfa.record_failure(user, now)
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
        if not mfa.check_second_factor(session, user, keyring, totp_code, recovery_code):
            mfa.record_failure(user, now)
            return PasswordLogin(
                error=Unauthenticated("wrong or used authentication code", code="bad_mfa_code")
            )
    elif mfa.requires_mfa(session, user):
        mfa_ok = False
    new_device = mfa.record_success(session, user, device_cookie, user_agent)
    return PasswordLogin(user=user, mfa_ok=mfa_ok, new_device=new_device)


def open_session(
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


@dataclass(frozen=True, slots=True)
class SessionActor:
    actor: Actor
    csrf_token: str
    mfa_ok: bool
    #: The session's key, when its last-seen time is due for an update.
    touch: str | None = None


#: How stale a session's last-seen time may get before a request writes it again.
TOUCH_EVERY = timedelta(seconds=60)


def close_session(session: DbSession, token: str, user_id: str) -> None:
    """End the session of ``token`` (if it is ``user_id``'s)."""
    session.execute(
        delete(Session).where(Session.token_hash == token_hash(token), Session.user_id == user_id)
    )


def actor_from_session(session: DbSession, token: str, idle_seconds: int) -> SessionActor:
    key = token_hash(token)
    row = session.get(Session, key)
    now = utc_now()
    if row is None or stored_utc(row.expires_at) <= now:
        raise Unauthenticated("session expired or unknown; log in again", code="bad_session")
    seen = stored_utc(row.last_seen_at or row.created_at)
    if seen + timedelta(seconds=idle_seconds) <= now:
        raise Unauthenticated("session idle for too long; log in again", code="bad_session")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("account disabled", code="bad_session")
    return SessionActor(
        Actor(user.id, user.organization_id, Role(user.role)),
        row.csrf_token,
        row.mfa_ok,
        key if seen + TOUCH_EVERY <= now else None,
    )


def create_api_token(
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


def actor_from_api_token(session: DbSession, token: str) -> tuple[Actor, str | None]:
    """The token's actor, and the token's id when its last-used time is due for an update."""
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash(token))).first()
    now = utc_now()
    if (
        row is None
        or row.revoked_at is not None
        or (row.expires_at is not None and stored_utc(row.expires_at) <= now)
    ):
        raise Unauthenticated("API token unknown, revoked or expired", code="bad_token")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("account disabled", code="bad_token")
    scopes = frozenset(Scope(s) for s in row.scopes.split()) & ALL_SCOPES
    if user.role != Role.ADMIN.value:  # a token outlives its owner's demotion, not its powers
        scopes -= {Scope.ADMIN}
    due = row.last_used_at is None or stored_utc(row.last_used_at) + TOUCH_EVERY <= now
    return Actor(user.id, user.organization_id, Role(user.role), scopes), row.id if due else None


class RateLimiter:
    """Sliding-window limit of attempts per key (e.g. client address and e-mail) in this process.

    One process is the embedded default; a scaled-out deployment puts its API behind a proxy
    that limits too. The limiter is keyed so that one attacker cannot lock a user out from
    everywhere: the key includes the client address.
    """

    def __init__(self, limit: int, window_seconds: float = 60.0) -> None:
        self.limit = limit
        self.window = window_seconds
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                retry = int(hits[0] + self.window - now) + 1
                raise RateLimited("too many attempts; try again later", retry_after=retry)
            hits.append(now)
            if len(self._hits) > 100_000:  # bound memory under a spray of keys
                self._hits = {
                    k: v for k, v in self._hits.items() if v and v[-1] > now - self.window
                }
