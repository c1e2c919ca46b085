"""The console's customer page, ``/agent/customers/{id}``: the customer's requests (by pages,
narrowed to a status), wallets, orders, ratings, and staff's notes about them (added here)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from proofdesk.access import (
    TicketFilter,
    access_customer_page,
    search_tickets,
    visible_customer_notes,
)
from proofdesk.actions.customers import do_add_customer_note
from proofdesk.app.services import services_of
from proofdesk.domain.roles import WORKERS
from proofdesk.domain.tickets import Status
from proofdesk.store.models import Order, Ticket, User, Wallet
from proofdesk.web.pages import (
    Visitor,
    WebRoute,
    newest_first,
    posted_by,
    reading,
    render,
    staff,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)

#: Orders, ratings and notes shown (the newest).
RECENT = 20


@router.get("/agent/customers/{user_id}")
def customer_page(request: Request, user_id: str, status: str = "", after: str = "") -> Response:
    visitor = staff(request)
    chosen = status if status in {s.value for s in Status} else ""
    with reading(request) as session:
        customer = access_customer_page(session, visitor.actor, user_id)
        mine = search_tickets(visitor.actor, TicketFilter(requester_id=customer.id))
        total = session.scalar(select(func.count()).select_from(mine.subquery()))
        query = search_tickets(
            visitor.actor,
            TicketFilter(requester_id=customer.id, statuses=[chosen] if chosen else ()),
        )
        tickets, next_after = newest_first(session, query, after)
        wallets = session.scalars(
            select(Wallet).where(Wallet.user_id == customer.id).order_by(Wallet.created_at)
        ).all()
        orders = session.scalars(
            select(Order)
            .where(Order.customer_id == customer.id)
            .order_by(Order.created_at.desc())
            .limit(RECENT)
        ).all()
        rated = session.scalars(
            mine.where(Ticket.rating.is_not(None)).order_by(Ticket.rated_at.desc()).limit(RECENT)
        ).all()
        notes = list(
            session.scalars(visible_customer_notes(visitor.actor, customer.id).limit(RECENT))
        )
        authors = dict(
            session.execute(
                select(User.id, User.display_name).where(User.id.in_({n.author_id for n in notes}))
            ).all()
        )
        session.expunge_all()
    base = f"/agent/customers/{customer.id}"
    return render(
        request,
        visitor,
        "agent_customer.html",
        customer=customer,
        total=total,
        tickets=tickets,
        statuses=[s.value for s in Status],
        chosen_status=chosen,
        wallets=wallets,
        orders=orders,
        rated=rated,
        notes=notes,
        authors=authors,
        may_note=visitor.actor.role in WORKERS,
        next_link=f"{base}?{urlencode({'status': chosen, 'after': next_after})}"
        if next_after
        else "",
        first_link=f"{base}?{urlencode({'status': chosen})}" if after else "",
    )


@router.post("/agent/customers/{user_id}/notes")
def add_note(
    request: Request,
    user_id: str,
    visitor: Annotated[Visitor, posted_by(staff)],
    body: Annotated[str, Form()] = "",
) -> Response:
    with services_of(request).db.writer() as session:
        customer = access_customer_page(session, visitor.actor, user_id)
        do_add_customer_note(session, visitor.actor, customer, body)
    return RedirectResponse(f"/agent/customers/{user_id}#notes", 303)
