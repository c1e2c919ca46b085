"""Who may see and change what: the one place where tenant and role rules are applied.

Every route resolves its :class:`Actor` (``api/deps.py``) and then loads tickets, users and
attachments only through the ``access_*`` functions and the ``visible_*`` query builders here.
A ticket outside the actor's reach is reported as *not found*, never *forbidden*, so that ids
do not reveal which tickets exist in other tenants or belong to other customers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    false,
    func,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from proofdesk.domain.community import PostState
from proofdesk.domain.identifiers import row_id
from proofdesk.domain.roles import ALL_SCOPES, MANAGERS, STAFF, WORKERS, Role, Scope
from proofdesk.domain.search import query_terms
from proofdesk.domain.tickets import EventType, Visibility
from proofdesk.errors import Forbidden, InvalidInput, NotFound
from proofdesk.sla.timers import NEVER
from proofdesk.store.models import (
    Attachment,
    CommunityPost,
    CommunityReport,
    CustomerNote,
    Macro,
    Message,
    Organization,
    Payout,
    RewardEpoch,
    RewardGrant,
    RewardLeaf,
    ServiceContract,
    SlaPolicy,
    Team,
    TeamMember,
    Ticket,
    TicketEvent,
    TicketSla,
    TicketTag,
    Transfer,
    TransferAgreement,
    User,
    Wallet,
    WebhookDelivery,
    WebhookEndpoint,
)
from proofdesk.store.search import holds_publicly, matching_tickets


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated user and what the credential they used allows."""

    user_id: str
    organization_id: str
    role: Role
    scopes: frozenset[Scope] = field(default_factory=lambda: ALL_SCOPES)

    @property
    def is_customer(self) -> bool:
        return self.role is Role.CUSTOMER

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF


def require_scope(actor: Actor, scope: Scope) -> None:
    if scope not in actor.scopes:
        raise Forbidden(f"this token lacks the {scope.value!r} scope", code="missing_scope")


def require_worker(actor: Actor) -> None:
    """Agents, supervisors and admins change tickets; auditors and customers do not."""
    if actor.role not in WORKERS:
        raise Forbidden(f"a {actor.role.value} cannot do this")


def require_staff(actor: Actor) -> None:
    if actor.role not in STAFF:
        raise Forbidden(f"a {actor.role.value} cannot do this")


def require_manager(actor: Actor) -> None:
    if actor.role not in MANAGERS:
        raise Forbidden(f"a {actor.role.value} cannot do this")


def require_admin(actor: Actor) -> None:
    if actor.role is not Role.ADMIN:
        raise Forbidden(f"a {actor.role.value} cannot do this")


def visible_tickets(actor: Actor) -> Select[Ticket]:
    """The base query of every ticket listing: the actor's tenant, and a customer's own."""
    query = select(Ticket).where(Ticket.organization_id == actor.organization_id)
    if actor.is_customer:
        query = query.where(Ticket.requester_id == actor.user_id)
    return query


def access_ticket(
    session: Session, actor: Actor, ticket_id: str, *, write: bool = False, lock: bool = False
) -> Ticket:
    """Load a ticket the actor may see (and, with ``write``, change through the API at all;
    what a customer may change is narrowed further by each action)."""
    require_scope(actor, Scope.TICKETS_WRITE if write else Scope.TICKETS_READ)
    query = visible_tickets(actor).where(Ticket.id == ticket_id)
    if lock:
        query = query.with_for_update()
    ticket = session.scalars(query).first()
    if ticket is None:
        raise NotFound("no such ticket", ticket_id=ticket_id)
    if write and actor.role is Role.AUDITOR:
        raise Forbidden("auditors have read-only access")
    return ticket


def visible_messages(
    actor: Actor, ticket_id: str | ColumnElement[str] | InstrumentedAttribute[str]
) -> Select[Message]:
    """Messages of a ticket already checked with :func:`access_ticket`; customers never get
    internal notes."""
    query = select(Message).where(Message.ticket_id == ticket_id)
    if actor.is_customer:
        query = query.where(Message.visibility == Visibility.PUBLIC.value)
    return query.order_by(Message.seq)


def ticket_events(actor: Actor, ticket_id: str, *, after: int = 0) -> Select[TicketEvent]:
    """The events of a ticket already checked with :func:`access_ticket`, after its
    ``ticket_seq`` ``after``, for the timeline's activity lines: staff only (a customer's page
    shows messages, never the desk's workings)."""
    require_staff(actor)
    return (
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.ticket_seq > after)
        .order_by(TicketEvent.ticket_seq)
    )


def event_visible(actor: Actor, event_type: str, payload: dict[str, Any]) -> bool:
    """Whether the content of an event of a ticket already checked with
    :func:`access_ticket` may be shown to ``actor`` (in a receipt, say). Customers never see
    the content of internal notes, as in :func:`visible_messages`."""
    if not actor.is_customer:
        return True
    return not (
        event_type == EventType.MESSAGE_ADDED.value
        and payload.get("visibility") != Visibility.PUBLIC.value
    )


def visible_users(actor: Actor) -> Select[User]:
    query = select(User).where(User.organization_id == actor.organization_id)
    if actor.is_customer:
        query = query.where(User.id == actor.user_id)
    return query


def access_user(session: Session, actor: Actor, user_id: str) -> User:
    user = session.scalars(visible_users(actor).where(User.id == user_id)).first()
    if user is None:
        raise NotFound("no such user", user_id=user_id)
    return user


def access_attachment(session: Session, actor: Actor, attachment_id: str) -> Attachment:
    """An attachment is visible to its uploader, and to whoever may read the message it is
    attached to (for customers: public messages of their own tickets only)."""
    require_scope(actor, Scope.TICKETS_READ)
    found = session.scalars(
        select(Attachment).where(
            Attachment.id == attachment_id, Attachment.organization_id == actor.organization_id
        )
    ).first()
    if found is None:
        raise NotFound("no such attachment", attachment_id=attachment_id)
    if found.uploaded_by == actor.user_id:
        return found
    if found.ticket_id is not None:
        ticket = session.scalars(visible_tickets(actor).where(Ticket.id == found.ticket_id)).first()
        if ticket is not None:
            messages = session.scalars(visible_messages(actor, ticket.id)).all()
            if any(
                ref["id"] == attachment_id for m in messages for ref in json.loads(m.attachments)
            ):
                return found
    raise NotFound("no such attachment", attachment_id=attachment_id)


# --- ticket queues and search: the one query the API's listing and the console's queue share


#: The instant a ticket's first running SLA target breaches; tickets without one sort last.
SLA_DUE = func.coalesce(TicketSla.due_at, NEVER)


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """What a listing narrows to; empty fields do not narrow. Values are the stored strings."""

    statuses: Sequence[str] = ()
    priorities: Sequence[str] = ()
    kinds: Sequence[str] = ()
    channels: Sequence[str] = ()
    assignee_id: str | None = None
    unassigned: bool = False
    team_id: str | None = None
    requester_id: str | None = None
    tag: str | None = None
    #: A search (``_text_matches``): words and identifiers in what the actor may read, a ticket
    #: number (``#42``), or (staff) a customer's name, e-mail or wallet.
    text: str | None = None
    #: Only tickets with SLA timers (joined, so :data:`SLA_DUE` may be used without more).
    with_sla: bool = False
    #: With ``with_sla``: only tickets at risk at this instant (RFC 3339 UTC text) — due within
    #: their policy's warning window, or overdue already.
    at_risk_at: str | None = None


def search_tickets(actor: Actor, wanted: TicketFilter) -> Select[Ticket]:
    """The tickets the actor may see that match ``wanted`` (not ordered)."""
    query = visible_tickets(actor)
    for column, values in (
        (Ticket.status, wanted.statuses),
        (Ticket.priority, wanted.priorities),
        (Ticket.kind, wanted.kinds),
        (Ticket.channel, wanted.channels),
    ):
        if values:
            query = query.where(column.in_(list(values)))
    if wanted.unassigned:
        query = query.where(Ticket.assignee_id.is_(None))
    elif wanted.assignee_id is not None:
        query = query.where(Ticket.assignee_id == wanted.assignee_id)
    if wanted.team_id is not None:
        query = query.where(Ticket.team_id == wanted.team_id)
    if wanted.requester_id is not None:
        query = query.where(Ticket.requester_id == wanted.requester_id)
    if wanted.tag is not None:
        query = query.where(
            exists().where(TicketTag.ticket_id == Ticket.id, TicketTag.tag == wanted.tag.casefold())
        )
    if wanted.text is not None:
        query = query.where(_text_matches(actor, wanted.text.strip()))
    if wanted.with_sla:
        query = query.join(TicketSla, TicketSla.ticket_id == Ticket.id)
        if wanted.at_risk_at is not None:
            query = query.where(
                TicketSla.due_at != NEVER,
                (TicketSla.due_at <= wanted.at_risk_at) | (TicketSla.warn_at <= wanted.at_risk_at),
            )
    return query


def with_sla_due(query: Select[Ticket]) -> Select[Ticket]:
    """``query`` with each ticket's SLA row, if it has one, to sort or page by :data:`SLA_DUE`
    (not for a query built with ``with_sla``, which has it already)."""
    return query.outerjoin(TicketSla, TicketSla.ticket_id == Ticket.id)


def _text_matches(actor: Actor, text: str) -> ColumnElement[bool]:
    """The one search (``docs/search.md``): every term of ``text`` in the ticket's subject,
    linked identifiers or the messages the actor may read — public ones only for a customer,
    internal notes too for staff — or ``text`` as the ticket's number (``42``, ``#42``); staff
    also find a customer's tickets by the customer's name, e-mail or a wallet of theirs.

    Staff search the whole organization: the matches are one set (a UNION of index look-ups)
    that the page then orders. A customer's own tickets are few: each is checked."""
    terms = query_terms(text)
    number = row_id(text.removeprefix("#"))
    if actor.is_customer:
        conditions: list[ColumnElement[bool]] = []
        if terms:
            conditions.append(and_(*(holds_publicly(t) for t in terms)))
        if number is not None:
            conditions.append(Ticket.number == number)
        return or_(*conditions) if conditions else false()
    org = actor.organization_id
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    people = select(User.id).where(
        User.organization_id == org,
        User.role == Role.CUSTOMER.value,
        or_(
            User.display_name.ilike(pattern, escape="\\"),
            User.email.ilike(pattern, escape="\\"),
        ),
    )
    wallets = select(Wallet.user_id).where(
        Wallet.organization_id == org, Wallet.address == text.casefold()
    )
    # One letter is in nearly every name: not a search for a person.
    found: list[Select[Any]] = (
        [
            select(Ticket.id).where(
                Ticket.organization_id == org, Ticket.requester_id.in_(people.union(wallets))
            )
        ]
        if len(text) >= 2
        else []
    )
    if terms:
        found.append(matching_tickets(org, terms))
    if number is not None:
        found.append(
            select(Ticket.id).where(Ticket.organization_id == org, Ticket.number == number)
        )
    if not found:
        return false()
    return Ticket.id.in_(union(*found) if len(found) > 1 else found[0])


def access_ticket_by_reference(session: Session, actor: Actor, reference: str) -> Ticket:
    """A ticket the actor may see, by its number (``1042`` or ``#1042``) or its id."""
    text = reference.strip().removeprefix("#")
    number = row_id(text)
    if number is not None:
        found = session.scalars(
            visible_tickets(actor).with_only_columns(Ticket.id).where(Ticket.number == number)
        ).first()
        text = found or ""
    if not text:
        raise NotFound("no such ticket", field="ticket")
    return access_ticket(session, actor, text)


def access_team(session: Session, actor: Actor, team_id: str) -> Team:
    """A team of the actor's organization; staff only."""
    require_staff(actor)
    team = session.get(Team, team_id)
    if team is None or team.organization_id != actor.organization_id:
        raise NotFound("no such team", team_id=team_id)
    return team


def access_customer(actor: Actor, customer: User) -> User:
    """Staff manage any customer of their organization; customers only themselves."""
    if actor.is_customer and customer.id != actor.user_id:
        raise NotFound("no such user", user_id=customer.id)
    if customer.role != Role.CUSTOMER.value:
        raise InvalidInput("wallets and orders belong to customers", field="user_id")
    return customer


def access_customer_page(session: Session, actor: Actor, user_id: str) -> User:
    """A customer of the actor's organization, for staff (the console's customer page); a
    staff account or another tenant's customer is not found alike."""
    require_staff(actor)
    user = access_user(session, actor, user_id)
    if user.role != Role.CUSTOMER.value:
        raise NotFound("no such user", user_id=user_id)
    return user


def visible_customer_notes(actor: Actor, customer_id: str) -> Select[CustomerNote]:
    """Staff's notes about a customer already checked with :func:`access_customer_page`,
    newest first; never shown to customers."""
    require_staff(actor)
    return (
        select(CustomerNote)
        .where(
            CustomerNote.organization_id == actor.organization_id,
            CustomerNote.customer_id == customer_id,
        )
        .order_by(CustomerNote.created_at.desc(), CustomerNote.id)
    )


_Numbered = TypeVar("_Numbered", SlaPolicy, Macro, Payout)


def _numbered(
    session: Session, actor: Actor, model: type[_Numbered], text_id: str, missing: str
) -> _Numbered:
    """A row of the actor's organization by its number: another organization's row, or an id
    that is no number, is not found alike."""
    number = row_id(text_id)
    row = session.get(model, number) if number is not None else None
    if row is None or row.organization_id != actor.organization_id:
        raise NotFound(missing)
    return row


def access_sla_policy(session: Session, actor: Actor, policy_id: str) -> SlaPolicy:
    return _numbered(session, actor, SlaPolicy, policy_id, "no such policy")


def visible_macros(actor: Actor) -> Select[Macro]:
    """The macros a member of staff may see and apply: the organization's shared ones, those
    shared with a team they belong to (managers see every team's), and their own personal ones."""
    require_staff(actor)
    teams = select(TeamMember.team_id).where(TeamMember.user_id == actor.user_id)
    shared = Macro.owner_id.is_(None) & (
        Macro.team_id.is_(None) | (true() if actor.role in MANAGERS else Macro.team_id.in_(teams))
    )
    return select(Macro).where(
        Macro.organization_id == actor.organization_id,
        shared | (Macro.owner_id == actor.user_id),
    )


def access_macro(session: Session, actor: Actor, macro_id: str, *, write: bool = False) -> Macro:
    """A macro the actor may see (:func:`visible_macros`); with ``write``, one they may change
    or remove: a personal macro by its owner, a shared one by a supervisor or admin."""
    require_staff(actor)
    if write:
        require_worker(actor)  # auditors read macros, never change them
    row = _numbered(session, actor, Macro, macro_id, "no such macro")
    if row.owner_id is not None and row.owner_id != actor.user_id:
        raise NotFound("no such macro")
    if row.owner_id is None and row.team_id is not None and actor.role not in MANAGERS:
        member = session.get(TeamMember, (row.team_id, actor.user_id))
        if member is None:
            raise NotFound("no such macro")
    if write and row.owner_id is None:
        require_manager(actor)
    return row


def access_payout(session: Session, actor: Actor, payout_id: str) -> Payout:
    return _numbered(session, actor, Payout, payout_id, "no such payout")


def access_contract(session: Session, organization_id: str, contract_hash: str) -> ServiceContract:
    """A service contract of the organization by its hash. It takes the organization rather
    than an actor because contracts are also loaded for a ticket's organization, whoever acts."""
    row = session.scalars(
        select(ServiceContract).where(
            ServiceContract.organization_id == organization_id,
            ServiceContract.contract_hash == contract_hash,
        )
    ).first()
    if row is None:
        raise NotFound("no such contract")
    return row


def visible_webhook_endpoints(actor: Actor) -> Select[WebhookEndpoint]:
    """The organization's webhook endpoints, for its admins only (oldest first)."""
    require_scope(actor, Scope.ADMIN)
    require_admin(actor)
    return (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.organization_id == actor.organization_id)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )


def access_webhook_endpoint(session: Session, actor: Actor, endpoint_id: str) -> WebhookEndpoint:
    """A webhook endpoint of the actor's organization, for its admins only (a refusal of
    another tenant's endpoint reads as no endpoint)."""
    require_scope(actor, Scope.ADMIN)
    require_admin(actor)
    row = session.get(WebhookEndpoint, endpoint_id)
    if row is None or row.organization_id != actor.organization_id:
        raise NotFound("no such webhook endpoint")
    return row


def access_webhook_delivery(
    session: Session, actor: Actor, endpoint_id: str, delivery_id: str
) -> WebhookDelivery:
    """A delivery of an endpoint :func:`access_webhook_endpoint` lets the actor see."""
    endpoint = access_webhook_endpoint(session, actor, endpoint_id)
    row = session.get(WebhookDelivery, delivery_id)
    if row is None or row.endpoint_id != endpoint.id:
        raise NotFound("no such webhook delivery")
    return row


def visible_transfer_agreements(actor: Actor) -> Select[TransferAgreement]:
    """The organization's transfer agreements, for its staff (admins change them)."""
    require_staff(actor)
    return (
        select(TransferAgreement)
        .where(TransferAgreement.organization_id == actor.organization_id)
        .order_by(TransferAgreement.created_at, TransferAgreement.id)
    )


def access_transfer_agreement(
    session: Session, actor: Actor, agreement_id: str
) -> TransferAgreement:
    """A transfer agreement of the actor's organization (another tenant's reads as none)."""
    require_staff(actor)
    row = session.get(TransferAgreement, agreement_id)
    if row is None or row.organization_id != actor.organization_id:
        raise NotFound("no such transfer agreement")
    return row


def visible_transfers(actor: Actor, ticket_id: str) -> Select[Transfer]:
    """The transfers of a ticket already checked with :func:`access_ticket`, for staff."""
    require_staff(actor)
    return (
        select(Transfer)
        .where(Transfer.organization_id == actor.organization_id, Transfer.ticket_id == ticket_id)
        .order_by(Transfer.id)
    )


def access_consent_agreement(
    session: Session, actor: Actor, agreement_id: str
) -> TransferAgreement:
    """An agreement a consent may name: of the actor's organization, for customers too (they
    consent on their own tickets; the agreement's details stay with staff)."""
    row = session.get(TransferAgreement, agreement_id)
    if row is None or row.organization_id != actor.organization_id:
        raise NotFound("no such transfer agreement")
    return row


@dataclass(frozen=True, slots=True)
class CommunityReader:
    """Who reads an organization's community: anyone (``actor`` None), a signed-in customer
    (who also sees their own posts held for review), or its staff (who see every post)."""

    organization_id: str
    actor: Actor | None = None

    @property
    def is_staff(self) -> bool:
        return (
            self.actor is not None
            and self.actor.is_staff
            and self.actor.organization_id == self.organization_id
        )


def community_reader(
    session: Session, actor: Actor | None, organization_slug: str | None
) -> CommunityReader:
    """The reader of the community named by ``organization_slug`` (a stranger's read), or of
    the signed-in actor's own organization; a slug naming another organization makes a
    signed-in actor a stranger there."""
    if organization_slug:
        org_id = session.scalar(
            select(Organization.id).where(Organization.slug == organization_slug)
        )
        if org_id is None:
            raise NotFound("no such organization", code="no_such_organization")
        if actor is not None and actor.organization_id != org_id:
            actor = None
        return CommunityReader(org_id, actor)
    if actor is None:
        raise InvalidInput("name the organization", field="organization")
    return CommunityReader(actor.organization_id, actor)


def visible_posts(reader: CommunityReader) -> Select[CommunityPost]:
    """Posts of the community the reader may see: visible ones; the reader's own held ones;
    staff see held and hidden posts too (the moderation queue)."""
    query = select(CommunityPost).where(CommunityPost.organization_id == reader.organization_id)
    if reader.is_staff:
        return query
    shown = CommunityPost.state == PostState.VISIBLE.value
    if reader.actor is not None:
        shown = or_(
            shown,
            and_(
                CommunityPost.state == PostState.HELD.value,
                CommunityPost.author_id == reader.actor.user_id,
            ),
        )
    return query.where(shown)


def access_post(
    session: Session, reader: CommunityReader, post_id: str, *, lock: bool = False
) -> CommunityPost:
    """A post the reader may see (a hidden or held one of someone else reads as none)."""
    query = visible_posts(reader).where(CommunityPost.id == post_id)
    if lock:
        query = query.with_for_update()
    post = session.scalars(query).first()
    if post is None:
        raise NotFound("no such post", post_id=post_id)
    return post


def access_community_attachment(
    session: Session, reader: CommunityReader, attachment_id: str
) -> Attachment:
    """An attachment of a community post the reader may see."""
    found = session.get(Attachment, attachment_id)
    if found is None or found.organization_id != reader.organization_id or not found.ticket_id:
        raise NotFound("no such attachment", attachment_id=attachment_id)
    posts = session.scalars(
        visible_posts(reader).where(CommunityPost.question_id == found.ticket_id)
    ).all()
    if any(ref["id"] == attachment_id for p in posts for ref in json.loads(p.attachments)):
        return found
    raise NotFound("no such attachment", attachment_id=attachment_id)


def community_questions(
    reader: CommunityReader,
    *,
    tag: str | None = None,
    status: str | None = None,
    text: str | None = None,
    before: str | None = None,
) -> Select[CommunityPost]:
    """The questions a reader may see, newest first, narrowed to a tag, a status, words of
    the title or body (case-insensitive), or those created before a time (the next page)."""
    query = visible_posts(reader).where(CommunityPost.kind == "question")
    if tag:
        query = query.where(CommunityPost.tags.contains(json.dumps(tag)))
    if status:
        query = query.where(CommunityPost.status == status)
    for word in (text or "").lower().split()[:8]:
        pattern = f"%{word}%"
        query = query.where(
            or_(
                func.lower(CommunityPost.title).like(pattern),
                func.lower(CommunityPost.body).like(pattern),
            )
        )
    if before:
        query = query.where(CommunityPost.created_at < before)
    return query.order_by(CommunityPost.created_at.desc(), CommunityPost.id)


def community_thread(
    session: Session, reader: CommunityReader, question: CommunityPost
) -> list[CommunityPost]:
    """The answers and comments of a question the reader may see, oldest first."""
    return list(
        session.scalars(
            visible_posts(reader)
            .where(CommunityPost.question_id == question.id, CommunityPost.id != question.id)
            .order_by(CommunityPost.created_at, CommunityPost.id)
        )
    )


def moderation_queue(session: Session, actor: Actor) -> tuple[list[CommunityPost], list[Any]]:
    """For staff: posts held for review (oldest first), and open reports with their posts."""
    require_staff(actor)
    from_org = CommunityPost.organization_id == actor.organization_id
    held = session.scalars(
        select(CommunityPost)
        .where(from_org, CommunityPost.state == PostState.HELD.value)
        .order_by(CommunityPost.created_at)
    ).all()
    reports = session.execute(
        select(CommunityReport, CommunityPost)
        .join(CommunityPost, CommunityPost.id == CommunityReport.post_id)
        .where(
            CommunityReport.organization_id == actor.organization_id,
            CommunityReport.resolved_at.is_(None),
        )
        .order_by(CommunityReport.created_at)
    ).all()
    return list(held), [tuple(r) for r in reports]


# --- rewards (actions.rewards) ------------------------------------------------------------------


def access_reward_epoch(session: Session, organization_id: str, number: int) -> RewardEpoch:
    epoch = session.scalars(
        select(RewardEpoch).where(
            RewardEpoch.organization_id == organization_id, RewardEpoch.number == number
        )
    ).first()
    if epoch is None:
        raise NotFound("no such epoch")
    return epoch


def visible_reward_grants(
    session: Session, actor: Actor, *, account_id: str | None = None, limit: int = 500
) -> list[RewardGrant]:
    """A customer sees their own grants; staff see the organization's (the rewards ledger),
    or one account's."""
    query = select(RewardGrant).where(RewardGrant.organization_id == actor.organization_id)
    if actor.is_customer:
        query = query.where(RewardGrant.account_id == actor.user_id)
    else:
        require_staff(actor)
        if account_id is not None:
            query = query.where(RewardGrant.account_id == account_id)
    return list(session.scalars(query.order_by(RewardGrant.granted_at.desc()).limit(limit)).all())


def visible_reward_leaves(session: Session, actor: Actor) -> list[tuple[RewardLeaf, RewardEpoch]]:
    """The customer's own leaves of settled epochs, newest epoch first."""
    rows = session.execute(
        select(RewardLeaf, RewardEpoch)
        .join(RewardEpoch, RewardEpoch.id == RewardLeaf.epoch_id)
        .where(
            RewardLeaf.organization_id == actor.organization_id,
            RewardLeaf.account_id == actor.user_id,
        )
        .order_by(RewardEpoch.number.desc())
    ).all()
    return [(leaf, epoch) for leaf, epoch in rows]
