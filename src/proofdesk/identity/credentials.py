"""Credentials: argon2 passwords, browser sessions, scoped API tokens, and login rate limits.

Tokens are 32 random bytes, URL-safe; only their SHA-256 is stored, so a database leak does not
hand out working credentials. API tokens carry a readable prefix (``pdk_``) so that secret
scanners can recognise them.

Logging in, opening and closing sessions and issuing tokens write rows, and so are ``do_*``
actions in :mod:`proofdesk.actions.sessions`; this module holds what they and the request
handlers share: hashing, tokens, and resolving a session or token into an actor.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from proofdesk.access import Actor
from proofdesk.canonical import stored_utc, utc_now
from proofdesk.domain.roles import ALL_SCOPES, Role, Scope
from proofdesk.errors import InvalidInput, RateLimited, Unauthenticated
from proofdesk.store.models import ApiToken, Session, User

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


@dataclass(frozen=True, slots=True)
class SessionActor:
    actor: Actor
    csrf_token: str
    mfa_ok: bool
    #: The session's key, when its last-seen time is due for an update.
    touch: str | None = None


#: How stale a session's last-seen time may get before a request writes it again.
TOUCH_EVERY = timedelta(seconds=60)


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
