"""What the outbound webhooks deliver: their event types and the ``data`` of each.

A webhook type is the public name of a ticket event for integrators. Most are the event
type's own name; two differ:

* ``message.added`` is a *public* message only. An internal note is ``note.added``, a type of
  its own that an endpoint gets only if it names it (for staff integrations such as a team
  chat); no other type, and no default, ever carries a note.
* ``contract.decided`` is ``decision.made``, the name integrators know it by.

Pure: the worker reads the stored event (with its private values opened, or their erased
placeholders) and this module turns it into the webhook's ``data``.
"""

from __future__ import annotations

from typing import Any

from proofdesk.domain.tickets import COMMUNITY_EVENTS, Event, EventType, Visibility

MESSAGE_ADDED = "message.added"
NOTE_ADDED = "note.added"

#: Event type → webhook type (``message.added`` is split by visibility, see
#: :func:`webhook_type`).
_BY_EVENT: dict[EventType, str] = {
    EventType.CREATED: "ticket.created",
    EventType.MESSAGE_ADDED: MESSAGE_ADDED,
    EventType.STATUS_CHANGED: "status.changed",
    EventType.ASSIGNED: "assignment.changed",
    EventType.FIELDS_CHANGED: "fields.changed",
    EventType.TAGS_CHANGED: "tags.changed",
    EventType.MERGED: "ticket.merged",
    EventType.MERGE_RECEIVED: "ticket.merge_received",
    EventType.ERASED: "ticket.erased",
    EventType.DECIDED: "decision.made",
    EventType.PAYOUT: "payout.changed",
    EventType.CONTRACT_ACTIVATED: "contract.activated",
    EventType.SLA_WARNING: "sla.warning",
    EventType.SLA_BREACHED: "sla.breached",
    EventType.RATED: "ticket.rated",
    EventType.CHAIN_FILED: "chain.filed",
    EventType.CHAIN_DROPPED: "chain.dropped",
    EventType.TRANSFER_CONSENTED: "transfer.consented",
    EventType.TRANSFER_SENT: "transfer.sent",
    EventType.TRANSFER_RECEIVED: "transfer.received",
    EventType.TRANSFER_UPDATED: "transfer.updated",
    EventType.CUSTOMER_NOTED: "customer.noted",  # ids only: the note's text stays in the desk
    # Community Q&A: ids and digests only; the public text is read from the community API.
    **{t: t.value for t in COMMUNITY_EVENTS},
    EventType.REWARD_POLICY_PUBLISHED: "reward.policy_published",
    EventType.REWARD_GRANTED: "reward.granted",
    EventType.REWARD_CLAWED_BACK: "reward.clawed_back",
    EventType.REWARD_EPOCH_CLOSED: "reward.epoch_closed",
    EventType.REWARD_EPOCH_PUBLISHED: "reward.epoch_published",
}

#: Every webhook type an endpoint may subscribe to, in a stable order.
WEBHOOK_TYPES: tuple[str, ...] = (*_BY_EVENT.values(), NOTE_ADDED)

#: The fields of ``ticket.created`` that a webhook carries.
_TICKET_FIELDS = (
    "number",
    "kind",
    "subject",
    "status",
    "priority",
    "channel",
    "requester_id",
    "category",
    "tags",
    "team_id",
    "assignee_id",
    "order_id",
    "wallet_address",
    "chain_id",
    "tx_hash",
)
_MESSAGE_FIELDS = (
    "message_id",
    "author_id",
    "author_role",
    "visibility",
    "body",
    "attachments",
    "status",
)
#: A decision's facts may be large and name orders and wallets; the integrator reads them
#: with ``GET /tickets/{id}/events`` if it needs them.
_DECISION_FIELDS = (
    "contract_hash",
    "contract",
    "contract_version",
    "trigger",
    "outcome",
    "decision",
)


def webhook_type(event_type: EventType, payload: dict[str, Any]) -> str:
    """The webhook type of an event: an internal note is ``note.added``, never
    ``message.added``."""
    if event_type is EventType.MESSAGE_ADDED and payload.get("visibility") != Visibility.PUBLIC:
        return NOTE_ADDED
    return _BY_EVENT[event_type]


def webhook_data(event: Event, organization_id: str) -> dict[str, Any]:
    """The ``data`` of the webhook of ``event``: where it happened, then its own fields."""
    p = event.payload
    data: dict[str, Any] = {
        "organization_id": organization_id,
        "seq": event.seq,
        "actor_id": event.actor_id,
        "occurred_at": event.occurred_at,
    }
    if event.type is not EventType.CONTRACT_ACTIVATED:
        data["ticket_id"] = event.ticket_id
        data["ticket_seq"] = event.ticket_seq
    if event.type is EventType.CREATED:
        data.update({k: p.get(k) for k in _TICKET_FIELDS})
    elif event.type is EventType.MESSAGE_ADDED:
        data.update({k: p[k] for k in _MESSAGE_FIELDS if k in p})
        data["signed_by"] = (p.get("signature") or {}).get("signer")
    elif event.type is EventType.DECIDED:
        data.update({k: p.get(k) for k in _DECISION_FIELDS})
    else:
        data.update(p)
    return data
