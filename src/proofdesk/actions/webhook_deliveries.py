"""The webhooks worker's side of the outbox: claiming due deliveries with a lease and
recording each attempt, on the Standard Webhooks retry schedule (``docs/webhooks.md``).

The schedule: an attempt at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h;
after the eighth failure the delivery has failed (a person may redeliver it). ``Retry-After``
pushes an attempt later, never earlier. A 410 disables the endpoint.

Exactly once, at least once: a worker claims due rows under the writer lock with a lease
(:func:`do_claim`), sends outside the lock, and records the outcome under the lock
(:func:`do_record`). Two workers never claim one row while its lease holds. A worker that dies
after claiming and before sending leaves a row that is claimed again when the lease ends and
sent once; one that dies between sending and recording causes one more send of the same
``webhook-id``, which receivers use to drop the duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from proofdesk.canonical import stored_utc
from proofdesk.ledger.keys import Keyring
from proofdesk.store.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from proofdesk.store.webhook_outbox import forget_endpoints
from proofdesk.webhooks.sender import Outcome

#: Waits after each failed attempt (the first attempt is at once): Standard Webhooks.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)


def endpoint_secrets(endpoint: WebhookEndpoint, keyring: Keyring, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, then the previous one in its grace."""
    found = [keyring.unwrap(secret_context(endpoint.id), endpoint.secret).decode()]
    if (
        endpoint.previous_secret is not None
        and endpoint.previous_expires_at is not None
        and stored_utc(endpoint.previous_expires_at) > now
    ):
        found.append(keyring.unwrap(secret_context(endpoint.id), endpoint.previous_secret).decode())
    return found


def secret_context(endpoint_id: str) -> str:
    """The associated data an endpoint's secrets are wrapped under."""
    return f"webhook-endpoint:{endpoint_id}"


@dataclass(frozen=True)
class Claim:
    """A delivery a worker holds, with what it needs to send it."""

    delivery_id: str
    owner: str
    endpoint_id: str
    organization_id: str
    url: str
    event_seq: int
    webhook_type: str
    secrets: tuple[str, ...]


def _due(now: datetime) -> Any:
    return (
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
            WebhookEndpoint.enabled.is_(True),
        )
    )


def any_due(session: Session, now: datetime) -> bool:
    """Whether a delivery waits to be claimed (read without the lock; :func:`do_claim`
    re-checks under it)."""
    return session.execute(_due(now).limit(1)).first() is not None


def do_claim(
    session: Session,
    keyring: Keyring,
    owner: str,
    now: datetime,
    *,
    lease: timedelta,
    limit: int,
) -> list[Claim]:
    """Claim up to ``limit`` due deliveries of enabled endpoints for ``owner`` until
    ``now + lease``. Runs under the writer lock, which serialises claims across processes:
    a row whose lease holds is never claimed twice."""
    due = session.execute(
        _due(now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.event_seq)
        .limit(limit)
        .with_for_update(of=WebhookDelivery)
    ).all()
    claims = []
    for delivery, endpoint in due:
        delivery.lease_owner, delivery.lease_until = owner, now + lease
        claims.append(
            Claim(
                delivery_id=delivery.id,
                owner=owner,
                endpoint_id=endpoint.id,
                organization_id=delivery.organization_id,
                url=endpoint.url,
                event_seq=delivery.event_seq,
                webhook_type=delivery.webhook_type,
                secrets=tuple(endpoint_secrets(endpoint, keyring, now)),
            )
        )
    return claims


def next_attempt(attempts: int, now: datetime, retry_after: float | None) -> datetime | None:
    """When to try again after ``attempts`` failed attempts; None once they are spent."""
    if attempts >= MAX_ATTEMPTS:
        return None
    wait = RETRY_DELAYS[attempts - 1]
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    return now + wait


def do_record(session: Session, claim: Claim, outcome: Outcome, now: datetime) -> str:
    """Log an attempt and move its delivery on (under the writer lock); returns the
    delivery's status. A success counts even if the lease was lost meanwhile; a failure only
    moves the row if this worker still holds it (else another worker owns the next try)."""
    delivery = session.get(WebhookDelivery, claim.delivery_id, with_for_update=True)
    if delivery is None:  # the endpoint was deleted meanwhile
        return FAILED
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            attempted_at=now,
            worker=claim.owner,
            status_code=outcome.status_code,
            error=None if outcome.error is None else outcome.error[:500],
            duration_ms=outcome.duration_ms,
            response_excerpt=outcome.excerpt[:1000],
        )
    )
    delivery.last_status_code, delivery.last_error = outcome.status_code, outcome.error
    if outcome.delivered:
        if delivery.status != DELIVERED:
            delivery.status, delivery.delivered_at = DELIVERED, now
        delivery.attempts += 1
        delivery.lease_owner = delivery.lease_until = None
        return delivery.status
    if delivery.lease_owner != claim.owner or delivery.status != PENDING:
        return delivery.status
    delivery.attempts += 1
    delivery.lease_owner = delivery.lease_until = None
    if outcome.gone:
        session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == delivery.endpoint_id)
            .values(enabled=False, disabled_reason="gone", updated_at=now)
        )
        forget_endpoints(session)
        delivery.status = FAILED
        return FAILED
    later = next_attempt(delivery.attempts, now, outcome.retry_after)
    if later is None:
        delivery.status = FAILED
    else:
        delivery.next_attempt_at = later
    return delivery.status
