"""Outbound webhooks: an organization's endpoints (admins, ``admin`` scope), their secrets,
their delivery log and redelivery; and the deployment's public Ed25519 key, which anyone may
read to verify ``v1a`` signatures (docs/webhooks.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response

from proofdesk.access import (
    access_webhook_delivery,
    access_webhook_endpoint,
    visible_webhook_endpoints,
)
from proofdesk.actions import webhooks
from proofdesk.api.deps import AdminScoped, ServicesDep
from proofdesk.api.params import query_int
from proofdesk.api.schemas.webhooks import (
    DeliveryOut,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EndpointWithSecret,
    SigningKeyOut,
)
from proofdesk.app.limits import Kind, per_address
from proofdesk.domain.webhooks import WEBHOOK_TYPES
from proofdesk.ledger.keys import Keyring
from proofdesk.settings import Settings
from proofdesk.webhooks.keys import signing_key
from proofdesk.webhooks.signing import public_key_text

router = APIRouter(tags=["webhooks"])
BASE = "/webhooks/endpoints"


def _policy(settings: Settings) -> webhooks.UrlPolicy:
    return webhooks.UrlPolicy(allow_private=settings.webhooks_allow_private)


def _keyring(services: ServicesDep) -> Keyring:
    keyring = services.db.keyring
    assert keyring is not None
    return keyring


@router.get(
    "/webhooks/signing-key",
    response_model=SigningKeyOut,
    summary="The deployment's Ed25519 public key of the v1a signatures (no credential)",
    dependencies=[per_address(Kind.PUBLIC)],
)
def get_signing_key(services: ServicesDep) -> SigningKeyOut:
    key = signing_key(services.settings.effective_webhooks_key_file)
    return SigningKeyOut(public_key=public_key_text(key), event_types=list(WEBHOOK_TYPES))


@router.get(BASE, response_model=list[EndpointOut], summary="The organization's endpoints")
def list_endpoints(services: ServicesDep, actor: AdminScoped) -> list[EndpointOut]:
    query = visible_webhook_endpoints(actor)
    with services.db.reader() as session:
        return [EndpointOut.of(r) for r in session.scalars(query)]


@router.post(
    BASE,
    response_model=EndpointWithSecret,
    status_code=201,
    summary="Subscribe an endpoint (its whsec_ secret is shown this once)",
)
def create_endpoint(
    body: EndpointIn, services: ServicesDep, actor: AdminScoped
) -> EndpointWithSecret:
    policy = _policy(services.settings)
    policy.check(body.url)  # resolving the host outside the writer lock
    with services.db.writer() as session:
        row, secret = webhooks.do_create_endpoint(
            session,
            actor,
            _keyring(services),
            policy,
            url=body.url,
            event_types=body.event_types,
            description=body.description,
            enabled=body.enabled,
        )
        return EndpointWithSecret(**EndpointOut.of(row).model_dump(), secret=secret)


@router.get(f"{BASE}/{{endpoint_id}}", response_model=EndpointOut, summary="One endpoint")
def get_endpoint(endpoint_id: str, services: ServicesDep, actor: AdminScoped) -> EndpointOut:
    with services.db.reader() as session:
        return EndpointOut.of(access_webhook_endpoint(session, actor, endpoint_id))


@router.patch(
    f"{BASE}/{{endpoint_id}}",
    response_model=EndpointOut,
    summary="Change an endpoint's URL, types, description, or enable or disable it",
)
def update_endpoint(
    endpoint_id: str, body: EndpointPatch, services: ServicesDep, actor: AdminScoped
) -> EndpointOut:
    policy = _policy(services.settings)
    if body.url is not None:
        policy.check(body.url)  # resolving the host outside the writer lock
    with services.db.writer() as session:
        row = webhooks.do_update_endpoint(
            session,
            actor,
            policy,
            endpoint_id,
            url=body.url,
            event_types=body.event_types,
            description=body.description,
            enabled=body.enabled,
        )
        return EndpointOut.of(row)


@router.delete(f"{BASE}/{{endpoint_id}}", status_code=204, summary="Remove an endpoint and its log")
def delete_endpoint(endpoint_id: str, services: ServicesDep, actor: AdminScoped) -> Response:
    with services.db.writer() as session:
        webhooks.do_delete_endpoint(session, actor, endpoint_id)
    return Response(status_code=204)


@router.post(
    f"{BASE}/{{endpoint_id}}/rotate-secret",
    response_model=EndpointWithSecret,
    summary="A new secret (shown once); the old one keeps signing for the grace period",
)
def rotate_secret(
    endpoint_id: str, services: ServicesDep, actor: AdminScoped
) -> EndpointWithSecret:
    grace = timedelta(seconds=services.settings.webhooks_rotation_grace_seconds)
    with services.db.writer() as session:
        row, secret = webhooks.do_rotate_secret(
            session, actor, _keyring(services), endpoint_id, grace
        )
        return EndpointWithSecret(**EndpointOut.of(row).model_dump(), secret=secret)


@router.get(
    f"{BASE}/{{endpoint_id}}/deliveries",
    response_model=list[DeliveryOut],
    summary="The endpoint's deliveries, newest first",
)
def list_deliveries(
    endpoint_id: str,
    services: ServicesDep,
    actor: AdminScoped,
    status: Annotated[str | None, Query(max_length=16)] = None,
    before_seq: Annotated[int | None, query_int(ge=0)] = None,
    limit: Annotated[int, query_int(ge=1, le=200)] = 50,
) -> list[DeliveryOut]:
    with services.db.reader() as session:
        endpoint = access_webhook_endpoint(session, actor, endpoint_id)
        rows = webhooks.delivery_log(
            session, endpoint, status=status, before_seq=before_seq, limit=limit
        )
        return [DeliveryOut.of(r) for r in rows]


@router.get(
    f"{BASE}/{{endpoint_id}}/deliveries/{{delivery_id}}",
    response_model=DeliveryOut,
    summary="One delivery with every attempt",
)
def get_delivery(
    endpoint_id: str, delivery_id: str, services: ServicesDep, actor: AdminScoped
) -> DeliveryOut:
    with services.db.reader() as session:
        row = access_webhook_delivery(session, actor, endpoint_id, delivery_id)
        return DeliveryOut.of(row, webhooks.attempt_log(session, row))


@router.post(
    f"{BASE}/{{endpoint_id}}/deliveries/{{delivery_id}}/redeliver",
    response_model=DeliveryOut,
    summary="Send a delivery again now, with a fresh retry schedule",
)
def redeliver(
    endpoint_id: str, delivery_id: str, services: ServicesDep, actor: AdminScoped
) -> DeliveryOut:
    with services.db.writer() as session:
        return DeliveryOut.of(webhooks.do_redeliver(session, actor, endpoint_id, delivery_id))
