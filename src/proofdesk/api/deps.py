"""Request-scoped dependencies: the deployment's services and the authenticated actor."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request

from proofdesk.access import Actor
from proofdesk.actions.blobs import BlobStore
from proofdesk.canonical import utc_now
from proofdesk.errors import Forbidden, InvalidInput, Unauthenticated
from proofdesk.identity.credentials import (
    API_TOKEN_PREFIX,
    RateLimiter,
    actor_from_api_token,
    actor_from_session,
)
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import ApiToken
from proofdesk.store.models import Session as BrowserSession
from proofdesk.verify.note import Signer

if TYPE_CHECKING:
    from proofdesk.app.presence import Presence
    from proofdesk.assistant.conversation import Models
    from proofdesk.chain.base import Chain
    from proofdesk.workers.anchoring import AnchorLoop
    from proofdesk.workers.automation import Automator
    from proofdesk.workers.sla import SlaWorker

SESSION_COOKIE = "pd_session"
#: A long-lived random id of the browser: log-ins from a known one skip the account lock.
DEVICE_COOKIE = "pd_device"
CSRF_COOKIE = "pd_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(slots=True)
class Services:
    settings: Settings
    db: Database
    blobs: BlobStore
    login_limiter: RateLimiter
    login_limiter_by_address: RateLimiter
    signer: Signer
    anchoring: AnchorLoop
    automation: Automator
    sla: SlaWorker
    assistant: Models
    presence: Presence

    def chain(self) -> Chain:
        """The configured chain (opened on first use; :class:`ChainError` if unreachable)."""
        return self.anchoring.anchorer().chain

    def chain_or_none(self) -> Chain | None:
        """The chain for facts: None when it cannot be reached (chain facts are then unknown,
        and a decision says why)."""
        from proofdesk.chain.base import ChainError

        try:
            return self.chain()
        except ChainError:
            return None


# Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in
# the thread pool, and that round trip costs more than the work (``bench/api_load.py``).


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_services(request: Request) -> Services:
    return services_of(request)


async def reject_nul_characters(request: Request) -> None:
    """PostgreSQL text cannot hold U+0000 (SQLite can): refuse it in the path and the query
    string of every request, as bad input, instead of failing in the database. Request bodies
    are checked by ``schemas.Request``."""
    if "\x00" in request.scope["path"]:
        raise InvalidInput("the path must not contain NUL characters", field="path")
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise InvalidInput("query parameters must not contain NUL characters", field=name)


#: What a session that still has to enrol a second factor may reach.
ENROLMENT_PATHS = frozenset(
    {
        "/api/v1/auth/me",
        "/api/v1/auth/logout",
        "/api/v1/auth/logout/all",
        "/api/v1/auth/mfa/totp/setup",
        "/api/v1/auth/mfa/totp/enable",
    }
)


def typed_domain(services: Services) -> tuple[int, str]:
    """(chain id, anchor contract) of this deployment's EIP-712 domain."""
    from proofdesk.chain.base import ChainError

    anchorer = services.anchoring.anchorer()
    address = anchorer.contract_address()
    if address is None:
        raise ChainError(
            "signed submissions need the anchor contract: run `proofdesk chain deploy`",
            code="anchor_contract_missing",
        )
    return anchorer.chain.chain_id, address


def get_actor(request: Request) -> Actor:
    """Bearer token (API token or session token) or session cookie. Writes authenticated by
    cookie must carry the CSRF token in a header, which a cross-site form cannot set. A staff
    session without its required second factor reaches only the enrolment endpoints."""
    services = services_of(request)
    header = request.headers.get("authorization")
    idle = services.settings.session_idle_seconds
    used: str | None = None
    with services.db.reader() as session:
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("use `Authorization: Bearer <token>`", code="bad_token")
            token = token.strip()
            if token.startswith(API_TOKEN_PREFIX):
                actor, used = actor_from_api_token(session, token)
                found = None
            else:
                found = actor_from_session(session, token, idle)
        else:
            cookie = request.cookies.get(SESSION_COOKIE)
            if cookie is None:
                raise Unauthenticated("log in or send an API token")
            found = actor_from_session(session, cookie, idle)
            if request.method not in SAFE_METHODS:
                sent = request.headers.get(CSRF_HEADER, "")
                if not _equal(sent, found.csrf_token):
                    raise Forbidden("missing or wrong X-CSRF-Token header", code="csrf_failed")
    if found is None:
        if used is not None:
            touch(services, ApiToken, used, "last_used_at")
        return actor
    if not found.mfa_ok and request.scope["path"] not in ENROLMENT_PATHS:
        raise Forbidden(
            "enrol a second factor first (POST /api/v1/auth/mfa/totp/setup)",
            code="mfa_enrollment_required",
        )
    if found.touch is not None:
        touch(services, BrowserSession, found.touch, "last_seen_at")
    return found.actor


def touch(services: Services, model: Any, key: str, column: str) -> None:
    """Record that a session or token was used now (at most about once a minute each)."""
    with services.db.writer() as session:
        row = session.get(model, key)
        if row is not None:
            setattr(row, column, utc_now())


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


ServicesDep = Annotated[Services, Depends(get_services)]
ActorDep = Annotated[Actor, Depends(get_actor)]
