"""Cross-organization transfers (docs/consortium.md): agreements with partner organizations
(admins), the customer's consent and sending a ticket (staff), the partners list, and the two
public endpoints a partner posts to — authenticated by the agreement key's signature on what
they carry, not by a credential, so they count against the webhook window of the address."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from proofdesk.access import (
    access_consent_agreement,
    access_ticket,
    access_transfer_agreement,
    visible_transfer_agreements,
    visible_transfers,
)
from proofdesk.actions import transfers
from proofdesk.actions.webhooks import UrlPolicy
from proofdesk.api.deps import AdminScoped, ServicesDep, TicketsReader, TicketsWriter
from proofdesk.api.schemas.common import ErrorOut
from proofdesk.api.schemas.transfers import (
    AgreementIn,
    AgreementOut,
    AgreementPatch,
    ConsentIn,
    PartnersOut,
    SendIn,
    TransferKeyOut,
    TransferOut,
    UpdateIn,
    UpdateOut,
)
from proofdesk.app.limits import Kind, per_address
from proofdesk.app.services import Services
from proofdesk.jsonlimits import loads
from proofdesk.ledger.transfers import transfer_key
from proofdesk.verify.transfer import public_key_text

router = APIRouter(tags=["transfers"])
BASE = "/transfers/agreements"


def _urls(services: Services) -> UrlPolicy:
    return UrlPolicy(allow_private=services.settings.transfers_allow_private)


def parts_of(services: Services) -> transfers.Parts:
    settings = services.settings
    return transfers.Parts(
        db=services.db,
        signer=services.signer,
        key=transfer_key(settings.effective_transfers_key_file),
        policy=services.witness_policy,
        urls=_urls(services),
        timeout=settings.transfers_timeout,
    )


@router.post(BASE, response_model=AgreementOut, status_code=201, summary="Make an agreement")
def make_agreement(body: AgreementIn, services: ServicesDep, actor: AdminScoped) -> AgreementOut:
    urls = _urls(services)
    urls.check(body.peer_url)  # resolving the host outside the writer lock
    with services.db.writer() as session:
        row = transfers.do_make_agreement(
            session,
            actor,
            urls,
            name=body.name,
            peer_url=body.peer_url,
            peer_organization=body.peer_organization,
            peer_key=body.peer_key,
        )
        return AgreementOut.of(row)


@router.get(BASE, response_model=list[AgreementOut], summary="The organization's agreements")
def list_agreements(services: ServicesDep, actor: AdminScoped) -> list[AgreementOut]:
    with services.db.reader() as session:
        return [AgreementOut.of(r) for r in session.scalars(visible_transfer_agreements(actor))]


@router.patch(
    f"{BASE}/{{agreement_id}}",
    response_model=AgreementOut,
    summary="Set the partner's key, or end the agreement",
)
def patch_agreement(
    agreement_id: str, body: AgreementPatch, services: ServicesDep, actor: AdminScoped
) -> AgreementOut:
    with services.db.writer() as session:
        row = access_transfer_agreement(session, actor, agreement_id)
        if "peer_key" in body.model_fields_set:
            transfers.do_set_peer_key(session, actor, row, body.peer_key)
        if body.ended:
            transfers.do_end_agreement(session, actor, row)
        return AgreementOut.of(row)


@router.get(
    "/transfers/partners",
    response_model=PartnersOut,
    summary="Who tickets may go to, and our keys for the partners' agreements",
)
def list_partners(services: ServicesDep, actor: TicketsReader) -> PartnersOut:
    key = transfer_key(services.settings.effective_transfers_key_file)
    with services.db.reader() as session:
        rows = session.scalars(visible_transfer_agreements(actor)).all()
        return PartnersOut(
            organization_id=actor.organization_id,
            key=public_key_text(key),
            log_key=services.signer.verifier.encode(),
            partners=[AgreementOut.of(r) for r in rows if r.ended_at is None],
        )


@router.get(
    "/transfers/key",
    response_model=TransferKeyOut,
    summary="This deployment's transfer key and log key (no credential)",
    dependencies=[per_address(Kind.PUBLIC)],
)
def get_transfer_key(services: ServicesDep) -> TransferKeyOut:
    key = transfer_key(services.settings.effective_transfers_key_file)
    return TransferKeyOut(key=public_key_text(key), log_key=services.signer.verifier.encode())


@router.post(
    "/tickets/{ticket_id}/transfer-consents",
    response_model=TransferOut,
    status_code=201,
    summary="Record the customer's consent to move the ticket to a partner",
)
def consent(
    ticket_id: str, body: ConsentIn, services: ServicesDep, actor: TicketsWriter
) -> TransferOut:
    with services.db.writer() as session:
        ticket = access_ticket(session, actor, ticket_id, write=True, lock=True)
        agreement = access_consent_agreement(session, actor, body.agreement_id)
        row = transfers.do_consent_transfer(session, actor, ticket, agreement, body.fields)
        return TransferOut.of(row)


@router.post(
    "/tickets/{ticket_id}/transfers",
    response_model=TransferOut,
    summary="Send a consented transfer to the partner (502 partner_unreachable, 409 "
    "partner_refused with the check the partner named)",
    responses={502: {"model": ErrorOut, "description": "The partner did not answer"}},
)
def send(ticket_id: str, body: SendIn, services: ServicesDep, actor: TicketsWriter) -> TransferOut:
    row = transfers.send_transfer(parts_of(services), actor, ticket_id, body.transfer_id)
    return TransferOut.of(row)


@router.get(
    "/tickets/{ticket_id}/transfers",
    response_model=list[TransferOut],
    summary="The ticket's transfers, sent and received",
)
def list_transfers(
    ticket_id: str, services: ServicesDep, actor: TicketsReader
) -> list[TransferOut]:
    with services.db.reader() as session:
        ticket = access_ticket(session, actor, ticket_id)
        return [TransferOut.of(r) for r in session.scalars(visible_transfers(actor, ticket.id))]


@router.post(
    "/tickets/{ticket_id}/transfers/{transfer_id}/updates",
    response_model=UpdateOut,
    status_code=202,
    summary="Send the partner a signed update (a reply, a status) of a transferred ticket",
)
def queue_update(
    ticket_id: str, transfer_id: str, body: UpdateIn, services: ServicesDep, actor: TicketsWriter
) -> UpdateOut:
    key = transfer_key(services.settings.effective_transfers_key_file)
    with services.db.writer() as session:
        ticket = access_ticket(session, actor, ticket_id, write=True, lock=True)
        row = transfers.do_queue_update(
            session, actor, ticket, key, transfer_id, message=body.message, status=body.status
        )
        return UpdateOut(update_id=row.update_id, transfer_id=row.transfer_id, delivered_at=None)


@router.post(
    "/transfers/inbound",
    summary="A partner's signed transfer bundle; answered with our signed acknowledgement",
    dependencies=[per_address(Kind.WEBHOOK)],
)
async def inbound(request: Request, services: ServicesDep) -> dict[str, Any]:
    bundle = loads(await request.body(), what="bundle")
    return await run_in_threadpool(transfers.do_accept_bundle, parts_of(services), bundle)


@router.post(
    "/transfers/updates",
    summary="A partner's signed status update of a transferred ticket (taken once)",
    dependencies=[per_address(Kind.WEBHOOK)],
)
async def updates(request: Request, services: ServicesDep) -> dict[str, Any]:
    envelope = loads(await request.body(), what="update")
    return await run_in_threadpool(transfers.do_take_update, services.db, envelope)
