"""Ticket changes. Each ``do_*`` checks, appends its events, and returns the new state.

All of them must be called inside ``Database.writer()`` with a ticket row obtained from
``access.access_ticket(..., write=True)`` in that same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from proofdesk.access import Actor, require_worker
from proofdesk.actions import mail_out, rewards, signed, telegram_out
from proofdesk.canonical import format_time, utc_now
from proofdesk.domain import identifiers, networks
from proofdesk.domain.redaction import SECRET_WARNING, redact
from proofdesk.domain.roles import WORKERS, Role
from proofdesk.domain.tickets import (
    EDITABLE_FIELDS,
    RATINGS,
    Channel,
    EventType,
    Kind,
    Priority,
    Status,
    TicketState,
    Visibility,
    check_transition,
)
from proofdesk.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from proofdesk.i18n import translate
from proofdesk.identity.typed import SignatureClaim
from proofdesk.store.events import EventAppender
from proofdesk.store.models import Attachment, Team, TeamMember, Ticket, User, new_id
from proofdesk.store.rows import row_to_state

MAX_SUBJECT = 300
MAX_BODY = 64_000
MAX_TAGS = 20


@dataclass(slots=True)
class NewTicket:
    kind: Kind
    subject: str
    body: str
    channel: Channel = Channel.WEB
    priority: Priority | None = None
    category: str | None = None
    tags: list[str] = field(default_factory=list)
    team_id: str | None = None
    assignee_id: str | None = None
    requester_id: str | None = None
    order_id: str | None = None
    wallet_address: str | None = None
    chain_id: int | None = None
    tx_hash: str | None = None
    #: A ``domain.networks`` key; None keeps the EVM rules of the configured chain.
    network: str | None = None
    attachment_ids: list[str] = field(default_factory=list)
    #: The customer's EIP-712 signature of this request, if they signed it.
    signature: SignatureClaim | None = None
    #: The channel's own ids of the first message (an e-mail's ``Message-ID``…).
    channel_ids: dict[str, str] = field(default_factory=dict)
    #: The ticket came from a partner organization: where, in its log, the transfer stands
    #: (``actions.transfers.do_accept_bundle``); the first event cites it.
    transferred_from: dict[str, Any] | None = None


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text", field=name)
    stripped: str = value.strip()
    if not stripped:
        raise InvalidInput(f"{name} must not be empty", field=name)
    if len(stripped) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters", field=name)
    return stripped


def _tags(values: list[str]) -> list[str]:
    tags = sorted({identifiers.tag(v) for v in values})
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags", field="tags")
    return tags


def check_team(session: Session, actor: Actor, team_id: str | None) -> None:
    if team_id is None:
        return
    team = session.get(Team, team_id)
    if team is None or team.organization_id != actor.organization_id:
        raise InvalidInput("no such team", field="team_id", team_id=team_id)


def check_assignee(
    session: Session, actor: Actor, assignee_id: str | None, team_id: str | None
) -> None:
    """An assignee is an active agent, supervisor or admin of the organization, and a member of
    the ticket's team when it has one."""
    if assignee_id is None:
        return
    user = session.get(User, assignee_id)
    if (
        user is None
        or user.organization_id != actor.organization_id
        or Role(user.role) not in WORKERS
        or not user.is_active
    ):
        raise InvalidInput("assignee must be an active agent", field="assignee_id")
    if team_id is not None and session.get(TeamMember, (team_id, assignee_id)) is None:
        raise InvalidInput("assignee is not a member of the team", field="assignee_id")


def check_requester(session: Session, actor: Actor, requester_id: str | None) -> str:
    if actor.is_customer:
        if requester_id not in (None, actor.user_id):
            raise Forbidden("customers open tickets for themselves only")
        return actor.user_id
    if requester_id is None:
        raise InvalidInput("staff must name the requester", field="requester_id")
    user = session.get(User, requester_id)
    if user is None or user.organization_id != actor.organization_id or not user.is_active:
        raise InvalidInput("no such requester", field="requester_id")
    return requester_id


#: The fields that link a ticket to the outside world, checked by :func:`_links`.
LINK_FIELDS = ("order_id", "wallet_address", "chain_id", "tx_hash", "network")


def _links(values: dict[str, Any], network: str | None) -> dict[str, Any]:
    """The link fields of ``values`` in their stored form. The wallet and the transaction are
    checked by the rules of the network (``values["network"]`` if given, else ``network``,
    the ticket's own); an EVM network fills in its chain id, another family refuses one."""
    key = values.get("network", network)
    net = None if key is None else networks.network(key)
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            out[name] = None
        elif name == "order_id":
            out[name] = identifiers.order_id(value)
        elif name == "wallet_address":
            out[name] = networks.address(net, value)
        elif name == "tx_hash":
            out[name] = networks.tx_id(net, value)
        elif name == "chain_id":
            out[name] = identifiers.chain_id(value)
        elif name == "network":
            out[name] = net.key if net is not None else None
    if net is not None and "network" in values:
        given = out.get("chain_id")
        if net.family is not networks.Family.EVM and given is not None:
            raise InvalidInput(f"{net.name} has no chain id (EVM only)", field="chain_id")
        if net.chain_id is not None and given not in (None, net.chain_id):
            raise InvalidInput(f"{net.name} is chain {net.chain_id}, not {given}", field="chain_id")
        out["chain_id"] = net.chain_id
    return out


def _enum(cls: Any, value: Any, name: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        allowed = [m.value for m in cls]
        raise InvalidInput(f"{name} must be one of {allowed}", field=name) from None


def do_claim_attachments(
    session: Session, actor: Actor, ticket_id: str, attachment_ids: list[str]
) -> list[dict[str, Any]]:
    """Attach uploads to a ticket; each must be the actor's own and not used elsewhere."""
    refs: list[dict[str, Any]] = []
    for attachment_id in dict.fromkeys(attachment_ids):
        row = session.get(Attachment, attachment_id)
        if row is None or row.uploaded_by != actor.user_id:
            raise InvalidInput("no such attachment", field="attachment_ids", id=attachment_id)
        if row.ticket_id not in (None, ticket_id):
            raise InvalidInput("attachment belongs to another ticket", field="attachment_ids")
        row.ticket_id = ticket_id
        refs.append(
            {
                "id": row.id,
                "sha256": row.sha256,
                "size": row.size,
                "content_type": row.content_type,
                "filename": row.filename,
            }
        )
    return refs


def _stamp(at: datetime | None) -> str:
    """Event time: now, or a past moment given by an importer (never by an API caller)."""
    return format_time(at or utc_now())


def request_content(kind: Kind, subject: str, body: str) -> dict[str, Any]:
    """What a request commits to when it is signed or filed on chain: kind, trimmed subject
    and body. A commitment cannot be redacted afterwards, so a secret in it is refused."""
    subject, body, _ = _without_secrets(
        _text(subject, "subject", MAX_SUBJECT), _text(body, "body", MAX_BODY), signed=True
    )
    return {"kind": kind.value, "subject": subject, "body": body}


def do_create_ticket(
    session: Session,
    actor: Actor,
    spec: NewTicket,
    *,
    at: datetime | None = None,
    filed_on_chain: bool = False,
) -> TicketState:
    """Open a ticket. ``filed_on_chain`` is for the request inbox's worker alone: the
    ``chain`` channel means a filing on chain stands behind the request."""
    if spec.channel is Channel.CHAIN and not filed_on_chain:
        raise InvalidInput(
            "the chain channel is for requests filed through the request inbox",
            code="chain_channel_reserved",
            field="channel",
        )
    staff_fields = {
        "priority": spec.priority,
        "tags": spec.tags,
        "team_id": spec.team_id,
        "assignee_id": spec.assignee_id,
        "category": spec.category,
    }
    if actor.is_customer and any(staff_fields.values()):
        named = sorted(k for k, v in staff_fields.items() if v)
        raise Forbidden(f"only staff may set {', '.join(named)}", fields=named)
    if actor.role is Role.AUDITOR:
        raise Forbidden("auditors have read-only access")
    requester_id = check_requester(session, actor, spec.requester_id)
    check_team(session, actor, spec.team_id)
    check_assignee(session, actor, spec.assignee_id, spec.team_id)
    subject, body, secrets_found = _without_secrets(
        _text(spec.subject, "subject", MAX_SUBJECT),
        _text(spec.body, "body", MAX_BODY),
        signed=spec.signature is not None,
    )
    given = {name: getattr(spec, name) for name in LINK_FIELDS}
    links = _links(given, None)
    if links["network"] is None:
        del links["network"]  # events before networks had names carry none
    number = (
        session.scalar(
            select(func.max(Ticket.number)).where(Ticket.organization_id == actor.organization_id)
        )
        or 0
    ) + 1
    ticket_id = new_id()
    now = _stamp(at)
    appender = EventAppender(session)
    payload: dict[str, Any] = {
        "organization_id": actor.organization_id,
        "number": number,
        "kind": spec.kind.value,
        "subject": subject,
        "status": Status.NEW.value,
        "priority": (spec.priority or Priority.NORMAL).value,
        "channel": spec.channel.value,
        "requester_id": requester_id,
        "category": spec.category,
        "tags": _tags(spec.tags),
        "team_id": spec.team_id,
        "assignee_id": spec.assignee_id,
        **links,
    }
    if spec.transferred_from is not None:
        payload["transferred_from"] = spec.transferred_from
    _, state = appender.append(
        None,
        ticket_id=ticket_id,
        organization_id=actor.organization_id,
        type=EventType.CREATED,
        actor_id=actor.user_id,
        occurred_at=now,
        payload=payload,
    )
    refs = do_claim_attachments(session, actor, ticket_id, spec.attachment_ids)
    message: dict[str, Any] = {
        "message_id": new_id(),
        "author_id": actor.user_id,
        "author_role": actor.role.value,
        "visibility": Visibility.PUBLIC.value,
        "body": body,
        "attachments": refs,
        "channel": spec.channel.value,
    }
    if spec.channel_ids:
        message["channel_ids"] = dict(spec.channel_ids)
    if spec.signature is not None:
        content = request_content(spec.kind, subject, body)
        message["signature"] = signed.do_accept_signed(
            session, actor, spec.signature, "ticket.create", "", content
        )
    _, state = appender.append(
        state,
        ticket_id=ticket_id,
        organization_id=actor.organization_id,
        type=EventType.MESSAGE_ADDED,
        actor_id=actor.user_id,
        occurred_at=now,
        payload=message,
    )
    if secrets_found:
        state = _warn_of_secrets(session, actor, state, secrets_found, now)
    # Imported cycle: sla_timers replies through this module.
    from proofdesk.actions.sla_timers import do_acknowledge

    row = session.get(Ticket, ticket_id)
    if row is not None and do_acknowledge(session, row, at):
        state = row_to_state(row)
    return state


def _without_secrets(*texts: str, signed: bool) -> tuple[Any, ...]:
    """The texts with every secret removed (``assistant.redaction``), then the kinds found.
    A signed text cannot be changed without breaking its signature: it is refused instead."""
    cleaned = [redact(text) for text in texts]
    kinds = list(dict.fromkeys(k for c in cleaned for k in c.kinds))
    if kinds and signed:
        raise InvalidInput(
            "this signed text contains a secret (a seed phrase or a private key); remove it, "
            "sign again, and move your funds to a new wallet",
            code="secret_in_signed_text",
        )
    return (*(c.text for c in cleaned), kinds)


#: The same removal for other public text (``actions.community``): one rule for every post.
without_secrets = _without_secrets


def _warn_of_secrets(
    session: Session, actor: Actor, state: TicketState, kinds: list[str], at: str
) -> TicketState:
    """Tell the customer (in their language) that a secret was removed and to move their
    funds; when staff pasted it, tell the agents in a note."""
    customer = session.get(User, state.requester_id)
    locale = customer.locale if customer is not None else "en"
    public = actor.user_id == state.requester_id or actor.is_customer
    body = (
        translate(locale, SECRET_WARNING)
        if public
        else (
            "A secret (" + ", ".join(kinds) + ") was removed from a staff message before it was "
            "stored. Check how it got there; the customer's wallet may be exposed."
        )
    )
    _, new_state = EventAppender(session).append(
        state,
        ticket_id=state.id,
        organization_id=state.organization_id,
        type=EventType.MESSAGE_ADDED,
        actor_id="automation",
        occurred_at=at,
        payload={
            "message_id": new_id(),
            "author_id": "automation",
            "author_role": Role.AUTOMATION.value,
            "visibility": (Visibility.PUBLIC if public else Visibility.INTERNAL).value,
            "body": body,
            "attachments": [],
            "by": {"safety": kinds},
        },
    )
    return new_state


def _open_state(ticket: Ticket) -> TicketState:
    state = row_to_state(ticket)
    if state.erased_at is not None:
        raise InvalidTransition("an erased ticket cannot change", code="ticket_erased")
    if state.status is Status.CLOSED:
        raise InvalidTransition("a closed ticket cannot change", code="ticket_closed")
    return state


def _append(
    session: Session,
    actor: Actor,
    state: TicketState,
    type: EventType,
    payload: dict[str, Any],
    at: datetime | None = None,
    by: dict[str, Any] | None = None,
) -> TicketState:
    if by is not None:  # an automatic change names the rule that made it
        payload = {**payload, "by": by}
    _, new_state = EventAppender(session).append(
        state,
        ticket_id=state.id,
        organization_id=state.organization_id,
        type=type,
        actor_id=actor.user_id,
        occurred_at=_stamp(at),
        payload=payload,
    )
    return new_state


def do_add_message(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    *,
    body: str,
    visibility: Visibility = Visibility.PUBLIC,
    attachment_ids: list[str] | None = None,
    status: Status | None = None,
    at: datetime | None = None,
    by: dict[str, Any] | None = None,
    signature: SignatureClaim | None = None,
    channel: Channel | None = None,
    channel_ids: dict[str, str] | None = None,
    opens: bool = True,
) -> TicketState:
    """A public reply or an internal note, optionally moving the ticket in the same event.

    Customers write public replies only; their reply to a pending or solved ticket reopens it
    (it is waiting on us again). An agent's first public reply to a new ticket opens it
    (unless ``opens`` is False: the automatic acknowledgement of a new request).

    ``channel`` is where the message came in (a customer's) or goes out: by default, staff
    and automatic replies go out on the channel the customer last wrote on, and a public one
    on the e-mail channel is queued in ``mail_outbox`` in this same transaction
    (``actions.mail_out``), one on Telegram in ``telegram_outbox`` (``actions.telegram_out``).
    """
    state = _open_state(ticket)
    body, secrets_found = _without_secrets(
        _text(body, "body", MAX_BODY), signed=signature is not None
    )
    if actor.is_customer:
        if visibility is not Visibility.PUBLIC or status is not None:
            raise Forbidden("customers add public replies only")
        if state.status in (Status.PENDING, Status.SOLVED):
            status = Status.OPEN
    else:
        require_worker(actor)
        new = state.status is Status.NEW
        if status is None and visibility is Visibility.PUBLIC and new and opens:
            status = Status.OPEN
    if status is not None and status is not state.status:
        check_transition(state.status, status)
    else:
        status = None
    via = channel or mail_out.reply_channel(session, state)
    mails = (
        not actor.is_customer
        and at is None  # an importer's history sends nothing
        and visibility is Visibility.PUBLIC
        and via is Channel.EMAIL
        and not channel_ids
    )
    if mails:
        outgoing_id = mail_out.new_message_id(session, state)
        channel_ids = {"message_id": outgoing_id} if outgoing_id else None
    # A reply to a Telegram chat goes to the chat the customer last wrote from.
    telegrams = (
        not actor.is_customer
        and at is None
        and visibility is Visibility.PUBLIC
        and via is Channel.TELEGRAM
        and not channel_ids
    )
    if telegrams:
        channel_ids = telegram_out.reply_ids(session, state)
    payload: dict[str, Any] = {
        "message_id": new_id(),
        "author_id": actor.user_id,
        "author_role": actor.role.value,
        "visibility": visibility.value,
        "body": body,
        "attachments": do_claim_attachments(session, actor, state.id, attachment_ids or []),
        "channel": via.value,
    }
    if channel_ids:
        payload["channel_ids"] = dict(channel_ids)
    if status is not None:
        payload["status"] = status.value
    if signature is not None:
        payload["signature"] = signed.do_accept_signed(
            session, actor, signature, "message.add", state.id, {"body": body}
        )
    state = _append(session, actor, state, EventType.MESSAGE_ADDED, payload, at, by)
    if mails:
        mail_out.do_queue_reply(session, state, payload)
    if telegrams:
        telegram_out.do_queue_reply(session, state, payload)
    if actor.is_customer and at is None and state.assignee_id:
        mail_out.do_notify(session, state, state.assignee_id, "customer_replied")
    if secrets_found:
        state = _warn_of_secrets(session, actor, state, secrets_found, _stamp(at))
    return state


#: What a customer may do to the status of their own ticket.
CUSTOMER_STATUS_CHANGES = {
    Status.SOLVED: frozenset({Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD}),
    Status.OPEN: frozenset({Status.SOLVED}),  # reopen
}


def do_change_status(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    target: Status,
    *,
    at: datetime | None = None,
    by: dict[str, Any] | None = None,
) -> TicketState:
    state = _open_state(ticket)
    if actor.is_customer:
        if state.status not in CUSTOMER_STATUS_CHANGES.get(target, frozenset()):
            raise Forbidden("customers may only mark their request solved or reopen it")
    else:
        require_worker(actor)
    check_transition(state.status, target)
    return _append(
        session,
        actor,
        state,
        EventType.STATUS_CHANGED,
        {"from": state.status.value, "to": target.value},
        at,
        by,
    )


def do_assign(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    *,
    assignee_id: str | None,
    team_id: str | None,
    at: datetime | None = None,
    by: dict[str, Any] | None = None,
) -> TicketState:
    require_worker(actor)
    state = _open_state(ticket)
    check_team(session, actor, team_id)
    check_assignee(session, actor, assignee_id, team_id)
    if (assignee_id, team_id) == (state.assignee_id, state.team_id):
        return state
    new_state = _append(
        session,
        actor,
        state,
        EventType.ASSIGNED,
        {
            "assignee_id": assignee_id,
            "team_id": team_id,
            "previous_assignee_id": state.assignee_id,
            "previous_team_id": state.team_id,
        },
        at,
        by,
    )
    if at is None and assignee_id not in (None, actor.user_id, state.assignee_id):
        mail_out.do_notify(session, new_state, assignee_id, "assigned")
    return new_state


def do_update_fields(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    changes: dict[str, Any],
    *,
    at: datetime | None = None,
    by: dict[str, Any] | None = None,
) -> TicketState:
    """Change subject, kind, priority, category or the linked order/wallet/chain/transaction."""
    require_worker(actor)
    state = _open_state(ticket)
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise InvalidInput(f"not editable: {', '.join(unknown)}", fields=unknown)
    normalized: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "subject":
            value = _text(value, "subject", MAX_SUBJECT)
        elif name == "kind":
            value = _enum(Kind, value, name).value
        elif name == "priority":
            value = _enum(Priority, value, name).value
        elif name == "category":
            value = _text(value, "category", 100) if value is not None else None
        else:
            continue
        normalized[name] = value
    linked = {name: value for name, value in changes.items() if name in LINK_FIELDS}
    if "network" in linked:
        # The new network's rules apply to the identifiers the ticket keeps.
        for name in ("wallet_address", "tx_hash"):
            if name not in linked and getattr(state, name) is not None:
                linked[name] = getattr(state, name)
        linked.setdefault("chain_id", None)
    normalized.update(_links(linked, state.network))
    current = {name: _field_value(state, name) for name in normalized}
    diff = {
        name: {"from": current[name], "to": value}
        for name, value in sorted(normalized.items())
        if current[name] != value
    }
    if not diff:
        return state
    return _append(session, actor, state, EventType.FIELDS_CHANGED, {"changes": diff}, at, by)


def _field_value(state: TicketState, name: str) -> Any:
    value = getattr(state, name)
    return value.value if isinstance(value, Kind | Priority) else value


MAX_RATING_COMMENT = 2000


def do_rate(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    *,
    score: int,
    comment: str | None = None,
    at: datetime | None = None,
) -> TicketState:
    """The requester rates the solution of a solved ticket (1-5, optional comment); rating
    again replaces the earlier score. The comment is private (sealed like a message) and has
    any secret removed."""
    if not actor.is_customer or actor.user_id != ticket.requester_id:
        raise Forbidden("only the requester rates a request", code="not_a_customer")
    state = _open_state(ticket)
    if type(score) is not int or score not in RATINGS:
        raise InvalidInput("score is an integer from 1 to 5", field="score")
    if state.status is not Status.SOLVED:
        raise InvalidTransition("only a solved request can be rated", code="not_solved")
    payload: dict[str, Any] = {"score": score}
    secrets_found: list[str] = []
    if comment is not None and comment.strip():
        payload["comment"], secrets_found = _without_secrets(
            _text(comment, "comment", MAX_RATING_COMMENT), signed=False
        )
    state = _append(session, actor, state, EventType.RATED, payload, at, None)
    if secrets_found:
        state = _warn_of_secrets(session, actor, state, secrets_found, _stamp(at))
    # Verified feedback earns points under the reward policy (or loses them, rated again
    # without a comment): actions.rewards.
    rewards.do_reward_rating(session, state, payload.get("comment"), at=at)
    return state


def do_change_tags(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    *,
    add: list[str],
    remove: list[str],
    at: datetime | None = None,
    by: dict[str, Any] | None = None,
) -> TicketState:
    require_worker(actor)
    state = _open_state(ticket)
    added = sorted(set(_tags(add)) - set(state.tags))
    removed = sorted(set(_tags(remove)) & set(state.tags))
    if len((set(state.tags) | set(added)) - set(removed)) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags", field="tags")
    if not added and not removed:
        return state
    return _append(
        session, actor, state, EventType.TAGS_CHANGED, {"added": added, "removed": removed}, at, by
    )


def do_merge(
    session: Session, actor: Actor, source: Ticket, target: Ticket, *, at: datetime | None = None
) -> TicketState:
    """Merge a duplicate (``source``) into ``target``: the source is closed and points at the
    target, the target records where it came from. Returns the target's new state."""
    require_worker(actor)
    if source.id == target.id:
        raise InvalidInput("a ticket cannot be merged into itself", field="into")
    source_state, target_state = _open_state(source), _open_state(target)
    if target_state.merged_into_id is not None:
        raise InvalidTransition("the target was itself merged away")
    if source_state.requester_id != target_state.requester_id:
        # Merging two customers' tickets would show one customer the other's messages.
        raise InvalidInput("only tickets of the same requester can be merged", field="into")
    _append(
        session,
        actor,
        source_state,
        EventType.MERGED,
        {"into_ticket_id": target.id, "from_status": source_state.status.value},
        at,
    )
    return _append(
        session, actor, target_state, EventType.MERGE_RECEIVED, {"from_ticket_id": source.id}, at
    )


class StaleVersion(Conflict):
    """A form was filled in on an older version of the ticket than the one stored: submitting
    it would silently undo what happened since (a customer's reopen, a colleague's change)."""

    code = "stale_version"


def check_version(ticket: Ticket, version: int | None) -> None:
    """Refuse a change made on ``version`` (a ``ticket_seq``) of a ticket that has moved on;
    ``None``: the caller did not say (the API, a script), nothing to compare."""
    if version is not None and version != ticket.last_ticket_seq:
        raise StaleVersion(
            "the ticket changed since the form was loaded",
            version=version,
            current=ticket.last_ticket_seq,
        )
