"""The customer portal: ``/requests`` (mine), ``/requests/new`` (with knowledge-base suggestions as
they type), ``/requests/{id}`` (the timeline; replies; the verification panel with the receipt;
the satisfaction survey once solved)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.access import (
    TicketFilter,
    access_ticket,
    search_tickets,
    visible_messages,
)
from proofdesk.actions import tickets as actions
from proofdesk.actions.telegram_bots import bot_of, start_link
from proofdesk.actions.uploads import do_store_upload
from proofdesk.app.limits import address_of
from proofdesk.app.services import Services, services_of
from proofdesk.assistant.similar import article_suggestions
from proofdesk.domain import networks
from proofdesk.domain.tickets import (
    Channel,
    Kind,
    Status,
)
from proofdesk.errors import Error, NotFound
from proofdesk.ledger.anchors import covering_anchor
from proofdesk.store.models import (
    ChainFiling,
    Message,
    SignedCheckpoint,
    Ticket,
)
from proofdesk.web.activity import timeline_context
from proofdesk.web.pages import (
    MAX_FILES,
    Visitor,
    WebRoute,
    error_text,
    integer_field,
    locale_of,
    newest_first,
    posted_by,
    reading,
    render,
    signed_in,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/requests")
def my_requests(request: Request, status: str = "", after: str = "") -> Response:
    """The customer's requests, last updated first, by pages, narrowed to a status."""
    visitor = signed_in(request)
    if visitor.is_staff:
        return RedirectResponse("/agent", 303)
    chosen = status if status in {s.value for s in Status} else ""
    with reading(request) as session:
        query = search_tickets(visitor.actor, TicketFilter(statuses=[chosen] if chosen else ()))
        rows, next_after = newest_first(session, query, after)
        telegram = bot_of(session, visitor.actor.organization_id) is not None
    return render(
        request,
        visitor,
        "requests.html",
        tickets=rows,
        telegram=telegram,
        statuses=[s.value for s in Status],
        chosen_status=chosen,
        next_link=f"/requests?{urlencode({'status': chosen, 'after': next_after})}"
        if next_after
        else "",
        first_link=f"/requests?{urlencode({'status': chosen})}" if after else "",
    )


@router.get("/requests/telegram")
def telegram_link(request: Request) -> Response:
    """Continue on Telegram: to the organization's bot with a signed, expiring ``/start``
    token that binds the Telegram account to this customer (``docs/telegram.md``)."""
    visitor = signed_in(request)
    if visitor.is_staff:
        return RedirectResponse("/agent", 303)
    keyring = services_of(request).db.keyring
    assert keyring is not None
    with reading(request) as session:
        link = start_link(session, keyring, visitor.actor)
    if link is None:
        raise NotFound("this organization has no Telegram bot", code="no_such_bot")
    return RedirectResponse(link, 303)


KIND_FIELDS = {
    Kind.TRANSACTION_PROBLEM.value: ("tx_hash", "network"),
    Kind.REFUND_REQUEST.value: ("order_id",),
    Kind.WARRANTY_CLAIM.value: ("order_id",),
}


@router.get("/requests/new")
def new_request_page(request: Request, kind: str = Kind.QUESTION.value) -> Response:
    visitor = signed_in(request)
    if visitor.is_staff:
        return RedirectResponse("/agent", 303)
    return render(
        request,
        visitor,
        "new_request.html",
        kinds=[k.value for k in Kind],
        kind=kind if kind in {k.value for k in Kind} else Kind.QUESTION.value,
        form={},
        networks=networks.NETWORKS,
        error=None,
    )


@router.post("/requests/new")
def create_request(
    request: Request,
    visitor: Annotated[Visitor, posted_by(signed_in)],
    kind: Annotated[str, Form()] = "",
    subject: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    order_id: Annotated[str, Form()] = "",
    tx_hash: Annotated[str, Form()] = "",
    network: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    if visitor.is_staff:
        return RedirectResponse("/agent", 303)
    form = {"subject": subject, "body": body, "order_id": order_id, "tx_hash": tx_hash}
    form["network"] = network
    try:
        spec = actions.NewTicket(
            kind=Kind(kind) if kind in {k.value for k in Kind} else Kind.QUESTION,
            subject=subject,
            body=body,
            order_id=order_id.strip() or None,
            tx_hash=tx_hash.strip() or None,
            network=network.strip() or None,
            attachment_ids=_uploads(request, visitor, files),
        )
        with services_of(request).db.writer() as session:
            state = actions.do_create_ticket(session, visitor.actor, spec)
    except Error as exc:
        return render(
            request,
            visitor,
            "new_request.html",
            status=exc.http_status,
            kinds=[k.value for k in Kind],
            kind=kind,
            form=form,
            networks=networks.NETWORKS,
            error=error_text(exc, locale_of(request, visitor)),
        )
    return RedirectResponse(f"/requests/{state.id}", 303)


def _uploads(request: Request, visitor: Visitor, files: list[UploadFile] | None) -> list[str]:
    """Store the files of a form (the API's checks: size, type by content, no secrets) and
    return their ids to attach; an empty file input sends one nameless empty part."""
    from proofdesk.errors import InvalidInput

    chosen = [f for f in files or [] if f.filename]
    if len(chosen) > MAX_FILES:
        raise InvalidInput(f"at most {MAX_FILES} files", field="files")
    services = services_of(request)
    limit = services.settings.attachment_max_bytes + 1
    return [
        do_store_upload(
            services.db,
            services.blobs,
            services.settings,
            visitor.actor,
            f.filename,
            f.content_type,
            f.file.read(limit),
        ).id
        for f in chosen
    ]


#: The same storing for the other forms that take files (``web.community``).
uploads = _uploads


@router.get("/requests/suggest")
def suggest(request: Request, subject: str = "", body: str = "") -> Response:
    """Knowledge-base articles for what the customer is typing (an htmx fragment)."""
    visitor = signed_in(request)
    text = f"{subject}\n{body}".strip()[:2000]
    found: list[Any] = []
    if len(text) >= 4:
        services = services_of(request)
        services.limits.assistant(address_of(request), visitor.actor.user_id)
        try:
            model = services.assistant.of(services.db, visitor.actor.organization_id)
        except NotFound:
            model = None
        if model is not None:
            found = article_suggestions(model, text, locale_of(request, visitor))
    return render(request, visitor, "_suggestions.html", articles=found)


@router.get("/requests/{ticket_id}")
def request_page(request: Request, ticket_id: str) -> Response:
    visitor = signed_in(request)
    if visitor.is_staff:
        return RedirectResponse(f"/agent/tickets/{ticket_id}", 303)
    with reading(request) as session:
        ticket, messages, timeline = _ticket_and_messages(session, visitor, ticket_id)
        proof = verification(session, services_of(request), ticket)
    return render(
        request,
        visitor,
        "request.html",
        ticket=ticket,
        messages=messages,
        **timeline,
        proof=proof,
        error=None,
        solved=ticket.status == Status.SOLVED.value,
    )


@router.get("/requests/{ticket_id}/rating")
def request_rating(request: Request, ticket_id: str) -> Response:
    """The rating form while the request is solved (nothing otherwise), refreshed live."""
    visitor = signed_in(request)
    with reading(request) as session:
        ticket = access_ticket(session, visitor.actor, ticket_id)
    solved = ticket.status == Status.SOLVED.value
    return render(request, visitor, "_rating.html", ticket=ticket, solved=solved)


@router.get("/requests/{ticket_id}/timeline")
def request_timeline(request: Request, ticket_id: str) -> Response:
    visitor = signed_in(request)
    with reading(request) as session:
        ticket, messages, timeline = _ticket_and_messages(session, visitor, ticket_id)
        proof = verification(session, services_of(request), ticket)
    return render(
        request,
        visitor,
        "_timeline.html",
        ticket=ticket,
        messages=messages,
        proof=proof,
        **timeline,
    )


@router.post("/requests/{ticket_id}/reply")
def reply(
    request: Request,
    ticket_id: str,
    visitor: Annotated[Visitor, posted_by(signed_in)],
    body: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    attached = _uploads(request, visitor, files)
    return _change(
        request,
        visitor,
        ticket_id,
        lambda session, ticket: actions.do_add_message(
            session, visitor.actor, ticket, body=body, attachment_ids=attached, channel=Channel.WEB
        ),
        f"/requests/{ticket_id}",
    )


@router.post("/requests/{ticket_id}/rating")
def rate(
    request: Request,
    ticket_id: str,
    visitor: Annotated[Visitor, posted_by(signed_in)],
    score: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    value = integer_field(score, "score") or 0
    return _change(
        request,
        visitor,
        ticket_id,
        lambda session, ticket: actions.do_rate(
            session, visitor.actor, ticket, score=value, comment=comment or None
        ),
        f"/requests/{ticket_id}",
    )


def _change(
    request: Request,
    visitor: Visitor,
    ticket_id: str,
    action: Callable[[Session, Ticket], object],
    back: str,
) -> Response:
    """One action on a ticket the visitor may change, in one transaction; then back to the
    page (post/redirect/get) — the other side sees it live."""
    with services_of(request).db.writer() as session:
        action(session, access_ticket(session, visitor.actor, ticket_id, write=True, lock=True))
    return RedirectResponse(back, 303)


def _ticket_and_messages(
    session: Session, visitor: Visitor, ticket_id: str
) -> tuple[Ticket, list[Message], dict[str, Any]]:
    """The ticket, its messages the visitor may see, and the rest of what the timeline shows
    (authors' names, activity lines: ``web.activity.timeline_context``)."""
    ticket = access_ticket(session, visitor.actor, ticket_id)
    messages = list(session.scalars(visible_messages(visitor.actor, ticket.id)))
    context = timeline_context(session, visitor.actor, ticket, messages)
    session.expunge_all()
    return ticket, messages, context


def verification(session: Session, services: Services, ticket: Ticket) -> dict[str, Any]:
    """Where the ticket's history stands in the log: the first signed checkpoint that holds
    its last event, and the first on-chain anchor that covers it (either may be pending)."""
    size = ticket.last_seq + 1
    checkpoint = session.scalars(
        select(SignedCheckpoint)
        .where(SignedCheckpoint.size >= size)
        .order_by(SignedCheckpoint.size)
        .limit(1)
    ).first()
    anchor = covering_anchor(session, size)
    filings = session.scalars(
        select(ChainFiling)
        .where(ChainFiling.ticket_id == ticket.id, ChainFiling.status.in_(("opened", "linked")))
        .order_by(ChainFiling.block_number)
    ).all()
    return {
        "filings": [
            {"block": f.block_number, "chain": f.chain_id, "time": f.block_time, "tx": f.tx_hash}
            for f in filings
        ],
        "origin": services.signer.name,
        "leaves": size,
        "checkpoint": checkpoint.size if checkpoint else None,
        "anchor_block": anchor.block_number if anchor else None,
        "anchor_chain": anchor.chain_id if anchor else None,
        "anchor_tx": anchor.tx_hash if anchor else None,
    }
