"""Orders synced by shops (API and signed webhook), the organization's escrow and webhook
settings, and payouts: what decisions pay, held ones approved or rejected by a person."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from proofdesk.access import access_ticket, require_manager
from proofdesk.actions import orders, payouts
from proofdesk.api.deps import (
    AdminScoped,
    CustomersWriter,
    ServicesDep,
    TicketsReader,
    TicketsWriter,
)
from proofdesk.api.params import query_int
from proofdesk.api.schemas.common import OrderOut
from proofdesk.api.schemas.payouts import (
    EscrowSettingsIn,
    OrderSyncIn,
    OrderWebhookIn,
    PayoutApproveIn,
    PayoutOut,
    PayoutRejectIn,
    WebhookSecretOut,
)
from proofdesk.app.limits import Kind, per_address
from proofdesk.errors import InvalidInput, NotFound
from proofdesk.store.models import Organization, Payout

router = APIRouter(tags=["orders and payouts"])


def _sync_spec(external_id: str, body: OrderSyncIn) -> orders.OrderSync:
    fields = body.model_dump(exclude={"external_id"})
    return orders.OrderSync(external_id=external_id, **fields)


@router.put(
    "/orders/{external_id}",
    response_model=OrderOut,
    summary="Create or update an order or withdrawal as the shop has it (integration: admin token)",
)
def put_order(
    external_id: str,
    body: OrderSyncIn,
    response: Response,
    services: ServicesDep,
    actor: CustomersWriter,
) -> OrderOut:
    with services.db.writer() as session:
        order, written = orders.do_sync(session, actor, _sync_spec(external_id, body))
        if not written:
            response.headers["X-ProofDesk-Ignored"] = "older-update"
        return OrderOut.of(order)


@router.post(
    "/webhooks/orders",
    dependencies=[per_address(Kind.WEBHOOK)],
    response_model=OrderOut,
    summary="An order sync signed with the organization's webhook secret (no token)",
)
async def order_webhook(
    request: Request,
    services: ServicesDep,
    organization: Annotated[str, Query(min_length=1, max_length=64)],
) -> OrderOut:
    raw = await request.body()
    try:
        body = OrderWebhookIn.model_validate_json(raw)
    except ValueError as exc:
        raise InvalidInput(f"not an order: {str(exc).splitlines()[0]}") from None
    with services.db.writer() as session:
        org = session.scalars(select(Organization).where(Organization.slug == organization)).first()
        if org is None:
            raise NotFound("no such organization", code="no_such_organization")
        keyring = services.db.keyring
        assert keyring is not None
        orders.check_signature(org, keyring, request.headers.get(orders.SIGNATURE_HEADER), raw)
        order, _ = orders.do_sync_order(
            session, org.id, _sync_spec(body.external_id, body), "webhook"
        )
        return OrderOut.of(order)


@router.post(
    "/organization/webhook-secret",
    response_model=WebhookSecretOut,
    status_code=201,
    summary="Issue a new order-webhook secret (shown once; the old one stops working)",
)
def new_webhook_secret(services: ServicesDep, actor: AdminScoped) -> WebhookSecretOut:
    keyring = services.db.keyring
    assert keyring is not None
    with services.db.writer() as session:
        return WebhookSecretOut(secret=orders.do_new_webhook_secret(session, actor, keyring))


@router.put(
    "/organization/escrow",
    summary="Set the merchant account whose escrow bond pays this organization's claims",
)
def set_escrow(body: EscrowSettingsIn, services: ServicesDep, actor: AdminScoped) -> dict[str, str]:
    with services.db.writer() as session:
        address = payouts.do_set_merchant(session, actor, body.merchant_address)
    return {"merchant_address": address}


@router.get(
    "/tickets/{ticket_id}/payouts",
    response_model=list[PayoutOut],
    summary="What decisions on this ticket pay, and where each payment is",
)
def ticket_payouts(ticket_id: str, services: ServicesDep, actor: TicketsReader) -> list[PayoutOut]:
    with services.db.reader() as session:
        ticket = access_ticket(session, actor, ticket_id)
        rows = session.scalars(
            select(Payout).where(Payout.ticket_id == ticket.id).order_by(Payout.id)
        ).all()
        return [PayoutOut.of(r) for r in rows]


@router.get(
    "/payouts",
    response_model=list[PayoutOut],
    summary="The organization's payouts, e.g. those held for approval (supervisors, admins)",
)
def list_payouts(
    services: ServicesDep,
    actor: TicketsReader,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, query_int(ge=1, le=200)] = 50,
) -> list[PayoutOut]:
    require_manager(actor)
    query = select(Payout).where(Payout.organization_id == actor.organization_id)
    if status is not None:
        query = query.where(Payout.status == status)
    with services.db.reader() as session:
        rows = session.scalars(query.order_by(Payout.id.desc()).limit(limit)).all()
        return [PayoutOut.of(r) for r in rows]


@router.post(
    "/payouts/{payout_id}/approve", response_model=PayoutOut, summary="Release a held payout"
)
def approve(
    payout_id: str, body: PayoutApproveIn, services: ServicesDep, actor: TicketsWriter
) -> PayoutOut:
    with services.db.writer() as session:
        return PayoutOut.of(payouts.do_approve(session, actor, payout_id, body.recipient))


@router.post(
    "/payouts/{payout_id}/reject", response_model=PayoutOut, summary="Refuse a held payout"
)
def reject(
    payout_id: str, body: PayoutRejectIn, services: ServicesDep, actor: TicketsWriter
) -> PayoutOut:
    with services.db.writer() as session:
        return PayoutOut.of(payouts.do_reject(session, actor, payout_id, body.reason))


@router.post(
    "/payouts/{payout_id}/retry", response_model=PayoutOut, summary="Queue a failed payout again"
)
def retry(payout_id: str, services: ServicesDep, actor: TicketsWriter) -> PayoutOut:
    with services.db.writer() as session:
        return PayoutOut.of(payouts.do_retry(session, actor, payout_id))
