"""Outbound webhooks: an organization's admins subscribe endpoints, rotate their secrets and
redeliver; the webhooks worker claims due deliveries and records each attempt.

Secrets (``whsec_…``) are shown once, when made, and kept only wrapped under the data key.
A rotation keeps the previous secret signing beside the new one for a grace period, so a
receiver can switch without losing a delivery. The retry schedule is the Standard Webhooks
one: an attempt at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h; after the
eighth failure the delivery has failed (a person may redeliver it). ``Retry-After`` pushes an
attempt later, never earlier. A 410 disables the endpoint.

Exactly once, at least once: a worker claims due rows under the writer lock with a lease
(:func:`do_claim`), sends outside the lock, and records the outcome under the lock
(:func:`do_record`). Two workers never claim one row while its lease holds. A worker that dies
after claiming and before sending leaves a row that is claimed again when the lease ends and
sent once; one that dies between sending and recording causes one more send of the same
``webhook-id``, which receivers use to drop the duplicate (``docs/webhooks.md``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from proofdesk.access import (
    Actor,
    access_webhook_delivery,
    access_webhook_endpoint,
    require_admin,
    require_scope,
)
from proofdesk.canonical import stored_utc, utc_now
from proofdesk.domain.roles import Scope
from proofdesk.domain.webhooks import WEBHOOK_TYPES
from proofdesk.errors import Conflict, InvalidInput
from proofdesk.ledger.keys import Keyring
from proofdesk.store.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, new_id
from proofdesk.store.webhook_outbox import forget_endpoints
from proofdesk.webhooks.addresses import Resolver, check_url, system_resolver
from proofdesk.webhooks.sender import Outcome
from proofdesk.webhooks.signing import new_secret

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
MAX_ENDPOINTS = 20
MAX_DESCRIPTION = 500
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)


@dataclass(frozen=True)
class UrlPolicy:
    """How endpoint URLs are checked (``PROOFDESK_WEBHOOKS_ALLOW_PRIVATE``). A URL checked
    once is not resolved again by the same policy: a caller checks it before taking the writer
    lock (a DNS lookup can take seconds), and the action's own check under the lock is free."""

    allow_private: bool = False
    resolver: Resolver = system_resolver
    _checked: set[str] = field(default_factory=set, compare=False, repr=False)

    def check(self, url: str) -> str:
        if url not in self._checked:
            check_url(url, allow_private=self.allow_private, resolver=self.resolver)
            self._checked.add(url)
        return url


def check_event_types(types: Sequence[str]) -> list[str]:
    """The subscribed types, sorted; each must be a webhook type, and one at least."""
    unknown = sorted(set(types) - set(WEBHOOK_TYPES))
    if unknown:
        raise InvalidInput(
            f"unknown webhook type {', '.join(unknown)}",
            code="unknown_webhook_type",
            field="event_types",
            allowed=list(WEBHOOK_TYPES),
        )
    if not types:
        raise InvalidInput("subscribe to one webhook type at least", field="event_types")
    return sorted(set(types))


def _description(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_DESCRIPTION:
        raise InvalidInput(f"a description has {MAX_DESCRIPTION} characters at most")
    return text


def _context(endpoint_id: str) -> str:
    return f"webhook-endpoint:{endpoint_id}"


def endpoint_secrets(endpoint: WebhookEndpoint, keyring: Keyring, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, then the previous one in its grace."""
    found = [keyring.unwrap(_context(endpoint.id), endpoint.secret).decode()]
    if (
        endpoint.previous_secret is not None
        and endpoint.previous_expires_at is not None
        and stored_utc(endpoint.previous_expires_at) > now
    ):
        found.append(keyring.unwrap(_context(endpoint.id), endpoint.previous_secret).decode())
    return found


def _require(actor: Actor) -> None:
    require_scope(actor, Scope.ADMIN)
    require_admin(actor)


def do_create_endpoint(
    session: Session,
    actor: Actor,
    keyring: Keyring,
    policy: UrlPolicy,
    *,
    url: str,
    event_types: Sequence[str],
    description: str = "",
    enabled: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """Subscribe a URL; returns the endpoint and its secret (shown this once)."""
    _require(actor)
    types = check_event_types(event_types)
    policy.check(url)
    count = session.scalar(
        select(func.count())
        .select_from(WebhookEndpoint)
        .where(WebhookEndpoint.organization_id == actor.organization_id)
    )
    if (count or 0) >= MAX_ENDPOINTS:
        raise Conflict(
            f"an organization has {MAX_ENDPOINTS} webhook endpoints at most",
            code="too_many_webhook_endpoints",
        )
    now = utc_now()
    secret = new_secret()
    endpoint = WebhookEndpoint(
        organization_id=actor.organization_id,
        url=url,
        description=_description(description),
        event_types=json.dumps(types),
        enabled=enabled,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    endpoint.id = new_id()
    endpoint.secret = keyring.wrap(_context(endpoint.id), secret.encode())
    session.add(endpoint)
    session.flush()
    forget_endpoints(session)
    return endpoint, secret


def do_update_endpoint(
    session: Session,
    actor: Actor,
    policy: UrlPolicy,
    endpoint_id: str,
    *,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given; enabling an endpoint clears why it was disabled."""
    endpoint = access_webhook_endpoint(session, actor, endpoint_id)
    if url is not None:
        endpoint.url = policy.check(url)
    if event_types is not None:
        endpoint.event_types = json.dumps(check_event_types(event_types))
    if description is not None:
        endpoint.description = _description(description)
    if enabled is not None:
        endpoint.enabled = enabled
        if enabled:
            endpoint.disabled_reason = None
    endpoint.updated_at = utc_now()
    forget_endpoints(session)
    return endpoint


def do_delete_endpoint(session: Session, actor: Actor, endpoint_id: str) -> None:
    """Remove an endpoint with its deliveries and their log."""
    endpoint = access_webhook_endpoint(session, actor, endpoint_id)
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    session.delete(endpoint)
    session.flush()
    forget_endpoints(session)


def do_rotate_secret(
    session: Session, actor: Actor, keyring: Keyring, endpoint_id: str, grace: timedelta
) -> tuple[WebhookEndpoint, str]:
    """A new secret (shown once); the current one keeps signing beside it for ``grace``."""
    endpoint = access_webhook_endpoint(session, actor, endpoint_id)
    now = utc_now()
    secret = new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_expires_at = now + grace
    endpoint.secret = keyring.wrap(_context(endpoint.id), secret.encode())
    endpoint.updated_at = now
    return endpoint, secret


def do_redeliver(
    session: Session, actor: Actor, endpoint_id: str, delivery_id: str
) -> WebhookDelivery:
    """Send a delivery again, whatever became of it, with a fresh retry schedule (the same
    ``webhook-id``: a receiver that has it already drops it)."""
    delivery = access_webhook_delivery(session, actor, endpoint_id, delivery_id)
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    assert endpoint is not None
    if not endpoint.enabled:
        raise Conflict("enable the endpoint first", code="webhook_endpoint_disabled")
    delivery.status = PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = utc_now()
    delivery.lease_owner = delivery.lease_until = None
    return delivery


def delivery_log(
    session: Session,
    endpoint: WebhookEndpoint,
    *,
    status: str | None = None,
    before_seq: int | None = None,
    limit: int = 50,
) -> list[WebhookDelivery]:
    """An endpoint's deliveries, newest event first (the admin's log; reads only)."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="status")
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if before_seq is not None:
        query = query.where(WebhookDelivery.event_seq < before_seq)
    return list(session.scalars(query.order_by(WebhookDelivery.event_seq.desc()).limit(limit)))


def attempt_log(session: Session, delivery: WebhookDelivery) -> list[WebhookAttempt]:
    """A delivery's attempts, oldest first."""
    return list(
        session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery.id)
            .order_by(WebhookAttempt.attempted_at, WebhookAttempt.id)
        )
    )


# -- the worker's side -----------------------------------------------------------------------


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
