"""The agent console: ``/agent`` (views with counts, filters, bulk actions) and
``/agent/tickets/{id}`` (public replies and internal notes, status, properties, macros, the
side panel, presence)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from proofdesk.access import (
    SLA_DUE,
    TicketFilter,
    access_ticket,
    search_tickets,
    visible_macros,
    visible_tickets,
    with_sla_due,
)
from proofdesk.actions import tickets as actions
from proofdesk.actions.reads import do_mark_read
from proofdesk.app.limits import address_of
from proofdesk.app.services import services_of
from proofdesk.canonical import format_time, utc_now
from proofdesk.domain import networks
from proofdesk.domain.roles import WORKERS
from proofdesk.domain.tickets import (
    TRANSITIONS,
    UNSOLVED,
    Channel,
    Kind,
    Priority,
    Status,
    Visibility,
)
from proofdesk.errors import NotFound
from proofdesk.sla.timers import NEVER
from proofdesk.store.feed import presence_key, queue_key, ticket_key
from proofdesk.store.models import (
    Macro,
    Order,
    Team,
    Ticket,
    TicketRead,
    TicketSla,
    User,
    Wallet,
)
from proofdesk.web.activity import activity
from proofdesk.web.live import _last_seq, _queue_seq, _stream
from proofdesk.web.pages import (
    PAGE_SIZE,
    PRESENCE_SECONDS,
    Visitor,
    WebRoute,
    check_csrf,
    locale_of,
    posted_by,
    reading,
    render,
    staff,
)
from proofdesk.web.portal import _change, _ticket_and_messages, _uploads, verification

router = APIRouter(route_class=WebRoute, include_in_schema=False)


VIEWS = ("mine", "unassigned", "sla", "all")


@dataclass(frozen=True)
class Queue:
    """What the console's queue shows: a view (``mine``, ``unassigned``, ``sla``, ``all`` or
    ``team-<id>``), filters by kind, priority and channel, and an order (last updated, or time
    to breach). Read from the page's query; anything unknown falls back to the default."""

    view: str = "unassigned"
    kind: str = ""
    priority: str = ""
    channel: str = ""
    sort: str = "updated"

    @classmethod
    def of(
        cls, view: str, kind: str, priority: str, channel: str, sort: str, teams: Iterable[str]
    ) -> Queue:
        views = {*VIEWS, *(f"team-{t}" for t in teams)}
        return cls(
            view=view if view in views else "unassigned",
            kind=kind if kind in {k.value for k in Kind} else "",
            priority=priority if priority in {p.value for p in Priority} else "",
            channel=channel if channel in {c.value for c in Channel} else "",
            sort="due" if sort == "due" or view == "sla" else "updated",
        )

    def link(self, **changes: str) -> str:
        """This queue's URL with ``changes`` (only what differs from the defaults)."""
        chosen = {**self.__dict__, **changes}
        if chosen["view"] == "sla":
            chosen["sort"] = "updated"  # the view sorts by time to breach anyway
        defaults = Queue().__dict__
        query = urlencode({k: v for k, v in chosen.items() if v and v != defaults[k]})
        return f"/agent?{query}" if query else "/agent"

    def select(self, visitor: Visitor, view: str, now: str = "") -> Any:
        """The unsolved tickets of ``view`` the visitor may see, filtered; the ``sla`` view
        holds those at risk at ``now`` (due within the warning window, or overdue)."""
        return search_tickets(
            visitor.actor,
            TicketFilter(
                statuses=[s.value for s in UNSOLVED],
                kinds=[self.kind] if self.kind else (),
                priorities=[self.priority] if self.priority else (),
                channels=[self.channel] if self.channel else (),
                assignee_id=visitor.actor.user_id if view == "mine" else None,
                unassigned=view == "unassigned",
                team_id=view.removeprefix("team-") if view.startswith("team-") else None,
                with_sla=view == "sla",
                at_risk_at=(now or format_time(utc_now())) if view == "sla" else None,
            ),
        )

    def ordered(self, visitor: Visitor, now: str = "") -> Any:
        query = self.select(visitor, self.view, now)
        if self.sort != "due":
            return query.order_by(Ticket.updated_at.desc(), Ticket.id)
        if self.view != "sla":
            query = with_sla_due(query)
        return query.order_by(SLA_DUE, Ticket.id)


@router.get("/agent")
def agent_home(
    request: Request,
    view: str = "unassigned",
    kind: str = "",
    priority: str = "",
    channel: str = "",
    sort: str = "",
) -> Response:
    visitor = staff(request)
    with reading(request) as session:
        teams = session.execute(
            select(Team.id, Team.name)
            .where(Team.organization_id == visitor.actor.organization_id)
            .order_by(Team.name)
        ).all()
        queue = Queue.of(view, kind, priority, channel, sort, (t.id for t in teams))
        views = [*VIEWS, *(f"team-{t.id}" for t in teams)]
        now = format_time(utc_now())
        counts = {
            name: session.scalar(
                select(func.count()).select_from(queue.select(visitor, name, now).subquery())
            )
            for name in views
        }
        rows = session.scalars(queue.ordered(visitor, now).limit(PAGE_SIZE)).all()
        timers = session.execute(
            select(TicketSla.ticket_id, TicketSla.due_at, TicketSla.warn_at).where(
                TicketSla.ticket_id.in_([r.id for r in rows]), TicketSla.due_at != NEVER
            )
        ).all()
        due = {t.ticket_id: t.due_at for t in timers}
        seen = dict(
            session.execute(
                select(TicketRead.ticket_id, TicketRead.seq).where(
                    TicketRead.user_id == visitor.actor.user_id,
                    TicketRead.ticket_id.in_([r.id for r in rows]),
                )
            ).all()
        )
        # Unread: never opened by this agent, or changed since they last did.
        unread = {r.id for r in rows if seen.get(r.id, -1) < r.last_seq}
        # Overdue rows are marked, and those within their policy's warning window.
        risk = {
            t.ticket_id: "overdue" if t.due_at <= now else "at-risk"
            for t in timers
            if t.due_at <= now or (t.warn_at is not None and t.warn_at <= now)
        }
    return render(
        request,
        visitor,
        "agent_queue.html",
        queue=queue,
        views=views,
        team_names={f"team-{t.id}": t.name for t in teams},
        counts=counts,
        tickets=rows,
        due=due,
        risk=risk,
        unread=unread,
        kinds=[k.value for k in Kind],
        priorities=[p.value for p in Priority],
        channels=[c.value for c in Channel],
    )


@router.get("/agent/live")
def agent_live(request: Request) -> Response:
    visitor = staff(request)
    return _stream(
        request,
        {"changed": lambda: _queue_seq(request, visitor)},
        (queue_key(visitor.actor.organization_id),),
    )


def _form_context(session: Session, visitor: Visitor, ticket: Ticket) -> dict[str, Any]:
    """What the side form (``_agent_form.html``) shows: the ticket's fields and its choices."""
    teams = session.execute(
        select(Team.id, Team.name)
        .where(Team.organization_id == visitor.actor.organization_id)
        .order_by(Team.name)
    ).all()
    workers = session.execute(
        select(User.id, User.display_name)
        .where(
            User.organization_id == visitor.actor.organization_id,
            User.role.in_([r.value for r in WORKERS]),
            User.is_active,
        )
        .order_by(User.display_name)
    ).all()
    return {
        "ticket": ticket,
        "teams": teams,
        "workers": workers,
        "tags": json.loads(ticket.tags),
        "priorities": [p.value for p in Priority],
        # The statuses this one may become (domain.tickets.TRANSITIONS), in their usual order.
        "next_statuses": [s.value for s in Status if s in TRANSITIONS[Status(ticket.status)]],
    }


def _ticket_page(
    request: Request, visitor: Visitor, ticket_id: str, *, changed_since: int | None = None
) -> Response:
    """The ticket page; with ``changed_since`` (the version a refused form was filled in on),
    answered 409 with what changed since in the side form."""
    # What an agent has read is no event: its row is written beside the log, not in its queue.
    with services_of(request).db.side_writer() as session:
        do_mark_read(session, visitor.actor, access_ticket(session, visitor.actor, ticket_id))
    with reading(request) as session:
        ticket = access_ticket(session, visitor.actor, ticket_id)
        since = (
            activity(session, visitor.actor, ticket, after=changed_since)
            if changed_since is not None
            else None
        )
        form = _form_context(session, visitor, ticket)
        ticket, messages, timeline = _ticket_and_messages(session, visitor, ticket_id)
        form["ticket"] = ticket
        proof = verification(session, services_of(request), ticket)
        requester = session.get(User, ticket.requester_id)
        requester_name = requester.display_name if requester else ""
        locale = locale_of(request, visitor)
        macros = [
            (row.id, _macro_title(row.title, locale, row.name))
            for row in session.scalars(visible_macros(visitor.actor).order_by(Macro.name))
        ]
    return render(
        request,
        visitor,
        "agent_ticket.html",
        status=200 if since is None else 409,
        **form,
        **timeline,
        messages=messages,
        proof=proof,
        requester=requester_name,
        others=services_of(request).presence.others(ticket_id, visitor.actor.user_id),
        macros=macros,
        changed_since=since,
        error=None,
    )


@router.get("/agent/tickets/{ticket_id}")
def agent_ticket(request: Request, ticket_id: str) -> Response:
    return _ticket_page(request, staff(request), ticket_id)


@router.get("/agent/tickets/{ticket_id}/form")
def agent_form(request: Request, ticket_id: str) -> Response:
    """The side form alone, for the live refresh: the menu follows the badge, and the version
    it carries is the ticket's latest."""
    visitor = staff(request)
    with reading(request) as session:
        ticket = access_ticket(session, visitor.actor, ticket_id)
        form = _form_context(session, visitor, ticket)
        session.expunge_all()
    return render(request, visitor, "_agent_form.html", **form, changed_since=None)


def _versioned(
    request: Request,
    visitor: Visitor,
    ticket_id: str,
    version: str,
    action: Callable[[Session, Ticket], object],
) -> Response:
    """A side-form change made on ``version`` of the ticket: refused, changing nothing, when
    the ticket has moved on since — the page comes back with what changed and a fresh form."""
    seen = int(version) if version.isdigit() else None

    def checked(session: Session, ticket: Ticket) -> object:
        actions.check_version(ticket, seen)
        return action(session, ticket)

    try:
        return _change(request, visitor, ticket_id, checked, f"/agent/tickets/{ticket_id}")
    except actions.StaleVersion:
        assert seen is not None
        return _ticket_page(request, visitor, ticket_id, changed_since=seen)


@router.get("/agent/tickets/{ticket_id}/side")
def agent_side(request: Request, ticket_id: str) -> Response:
    """The side panel, loaded after the page: the customer (wallets, orders, other requests),
    what the chain says of the linked transaction, and the assistant's suggested answers and
    similar solved tickets."""
    from proofdesk.actions.macros import replies_of, reply_text, values_for
    from proofdesk.assistant.assist import suggestions, ticket_locale
    from proofdesk.chain.base import ChainError
    from proofdesk.chain.lookups import NotConfigured, lookup_for

    visitor = staff(request)
    services = services_of(request)
    services.limits.assistant(address_of(request), visitor.actor.user_id)
    with reading(request) as session:
        ticket = access_ticket(session, visitor.actor, ticket_id)
        requester = session.get(User, ticket.requester_id)
        wallets = session.scalars(
            select(Wallet).where(Wallet.user_id == ticket.requester_id).limit(10)
        ).all()
        orders = session.scalars(
            select(Order)
            .where(Order.customer_id == ticket.requester_id)
            .order_by(Order.created_at.desc())
            .limit(5)
        ).all()
        others = session.scalars(
            visible_tickets(visitor.actor)
            .where(Ticket.requester_id == ticket.requester_id, Ticket.id != ticket.id)
            .order_by(Ticket.updated_at.desc())
            .limit(5)
        ).all()
        # The language the ticket is written in: suggestions and canned replies come in it.
        locale = ticket_locale(session, ticket, requester.locale if requester else "en")
        values = values_for(session, visitor.actor, ticket)
        canned = [
            (_macro_title(row.title, locale, row.name), reply_text(body, locale, values))
            for row in session.scalars(visible_macros(visitor.actor).order_by(Macro.name))
            for body in replies_of(row)
        ]
        session.expunge_all()
    chain_facts: dict[str, Any] | None = None
    if ticket.tx_hash:
        network = None if ticket.network is None else networks.network(ticket.network)
        try:
            lookup = lookup_for(
                services.settings, services.chain_or_none(), ticket.network, ticket.chain_id
            )
            chain_facts = lookup.transaction(ticket.tx_hash)
            chain_facts["network"] = lookup.network.name
            chain_facts["required"] = lookup.confirmations
        except NotConfigured:
            chain_facts = {"not_configured": network.name if network else ticket.chain_id}
        except (ChainError, ValueError):
            chain_facts = {"unavailable": True}
    try:
        model = services.assistant.of(services.db, visitor.actor.organization_id)
    except NotFound:
        model = None
    suggested: list[Any] = []
    similar: list[Any] = []
    if model is not None:
        with reading(request) as session:
            fresh = access_ticket(session, visitor.actor, ticket_id)
            suggested, similar = suggestions(session, model, fresh, locale)
    return render(
        request,
        visitor,
        "_agent_side.html",
        ticket=ticket,
        requester=requester,
        wallets=wallets,
        orders=orders,
        others=others,
        chain=chain_facts,
        suggested=suggested,
        similar=similar,
        canned=canned,
        plain=_plain,
    )


_MARKUP = (
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links and images: their text
    (re.compile(r"(\*\*|__|`+)"), ""),  # strong emphasis and code marks
    (re.compile(r"^\s{0,3}#{1,6}\s+", re.M), ""),  # headings
    (re.compile(r"^\s{0,3}>\s?", re.M), ""),  # quotes
)


def _plain(text: str) -> str:
    """An article's Markdown as the plain text a reply is written in (messages are text)."""
    for pattern, replacement in _MARKUP:
        text = pattern.sub(replacement, text)
    return text.strip()


@router.get("/agent/tickets/{ticket_id}/timeline")
def agent_timeline(request: Request, ticket_id: str) -> Response:
    visitor = staff(request)
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


@router.get("/agent/tickets/{ticket_id}/live")
def agent_ticket_live(request: Request, ticket_id: str) -> Response:
    visitor = staff(request)
    _last_seq(request, visitor, ticket_id)
    user = visitor.actor.user_id

    registry = services_of(request).presence

    def presence() -> tuple[tuple[str, bool], ...]:
        registry.here(ticket_id, user, visitor.name)
        return registry.others(ticket_id, user)

    return _stream(
        request,
        {"changed": lambda: _last_seq(request, visitor, ticket_id), "presence": presence},
        (ticket_key(ticket_id), presence_key(ticket_id)),
        recheck=PRESENCE_SECONDS,
        on_close=lambda: registry.leave(ticket_id, user),
    )


@router.get("/agent/tickets/{ticket_id}/presence")
def agent_presence(request: Request, ticket_id: str) -> Response:
    visitor = staff(request)
    with reading(request) as session:
        access_ticket(session, visitor.actor, ticket_id)
    others = services_of(request).presence.others(ticket_id, visitor.actor.user_id)
    return render(request, visitor, "_presence.html", others=others)


@router.post("/agent/tickets/{ticket_id}/typing")
def agent_typing(request: Request, ticket_id: str) -> Response:
    """The reply box says its agent is typing (htmx, throttled; CSRF in the header)."""
    visitor = staff(request)
    check_csrf(request, visitor, "")
    with reading(request) as session:
        access_ticket(session, visitor.actor, ticket_id)
    services_of(request).presence.typing(ticket_id, visitor.actor.user_id, visitor.name)
    return Response(status_code=204)


@router.post("/agent/tickets/{ticket_id}/reply")
def agent_reply(
    request: Request,
    ticket_id: str,
    visitor: Annotated[Visitor, posted_by(staff)],
    body: Annotated[str, Form()] = "",
    visibility: Annotated[str, Form()] = "public",
    status: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, File()] = None,
    version: Annotated[str, Form()] = "",
) -> Response:
    seen = Visibility.INTERNAL if visibility == "internal" else Visibility.PUBLIC
    target = Status(status) if status in {s.value for s in Status} else None
    attached = _uploads(request, visitor, files)
    return _versioned(
        request,
        visitor,
        ticket_id,
        # Only a reply that also sets a status could undo what happened since.
        version if target is not None else "",
        lambda session, ticket: actions.do_add_message(
            session,
            visitor.actor,
            ticket,
            body=body,
            visibility=seen,
            status=target,
            attachment_ids=attached,
        ),
    )


def _macro_title(title: str, locale: str, name: str) -> str:
    try:
        titles = json.loads(title)
    except ValueError:
        return name
    if not isinstance(titles, dict):
        return name
    return str(titles.get(locale) or titles.get("en") or name)


@router.post("/agent/tickets/{ticket_id}/macro")
def agent_macro(
    request: Request,
    ticket_id: str,
    visitor: Annotated[Visitor, posted_by(staff)],
    macro_id: Annotated[str, Form()] = "",
) -> Response:
    """Apply a macro (its reply, fields, tags, status — all or nothing)."""
    from proofdesk.actions.macros import do_apply_macro

    return _change(
        request,
        visitor,
        ticket_id,
        lambda session, ticket: do_apply_macro(session, visitor.actor, ticket, macro_id),
        f"/agent/tickets/{ticket_id}",
    )


#: What the queue's bulk form can do to every ticket ticked.
BULK = ("assign_me", "open", "pending", "solved")


@router.post("/agent/bulk")
def agent_bulk(
    request: Request,
    visitor: Annotated[Visitor, posted_by(staff)],
    action: Annotated[str, Form()] = "",
    ticket_ids: Annotated[list[str] | None, Form()] = None,
    back: Annotated[str, Form()] = "/agent",
) -> Response:
    """One action on many tickets, in one transaction: all are changed, or none."""
    from proofdesk.errors import InvalidInput

    chosen = list(dict.fromkeys(ticket_ids or []))
    if action not in BULK or not chosen or len(chosen) > PAGE_SIZE:
        raise InvalidInput(f"choose an action and 1-{PAGE_SIZE} tickets", field="ticket_ids")
    with services_of(request).db.writer() as session:
        for ticket_id in chosen:
            ticket = access_ticket(session, visitor.actor, ticket_id, write=True, lock=True)
            if action == "assign_me":
                actions.do_assign(
                    session,
                    visitor.actor,
                    ticket,
                    assignee_id=visitor.actor.user_id,
                    team_id=ticket.team_id,
                )
            elif ticket.status != action:
                actions.do_change_status(session, visitor.actor, ticket, Status(action))
    return RedirectResponse(back if back.startswith("/agent") else "/agent", 303)


@router.post("/agent/tickets/{ticket_id}/status")
def agent_status(
    request: Request,
    ticket_id: str,
    visitor: Annotated[Visitor, posted_by(staff)],
    status: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
) -> Response:
    if status not in {s.value for s in Status}:
        from proofdesk.errors import InvalidInput

        raise InvalidInput("choose a status", field="status")
    return _versioned(
        request,
        visitor,
        ticket_id,
        version,
        lambda session, ticket: (
            ticket.status == status  # left as it was: nothing to do
            or actions.do_change_status(session, visitor.actor, ticket, Status(status))
        ),
    )


@router.post("/agent/tickets/{ticket_id}/properties")
def agent_properties(
    request: Request,
    ticket_id: str,
    visitor: Annotated[Visitor, posted_by(staff)],
    priority: Annotated[str, Form()] = "",
    team_id: Annotated[str, Form()] = "",
    assignee_id: Annotated[str, Form()] = "",
    tags: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
) -> Response:
    """Priority, team, assignee and tags in one transaction: each change its own event (the
    same actions as the API), all or none."""
    wanted = sorted({t for t in tags.replace(",", " ").split() if t})

    def change(session: Session, ticket: Ticket) -> None:
        if priority:
            actions.do_update_fields(session, visitor.actor, ticket, {"priority": priority})
        actions.do_assign(
            session,
            visitor.actor,
            ticket,
            assignee_id=assignee_id or None,
            team_id=team_id or None,
        )
        held = json.loads(ticket.tags)
        actions.do_change_tags(
            session,
            visitor.actor,
            ticket,
            add=[t for t in wanted if t not in held],
            remove=[t for t in held if t not in wanted],
        )

    return _versioned(request, visitor, ticket_id, version, change)
