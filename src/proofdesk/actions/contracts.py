"""Publishing and activating service contracts, and deciding a ticket's claim by one."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from proofdesk.access import Actor, require_admin, require_worker
from proofdesk.canonical import canonical_json, format_time, utc_now
from proofdesk.contracts.document import Contract, parse
from proofdesk.contracts.engine import Decision, decide, decode_facts, encode_facts, replay
from proofdesk.domain.tickets import EventType
from proofdesk.errors import Conflict, InvalidInput, NotFound
from proofdesk.ledger.store import EventReader
from proofdesk.store.events import EventAppender, row_to_state
from proofdesk.store.models import ServiceContract, Ticket, TicketEvent


def do_publish(session: Session, actor: Actor, source: str) -> tuple[ServiceContract, bool]:
    """Check and store a contract (not yet active); returns the row and whether it is new.
    Publishing the same document again is a no-op; another document under a published
    name and version is a conflict (publish a new version)."""
    require_admin(actor)
    contract = parse(source)
    same = session.scalars(
        select(ServiceContract).where(
            ServiceContract.organization_id == actor.organization_id,
            ServiceContract.contract_hash == contract.contract_hash,
        )
    ).first()
    if same is not None:
        return same, False
    taken = session.scalars(
        select(ServiceContract.id).where(
            ServiceContract.organization_id == actor.organization_id,
            ServiceContract.name == contract.name,
            ServiceContract.version == contract.version,
        )
    ).first()
    if taken is not None:
        raise Conflict(
            f"{contract.name} version {contract.version} is published with other content; "
            "publish it as a new version",
            code="version_exists",
        )
    row = ServiceContract(
        contract_hash=contract.contract_hash,
        organization_id=actor.organization_id,
        name=contract.name,
        version=contract.version,
        document=canonical_json(contract.document).decode(),
        source=source,
        published_at=utc_now(),
        published_by=actor.user_id,
        active=False,
    )
    session.add(row)
    session.flush()
    return row, True


def find(session: Session, organization_id: str, contract_hash: str) -> ServiceContract:
    row = session.scalars(
        select(ServiceContract).where(
            ServiceContract.organization_id == organization_id,
            ServiceContract.contract_hash == contract_hash,
        )
    ).first()
    if row is None:
        raise NotFound("no such contract")
    return row


def load(row: ServiceContract) -> Contract:
    return Contract(json.loads(row.document), row.contract_hash)


def do_activate(session: Session, actor: Actor, contract_hash: str) -> ServiceContract:
    """Make this version the active one of its name (the others of the name stop)."""
    require_admin(actor)
    row = find(session, actor.organization_id, contract_hash)
    session.execute(
        update(ServiceContract)
        .where(
            ServiceContract.organization_id == actor.organization_id,
            ServiceContract.name == row.name,
            ServiceContract.id != row.id,
        )
        .values(active=False)
    )
    row.active, row.activated_at = True, utc_now()
    return row


def do_decide(
    session: Session, actor: Actor, ticket: Ticket, contract_hash: str, facts: dict[str, Any]
) -> Decision:
    """Decide the ticket's claim by an active contract over the given facts (JSON form) and
    log the decision, the contract and the facts as a ``contract.decided`` event."""
    require_worker(actor)
    row = find(session, ticket.organization_id, contract_hash)
    if not row.active:
        raise Conflict("this contract version is not active", code="contract_inactive")
    contract = load(row)
    if ticket.kind not in contract.spec["appliesTo"]:
        raise InvalidInput(
            f"{contract.name} does not apply to {ticket.kind} tickets", code="not_applicable"
        )
    typed = decode_facts(contract, facts)
    decision = decide(contract, typed)
    state = row_to_state(ticket)
    EventAppender(session).append(
        state,
        ticket_id=ticket.id,
        organization_id=ticket.organization_id,
        type=EventType.DECIDED,
        actor_id=actor.user_id,
        occurred_at=format_time(utc_now()),
        payload={
            "contract_hash": contract.contract_hash,
            "contract": contract.name,
            "contract_version": contract.version,
            "facts": encode_facts(contract, typed),
            "outcome": decision.outcome,
            "decision": json.loads(canonical_json(decision.as_dict())),
        },
    )
    return decision


def replay_ticket(session: Session, ticket: Ticket) -> list[tuple[int, str, list[str]]]:
    """Decide every logged decision of the ticket again: ``(event seq, contract, differences)``
    for each; no differences means the decision is reproduced."""
    reader = EventReader(session)
    rows = session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.type == EventType.DECIDED.value)
        .order_by(TicketEvent.seq)
    ).all()
    results = []
    for row in rows:
        payload = reader.event(row).payload
        contract = load(find(session, ticket.organization_id, payload["contract_hash"]))
        logged = {
            "contract_hash": payload["contract_hash"],
            "facts": payload["facts"],
            "decision": payload["decision"],
        }
        results.append((row.seq, f"{contract.name} v{contract.version}", replay(contract, logged)))
    return results
