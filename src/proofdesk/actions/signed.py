"""Accepting a signed submission: the signature must recover the claimed signer over exactly
the content being stored, the signer must be a wallet of the acting customer, the time must be
recent and the nonce unused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from eth_utils.address import to_checksum_address
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from proofdesk.access import Actor
from proofdesk.canonical import utc_now
from proofdesk.domain.identifiers import evm_address
from proofdesk.errors import Conflict, Forbidden, InvalidInput
from proofdesk.identity.typed import SignatureClaim, recover
from proofdesk.store.models import SignedNonce, Wallet

#: How far a submission's ``issuedAt`` may be from the server's clock.
MAX_SKEW = timedelta(minutes=10)


def do_accept_signed(
    session: Session,
    actor: Actor,
    claim: SignatureClaim,
    action: str,
    ticket: str,
    content: dict[str, Any],
) -> dict[str, Any]:
    """Check a signed submission; returns the record to store in the event's payload."""
    if not actor.is_customer:
        raise Forbidden("only customers sign their submissions", code="not_a_customer")
    signed = claim.complete(action, actor.organization_id, ticket)
    now = utc_now()
    if abs(now.timestamp() - claim.issued_at) > MAX_SKEW.total_seconds():
        raise InvalidInput(
            "the signed issuedAt is not within 10 minutes of now", code="stale_signature"
        )
    signer = recover(signed, content)
    if signer is None or signer.lower() != claim.signer.lower():
        raise InvalidInput(
            "the signature does not recover the signer over this content (sign the trimmed "
            "text, with this deployment's domain)",
            code="bad_signature",
        )
    owned = session.scalars(
        select(Wallet.id).where(
            Wallet.user_id == actor.user_id, Wallet.address == evm_address(signer)
        )
    ).first()
    if owned is None:
        raise Forbidden("the signer is not one of your wallets", code="not_your_wallet")
    # A nonce older than twice the allowed skew cannot come back (its issuedAt is refused).
    session.execute(delete(SignedNonce).where(SignedNonce.used_at < now - 2 * MAX_SKEW))
    try:
        with session.begin_nested():
            session.add(SignedNonce(signer=signer.lower(), nonce=str(claim.nonce), used_at=now))
    except IntegrityError:
        raise Conflict("this signature was used already", code="replayed_signature") from None
    record = signed.record()
    record["signer"] = to_checksum_address(signer)  # one spelling, EIP-55
    return record
