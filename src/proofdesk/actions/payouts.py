"""Money a decision moves: escrow payouts and reward credits, held for a person when a limit or
a missing piece says so, queued for the chain otherwise.

A payout is identified by its claim id, ``keccak256`` of the organization, ticket, contract
name and kind: one ticket's claim under one contract is paid at most once, whichever version of
the contract decides it and however often. The id is unique in ``payouts`` and the escrow
contract refuses to pay an id twice. Every change of a payout is a ``payout.changed`` event in
the ticket's timeline (and so in its receipt), attributed to the rule or the person who made it.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from eth_utils.crypto import keccak
from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.access import Actor, access_payout, require_admin, require_manager
from proofdesk.canonical import format_time, utc_now
from proofdesk.domain import identifiers
from proofdesk.domain.tickets import EventType, TicketState
from proofdesk.errors import Conflict, InvalidInput, NotFound
from proofdesk.store.events import EventAppender
from proofdesk.store.models import Organization, Payout, Ticket, Wallet
from proofdesk.store.rows import row_to_state

UNITS = Decimal(10) ** 18
KINDS = ("escrow", "reward")
#: Payouts that count against limits: everything not refused or given up.
COUNTED = ("held", "queued", "sent", "mined", "confirmed")


def do_set_merchant(session: Session, actor: Actor, address: str) -> str:
    """Name the merchant account whose escrow bond pays this organization's claims."""
    require_admin(actor)
    checked = identifiers.evm_address(address)
    org = session.get(Organization, actor.organization_id)
    assert org is not None
    org.merchant_address = checked
    return checked


def claim_id(organization_id: str, ticket_id: str, contract: str, kind: str) -> str:
    text = f"proofdesk/claim/v1\n{organization_id}\n{ticket_id}\n{contract}\n{kind}"
    return "0x" + keccak(text=text).hex()


def to_units(amount: str) -> int:
    """Whole coins or tokens (decimal text) to base units (18 decimals)."""
    try:
        value = Decimal(amount) * UNITS
    except InvalidOperation:
        raise InvalidInput(f"amount {amount!r} is not a number", field="amount") from None
    if value <= 0 or value != value.to_integral_value():
        raise InvalidInput(
            f"amount {amount!r} must be positive, with at most 18 decimals", field="amount"
        )
    return int(value)


def do_record_payout(
    session: Session,
    actor: Actor,
    state: TicketState,
    payout: Payout,
    *,
    by: dict[str, Any] | None = None,
    **extra: Any,
) -> TicketState:
    """A ``payout.changed`` event with the payout's current status."""
    payload: dict[str, Any] = {
        "payout_id": payout.id,
        "claim_id": payout.claim_id,
        "kind": payout.kind,
        "amount": payout.amount,
        "status": payout.status,
        "recipient": payout.recipient,
        **{k: v for k, v in extra.items() if v is not None},
    }
    if by is not None:
        payload["by"] = by
    _, new_state = EventAppender(session).append(
        state,
        ticket_id=state.id,
        organization_id=state.organization_id,
        type=EventType.PAYOUT,
        actor_id=actor.user_id,
        occurred_at=format_time(utc_now()),
        payload=payload,
    )
    return new_state


def verified_wallets(session: Session, customer_id: str) -> list[str]:
    return list(
        session.scalars(
            select(Wallet.address)
            .where(Wallet.user_id == customer_id, Wallet.verified_at.is_not(None))
            .order_by(Wallet.created_at)
        )
    )


def _recipient(session: Session, state: TicketState) -> tuple[str | None, str | None]:
    """The customer's verified wallet to pay: the ticket's wallet if verified, else their only
    verified one. (address, None) or (None, why a person must choose)."""
    wallets = verified_wallets(session, state.requester_id)
    if state.wallet_address is not None and state.wallet_address in wallets:
        return state.wallet_address, None
    if len(wallets) == 1:
        return wallets[0], None
    if not wallets:
        return None, "the customer has no verified wallet (they sign in with it to verify it)"
    return None, "the customer has several verified wallets and the ticket names none of them"


def _paid_since(session: Session, kind: str, since: str, **where: Any) -> int:
    query = select(Payout.amount_units).where(
        Payout.kind == kind, Payout.status.in_(COUNTED), Payout.created_at >= since
    )
    for column, value in where.items():
        query = query.where(getattr(Payout, column) == value)
    return sum(int(units) for units in session.scalars(query))


def _over_limits(
    session: Session, state: TicketState, units: int, limits: dict[str, str]
) -> list[str]:
    reasons = []
    since = format_time(utc_now() - timedelta(days=1))
    if "perClaim" in limits and units > to_units(limits["perClaim"]):
        reasons.append(f"above the per-claim limit of {limits['perClaim']}")
    if "perCustomerPerDay" in limits:
        used = _paid_since(session, "escrow", since, customer_id=state.requester_id)
        if used + units > to_units(limits["perCustomerPerDay"]):
            reasons.append(f"above the limit of {limits['perCustomerPerDay']} per customer per day")
    if "perDay" in limits:
        used = _paid_since(session, "escrow", since, organization_id=state.organization_id)
        if used + units > to_units(limits["perDay"]):
            reasons.append(f"above the limit of {limits['perDay']} per day")
    return reasons


def do_create_payout(
    session: Session,
    actor: Actor,
    state: TicketState,
    *,
    kind: str,
    amount: str,
    contract: str,
    limits: dict[str, str],
    decision_seq: int,
    by: dict[str, Any],
) -> tuple[Payout, TicketState, bool]:
    """The payout a decision orders (queued, or held with the reasons); returns the row, the
    ticket's new state, and False when this claim already has a payout (nothing changes)."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown payout kind {kind!r}", field="kind")
    cid = claim_id(state.organization_id, state.id, contract, kind)
    existing = session.scalars(select(Payout).where(Payout.claim_id == cid)).first()
    if existing is not None:
        return existing, state, False
    reasons: list[str] = []
    try:
        units = to_units(amount)
    except InvalidInput as exc:
        units, reasons = 0, [exc.message]
    recipient, why = _recipient(session, state)
    if why:
        reasons.append(why)
    merchant = None
    if kind == "escrow":
        org = session.get(Organization, state.organization_id)
        merchant = org.merchant_address if org else None
        if merchant is None:
            reasons.append("the organization has set no escrow merchant address")
        if units:
            reasons += _over_limits(session, state, units, limits)
    now = format_time(utc_now())
    row = Payout(
        organization_id=state.organization_id,
        ticket_id=state.id,
        decision_seq=decision_seq,
        claim_id=cid,
        kind=kind,
        customer_id=state.requester_id,
        recipient=recipient,
        amount=amount,
        amount_units=str(units),
        status="held" if reasons else "queued",
        hold_reason="; ".join(reasons) or None,
        merchant=merchant,
        recorded=False,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    state = do_record_payout(session, actor, state, row, by=by, reason=row.hold_reason)
    return row, state, True


def _ticket_state(session: Session, row: Payout) -> TicketState:
    ticket = session.get(Ticket, row.ticket_id)
    if ticket is None:
        raise NotFound("the payout's ticket is gone")
    return row_to_state(ticket)


def _current_merchant(session: Session, row: Payout) -> None:
    """An escrow payout is paid from the organization's merchant bond as set now."""
    if row.kind != "escrow":
        return
    org = session.get(Organization, row.organization_id)
    row.merchant = org.merchant_address if org else None
    if row.merchant is None:
        raise Conflict("set the organization's escrow merchant address first", code="no_merchant")


def do_approve(
    session: Session, actor: Actor, payout_id: str, recipient: str | None = None
) -> Payout:
    """A supervisor or admin releases a held payout (naming the wallet if it was the doubt)."""
    require_manager(actor)
    row = access_payout(session, actor, payout_id)
    if row.status != "held":
        raise Conflict(f"a {row.status} payout cannot be approved", code="payout_not_held")
    if recipient is not None:
        address = identifiers.evm_address(recipient)
        if address not in verified_wallets(session, row.customer_id):
            raise InvalidInput(
                "payouts go only to a wallet the customer verified", field="recipient"
            )
        row.recipient = address
    if row.recipient is None:
        raise InvalidInput("name the customer's verified wallet to pay", field="recipient")
    if int(row.amount_units) <= 0:
        raise Conflict("this payout has no valid amount", code="payout_invalid_amount")
    _current_merchant(session, row)
    row.status, row.approved_by, row.updated_at = "queued", actor.user_id, format_time(utc_now())
    do_record_payout(session, actor, _ticket_state(session, row), row, approved_by=actor.user_id)
    return row


def do_reject(session: Session, actor: Actor, payout_id: str, reason: str) -> Payout:
    require_manager(actor)
    row = access_payout(session, actor, payout_id)
    if row.status not in ("held", "failed"):
        raise Conflict(f"a {row.status} payout cannot be rejected", code="payout_not_held")
    reason = reason.strip()
    if not 1 <= len(reason) <= 500:
        raise InvalidInput("give a reason of 1-500 characters", field="reason")
    row.status, row.hold_reason, row.updated_at = "rejected", reason, format_time(utc_now())
    do_record_payout(session, actor, _ticket_state(session, row), row, reason=reason)
    return row


def do_retry(session: Session, actor: Actor, payout_id: str) -> Payout:
    """Queue a failed payout again (after the bond was topped up, say). The escrow contract
    still pays its claim id at most once."""
    require_manager(actor)
    row = access_payout(session, actor, payout_id)
    if row.status != "failed":
        raise Conflict(f"a {row.status} payout cannot be retried", code="payout_not_failed")
    _current_merchant(session, row)
    row.status, row.error, row.recorded = "queued", None, False
    row.tx_hash = row.raw_tx = row.nonce = row.sender = None
    row.updated_at = format_time(utc_now())
    do_record_payout(session, actor, _ticket_state(session, row), row)
    return row
