"""Payouts held for a person: approve, reject or retry what decisions pay."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from proofdesk.actions import payouts as payout_actions
from proofdesk.app.services import services_of
from proofdesk.errors import NotFound
from proofdesk.store.models import (
    Payout,
    Ticket,
)
from proofdesk.web.pages import (
    PAGE_SIZE,
    Visitor,
    WebRoute,
    manager,
    posted_by,
    reading,
    render,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)


PAYOUT_VIEWS = ("held", "failed", "all")


@router.get("/agent/payouts")
def payouts_page(request: Request, status: str = "held") -> Response:
    """What decisions pay (supervisors and admins): the held ones to approve — naming one of
    the customer's verified wallets when that was the doubt — or reject with a reason, the
    failed ones to retry; each with its ticket and, once sent, its transaction."""
    visitor = manager(request)
    status = status if status in PAYOUT_VIEWS else "held"
    with reading(request) as session:
        query = select(Payout, Ticket).join(Ticket, Ticket.id == Payout.ticket_id)
        query = query.where(Payout.organization_id == visitor.actor.organization_id)
        if status != "all":
            query = query.where(Payout.status == status)
        rows = session.execute(query.order_by(Payout.id.desc()).limit(PAGE_SIZE)).all()
        wallets = {
            payout.id: payout_actions.verified_wallets(session, payout.customer_id)
            for payout, _ in rows
            if payout.status == "held" and payout.recipient is None
        }
        counts = dict(
            session.execute(
                select(Payout.status, func.count())
                .where(
                    Payout.organization_id == visitor.actor.organization_id,
                    Payout.status.in_(["held", "failed"]),
                )
                .group_by(Payout.status)
            ).all()
        )
        session.expunge_all()
    return render(
        request,
        visitor,
        "payouts.html",
        view=status,
        views=PAYOUT_VIEWS,
        counts=counts,
        rows=rows,
        wallets=wallets,
    )


@router.post("/agent/payouts/{payout_id}/{decision}")
def decide_payout(
    request: Request,
    payout_id: str,
    decision: str,
    visitor: Annotated[Visitor, posted_by(manager)],
    recipient: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "held",
) -> Response:
    """Approve, reject or retry one payout (``actions.payouts``, as the API)."""
    with services_of(request).db.writer() as session:
        if decision == "approve":
            payout_actions.do_approve(session, visitor.actor, payout_id, recipient or None)
        elif decision == "reject":
            payout_actions.do_reject(session, visitor.actor, payout_id, reason)
        elif decision == "retry":
            payout_actions.do_retry(session, visitor.actor, payout_id)
        else:
            raise NotFound("no such action")
    return RedirectResponse(
        f"/agent/payouts?status={back if back in PAYOUT_VIEWS else 'held'}", 303
    )
