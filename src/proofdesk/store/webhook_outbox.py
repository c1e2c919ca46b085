"""The webhook outbox, filled where events are written.

:class:`~proofdesk.store.events.EventAppender` calls :func:`enqueue` for every event it
writes, in the same transaction: a delivery row for each enabled endpoint of the
organization subscribed to the event's webhook type. A change that rolls back leaves no row,
and a committed event always has its rows, so a worker that dies between the event and the
send finds them after a restart. The rows name the event only; the worker builds the body from
the stored event when it sends (so an erased ticket's content is never sent afterwards).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.canonical import parse_time
from proofdesk.domain.tickets import Event
from proofdesk.domain.webhooks import webhook_type
from proofdesk.store.models import WebhookDelivery, WebhookEndpoint

#: ``session.info`` key of the enabled endpoints read in this transaction, by organization.
CACHE = "webhook_endpoints"


def forget_endpoints(session: Session) -> None:
    """Drop the transaction's cached endpoints (after an endpoint is written)."""
    session.info.pop(CACHE, None)


def _subscriptions(session: Session, organization_id: str) -> list[tuple[str, frozenset[str]]]:
    cache: dict[str, list[tuple[str, frozenset[str]]]] = session.info.setdefault(CACHE, {})
    if organization_id not in cache:
        with session.no_autoflush:  # reading must not change when the event's rows are flushed
            rows = session.execute(
                select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
                    WebhookEndpoint.organization_id == organization_id,
                    WebhookEndpoint.enabled.is_(True),
                )
            ).all()
        cache[organization_id] = [(id_, frozenset(json.loads(types))) for id_, types in rows]
    return cache[organization_id]


def enqueue(session: Session, event: Event, organization_id: str) -> int:
    """Add the delivery rows of ``event``; returns how many. Imported history is not news: an
    event another help desk recorded (``domain.tickets.imported_marker``) sends nothing."""
    if event.imported:
        return 0
    endpoints = _subscriptions(session, organization_id)
    if not endpoints:
        return 0
    kind = webhook_type(event.type, event.payload)
    due: datetime = parse_time(event.occurred_at)
    count = 0
    for endpoint_id, types in endpoints:
        if kind in types:
            session.add(
                WebhookDelivery(
                    endpoint_id=endpoint_id,
                    organization_id=organization_id,
                    event_seq=event.seq,
                    webhook_type=kind,
                    status="pending",
                    attempts=0,
                    next_attempt_at=due,
                    created_at=due,
                )
            )
            count += 1
    return count
