"""Service contracts over HTTP: admins publish and activate them, anyone reads an
organization's published contracts, staff ask one to decide a ticket's claim."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.access import access_contract, access_ticket
from proofdesk.actions import contracts as actions
from proofdesk.api.deps import AdminScoped, ServicesDep, TicketsWriter
from proofdesk.api.schemas.contracts import (
    ContractDocumentOut,
    ContractIn,
    ContractOut,
    DecisionIn,
    DecisionOut,
    DryRunIn,
    DryRunOut,
)
from proofdesk.app.limits import Kind, per_address
from proofdesk.errors import NotFound
from proofdesk.ledger.receipts import organization_receipt
from proofdesk.store.models import Organization, ServiceContract

router = APIRouter(tags=["contracts"])


@router.post(
    "/contracts",
    status_code=201,
    response_model=ContractOut,
    summary="Publish a service contract (checked; not active until activated)",
    responses={200: {"description": "This exact document was published before"}},
)
def publish(
    body: ContractIn, response: Response, services: ServicesDep, actor: AdminScoped
) -> ContractOut:
    with services.db.writer() as session:
        row, new = actions.do_publish(session, actor, body.source)
        if not new:
            response.status_code = 200
        return ContractOut.of(row)


@router.post(
    "/contracts/{contract_hash}/activate",
    response_model=ContractOut,
    summary="Make this version the active one of its name",
)
def activate(contract_hash: str, services: ServicesDep, actor: AdminScoped) -> ContractOut:
    with services.db.writer() as session:
        return ContractOut.of(actions.do_activate(session, actor, contract_hash))


def _organization(session: Session, slug: str) -> Organization:
    org = session.scalars(select(Organization).where(Organization.slug == slug)).first()
    if org is None:
        raise NotFound("no such organization", code="no_such_organization")
    return org


@router.get(
    "/contracts",
    response_model=list[ContractOut],
    dependencies=[per_address(Kind.PUBLIC)],
    summary="An organization's published contracts (public: the rules are the promise)",
)
def list_contracts(
    services: ServicesDep, organization: str = Query(min_length=1, max_length=64)
) -> list[ContractOut]:
    with services.db.reader() as session:
        org = _organization(session, organization)
        rows = session.scalars(
            select(ServiceContract)
            .where(ServiceContract.organization_id == org.id)
            .order_by(ServiceContract.name, ServiceContract.version.desc())
        ).all()
        return [ContractOut.of(r) for r in rows]


@router.get(
    "/contracts/activations/receipt",
    dependencies=[per_address(Kind.PUBLIC)],
    summary="Receipt of an organization's contract activations: each `contract.activated` "
    "entry of the log, opened, with inclusion proofs (public)",
)
def activations_receipt(
    services: ServicesDep, organization: str = Query(min_length=1, max_length=64)
) -> dict[str, Any]:
    with services.db.reader() as session:
        org_id = _organization(session, organization).id
    return organization_receipt(services.db, services.signer, org_id, services.witness_policy)


@router.get(
    "/contracts/{contract_hash}",
    response_model=ContractDocumentOut,
    dependencies=[per_address(Kind.PUBLIC)],
    summary="One published contract, as published and in canonical form (public)",
)
def get_contract(
    contract_hash: str,
    services: ServicesDep,
    organization: str = Query(min_length=1, max_length=64),
) -> ContractDocumentOut:
    with services.db.reader() as session:
        org = _organization(session, organization)
        row = access_contract(session, org.id, contract_hash)
        return ContractDocumentOut(
            **ContractOut.of(row).model_dump(), source=row.source, document=json.loads(row.document)
        )


@router.post(
    "/tickets/{ticket_id}/decisions",
    status_code=201,
    response_model=DecisionOut,
    summary="Decide the ticket's claim by an active contract; the decision is logged",
)
def decide(
    ticket_id: str, body: DecisionIn, services: ServicesDep, actor: TicketsWriter
) -> DecisionOut:
    chain = services.chain_or_none()
    with services.db.reader() as session:
        ticket = access_ticket(session, actor, ticket_id, write=True)
        contract_id, gathered = actions.prepare_decision(
            session,
            actor,
            ticket,
            body.contract_hash,
            body.facts,
            chain=chain,
            settings=services.settings,
        )
    with services.db.writer() as session:
        ticket = access_ticket(session, actor, ticket_id, write=True, lock=True)
        decision = actions.do_decide(session, actor, ticket, contract_id, gathered)
        return DecisionOut(**asdict(decision))


@router.post(
    "/tickets/{ticket_id}/decisions/dry-run",
    response_model=DryRunOut,
    summary="What a contract (its source; published or not) would decide for the ticket now. "
    "Nothing is logged or carried out",
)
def dry_run(ticket_id: str, body: DryRunIn, services: ServicesDep, actor: AdminScoped) -> DryRunOut:
    chain = services.chain_or_none()
    with services.db.reader() as session:
        ticket = access_ticket(session, actor, ticket_id)
        run = actions.dry_run(
            session,
            actor,
            body.source,
            ticket,
            body.facts,
            chain=chain,
            settings=services.settings,
        )
    return DryRunOut(
        contract_hash=run.contract.contract_hash,
        name=run.contract.name,
        version=run.contract.version,
        decision=DecisionOut(**asdict(run.decision)),
        facts=run.facts(),
        sources=run.gathered.sources,
        unknown=run.gathered.unknown,
    )
