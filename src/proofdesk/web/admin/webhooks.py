"""The webhooks page of the admin (``/admin/webhooks``): the organization's endpoints, a form
to subscribe one, each endpoint's delivery log with a redeliver button, and the deployment's
public key. Every change goes through ``actions.webhooks``, as the API's do."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from proofdesk.access import access_webhook_endpoint, visible_webhook_endpoints
from proofdesk.actions import webhooks
from proofdesk.app.services import services_of
from proofdesk.domain.webhooks import NOTE_ADDED, WEBHOOK_TYPES
from proofdesk.errors import Error
from proofdesk.ledger.keys import Keyring
from proofdesk.web.admin.overview import admin, attempt
from proofdesk.web.pages import (
    Visitor,
    WebRoute,
    error_text,
    locale_of,
    posted_by,
    reading,
    render,
)
from proofdesk.webhooks.keys import signing_key
from proofdesk.webhooks.signing import public_key_text

router = APIRouter(route_class=WebRoute, include_in_schema=False)
HOME = "/admin/webhooks"


def _policy(request: Request) -> webhooks.UrlPolicy:
    return webhooks.UrlPolicy(allow_private=services_of(request).settings.webhooks_allow_private)


def _keyring(request: Request) -> Keyring:
    keyring = services_of(request).db.keyring
    assert keyring is not None
    return keyring


def webhooks_page(
    request: Request,
    visitor: Visitor,
    *,
    status: int = 200,
    error: str | None = None,
    new_secret: str | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    settings = services_of(request).settings
    with reading(request) as session:
        endpoints = list(session.scalars(visible_webhook_endpoints(visitor.actor)))
        session.expunge_all()
    return render(
        request,
        visitor,
        "admin_webhooks.html",
        status=status,
        error=error,
        new_secret=new_secret,
        endpoints=[(e, json.loads(e.event_types)) for e in endpoints],
        types=WEBHOOK_TYPES,
        note_type=NOTE_ADDED,
        form=form or {"url": "", "description": "", "event_types": []},
        public_key=public_key_text(signing_key(settings.effective_webhooks_key_file)),
    )


def _attempt(
    request: Request, visitor: Visitor, change: Any, then: Any = None, form: Any = None
) -> Response:
    """``overview.attempt``, back to this page (with the form as posted) on an error, and to
    ``then`` or the page after a change."""

    def failed(status: int, error: str) -> Response:
        return webhooks_page(request, visitor, status=status, error=error, form=form)

    return attempt(
        request,
        visitor,
        change,
        then or (lambda _: RedirectResponse(HOME, 303)),
        failed=failed,
    )


@router.get(HOME)
def overview(request: Request) -> Response:
    return webhooks_page(request, admin(request))


@router.post(HOME)
def subscribe(
    request: Request,
    visitor: Annotated[Visitor, posted_by(admin)],
    url: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    event_types: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Subscribe an endpoint; its secret is shown once, on the page that answers."""
    types = event_types or []
    form = {"url": url, "description": description, "event_types": types}
    policy = _policy(request)

    def create(session: Any) -> str:
        return webhooks.do_create_endpoint(
            session,
            visitor.actor,
            _keyring(request),
            policy,
            url=url.strip(),
            event_types=types,
            description=description,
        )[1]

    try:
        policy.check(url.strip())  # resolving the host outside the writer lock
    except Error as exc:
        return webhooks_page(
            request,
            visitor,
            status=exc.http_status,
            error=error_text(exc, locale_of(request, visitor)),
            form=form,
        )
    return _attempt(
        request,
        visitor,
        create,
        lambda secret: webhooks_page(request, visitor, new_secret=secret),
        form,
    )


@router.post(HOME + "/{endpoint_id}/enabled")
def set_enabled(
    request: Request,
    endpoint_id: str,
    visitor: Annotated[Visitor, posted_by(admin)],
    enabled: Annotated[str, Form()] = "",
) -> Response:
    return _attempt(
        request,
        visitor,
        lambda session: webhooks.do_update_endpoint(
            session, visitor.actor, _policy(request), endpoint_id, enabled=enabled == "yes"
        ),
    )


@router.post(HOME + "/{endpoint_id}/rotate")
def rotate(
    request: Request, endpoint_id: str, visitor: Annotated[Visitor, posted_by(admin)]
) -> Response:
    grace = timedelta(seconds=services_of(request).settings.webhooks_rotation_grace_seconds)
    return _attempt(
        request,
        visitor,
        lambda session: webhooks.do_rotate_secret(
            session, visitor.actor, _keyring(request), endpoint_id, grace
        )[1],
        lambda secret: webhooks_page(request, visitor, new_secret=secret),
    )


@router.post(HOME + "/{endpoint_id}/delete")
def remove(
    request: Request, endpoint_id: str, visitor: Annotated[Visitor, posted_by(admin)]
) -> Response:
    return _attempt(
        request,
        visitor,
        lambda session: webhooks.do_delete_endpoint(session, visitor.actor, endpoint_id),
    )


@router.get(HOME + "/{endpoint_id}")
def delivery_log_page(request: Request, endpoint_id: str) -> Response:
    """One endpoint's latest deliveries, each with its last attempts."""
    visitor = admin(request)
    with reading(request) as session:
        endpoint = access_webhook_endpoint(session, visitor.actor, endpoint_id)
        rows = webhooks.delivery_log(session, endpoint, limit=100)
        entries = [(row, webhooks.attempt_log(session, row)[-3:]) for row in rows]
        session.expunge_all()
    return render(
        request,
        visitor,
        "admin_webhook.html",
        endpoint=endpoint,
        event_types=json.loads(endpoint.event_types),
        entries=entries,
        error=None,
    )


@router.post(HOME + "/{endpoint_id}/deliveries/{delivery_id}/redeliver")
def redeliver(
    request: Request,
    endpoint_id: str,
    delivery_id: str,
    visitor: Annotated[Visitor, posted_by(admin)],
) -> Response:
    return _attempt(
        request,
        visitor,
        lambda session: webhooks.do_redeliver(session, visitor.actor, endpoint_id, delivery_id),
        lambda _: RedirectResponse(f"{HOME}/{endpoint_id}", 303),
    )
