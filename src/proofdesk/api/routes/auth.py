"""Log-in, log-out, the current user, and API tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.access import Actor
from proofdesk.actions import siwe
from proofdesk.actions.accounts import do_create_api_token, do_revoke_api_token
from proofdesk.actions.login import (
    PasswordAttempt,
    do_log_out,
    do_log_out_everywhere,
    do_password_login,
)
from proofdesk.actions.mfa import (
    do_disable_mfa,
    do_enable_mfa,
    do_new_recovery_codes,
    do_require_code,
    do_start_enrolment,
)
from proofdesk.actions.profile import do_link_email
from proofdesk.actions.sessions import do_open_session
from proofdesk.api.deps import AccountHolder, ActorDep, ServicesDep, typed_domain
from proofdesk.api.schemas.auth import (
    EmailIn,
    LoginIn,
    LoginOut,
    NewTokenOut,
    RecoveryCodesOut,
    SiweIn,
    SiweNonceIn,
    SiweNonceOut,
    TokenIn,
    TokenOut,
    TotpCodeIn,
    TotpSetupOut,
)
from proofdesk.api.schemas.common import UserOut, WalletOut
from proofdesk.app.cookies import (
    DEVICE_COOKIE,
    SESSION_COOKIE,
    clear_session_cookies,
    set_device_cookie,
    set_session_cookies,
)
from proofdesk.app.guards import client_address
from proofdesk.app.limits import Kind, per_address
from proofdesk.app.services import Services, services_of
from proofdesk.chain.base import Chain
from proofdesk.errors import Forbidden, NotFound
from proofdesk.identity import mfa, typed
from proofdesk.ledger.keys import Keyring
from proofdesk.store.models import ApiToken, User

router = APIRouter(prefix="/auth", tags=["auth"])


def _client(request: Request) -> str:
    return client_address(request, services_of(request).settings.trusted_proxies)


@router.post(
    "/login",
    response_model=LoginOut,
    summary="Log in with e-mail and password",
    responses={401: {"description": "bad credentials"}, 429: {"description": "rate limited"}},
)
def login(body: LoginIn, request: Request, response: Response, services: ServicesDep) -> LoginOut:
    attempt = PasswordAttempt(
        organization=body.organization,
        email=body.email,
        password=body.password,
        totp_code=body.totp_code,
        recovery_code=body.recovery_code,
        device=request.cookies.get(DEVICE_COOKIE),
        user_agent=request.headers.get("user-agent", ""),
        address=_client(request),
    )
    ttl = services.settings.session_ttl_seconds
    done = do_password_login(services.db, services.login_limits(), ttl, attempt)
    set_session_cookies(response, services.settings, done.token, done.csrf)
    set_device_cookie(response, services.settings, done.device, "/api/v1/auth")
    return LoginOut(
        token=done.token,
        csrf_token=done.csrf,
        expires_in=ttl,
        user=UserOut.of(done.user),
        mfa_enrollment_required=not done.mfa_ok,
        new_device=done.new_device,
    )


def _start_session(
    session: Session, services: Services, response: Response, user: User
) -> LoginOut:
    """Open a session for ``user`` and set its HttpOnly cookie and the CSRF cookie."""
    ttl = services.settings.session_ttl_seconds
    token, csrf = do_open_session(session, user, ttl)
    out = LoginOut(token=token, csrf_token=csrf, expires_in=ttl, user=UserOut.of(user))
    set_session_cookies(response, services.settings, token, csrf)
    return out


def _chain_of(services: Services) -> Callable[[], Chain | None]:
    """The configured chain, opened only when a contract wallet's signature must be asked."""
    return lambda: services.anchoring.anchorer().chain


@router.get(
    "/typed-data",
    dependencies=[per_address(Kind.PUBLIC)],
    summary="The EIP-712 domain and types that signed submissions use (docs/identity.md)",
)
def typed_data(services: ServicesDep) -> dict[str, Any]:
    chain_id, contract = typed_domain(services)
    return {
        "domain": typed.domain(chain_id, contract),
        "types": typed.TYPES,
        "primaryType": typed.PRIMARY_TYPE,
        "actions": {name: list(fields) for name, fields in typed.ACTIONS.items()},
    }


@router.post(
    "/siwe/nonce",
    response_model=SiweNonceOut,
    summary="Start Sign-In with Ethereum: a single-use nonce and the message's fields",
)
def siwe_nonce(body: SiweNonceIn, request: Request, services: ServicesDep) -> SiweNonceOut:
    services.login_limiter_by_address.hit(_client(request))
    settings = services.settings
    with services.db.writer() as session:
        row = siwe.do_issue_nonce(session, body.organization, settings.siwe_nonce_ttl_seconds)
        message = (
            None
            if body.address is None
            else siwe.prepare(settings, row, body.address, body.chain_id)
        )
    scheme, domain = siwe.expected_origin(settings)
    return SiweNonceOut(
        nonce=row.nonce,
        expires_at=row.expires_at,
        domain=domain,
        uri=f"{scheme}://{domain}/",
        chain_ids=list(settings.siwe_chain_ids),
        statement=siwe.STATEMENT,
        message=message,
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
        user = siwe.do_sign_in_with_ethereum(session, siwe.do_consume_nonce(session, checked))
        return _start_session(session, services, response, user)


@router.post(
    "/siwe/link",
    status_code=201,
    response_model=WalletOut,
    summary="Link another wallet to the signed-in customer, proven by its signature",
)
def siwe_link(body: SiweIn, services: ServicesDep, actor: AccountHolder) -> WalletOut:
    checked = siwe.check(services.settings, body.message, body.signature, _chain_of(services))
    with services.db.writer() as session:
        return WalletOut.of(
            siwe.do_link_signed_wallet(session, actor, siwe.do_consume_nonce(session, checked))
        )


@router.post("/logout", status_code=204, summary="End the current session")
def logout(request: Request, response: Response, services: ServicesDep, actor: ActorDep) -> None:
    header = request.headers.get("authorization", "")
    token = header.partition(" ")[2].strip() or request.cookies.get(SESSION_COOKIE, "")
    do_log_out(services.db, token, actor.user_id)
    clear_session_cookies(response)


@router.post("/logout/all", status_code=204, summary="End every session of the caller")
def logout_everywhere(response: Response, services: ServicesDep, actor: AccountHolder) -> None:
    do_log_out_everywhere(services.db, actor.user_id)
    clear_session_cookies(response)


def _keyring(services: Services) -> Keyring:
    keyring = services.db.keyring
    assert keyring is not None  # create_app sets it
    return keyring


def _me(session: Session, actor: Actor) -> User:
    user = session.get(User, actor.user_id)
    if user is None:
        raise NotFound("no such user")
    return user


@router.post(
    "/mfa/totp/setup",
    response_model=TotpSetupOut,
    summary="Start TOTP enrolment: a new secret and its QR code",
)
def totp_setup(services: ServicesDep, actor: AccountHolder) -> TotpSetupOut:
    keyring = _keyring(services)
    with services.db.writer() as session:
        secret, uri, svg = do_start_enrolment(_me(session, actor), keyring)
    return TotpSetupOut(secret=secret, otpauth_uri=uri, qr_svg=svg)


@router.post(
    "/mfa/totp/enable",
    response_model=RecoveryCodesOut,
    summary="Confirm TOTP with a code; returns the recovery codes once",
)
def totp_enable(
    body: TotpCodeIn, request: Request, services: ServicesDep, actor: AccountHolder
) -> RecoveryCodesOut:
    keyring = _keyring(services)
    with services.db.writer() as session:
        codes = do_enable_mfa(session, _me(session, actor), keyring, body.code)
    return RecoveryCodesOut(recovery_codes=codes)


@router.post(
    "/mfa/recovery-codes",
    response_model=RecoveryCodesOut,
    summary="Replace the recovery codes (needs a current TOTP code)",
)
def recovery_codes(
    body: TotpCodeIn, services: ServicesDep, actor: AccountHolder
) -> RecoveryCodesOut:
    keyring = _keyring(services)
    with services.db.writer() as session:
        user = _me(session, actor)
        do_require_code(session, user, keyring, body.code)
        return RecoveryCodesOut(recovery_codes=do_new_recovery_codes(session, user))


@router.post(
    "/mfa/totp/disable",
    status_code=204,
    summary="Remove the second factor (not for roles that require one)",
)
def totp_disable(body: TotpCodeIn, services: ServicesDep, actor: AccountHolder) -> None:
    keyring = _keyring(services)
    with services.db.writer() as session:
        user = _me(session, actor)
        if mfa.requires_mfa(session, user):
            raise Forbidden("your role requires a second factor", code="mfa_required_for_role")
        do_require_code(session, user, keyring, body.code)
        do_disable_mfa(session, user)


@router.put(
    "/me/email",
    response_model=UserOut,
    summary="Link an e-mail address to the signed-in customer (for replies by e-mail)",
)
def link_email(body: EmailIn, services: ServicesDep, actor: AccountHolder) -> UserOut:
    with services.db.writer() as session:
        return UserOut.of(do_link_email(session, actor, body.email))


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
    body: TokenIn, request: Request, services: ServicesDep, actor: AccountHolder
) -> NewTokenOut:
    services.login_limiter_by_address.hit(_client(request))
    with services.db.writer() as session:
        row, token = do_create_api_token(
            session, actor, body.name, frozenset(body.scopes), body.expires_at
        )
        return NewTokenOut(token=token, **TokenOut.of(row).model_dump())


@router.get("/tokens", response_model=list[TokenOut], summary="Your API tokens")
def list_tokens(services: ServicesDep, actor: AccountHolder) -> list[TokenOut]:
    with services.db.reader() as session:
        rows = session.scalars(
            select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.created_at)
        ).all()
        return [TokenOut.of(r) for r in rows]


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke an API token")
def revoke_token(token_id: str, services: ServicesDep, actor: AccountHolder) -> None:
    with services.db.writer() as session:
        do_revoke_api_token(session, actor, token_id)
