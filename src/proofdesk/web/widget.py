"""The chat widget's page, framed by a platform's site."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from proofdesk import i18n
from proofdesk.app.limits import Kind, per_address
from proofdesk.errors import NotFound
from proofdesk.store.models import (
    Organization,
)
from proofdesk.web.pages import (
    WebRoute,
    reading,
    render,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/widget", dependencies=[per_address(Kind.PUBLIC)])
def widget(request: Request, org: str = "", lang: str = "") -> Response:
    """The chat widget's page, framed by a platform's site (``static/widget.js`` adds it). It
    signs the customer in with the API and keeps the session token in the frame's own
    storage — no cookie, so third-party cookie blocking does not matter — then talks with the
    assistant (``/api/v1/assistant/messages``); a hand-off becomes a request whose replies
    appear in the chat."""
    with reading(request) as session:
        found = session.scalars(select(Organization).where(Organization.slug == org)).first()
        if found is None:
            raise NotFound("no such organization")
        name = found.name
    return render(
        request,
        None,
        "widget.html",
        language=lang if lang in i18n.LOCALES else None,
        organization=org,
        organization_name=name,
    )
