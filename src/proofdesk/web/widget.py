"""The chat widget's page, framed by a platform's site."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from proofdesk import i18n
from proofdesk.app.limits import Kind, per_address
from proofdesk.errors import NotFound
from proofdesk.i18n import N_
from proofdesk.store.models import (
    Organization,
)
from proofdesk.web.pages import (
    WebRoute,
    reading,
    render,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)

#: What the chat itself says, in both languages: a conversation speaks the language its first
#: turn chose (the API answers with ``locale``), whatever language the page was opened in.
CHAT_TEXTS = {
    "placeholder": N_("Type your question…"),
    "send": N_("Send"),
    "you": N_("You"),
    "assistant": N_("Assistant"),
    "support": N_("Support"),
    "helped": N_("Did this help?"),
    "yes": N_("Helpful"),
    "no": N_("Not helpful"),
    "human": N_("Talk to a person"),
    "failed": N_("That did not work; please try again."),
    "contact": N_("Your e-mail or wallet address"),
    "contact_send": N_("Hand over to a person"),
    "contact_bad": N_("Please enter an e-mail address or a wallet address (0x and 40 hex digits)."),
}


@router.get("/widget", dependencies=[per_address(Kind.PUBLIC)])
def widget(request: Request, org: str = "", lang: str = "") -> Response:
    """The chat widget's page, framed by a platform's site (``static/widget.js`` adds it). It
    lets a shop visitor talk with the assistant without an account (``/api/v1/widget/…``: a
    hand-off first asks for an e-mail or a wallet address), or signs a customer in with the API
    and keeps the session token in the frame's own storage — no cookie, so third-party cookie
    blocking does not matter — then talks with the assistant (``/api/v1/assistant/messages``);
    a hand-off becomes a request whose replies appear in the chat."""
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
        chat_texts={
            locale: {key: i18n.translate(locale, text) for key, text in CHAT_TEXTS.items()}
            for locale in i18n.LOCALES
        },
    )
