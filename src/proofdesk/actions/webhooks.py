"""Outbound webhooks: an organization's admins subscribe endpoints, rotate their secrets and
redeliver, and read the delivery log.

Secrets (``whsec_…``) are shown once, when made, and kept only wrapped under the data key.
A rotation keeps the previous secret signing beside the new one for a grace period, so a
receiver can switch without losing a delivery. The worker's side — claiming, recording, the
retry schedule — is ``actions.webhook_deliveries`` (``docs/webhooks.md``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from proofdesk.access import (
    Actor,
    access_webhook_delivery,
    access_webhook_endpoint,
    require_admin,
    require_scope,
)
from proofdesk.actions.webhook_deliveries import PENDING, STATUSES, secret_context
from proofdesk.canonical import utc_now
from proofdesk.domain.roles import Scope
from proofdesk.domain.webhooks import WEBHOOK_TYPES
from proofdesk.errors import Conflict, InvalidInput
from proofdesk.ledger.keys import Keyring
from proofdesk.store.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, new_id
from proofdesk.store.webhook_outbox import forget_endpoints
from proofdesk.webhooks.addresses import Resolver, check_url, system_resolver
from proofdesk.webhooks.signing import new_secret

MAX_ENDPOINTS = 20
MAX_DESCRIPTION = 500


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
    endpoint.secret = keyring.wrap(secret_context(endpoint.id), secret.encode())
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
    endpoint.secret = keyring.wrap(secret_context(endpoint.id), secret.encode())
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
