"""Requests filed from the customer's wallet through the request inbox contract.

The content of a request never goes on chain; its commitment does. So filing has two halves:

1. :func:`do_prepare_chain_request` keeps what the customer means to send (a *draft*) and gives
   the commitment to put in the transaction (the EIP-712 ``contentHash`` of kind, subject and
   body, the one a signed request carries);
2. once the ``Filed`` event is final, :func:`do_record_filing` (run by the inbox worker under
   the writer lock) opens the ticket from the draft, or links a later filing of the same draft
   to the ticket it opened, and writes a ``chain.filed`` event citing the transaction, so the
   request's time is proven by the chain and shows in its receipt.

A filing counts only when its sender is a verified wallet of the customer who prepared the
draft: anybody can copy a commitment out of the mempool, but not the wallet. A filing that
matches nothing yet stays ``unmatched`` and is looked at again while a draft could still come
(a wallet verified later, say); one whose block leaves the chain after it was final is
``dropped``, with a ``chain.dropped`` event on its ticket (:func:`do_drop_filing`).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.access import Actor
from proofdesk.actions.tickets import NewTicket, do_create_ticket, request_content
from proofdesk.canonical import canonical_json, format_time, parse_time, utc_now
from proofdesk.chain.inbox import Filing, organization_key
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import Channel, EventType, Kind, Status
from proofdesk.errors import Forbidden
from proofdesk.identity.typed import content_hash
from proofdesk.store.events import EventAppender, lock_ticket
from proofdesk.store.models import (
    ChainFiling,
    ChainRequestDraft,
    Organization,
    User,
    Wallet,
    new_id,
)
from proofdesk.store.rows import row_to_state

#: How long a draft waits for its filing (and an unmatched filing for a draft to match).
DRAFT_TTL = timedelta(days=1)

#: Statuses after which a filing is done with (``unmatched`` is looked at again).
SETTLED = ("opened", "linked", "refused", "dropped")


def do_prepare_chain_request(
    session: Session,
    actor: Actor,
    kind: Kind,
    subject: str,
    body: str,
    *,
    at: datetime | None = None,
) -> ChainRequestDraft:
    """Keep a customer's request until it is filed on chain; the same content prepared again
    gives the same draft (with a fresh expiry while it is unused)."""
    if not actor.is_customer:
        raise Forbidden("only customers file requests on chain", code="not_a_customer")
    content = request_content(kind, subject, body)
    commitment = "0x" + content_hash(content).hex()
    now = at or utc_now()
    expires = format_time(now + DRAFT_TTL)
    draft = session.scalars(
        select(ChainRequestDraft).where(
            ChainRequestDraft.organization_id == actor.organization_id,
            ChainRequestDraft.requester_id == actor.user_id,
            ChainRequestDraft.commitment == commitment,
        )
    ).first()
    if draft is None:
        draft = ChainRequestDraft(
            id=new_id(),
            organization_id=actor.organization_id,
            requester_id=actor.user_id,
            commitment=commitment,
            content=canonical_json(content).decode(),
            created_at=format_time(now),
            expires_at=expires,
        )
        session.add(draft)
    elif draft.ticket_id is None:
        draft.expires_at = expires
    session.flush()
    return draft


def _organization_id(session: Session, key: str) -> str | None:
    """The organization whose :func:`organization_key` is ``key``, if it is one of ours."""
    for org_id in session.scalars(select(Organization.id)):
        if organization_key(org_id) == key.lower():
            return org_id
    return None


def _customer_of(session: Session, organization_id: str, sender: str) -> User | None:
    """The active customer whose verified wallet ``sender`` is."""
    wallet = session.scalars(
        select(Wallet).where(
            Wallet.organization_id == organization_id,
            Wallet.address == sender.lower(),
            Wallet.verified_at.is_not(None),
        )
    ).first()
    if wallet is None:
        return None
    user = session.get(User, wallet.user_id)
    if user is None or not user.is_active or user.role != Role.CUSTOMER.value:
        return None
    return user


def _evidence(session: Session, ticket_id: str, type: EventType, payload: dict[str, Any]) -> bool:
    """Write a filing's event into its ticket; False when the ticket can no longer change."""
    ticket = lock_ticket(session, ticket_id)
    if ticket is None:
        return False
    state = row_to_state(ticket)
    if state.status is Status.CLOSED or state.erased_at is not None:
        return False
    EventAppender(session).append(
        state,
        ticket_id=state.id,
        organization_id=state.organization_id,
        type=type,
        actor_id=state.requester_id if type is EventType.CHAIN_FILED else "automation",
        occurred_at=format_time(utc_now()),
        payload=payload,
    )
    return True


def _settle(row: ChainFiling, status: str, reason: str | None, now: datetime) -> ChainFiling:
    row.status, row.reason, row.updated_at = status, reason, format_time(now)
    return row


def _decide(session: Session, row: ChainFiling, evidence: dict[str, Any]) -> ChainFiling:
    now = utc_now()
    org_id = row.organization_id or _organization_id(session, row.organization_key)
    if org_id is None:
        return _settle(row, "refused", "not an organization of this desk", now)
    row.organization_id = org_id
    customer = _customer_of(session, org_id, row.sender)
    if customer is None:
        return _settle(row, "unmatched", "the sender is not a verified wallet of a customer", now)
    draft = session.scalars(
        select(ChainRequestDraft).where(
            ChainRequestDraft.organization_id == org_id,
            ChainRequestDraft.requester_id == customer.id,
            ChainRequestDraft.commitment == row.commitment,
        )
    ).first()
    if draft is None:
        return _settle(row, "unmatched", "no request of the sender's was prepared with it", now)
    if draft.ticket_id is not None:  # filed again, or filed anew after a reorganisation
        row.ticket_id = draft.ticket_id
        written = _evidence(session, draft.ticket_id, EventType.CHAIN_FILED, evidence)
        return _settle(row, "linked", None if written else "the request is closed", now)
    if parse_time(draft.expires_at) < now:
        return _settle(row, "refused", "its request expired before the filing was final", now)
    content = json.loads(draft.content)
    actor = Actor(customer.id, org_id, Role.CUSTOMER)
    state = do_create_ticket(
        session,
        actor,
        NewTicket(
            kind=Kind(content["kind"]),
            subject=content["subject"],
            body=content["body"],
            channel=Channel.CHAIN,
        ),
        filed_on_chain=True,
    )
    draft.ticket_id = row.ticket_id = state.id
    _evidence(session, state.id, EventType.CHAIN_FILED, evidence)
    return _settle(row, "opened", None, now)


def do_record_filing(session: Session, filing: Filing) -> ChainFiling:
    """Record one final filing, once, and do what it calls for. Run under the writer lock: a
    filing already recorded (by this worker or another) is returned as it is, except one that
    was dropped and is back on the chain, which is decided again."""
    row = session.scalars(
        select(ChainFiling).where(
            ChainFiling.chain_id == filing.chain_id,
            ChainFiling.tx_hash == filing.tx_hash,
            ChainFiling.log_index == filing.log_index,
        )
    ).first()
    if row is not None and row.status != "dropped":
        return row
    stamp = format_time(utc_now())
    if row is None:
        row = ChainFiling(
            chain_id=filing.chain_id,
            contract=filing.contract,
            tx_hash=filing.tx_hash,
            log_index=filing.log_index,
            organization_key=filing.organization_key,
            status="new",
            created_at=stamp,
        )
        session.add(row)
    row.block_number, row.block_hash, row.block_time = (
        filing.block_number,
        filing.block_hash,
        filing.block_time,
    )
    row.sender, row.commitment, row.pointer, row.number = (
        filing.sender,
        filing.commitment,
        filing.pointer,
        filing.number,
    )
    row.updated_at = stamp
    session.flush()
    return _decide(session, row, filing.evidence())


def do_retry_unmatched(session: Session, row_id: int) -> ChainFiling | None:
    """Look at an unmatched filing again (a draft or a verified wallet may have come since);
    past :data:`DRAFT_TTL` it is refused for good. Run under the writer lock."""
    row = session.get(ChainFiling, row_id)
    if row is None or row.status != "unmatched":
        return row
    if parse_time(row.created_at) + DRAFT_TTL < utc_now():
        return _settle(row, "refused", row.reason, utc_now())
    evidence = {
        "chain_id": row.chain_id,
        "contract": row.contract,
        "tx_hash": row.tx_hash,
        "log_index": row.log_index,
        "block_number": row.block_number,
        "block_hash": row.block_hash,
        "block_time": row.block_time,
        "sender": row.sender,
        "commitment": row.commitment,
        "number": row.number,
    }
    return _decide(session, row, evidence)


def do_drop_filing(session: Session, row_id: int, block_hash: str) -> ChainFiling | None:
    """A final filing whose block ``block_hash`` is no longer canonical: mark it dropped and,
    if it had reached a ticket, say so there. Run under the writer lock; a row that moved on
    (another worker dropped it, or it is in another block now) is left alone."""
    row = session.get(ChainFiling, row_id)
    if row is None or row.status == "dropped" or row.block_hash != block_hash:
        return row
    if row.ticket_id is not None and row.status in ("opened", "linked"):
        _evidence(
            session,
            row.ticket_id,
            EventType.CHAIN_DROPPED,
            {
                "tx_hash": row.tx_hash,
                "log_index": row.log_index,
                "block_number": row.block_number,
                "block_hash": row.block_hash,
                "reason": "the block left the canonical chain after it was final",
            },
        )
    return _settle(row, "dropped", "its block left the canonical chain", utc_now())


def draft_status(session: Session, actor: Actor, draft_id: str) -> dict[str, Any] | None:
    """What became of one of the actor's drafts: the draft and the filings of it sent from the
    actor's wallets (None: not theirs, or no such draft)."""
    draft = session.get(ChainRequestDraft, draft_id)
    if draft is None or draft.requester_id != actor.user_id:
        return None
    wallets = select(Wallet.address).where(Wallet.user_id == actor.user_id)
    filings = session.scalars(
        select(ChainFiling)
        .where(
            ChainFiling.organization_id == draft.organization_id,
            ChainFiling.commitment == draft.commitment,
            ChainFiling.sender.in_(wallets),
        )
        .order_by(ChainFiling.id)
    ).all()
    return {"draft": draft, "filings": list(filings)}
