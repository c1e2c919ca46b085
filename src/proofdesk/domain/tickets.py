"""Tickets: kinds, statuses, the transition table, and the event reducer.

A ticket's state is never written directly: it is the fold of its events through
:func:`apply_event`. The same function runs when a change is made (``actions``) and when
``proofdesk rebuild`` recomputes every projection from the stream, so the two cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from proofdesk.errors import InvalidInput, InvalidTransition


class Kind(StrEnum):
    QUESTION = "question"
    COMPLAINT = "complaint"
    WARRANTY_CLAIM = "warranty_claim"
    REFUND_REQUEST = "refund_request"
    TRANSACTION_PROBLEM = "transaction_problem"


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer
    ON_HOLD = "on_hold"  # waiting on a third party
    SOLVED = "solved"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Visibility(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"  # an internal note: never shown to the customer


class Channel(StrEnum):
    WEB = "web"
    EMAIL = "email"
    CHAT = "chat"
    API = "api"
    IM = "im"
    CHAIN = "chain"  # filed from the customer's wallet through the request inbox contract
    TELEGRAM = "telegram"  # a private chat with the organization's bot (docs/telegram.md)


#: The strict transition table. ``closed`` is terminal: a follow-up is a new ticket, as in
#: Zendesk, so that a closed ticket's history (and later its receipt) never changes again.
#: ``solved -> open`` is the reopen.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED}),
    Status.OPEN: frozenset({Status.PENDING, Status.ON_HOLD, Status.SOLVED}),
    Status.PENDING: frozenset({Status.OPEN, Status.ON_HOLD, Status.SOLVED}),
    Status.ON_HOLD: frozenset({Status.OPEN, Status.PENDING, Status.SOLVED}),
    Status.SOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}

#: Statuses in which a ticket still needs work.
UNSOLVED = frozenset({Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD})


def check_transition(current: Status, target: Status) -> None:
    """Raise :class:`InvalidTransition` unless ``current -> target`` is in the table."""
    if target not in TRANSITIONS[current]:
        allowed = sorted(s.value for s in TRANSITIONS[current])
        error = InvalidTransition(f"a {current.value} ticket cannot become {target.value}")
        error.details.update({"from": current.value, "to": target.value, "allowed": allowed})
        raise error


class EventType(StrEnum):
    CREATED = "ticket.created"
    MESSAGE_ADDED = "message.added"
    STATUS_CHANGED = "status.changed"
    ASSIGNED = "assignment.changed"
    FIELDS_CHANGED = "fields.changed"
    TAGS_CHANGED = "tags.changed"
    MERGED = "ticket.merged"  # this ticket was merged into another one and closed
    MERGE_RECEIVED = "ticket.merge_received"  # another ticket was merged into this one
    ERASED = "ticket.erased"  # the requester's data was erased (crypto-shredded)
    DECIDED = "contract.decided"  # a service contract decided this ticket's claim
    PAYOUT = "payout.changed"  # money a decision moves: held, queued, paid, failed, rejected
    #: An organization's event, not a ticket's: a service contract or rule set became active.
    #: Its stream is the organization's own (``ticket_id`` is the organization id).
    CONTRACT_ACTIVATED = "contract.activated"
    #: Staff wrote a note about a customer: an event of the customer's own stream
    #: (``ticket_id`` is the customer's id), in no public receipt; it carries the note's id,
    #: never its text, which is erased with the customer.
    CUSTOMER_NOTED = "customer.noted"
    SLA_WARNING = "sla.warning"  # an SLA target is about to be missed
    SLA_BREACHED = "sla.breached"  # an SLA target was missed
    RATED = "ticket.rated"  # the requester rated the solution (1-5, optional comment)
    #: The request inbox contract recorded a commitment to this request (a final block).
    CHAIN_FILED = "chain.filed"
    #: That record's block left the canonical chain in a reorganisation after it was final.
    CHAIN_DROPPED = "chain.dropped"
    #: The customer consented to this ticket moving to a partner organization (the consent
    #: names the receiver and the transfer; a bundle without it is refused).
    TRANSFER_CONSENTED = "transfer.consented"
    #: The partner accepted the ticket: its signed acknowledgement, logged by the sender.
    TRANSFER_SENT = "transfer.sent"
    #: This ticket arrived from a partner (the bundle's hash and what it proved).
    TRANSFER_RECEIVED = "transfer.received"
    #: A signed status update of a transferred ticket, sent to or taken from the partner.
    TRANSFER_UPDATED = "transfer.updated"
    #: Community Q&A (``actions.community``): events of a question's own stream
    #: (``ticket_id`` is the question's id), carrying ids and SHA-256 digests of the posted
    #: text, never the text (docs/decisions/0034-community-events.md).
    QUESTION_ASKED = "question.asked"
    ANSWER_POSTED = "answer.posted"
    COMMENT_POSTED = "comment.posted"
    VOTE_CAST = "vote.cast"
    ANSWER_ACCEPTED = "answer.accepted"
    ANSWER_UNACCEPTED = "answer.unaccepted"
    QUESTION_CLOSED = "question.closed"  # closed as a duplicate of another question
    POST_REPORTED = "post.reported"
    POST_APPROVED = "post.approved"  # a held first post released by staff
    POST_HIDDEN = "post.hidden"
    POST_RESTORED = "post.restored"
    ANSWER_PROMOTED = "answer.promoted"  # became a knowledge-base article (its author credited)
    QUESTION_MADE_PRIVATE = "question.made_private"  # turned into its author's private ticket
    #: Rewards (``proofdesk.rewards``): a reward policy became the organization's (its stream);
    #: points granted to a customer, or clawed back within the holding period (the
    #: customer's stream); an epoch's vested balances became a Merkle root, and that root was
    #: published on chain (the organization's stream).
    REWARD_POLICY_PUBLISHED = "reward.policy_published"
    REWARD_GRANTED = "reward.granted"
    REWARD_CLAWED_BACK = "reward.clawed_back"
    REWARD_EPOCH_CLOSED = "reward.epoch_closed"
    REWARD_EPOCH_PUBLISHED = "reward.epoch_published"


#: Events of streams that are no ticket (an organization's, a customer's), which no ticket
#: projection folds.
COMMUNITY_EVENTS = frozenset(
    {
        EventType.QUESTION_ASKED,
        EventType.ANSWER_POSTED,
        EventType.COMMENT_POSTED,
        EventType.VOTE_CAST,
        EventType.ANSWER_ACCEPTED,
        EventType.ANSWER_UNACCEPTED,
        EventType.QUESTION_CLOSED,
        EventType.POST_REPORTED,
        EventType.POST_APPROVED,
        EventType.POST_HIDDEN,
        EventType.POST_RESTORED,
        EventType.ANSWER_PROMOTED,
        EventType.QUESTION_MADE_PRIVATE,
    }
)
ORGANIZATION_EVENTS = (
    frozenset(
        {
            EventType.CONTRACT_ACTIVATED,
            EventType.CUSTOMER_NOTED,
            EventType.REWARD_POLICY_PUBLISHED,
            EventType.REWARD_GRANTED,
            EventType.REWARD_CLAWED_BACK,
            EventType.REWARD_EPOCH_CLOSED,
            EventType.REWARD_EPOCH_PUBLISHED,
        }
    )
    | COMMUNITY_EVENTS
)

#: What erased text reads as, in projections and in replays of erased events.
ERASED_TEXT = "[erased]"

#: The payload field that marks an event as imported history: ``{"from": system, "id":
#: source id, "at": when it was imported}``; the event's ``occurred_at`` is the original time.
#: Imported events are history, not work: nothing that reacts to the stream (SLA alerts,
#: automation rules, contracts, notifications, webhooks) acts on them. Check it with
#: :func:`imported_marker` or :attr:`Event.imported`, nowhere else.
IMPORTED = "imported"


def imported_marker(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The import marker of a payload (never sealed), or None for a live event."""
    marker = payload.get(IMPORTED)
    return marker if isinstance(marker, dict) else None


#: Fields that ``fields.changed`` may carry, and only those.
EDITABLE_FIELDS = (
    "subject",
    "kind",
    "priority",
    "category",
    "order_id",
    "wallet_address",
    "chain_id",
    "tx_hash",
    "network",
)


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of the ticket event stream, as the reducer sees it."""

    seq: int
    ticket_id: str
    ticket_seq: int
    type: EventType
    actor_id: str | None
    occurred_at: str  # RFC 3339 UTC, see canonical.format_time
    payload: dict[str, Any]

    @property
    def imported(self) -> dict[str, Any] | None:
        """Where this event was imported from (see :data:`IMPORTED`), None for a live one."""
        return imported_marker(self.payload)


@dataclass(frozen=True, slots=True)
class TicketState:
    """The projection of one ticket. Every field is a function of its events."""

    id: str
    organization_id: str
    number: int
    kind: Kind
    subject: str
    status: Status
    priority: Priority
    channel: Channel
    requester_id: str
    category: str | None = None
    tags: tuple[str, ...] = ()
    team_id: str | None = None
    assignee_id: str | None = None
    order_id: str | None = None
    wallet_address: str | None = None
    chain_id: int | None = None
    tx_hash: str | None = None
    #: The network of the wallet and the transaction (``domain.networks`` key); None: EVM.
    network: str | None = None
    merged_into_id: str | None = None
    merged_from_ids: tuple[str, ...] = ()
    created_at: str = ""
    updated_at: str = ""
    first_response_at: str | None = None
    solved_at: str | None = None
    closed_at: str | None = None
    message_count: int = 0
    erased_at: str | None = None
    #: The requester's satisfaction with the solution, 1-5 (the latest rating), and when.
    rating: int | None = None
    rated_at: str | None = None
    last_seq: int = 0
    last_ticket_seq: int = 0


def apply_event(state: TicketState | None, event: Event) -> TicketState:
    """Fold one event into a ticket's state. Pure; raises an :class:`Error` on an event that
    cannot apply, including a malformed payload (never a raw ``KeyError``/``ValueError``)."""
    expected = 1 if state is None else state.last_ticket_seq + 1
    if event.type is EventType.CREATED and state is not None:
        raise InvalidInput("ticket.created on an existing ticket", ticket_id=event.ticket_id)
    if event.type is not EventType.CREATED and state is None:
        raise InvalidInput(f"{event.type.value} before ticket.created", ticket_id=event.ticket_id)
    if event.ticket_seq != expected:
        raise InvalidInput(
            "ticket event out of order",
            ticket_id=event.ticket_id,
            expected=expected,
            got=event.ticket_seq,
        )
    try:
        if state is None:
            return _on_created(event)
        touched = replace(
            state,
            updated_at=event.occurred_at,
            last_seq=event.seq,
            last_ticket_seq=event.ticket_seq,
        )
        return _REDUCERS[event.type](touched, event)
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidInput(
            f"malformed {event.type.value} payload: {type(exc).__name__}: {exc}",
            ticket_id=event.ticket_id,
            seq=event.seq,
        ) from None


def _on_created(event: Event) -> TicketState:
    p = event.payload
    return TicketState(
        id=event.ticket_id,
        organization_id=p["organization_id"],
        number=p["number"],
        kind=Kind(p["kind"]),
        subject=p["subject"],
        status=Status(p["status"]),
        priority=Priority(p["priority"]),
        channel=Channel(p["channel"]),
        requester_id=p["requester_id"],
        category=p.get("category"),
        tags=tuple(sorted(set(p.get("tags", ())))),
        team_id=p.get("team_id"),
        assignee_id=p.get("assignee_id"),
        order_id=p.get("order_id"),
        wallet_address=p.get("wallet_address"),
        chain_id=p.get("chain_id"),
        tx_hash=p.get("tx_hash"),
        network=p.get("network"),
        created_at=event.occurred_at,
        updated_at=event.occurred_at,
        last_seq=event.seq,
        last_ticket_seq=event.ticket_seq,
    )


def _status_times(state: TicketState, target: Status, at: str) -> TicketState:
    solved_at = state.solved_at
    if target is Status.SOLVED:
        solved_at = at
    elif state.status is Status.SOLVED and target is not Status.CLOSED:
        solved_at = None  # reopened
    closed_at = at if target is Status.CLOSED else state.closed_at
    return replace(state, status=target, solved_at=solved_at, closed_at=closed_at)


def _on_status(state: TicketState, event: Event) -> TicketState:
    target = Status(event.payload["to"])
    check_transition(state.status, target)
    return _status_times(state, target, event.occurred_at)


def message_channel(state: TicketState, payload: dict[str, Any]) -> Channel:
    """The channel a ``message.added`` came in or went out on: its own ``channel``, or the
    ticket's for events written before messages carried one."""
    value = payload.get("channel")
    return state.channel if value is None else Channel(value)


def check_channel_ids(value: Any) -> dict[str, str]:
    """A message's channel ids (``{"message_id": "<…@…>"}``): a flat object of short texts."""
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and len(k) <= 40 and len(v) <= 1000
        for k, v in value.items()
    ):
        raise ValueError("channel_ids must map names to texts")
    return value


def _on_message(state: TicketState, event: Event) -> TicketState:
    p = event.payload
    message_channel(state, p)
    check_channel_ids(p.get("channel_ids", {}))
    first_response = state.first_response_at
    # The first message is the request itself, even when staff open the ticket for a customer
    # (phone, e-mail forwarded by hand): it is not a response. Nor is an automatic reply: the
    # first-response promise is about a person.
    if (
        first_response is None
        and state.message_count > 0
        and p["visibility"] == Visibility.PUBLIC
        and p["author_id"] != state.requester_id
        and p.get("author_role") not in ("customer", "automation")
    ):
        first_response = event.occurred_at
    state = replace(state, message_count=state.message_count + 1, first_response_at=first_response)
    if "status" in p:  # a reply can move the ticket, e.g. a customer reply reopens it
        target = Status(p["status"])
        check_transition(state.status, target)
        state = _status_times(state, target, event.occurred_at)
    return state


def _on_assigned(state: TicketState, event: Event) -> TicketState:
    p = event.payload
    return replace(state, assignee_id=p["assignee_id"], team_id=p["team_id"])


def _on_fields(state: TicketState, event: Event) -> TicketState:
    changes: dict[str, Any] = {}
    for name, change in event.payload["changes"].items():
        if name not in EDITABLE_FIELDS:
            raise InvalidInput(f"field {name!r} is not editable", field=name)
        value = change["to"]
        if name == "kind":
            value = Kind(value)
        elif name == "priority":
            value = Priority(value)
        changes[name] = value
    return replace(state, **changes)


def _on_tags(state: TicketState, event: Event) -> TicketState:
    p = event.payload
    tags = (set(state.tags) | set(p["added"])) - set(p["removed"])
    return replace(state, tags=tuple(sorted(tags)))


def _on_merged(state: TicketState, event: Event) -> TicketState:
    if state.status is Status.CLOSED:
        raise InvalidTransition("a closed ticket cannot be merged", ticket_id=state.id)
    state = replace(state, merged_into_id=event.payload["into_ticket_id"])
    return replace(state, status=Status.CLOSED, closed_at=event.occurred_at)


def _on_merge_received(state: TicketState, event: Event) -> TicketState:
    merged = (*state.merged_from_ids, event.payload["from_ticket_id"])
    return replace(state, merged_from_ids=merged)


def _on_erased(state: TicketState, event: Event) -> TicketState:
    return replace(
        state,
        subject=ERASED_TEXT,
        order_id=None,
        wallet_address=None,
        tx_hash=None,
        erased_at=event.occurred_at,
    )


def _on_decided(state: TicketState, event: Event) -> TicketState:
    """A decision is recorded history; what it leads to arrives as its own events."""
    if event.payload["outcome"] not in ("valid", "invalid", "needs_human"):
        raise ValueError("unknown outcome")
    return state


PAYOUT_STATUSES = frozenset({"held", "queued", "confirmed", "failed", "rejected"})


def _on_payout(state: TicketState, event: Event) -> TicketState:
    """A payout's progress is recorded history, like a decision."""
    if event.payload["status"] not in PAYOUT_STATUSES:
        raise ValueError("unknown payout status")
    return state


def _on_sla(state: TicketState, event: Event) -> TicketState:
    """An SLA alert is recorded history; the timers are derived from the other events."""
    if not isinstance(event.payload["target"], str):
        raise ValueError("target must be text")
    return state


def _on_chain(state: TicketState, event: Event) -> TicketState:
    """A filing on chain is recorded evidence of when the request was made; it changes nothing
    of the ticket."""
    tx_hash = event.payload["tx_hash"]
    if not isinstance(tx_hash, str) or not tx_hash.startswith("0x"):
        raise ValueError("tx_hash must be 0x-hex text")
    return state


RATINGS = range(1, 6)


def _on_rated(state: TicketState, event: Event) -> TicketState:
    """A solution is rated while the ticket is solved; a later rating replaces the earlier."""
    score = event.payload["score"]
    if type(score) is not int or score not in RATINGS:
        raise ValueError("score must be an integer from 1 to 5")
    if state.status is not Status.SOLVED:
        raise InvalidTransition("only a solved request can be rated", code="not_solved")
    return replace(state, rating=score, rated_at=event.occurred_at)


def _on_transfer(state: TicketState, event: Event) -> TicketState:
    """A transfer's steps are recorded history, on both sides' logs; they change nothing of
    the ticket itself (each organization keeps its own status)."""
    if not isinstance(event.payload["transfer_id"], str):
        raise ValueError("transfer_id must be text")
    return state


_REDUCERS = {
    EventType.STATUS_CHANGED: _on_status,
    EventType.MESSAGE_ADDED: _on_message,
    EventType.ASSIGNED: _on_assigned,
    EventType.FIELDS_CHANGED: _on_fields,
    EventType.TAGS_CHANGED: _on_tags,
    EventType.MERGED: _on_merged,
    EventType.MERGE_RECEIVED: _on_merge_received,
    EventType.ERASED: _on_erased,
    EventType.DECIDED: _on_decided,
    EventType.PAYOUT: _on_payout,
    EventType.SLA_WARNING: _on_sla,
    EventType.SLA_BREACHED: _on_sla,
    EventType.RATED: _on_rated,
    EventType.CHAIN_FILED: _on_chain,
    EventType.CHAIN_DROPPED: _on_chain,
    EventType.TRANSFER_CONSENTED: _on_transfer,
    EventType.TRANSFER_SENT: _on_transfer,
    EventType.TRANSFER_RECEIVED: _on_transfer,
    EventType.TRANSFER_UPDATED: _on_transfer,
}


def replay(events: list[Event]) -> TicketState:
    """Fold a ticket's whole event list (in ``ticket_seq`` order)."""
    state: TicketState | None = None
    for event in events:
        state = apply_event(state, event)
    if state is None:
        raise InvalidInput("no events to replay")
    return state
