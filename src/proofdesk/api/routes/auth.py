"""Log-in, log-out, the current user, and API tokens."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from proofdesk.actions import siwe
from proofdesk.actions.accounts import do_create_api_token, do_revoke_api_token
from proofdesk.api.deps import CSRF_COOKIE, SESSION_COOKIE, ActorDep, Services, ServicesDep
from proofdesk.api.schemas import (
    LoginIn,
    LoginOut,
    NewTokenOut,
    SiweIn,
    SiweNonceIn,
    SiweNonceOut,
    TokenIn,
    TokenOut,
    UserOut,
    WalletOut,
)
from proofdesk.auth import authenticate_password, open_session, token_hash
from proofdesk.chain.base import Chain
from proofdesk.store.models import ApiToken, User
from proofdesk.store.models import Session as BrowserSession

router = APIRouter(prefix="/auth", tags=["auth"])


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/login",
    response_model=LoginOut,
    summary="Log in with e-mail and password",
    responses={401: {"description": "bad credentials"}, 429: {"description": "rate limited"}},
)
def login(body: LoginIn, request: Request, response: Response, services: ServicesDep) -> LoginOut:
    address = _client(request)
    services.login_limiter_by_address.hit(address)
    services.login_limiter.hit(f"{address}|{body.organization}|{body.email.strip().lower()}")
    with services.db.writer() as session:
        user = authenticate_password(session, body.organization, body.email, body.password)
        return _start_session(session, services, response, user)


def _start_session(
    session: Session, services: Services, response: Response, user: User
) -> LoginOut:
    """Open a session for ``user`` and set its HttpOnly cookie and the CSRF cookie."""
    ttl = services.settings.session_ttl_seconds
    token, csrf = open_session(session, user, ttl)
    out = LoginOut(token=token, csrf_token=csrf, expires_in=ttl, user=UserOut.of(user))
    secure = services.settings.cookie_secure
    response.set_cookie(
        SESSION_COOKIE, token, max_age=ttl, httponly=True, samesite="lax", secure=secure, path="/"
    )
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=ttl, httponly=False, samesite="lax", secure=secure, path="/"
    )
    return out


def _chain_of(services: Services) -> Callable[[], Chain | None]:
    """The configured chain, opened only when a contract wallet's signature must be asked."""
    return lambda: services.anchoring.anchorer().chain


@router.post(
    "/siwe/nonce",
    response_model=SiweNonceOut,
    summary="Start Sign-In with Ethereum: a single-use nonce and the message's fields",
)
def siwe_nonce(body: SiweNonceIn, request: Request, services: ServicesDep) -> SiweNonceOut:
    services.login_limiter_by_address.hit(_client(request))
    settings = services.settings
    with services.db.writer() as session:
        row = siwe.issue_nonce(session, body.organization, settings.siwe_nonce_ttl_seconds)
    scheme, domain = siwe.expected_origin(settings)
    return SiweNonceOut(
        nonce=row.nonce,
        expires_at=row.expires_at,
        domain=domain,
        uri=f"{scheme}://{domain}/",
        chain_ids=list(settings.siwe_chain_ids),
        statement=siwe.STATEMENT,
    )


@router.post(
    "/siwe/verify",
    response_model=LoginOut,
    summary="Sign in with a signed EIP-4361 message (creates the customer on first use)",
    responses={401: {"description": "the message or signature is refused; `code` says why"}},
)
def siwe_verify(
    body: SiweIn, request: Request, response: Response, services: ServicesDep
) -> LoginOut:
    services.login_limiter_by_address.hit(_client(request))
    checked = siwe.check(services.settings, body.message, body.signature, _chain_of(services))
    with services.db.writer() as session:
        user = siwe.sign_in(session, siwe.consume(session, checked))
        return _start_session(session, services, response, user)


@router.post(
    "/siwe/link",
    status_code=201,
    response_model=WalletOut,
    summary="Link another wallet to the signed-in customer, proven by its signature",
)
def siwe_link(body: SiweIn, services: ServicesDep, actor: ActorDep) -> WalletOut:
    checked = siwe.check(services.settings, body.message, body.signature, _chain_of(services))
    with services.db.writer() as session:
        return WalletOut.of(siwe.link(session, actor, siwe.consume(session, checked)))


@router.post("/logout", status_code=204, summary="End the current session")
def logout(request: Request, response: Response, services: ServicesDep, actor: ActorDep) -> None:
    header = request.headers.get("authorization", "")
    token = header.partition(" ")[2].strip() or request.cookies.get(SESSION_COOKIE, "")
    with services.db.writer() as session:
        session.execute(
            delete(BrowserSession).where(
                BrowserSession.token_hash == token_hash(token),
                BrowserSession.user_id == actor.user_id,
            )
        )
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.get("/me", response_model=UserOut)
def me(services: ServicesDep, actor: ActorDep) -> UserOut:
    with services.db.reader() as session:
        user = session.get(User, actor.user_id)
        assert user is not None  # the actor was resolved from this row
        return UserOut.of(user)


@router.post(
    "/tokens",
    status_code=201,
    response_model=NewTokenOut,
    summary="Create a scoped API token (shown once)",
)
def create_token(
    body: TokenIn, request: Request, services: ServicesDep, actor: ActorDep
) -> NewTokenOut:
    services.login_limiter_by_address.hit(_client(request))
    with services.db.writer() as session:
        row, token = do_create_api_token(
            session, actor, body.name, frozenset(body.scopes), body.expires_at
        )
        return NewTokenOut(token=token, **TokenOut.of(row).model_dump())


@router.get("/tokens", response_model=list[TokenOut], summary="Your API tokens")
def list_tokens(services: ServicesDep, actor: ActorDep) -> list[TokenOut]:
    with services.db.reader() as session:
        rows = session.scalars(
            select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.created_at)
        ).all()
        return [TokenOut.of(r) for r in rows]


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke an API token")
def revoke_token(token_id: str, services: ServicesDep, actor: ActorDep) -> None:
    with services.db.writer() as session:
        do_revoke_api_token(session, actor, token_id)
