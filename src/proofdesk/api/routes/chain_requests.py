"""Requests filed on chain from the customer's wallet (``actions/chain_requests.py``): prepare
the content here, send the returned call from the wallet, then follow what the filing did."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from proofdesk.actions.chain_requests import do_prepare_chain_request, draft_status
from proofdesk.api.deps import ServicesDep, TicketsReader, TicketsWriter
from proofdesk.api.schemas.chain_requests import (
    ChainCallOut,
    ChainRequestIn,
    ChainRequestOut,
    FilingOut,
)
from proofdesk.chain.inbox import file_call, inbox_address, organization_key
from proofdesk.errors import Conflict, Forbidden, NotFound
from proofdesk.store.models import ChainFiling, ChainRequestDraft

router = APIRouter(prefix="/chain-requests", tags=["chain"])


def _out(
    draft: ChainRequestDraft, filings: list[ChainFiling], call: dict[str, Any] | None
) -> ChainRequestOut:
    return ChainRequestOut(
        id=draft.id,
        commitment=draft.commitment,
        organization=organization_key(draft.organization_id),
        expires_at=draft.expires_at,
        ticket_id=draft.ticket_id,
        call=ChainCallOut(**call) if call is not None else None,
        filings=[
            FilingOut(
                tx_hash=f.tx_hash,
                log_index=f.log_index,
                block_number=f.block_number,
                block_time=f.block_time,
                status=f.status,
                reason=f.reason,
            )
            for f in filings
        ],
    )


@router.post(
    "",
    status_code=201,
    response_model=ChainRequestOut,
    summary="Prepare a request to file on chain",
)
def prepare(body: ChainRequestIn, services: ServicesDep, actor: TicketsWriter) -> ChainRequestOut:
    if not actor.is_customer:
        raise Forbidden("only customers file requests on chain", code="not_a_customer")
    chain = services.chain()  # opened before the write transaction, like signed requests
    address = inbox_address(services.db, chain, services.settings.request_inbox_contract)
    if address is None:
        raise Conflict("no request inbox is deployed on this chain", code="no_request_inbox")
    with services.db.writer() as session:
        draft = do_prepare_chain_request(session, actor, body.kind, body.subject, body.body)
        session.expunge(draft)
    call = file_call(chain, address, actor.organization_id, draft.commitment)
    return _out(draft, [], {"chain_id": chain.chain_id, **call})


@router.get("/{draft_id}", response_model=ChainRequestOut, summary="What a filing did")
def status(draft_id: str, services: ServicesDep, actor: TicketsReader) -> ChainRequestOut:
    with services.db.reader() as session:
        found = draft_status(session, actor, draft_id)
        if found is None:
            raise NotFound("no such request draft", code="not_found")
        return _out(found["draft"], found["filings"], None)
