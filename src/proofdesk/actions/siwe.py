"""Sign-In with Ethereum: nonces, verification against this deployment, and what a verified
wallet may do (sign a customer in, or be linked to the signed-in customer)."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from eth_utils.address import to_checksum_address
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from proofdesk.access import Actor
from proofdesk.actions.accounts import do_attach_wallet, do_create_user
from proofdesk.canonical import utc_now
from proofdesk.chain.base import Chain
from proofdesk.domain.identifiers import evm_address
from proofdesk.domain.roles import Role
from proofdesk.errors import Conflict, Forbidden, InvalidInput, NotFound
from proofdesk.identity.siwe import (
    SiweMessage,
    SiweRejected,
    check_eip1271,
    parse,
    recover_personal,
    signature_bytes,
)
from proofdesk.settings import Settings
from proofdesk.store.models import Organization, SiweNonce, User, Wallet

NONCE_ALPHABET = string.ascii_letters + string.digits
NONCE_LENGTH = 20
#: The statement ProofDesk asks wallets to sign (ASCII: EIP-4361 allows nothing else).
STATEMENT = "Sign in to ProofDesk customer support."


@dataclass(frozen=True)
class Verified:
    message: SiweMessage
    organization_id: str
    #: ``eoa`` (recovered) or ``eip1271`` (a contract wallet said yes).
    kind: str


def do_issue_nonce(session: Session, organization_slug: str, ttl_seconds: int) -> SiweNonce:
    org = session.scalars(
        select(Organization).where(Organization.slug == organization_slug)
    ).first()
    if org is None:
        raise NotFound("no such organization", code="no_such_organization")
    now = utc_now()
    # Expired nonces can never be used again: drop them as new ones are issued.
    session.execute(delete(SiweNonce).where(SiweNonce.expires_at < now - timedelta(hours=1)))
    row = SiweNonce(
        nonce="".join(secrets.choice(NONCE_ALPHABET) for _ in range(NONCE_LENGTH)),
        organization_id=org.id,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    session.add(row)
    session.flush()
    return row


def expected_origin(settings: Settings) -> tuple[str, str]:
    """(scheme, host[:port]) a message must name: the deployment's public URL."""
    parts = urlsplit(settings.base_url)
    return parts.scheme, parts.netloc


def prepare(settings: Settings, nonce: SiweNonce, address: str, chain_id: int | None) -> str:
    """The EIP-4361 message for ``address`` to sign with ``nonce``, bound to this deployment
    and valid until the nonce expires: for a page (the web portal's wallet button) that has no
    EIP-55 checksum of its own. Signing it is still the wallet's and its owner's decision."""
    chain = settings.siwe_chain_ids[0] if chain_id is None else chain_id
    if chain not in settings.siwe_chain_ids:
        accepted = ", ".join(str(c) for c in settings.siwe_chain_ids)
        raise InvalidInput(
            f"chain {chain} is not accepted here; switch the wallet to one of {accepted}",
            code="wrong_chain",
            field="chain_id",
        )
    scheme, domain = expected_origin(settings)
    return SiweMessage(
        domain=domain,
        address=to_checksum_address(evm_address(address)),
        uri=f"{scheme}://{domain}/",
        version="1",
        chain_id=chain,
        nonce=nonce.nonce,
        issued_at=_rfc3339(nonce.created_at),
        statement=STATEMENT,
        expiration_time=_rfc3339(nonce.expires_at),
    ).text()


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_binding(message: SiweMessage, settings: Settings, now: datetime) -> None:
    scheme, domain = expected_origin(settings)
    if message.domain != domain or (message.scheme and message.scheme != scheme):
        raise SiweRejected(
            f"the message is for {message.domain}, not {domain}", code="wrong_domain"
        )
    uri = urlsplit(message.uri)
    if (uri.scheme, uri.netloc) != (scheme, domain):
        raise SiweRejected(f"the URI is not on {scheme}://{domain}", code="wrong_uri")
    if message.chain_id not in settings.siwe_chain_ids:
        raise SiweRejected(f"chain {message.chain_id} is not accepted here", code="wrong_chain")
    skew = timedelta(seconds=settings.siwe_clock_skew_seconds)
    issued = message.time("issued_at")
    assert issued is not None  # mandatory field, parsed
    if issued > now + skew:
        raise SiweRejected("the message is issued in the future", code="not_yet_valid")
    if issued < now - timedelta(seconds=settings.siwe_nonce_ttl_seconds) - skew:
        raise SiweRejected("the message was issued too long ago", code="expired")
    expires = message.time("expiration_time")
    if expires is not None and expires < now - skew:
        raise SiweRejected("the message has expired", code="expired")
    not_before = message.time("not_before")
    if not_before is not None and not_before > now + skew:
        raise SiweRejected("the message is not valid yet", code="not_yet_valid")


def _consume_nonce(session: Session, nonce: str, now: datetime) -> str:
    """Mark the nonce used and return its organization, atomically: of two requests with one
    nonce, in this process or another, exactly one gets a row back."""
    organization_id = session.execute(
        update(SiweNonce)
        .where(SiweNonce.nonce == nonce, SiweNonce.used_at.is_(None), SiweNonce.expires_at > now)
        .values(used_at=now)
        .returning(SiweNonce.organization_id)
    ).scalar_one_or_none()
    if organization_id is not None:
        return str(organization_id)
    row = session.get(SiweNonce, nonce)
    if row is None:
        raise SiweRejected("this nonce was not issued here", code="nonce_unknown")
    if row.used_at is not None:
        raise SiweRejected("this nonce was used already", code="nonce_used")
    raise SiweRejected("this nonce has expired; ask for a new one", code="nonce_expired")


def check(
    settings: Settings, text: str, signature: str, chain: Callable[[], Chain | None]
) -> tuple[SiweMessage, str]:
    """Every check that needs no database: grammar, binding to this deployment, times, and
    the signature (asking the chain only for a contract wallet). Returns the message and how
    it was signed (``eoa`` or ``eip1271``). Run it outside a write transaction: the chain may
    be slow."""
    message = parse(text)
    _check_binding(message, settings, utc_now())
    raw = signature_bytes(signature)
    if recover_personal(text, raw) == message.address:
        return message, "eoa"
    backend = chain()
    if backend is None or not check_eip1271(backend, message.address, text, raw):
        raise SiweRejected("the signature is not the address's", code="wrong_signer")
    return message, "eip1271"


def do_consume_nonce(session: Session, checked: tuple[SiweMessage, str]) -> Verified:
    """Use the message's nonce (last, so that a forged request cannot burn a real user's)."""
    message, kind = checked
    return Verified(message, _consume_nonce(session, message.nonce, utc_now()), kind)


def short_address(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


def do_sign_in_with_ethereum(session: Session, verified: Verified) -> User:
    """The customer bound to the wallet, created on its first sign-in."""
    address = verified.message.address
    wallet = session.scalars(
        select(Wallet).where(
            Wallet.organization_id == verified.organization_id,
            Wallet.address == evm_address(address),
        )
    ).first()
    if wallet is not None:
        user = session.get(User, wallet.user_id)
        if user is None or not user.is_active:
            raise SiweRejected("this account is disabled", code="account_disabled")
        if user.role != Role.CUSTOMER.value:
            # Staff sign in with a password and a second factor, never with a wallet alone.
            raise Forbidden("staff accounts cannot sign in with a wallet", code="staff_wallet")
        if wallet.verified_at is None:  # typed in by staff, now proven by its owner
            wallet.verified_at = utc_now()
        return user
    user = do_create_user(
        session,
        verified.organization_id,
        role=Role.CUSTOMER,
        display_name=short_address(address),
        email=None,
    )
    do_attach_wallet(session, user, address, "Sign-In with Ethereum", proven=True)
    return user


def do_link_signed_wallet(session: Session, actor: Actor, verified: Verified) -> Wallet:
    """Link a further wallet, proven by its signature, to the signed-in customer."""
    if actor.role is not Role.CUSTOMER:
        raise Forbidden("only customers link wallets by signature", code="not_a_customer")
    if verified.organization_id != actor.organization_id:
        raise SiweRejected("the nonce was issued for another organization", code="nonce_unknown")
    customer = session.get(User, actor.user_id)
    if customer is None:
        raise NotFound("no such user")
    try:
        return do_attach_wallet(
            session, customer, verified.message.address, "linked by signature", proven=True
        )
    except Conflict:
        raise Conflict("this wallet belongs to another customer", code="wallet_taken") from None
