"""Ticket routes: parse, check access, call a ``do_*`` action, respond."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from proofdesk.access import (
    SLA_DUE,
    TicketFilter,
    access_ticket,
    require_staff,
    search_tickets,
    visible_messages,
    visible_tickets,
    with_sla_due,
)
from proofdesk.actions import tickets as actions
from proofdesk.api.deps import ActorDep, ServicesDep, TicketsReader, TicketsWriter, typed_domain
from proofdesk.api.idempotency import idempotent_create
from proofdesk.api.pagination import decode_cursor, encode_cursor
from proofdesk.api.params import query_int
from proofdesk.api.schemas.common import Page, TicketOut
from proofdesk.api.schemas.tickets import (
    AssignmentIn,
    ChangesOut,
    EventOut,
    MergeIn,
    MessageIn,
    MessageOut,
    RatingIn,
    SignatureIn,
    StatusIn,
    TagsIn,
    TicketIn,
    TicketPatch,
)
from proofdesk.app.services import Services
from proofdesk.domain.tickets import Channel, Kind, Priority, Status
from proofdesk.identity.typed import SignatureClaim
from proofdesk.ledger.receipts import build_receipt
from proofdesk.ledger.store import EventReader
from proofdesk.sla.timers import NEVER
from proofdesk.store.events import row_to_state
from proofdesk.store.feed import ticket_key
from proofdesk.store.models import Message, Ticket, TicketEvent, TicketSla

router = APIRouter(prefix="/tickets", tags=["tickets"])

SortKey = Literal[
    "-updated_at", "updated_at", "-created_at", "created_at", "-number", "number", "sla_due"
]
_SORT_COLUMNS: dict[str, Any] = {
    "updated_at": Ticket.updated_at,
    "created_at": Ticket.created_at,
    "number": Ticket.number,
    # The agent queue's "time to breach": breached first, tickets without a running target last.
    "sla_due": SLA_DUE,
}


@router.get("", response_model=Page[TicketOut], summary="List and search tickets")
def list_tickets(
    services: ServicesDep,
    actor: TicketsReader,
    status: Annotated[list[Status] | None, Query()] = None,
    priority: Annotated[list[Priority] | None, Query()] = None,
    kind: Annotated[list[Kind] | None, Query()] = None,
    assignee_id: Annotated[
        str | None, Query(max_length=64, description="An id, `me`, or `none` for unassigned.")
    ] = None,
    team_id: Annotated[str | None, Query(max_length=64)] = None,
    requester_id: Annotated[str | None, Query(max_length=64)] = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="The one search (docs/search.md): a #number; words in the subject and "
            "the messages you can see (all required; Chinese by character bigrams); identifiers "
            "(tx hash, address, order id) exactly; for staff, a customer's name, e-mail or "
            "wallet.",
        ),
    ] = None,
    sort: SortKey = "-updated_at",
    limit: Annotated[int, query_int(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Page[TicketOut]:
    wanted = TicketFilter(
        statuses=[s.value for s in status or ()],
        priorities=[p.value for p in priority or ()],
        kinds=[k.value for k in kind or ()],
        unassigned=assignee_id == "none",
        assignee_id=actor.user_id if assignee_id == "me" else assignee_id,
        team_id=team_id,
        requester_id=requester_id,
        tag=tag,
        text=q,
    )
    query = search_tickets(actor, wanted)
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    column = _SORT_COLUMNS[key]
    if key == "sla_due":
        query = with_sla_due(query)
    if cursor is not None:
        value, last_id = decode_cursor(cursor, sort, int if key == "number" else str)
        if descending:
            query = query.where(or_(column < value, and_(column == value, Ticket.id < last_id)))
        else:
            query = query.where(or_(column > value, and_(column == value, Ticket.id > last_id)))
    order = (column.desc(), Ticket.id.desc()) if descending else (column.asc(), Ticket.id.asc())
    with services.db.reader() as session:
        rows = session.scalars(query.order_by(*order).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        last: Any = None
        if more and key == "sla_due":
            sla = session.get(TicketSla, rows[-1].id)
            last = sla.due_at if sla is not None else NEVER
        elif more:
            last = getattr(rows[-1], key)
    next_cursor = encode_cursor(sort, last, rows[-1].id) if more else None
    return Page[TicketOut](
        items=[TicketOut.of(row_to_state(r)) for r in rows], next_cursor=next_cursor
    )


@router.get("/-/counts", include_in_schema=True, summary="Ticket counts by status")
def counts(services: ServicesDep, actor: TicketsReader) -> dict[str, int]:
    query = (
        visible_tickets(actor)
        .with_only_columns(Ticket.status, func.count())
        .group_by(Ticket.status)
    )
    with services.db.reader() as session:
        found: dict[str, int] = {row[0]: row[1] for row in session.execute(query)}
    return {s.value: found.get(s.value, 0) for s in Status}


@router.post(
    "",
    status_code=201,
    response_model=TicketOut,
    summary="Open a ticket",
    responses={200: {"description": "Replayed response for a repeated Idempotency-Key"}},
)
def create_ticket(
    body: TicketIn, request: Request, services: ServicesDep, actor: TicketsWriter
) -> JSONResponse:
    spec = actions.NewTicket(
        **body.model_dump(exclude={"signed"}), signature=signature_claim(services, body.signed)
    )

    def create(session: Session) -> TicketOut:
        return TicketOut.of(actions.do_create_ticket(session, actor, spec))

    return idempotent_create(request, services.db, actor, body, create)


def signature_claim(services: Services, signed: SignatureIn | None) -> SignatureClaim | None:
    """The claim of a signed submission, bound to this deployment's EIP-712 domain (the chain
    and its anchor contract; opened here, before any write transaction)."""
    if signed is None:
        return None
    chain_id, contract = typed_domain(services)
    return SignatureClaim(
        signer=signed.signer,
        signature=signed.signature,
        nonce=int(signed.nonce),
        issued_at=signed.issued_at,
        request_id=signed.request_id,
        chain_id=chain_id,
        verifying_contract=contract,
    )


@router.get("/{ticket_id}", response_model=TicketOut)
def get_ticket(ticket_id: str, services: ServicesDep, actor: TicketsReader) -> TicketOut:
    with services.db.reader() as session:
        return TicketOut.of(row_to_state(access_ticket(session, actor, ticket_id)))


@router.patch("/{ticket_id}", response_model=TicketOut, summary="Change ticket fields")
def patch_ticket(
    ticket_id: str, body: TicketPatch, services: ServicesDep, actor: TicketsWriter
) -> TicketOut:
    changes = body.model_dump(mode="json", exclude_unset=True)
    with services.db.writer() as session:
        ticket = access_ticket(session, actor, ticket_id, write=True, lock=True)
        return TicketOut.of(actions.do_update_fields(session, actor, ticket, changes))


@router.post("/{ticket_id}/status", response_model=TicketOut, summary="Change status")
def change_status(
    ticket_id: str, body: StatusIn, services: ServicesDep, actor: TicketsWriter
) -> TicketOut:
    with services.db.writer() as session:
        ticket = access_ticket(session, actor, ticket_id, write=True, lock=True)
        return TicketOut.of(actions.do_change_status(session, actor, ticket, body.status))


@router.put("/{ticket_id}/assignment", response_model=TicketOut, summary="Assign to agent/team")
def assign(
    ticket_id: str, body: AssignmentIn, services: ServicesDep, actor: TicketsWriter
) -> TicketOut:
    with services.db.writer() as session:
        ticket = access_ticket(session, actor, ticket_id, write=True, lock=True)
        state = actions.do_assign(
            session, actor, ticket, assignee_id=body.assignee_id, team_id=body.team_id
        )
        return TicketOut.of(state)


@router.post("/{ticket_id}/tags", response_model=TicketOut, summary="Add and remove tags")
def change_tags(
    ticket_id: str, body: TagsIn, services: ServicesDep, actor: TicketsWriter
) -> TicketOut:
    with services.db.writer() as session:
        ticket = access_ticket(session, actor, ticket_id, write=True, lock=True)
        return TicketOut.of(
            actions.do_change_tags(session, actor, ticket, add=body.add, remove=body.remove)
        )


@router.post(
    "/{ticket_id}/rating",
    response_model=TicketOut,
    summary="The requester rates a solved request (1-5, optional comment)",
)
def rate(ticket_id: str, body: RatingIn, services: ServicesDep, actor: TicketsWriter) -> TicketOut:
    with services.db.writer() as session:
        ticket = access_ticket(session, actor, ticket_id, write=True, lock=True)
        return TicketOut.of(
            actions.do_rate(session, actor, ticket, score=body.score, comment=body.comment)
        )


@router.post(
    "/{ticket_id}/merge",
    response_model=TicketOut,
    summary="Merge this ticket into another; returns the surviving ticket",
)
def merge(ticket_id: str, body: MergeIn, services: ServicesDep, actor: TicketsWriter) -> TicketOut:
    with services.db.writer() as session:
        source = access_ticket(session, actor, ticket_id, write=True, lock=True)
        target = access_ticket(session, actor, body.into, write=True, lock=True)
        return TicketOut.of(actions.do_merge(session, actor, source, target))


#: Longest a client may wait for a change, in seconds (below proxies' usual idle limit).
MAX_WAIT_SECONDS = 25.0


@router.get(
    "/{ticket_id}/changes",
    response_model=ChangesOut,
    summary="Wait for the ticket to change (long polling): answered as soon as its last event "
    "is above `after`, or after `wait` seconds",
)
async def wait_for_changes(
    ticket_id: str,
    services: ServicesDep,
    actor: TicketsReader,
    after: Annotated[int, query_int(ge=-1)] = -1,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS)] = 0,
) -> ChangesOut:
    """For a client that signs in with a bearer token and so cannot use the pages' event
    streams (the chat widget): one request at a time, answered the moment something happens.
    The waiting holds no thread and reads nothing: the commit that changes the ticket (or the
    change feed's follower, for another process's) wakes it (``store.feed``)."""

    def read() -> int:
        with services.db.reader() as session:
            return access_ticket(session, actor, ticket_id).last_seq

    deadline = time.monotonic() + wait
    with services.db.feed.watching(ticket_key(ticket_id)) as waiter:
        seq = await run_in_threadpool(read)
        while seq <= after and (left := deadline - time.monotonic()) > 0:
            await waiter.wait(left)
            seq = await run_in_threadpool(read)
    return ChangesOut(last_seq=seq)


@router.get(
    "/{ticket_id}/messages",
    response_model=list[MessageOut],
    summary="The conversation (customers never see internal notes)",
)
def list_messages(ticket_id: str, services: ServicesDep, actor: TicketsReader) -> list[MessageOut]:
    with services.db.reader() as session:
        ticket = access_ticket(session, actor, ticket_id)
        rows = session.scalars(visible_messages(actor, ticket.id)).all()
        return [MessageOut.of(m) for m in rows]


@router.post(
    "/{ticket_id}/messages",
    status_code=201,
    response_model=MessageOut,
    summary="Reply or add an internal note",
)
def add_message(
    ticket_id: str, body: MessageIn, request: Request, services: ServicesDep, actor: TicketsWriter
) -> JSONResponse:
    claim = signature_claim(services, body.signed)

    def create(session: Session) -> MessageOut:
        ticket = access_ticket(session, actor, ticket_id, write=True, lock=True)
        state = actions.do_add_message(
            session,
            actor,
            ticket,
            body=body.body,
            visibility=body.visibility,
            attachment_ids=body.attachment_ids,
            status=body.status,
            signature=claim,
            # A customer writing through the API writes on the API channel; staff replies go
            # out where the customer last wrote (``actions.mail_out.reply_channel``).
            channel=Channel.API if actor.is_customer else None,
        )
        message = session.scalars(
            select(Message).where(Message.ticket_id == state.id, Message.seq == state.last_seq)
        ).one()
        return MessageOut.of(message)

    return idempotent_create(request, services.db, actor, body, create, fingerprint_extra=ticket_id)


@router.get(
    "/{ticket_id}/events",
    response_model=list[EventOut],
    summary="The ticket's event stream (staff only)",
)
def list_events(ticket_id: str, services: ServicesDep, actor: TicketsReader) -> list[EventOut]:
    require_staff(actor)  # events carry internal notes; customers read messages instead
    with services.db.reader() as session:
        ticket = access_ticket(session, actor, ticket_id)
        rows = session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.ticket_seq)
        ).all()
        events = list(map(EventReader(session).event, rows))
    return [
        EventOut(
            **{
                k: getattr(e, k)
                for k in ("seq", "ticket_id", "ticket_seq", "actor_id", "occurred_at", "payload")
            }
            | {"type": e.type.value}
        )
        for e in events
    ]


@router.get(
    "/{ticket_id}/receipt",
    summary="A receipt of the ticket's history, checkable offline (docs/receipt.schema.json)",
    responses={200: {"content": {"application/json": {}}}},
)
def get_receipt(
    ticket_id: str,
    services: ServicesDep,
    actor: ActorDep,
    since: Annotated[
        int | None,
        query_int(description="Add a consistency proof from this tree size."),
    ] = None,
) -> JSONResponse:
    receipt = build_receipt(
        services.db, services.signer, actor, ticket_id, since, services.witness_policy
    )
    return JSONResponse(receipt)
