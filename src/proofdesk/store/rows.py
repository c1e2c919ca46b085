"""Conversions between stored rows and the reducer's values: events and ticket states.

They sit below both :mod:`proofdesk.store.events` (which writes events and projections) and
:mod:`proofdesk.ledger.store` (which reads events back to open or check them), so that neither
of those has to import the other.
"""

from __future__ import annotations

import json
from dataclasses import fields
from enum import StrEnum
from typing import Any

from proofdesk.domain.tickets import Channel, Event, EventType, Kind, Priority, Status, TicketState
from proofdesk.errors import InvalidInput
from proofdesk.store.models import Ticket, TicketEvent

#: TicketState fields stored as JSON text in the projection row.
_JSON_FIELDS = ("tags", "merged_from_ids")
#: TicketState fields stored as their enum's value.
_ENUM_FIELDS: dict[str, type[StrEnum]] = {
    "kind": Kind,
    "status": Status,
    "priority": Priority,
    "channel": Channel,
}


def state_to_row(state: TicketState) -> dict[str, Any]:
    """Column values of the ``tickets`` row for a state (the table mirrors the dataclass)."""
    values: dict[str, Any] = {}
    for f in fields(TicketState):
        value = getattr(state, f.name)
        if f.name in _JSON_FIELDS:
            value = json.dumps(list(value))
        elif f.name in _ENUM_FIELDS:
            value = value.value
        values[f.name] = value
    return values


def row_to_state(row: Ticket) -> TicketState:
    """The state a ``tickets`` row holds: the inverse of :func:`state_to_row`."""
    values: dict[str, Any] = {}
    for f in fields(TicketState):
        value = getattr(row, f.name)
        if f.name in _JSON_FIELDS:
            value = tuple(json.loads(value))
        elif f.name in _ENUM_FIELDS:
            value = _ENUM_FIELDS[f.name](value)
        values[f.name] = value
    return TicketState(**values)


def row_to_event(row: TicketEvent) -> Event:
    """The reducer's view of a stored event; a corrupt row is an :class:`InvalidInput`."""
    try:
        return Event(
            seq=row.seq,
            ticket_id=row.ticket_id,
            ticket_seq=row.ticket_seq,
            type=EventType(row.type),
            actor_id=row.actor_id,
            occurred_at=row.occurred_at,
            payload=json.loads(row.payload),
        )
    except ValueError as exc:  # unknown type, or a payload that is not JSON
        raise InvalidInput(f"event {row.seq} is corrupt: {exc}", seq=row.seq) from None
