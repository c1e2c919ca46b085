"""The request and response bodies of ``api/routes/webhooks.py``."""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from proofdesk.api.schemas.common import Request, UtcTime
from proofdesk.store.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

Url = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
WebhookType = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Description = Annotated[str, StringConstraints(max_length=500)]


class EndpointIn(Request):
    url: Url = Field(description="https://… on a public address (docs/webhooks.md).")
    event_types: list[WebhookType] = Field(
        min_length=1,
        max_length=32,
        description="Webhook types to receive; `note.added` (internal notes) only if named.",
    )
    description: Description = ""
    enabled: bool = True


class EndpointPatch(Request):
    url: Url | None = None
    event_types: list[WebhookType] | None = Field(default=None, min_length=1, max_length=32)
    description: Description | None = None
    enabled: bool | None = None


class EndpointOut(BaseModel):
    id: str
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    previous_secret_expires_at: UtcTime | None = Field(
        description="Until when the secret before the last rotation still signs."
    )
    created_at: UtcTime
    updated_at: UtcTime

    @classmethod
    def of(cls, row: WebhookEndpoint) -> EndpointOut:
        return cls(
            id=row.id,
            url=row.url,
            description=row.description,
            event_types=json.loads(row.event_types),
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            previous_secret_expires_at=row.previous_expires_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="whsec_…: shown once; verify the v1 signatures with it.")


class AttemptOut(BaseModel):
    attempted_at: UtcTime
    status_code: int | None
    error: str | None
    duration_ms: int
    response_excerpt: str

    @classmethod
    def of(cls, row: WebhookAttempt) -> AttemptOut:
        return cls(
            attempted_at=row.attempted_at,
            status_code=row.status_code,
            error=row.error,
            duration_ms=row.duration_ms,
            response_excerpt=row.response_excerpt,
        )


class DeliveryOut(BaseModel):
    id: str
    endpoint_id: str
    webhook_id: str = Field(description="The `webhook-id` header: the event's log index.")
    event_seq: int
    type: str
    status: str = Field(description="pending, delivered or failed.")
    attempts: int
    next_attempt_at: UtcTime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: UtcTime | None
    created_at: UtcTime
    attempt_log: list[AttemptOut] | None = None

    @classmethod
    def of(cls, row: WebhookDelivery, attempts: list[WebhookAttempt] | None = None) -> DeliveryOut:
        return cls(
            id=row.id,
            endpoint_id=row.endpoint_id,
            webhook_id=str(row.event_seq),
            event_seq=row.event_seq,
            type=row.webhook_type,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            delivered_at=row.delivered_at,
            created_at=row.created_at,
            attempt_log=None if attempts is None else [AttemptOut.of(a) for a in attempts],
        )


class SigningKeyOut(BaseModel):
    public_key: str = Field(description="whpk_…: the Ed25519 key of the v1a signatures.")
    algorithm: str = "ed25519"
    signature_version: str = "v1a"
    event_types: list[str] = Field(description="Every webhook type an endpoint may receive.")
