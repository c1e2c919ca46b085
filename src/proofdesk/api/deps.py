"""Request-scoped dependencies: the deployment's services and the authenticated actor."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Request

from proofdesk.access import Actor, require_scope
from proofdesk.actions.login import do_mark_used
from proofdesk.app.cookies import CSRF_HEADER, SESSION_COOKIE
from proofdesk.app.services import Services, services_of
from proofdesk.domain.roles import Scope
from proofdesk.errors import Forbidden, Unauthenticated
from proofdesk.identity.credentials import (
    API_TOKEN_PREFIX,
    actor_from_api_token,
    actor_from_session,
)
from proofdesk.store.models import ApiToken
from proofdesk.store.models import Session as BrowserSession

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in
# the thread pool, and that round trip costs more than the work (``bench/api_load.py``).


async def get_services(request: Request) -> Services:
    return services_of(request)


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
    from proofdesk.chain.base import ChainError  # keeps web3 out of start-up, no cycle

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
            do_mark_used(services.db, ApiToken, used, "last_used_at")
        return actor
    if not found.mfa_ok and request.scope["path"] not in ENROLMENT_PATHS:
        raise Forbidden(
            "enrol a second factor first (POST /api/v1/auth/mfa/totp/setup)",
            code="mfa_enrollment_required",
        )
    if found.touch is not None:
        do_mark_used(services.db, BrowserSession, found.touch, "last_seen_at")
    return found.actor


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


ServicesDep = Annotated[Services, Depends(get_services)]
ActorDep = Annotated[Actor, Depends(get_actor)]


def scoped(scope: Scope) -> Any:
    """The actor, once its credential is known to carry ``scope`` (403 ``missing_scope``
    otherwise). An operation declares the scope it needs in its signature, so the check runs
    before its body is read or any row loaded, and ``tests/api/test_scope_matrix.py`` checks
    every operation against one table. (An operation whose scope depends on its input calls
    ``access.require_scope`` itself.)"""

    async def dependency(actor: ActorDep) -> Actor:
        require_scope(actor, scope)
        return actor

    return Depends(dependency)


TicketsReader = Annotated[Actor, scoped(Scope.TICKETS_READ)]
TicketsWriter = Annotated[Actor, scoped(Scope.TICKETS_WRITE)]
CustomersReader = Annotated[Actor, scoped(Scope.CUSTOMERS_READ)]
CustomersWriter = Annotated[Actor, scoped(Scope.CUSTOMERS_WRITE)]
AdminScoped = Annotated[Actor, scoped(Scope.ADMIN)]
#: The owner's own credentials (second factor, sessions, tokens, wallet, e-mail).
AccountHolder = Annotated[Actor, scoped(Scope.ACCOUNT)]


def optional_actor(request: Request) -> Actor | None:
    """The actor when the request carries a credential, None for a stranger: public reads
    (the community) show a signed-in reader a little more (their own held posts; to staff,
    the moderation state)."""
    if request.headers.get("authorization") is None and SESSION_COOKIE not in request.cookies:
        return None
    return get_actor(request)


MaybeActor = Annotated[Actor | None, Depends(optional_actor)]
