"""The web UI: server-rendered pages (Jinja2), made live with htmx and server-sent events.

Pages use the same actions, access rules and sessions as the API: signing in here opens the
same session (HttpOnly cookie) as ``POST /api/v1/auth/login``; every form carries the
session's CSRF token, checked on every POST; every ticket is loaded through
``access.access_ticket``, so a customer reaches only their own requests and never an internal
note. Output is escaped by Jinja2's autoescaping — customer text is hostile — and the
Content-Security-Policy (``web.security``) allows no inline script.

This module holds what every page shares: who is asking (:class:`Visitor`), the posters with
CSRF, the error page, rendering in the reader's language. The pages themselves are in
``signin`` (log-in, links, second factor), ``portal`` (the customer's requests), ``live``
(server-sent events), ``console`` (the agent queue and ticket), ``dashboard``, ``widget``,
``payouts`` and ``admin``; ``site`` puts them in the app.
"""

from __future__ import annotations

import functools
import hmac
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session

from proofdesk import i18n
from proofdesk.access import (
    Actor,
)
from proofdesk.app.cookies import (
    SESSION_COOKIE,
)
from proofdesk.app.services import services_of
from proofdesk.domain import markdown
from proofdesk.domain.roles import MANAGERS
from proofdesk.errors import Error, RateLimited, Unauthenticated
from proofdesk.i18n import N_, NP_
from proofdesk.identity.credentials import actor_from_session
from proofdesk.store.models import (
    Ticket,
    User,
)

HERE = Path(__file__).parent
STATIC = HERE / "static"
#: A live page's stream is woken by the commits that concern it (``store.feed``); it reads
#: again after this many seconds without news anyway, and says it is alive.
HEARTBEAT_SECONDS = 15.0
#: How often a console ticket's stream reads who else is here (presence is no event: a viewer
#: in another process that arrives or goes is seen within this time).
PRESENCE_SECONDS = 2.0
PAGE_SIZE = 50
#: Files one web form may carry.
MAX_FILES = 5


class SignIn(Exception):
    """The page needs a signed-in user: send them to the sign-in page (or, for staff who must
    still enrol a second factor, to its set-up), then back."""

    def __init__(self, back: str, page: str = "/login") -> None:
        self.back = back
        self.page = page


class WebRoute(APIRoute):
    """Routes of the UI answer errors with a page in the reader's language, not JSON."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response: Response = await handler(request)
                return response
            except SignIn as exc:
                return RedirectResponse(f"{exc.page}?next={quote(exc.back, safe='/')}", 303)
            except Error as exc:
                page = render(
                    request,
                    current(request),
                    "error.html",
                    status=exc.http_status,
                    error=exc,
                    message=error_text(exc, locale_of(request, current(request))),
                )
                return with_retry_after(page, exc)

        return route


def with_retry_after(response: Response, error: Error) -> Response:
    """A page refused by a rate limit says when to come back, as the API does."""
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.details.get("retry_after", 60))
    return response


@functools.cache
def environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.filters["when"] = lambda value: i18n.when(value, locale)
    env.filters["number"] = lambda value: i18n.number(value, locale)
    env.filters["files"] = _files
    env.filters["channel_ids"] = _channel_ids
    # Knowledge text: Markdown through the one sanitising renderer, then marked safe.
    env.filters["markdown"] = lambda text: Markup(markdown.to_html(text or ""))  # noqa: S704
    return env


def _channel_ids(stored: str) -> dict[str, str]:
    """A message's channel ids (stored as JSON): its Message-ID, the sender's trust…"""
    try:
        found = json.loads(stored or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def _files(stored: str) -> list[dict[str, Any]]:
    """A message's attachments (stored as JSON) for the timeline."""
    try:
        found = json.loads(stored or "[]")
    except ValueError:
        return []
    return (
        [f for f in found if isinstance(f, dict) and "id" in f] if isinstance(found, list) else []
    )


@dataclass(frozen=True)
class Visitor:
    actor: Actor
    name: str
    locale: str | None
    csrf: str
    #: False for staff who must still enrol a second factor: only its set-up is open to them.
    mfa_ok: bool = True

    @property
    def is_staff(self) -> bool:
        return not self.actor.is_customer

    @property
    def is_manager(self) -> bool:
        return self.actor.role in MANAGERS


def current(request: Request) -> Visitor | None:
    """The signed-in user of this request (a valid session cookie), or None."""
    if getattr(request.state, "visitor_known", False):
        known: Visitor | None = request.state.visitor
        return known
    visitor = None
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        services = services_of(request)
        with services.db.reader() as session:
            try:
                found = actor_from_session(session, token, services.settings.session_idle_seconds)
            except Unauthenticated:
                found = None
            user = session.get(User, found.actor.user_id) if found else None
            if found is not None and user is not None:
                visitor = Visitor(
                    found.actor, user.display_name, user.locale, found.csrf_token, found.mfa_ok
                )
    request.state.visitor = visitor
    request.state.visitor_known = True
    return visitor


def signed_in(request: Request) -> Visitor:
    visitor = current(request)
    if visitor is None:
        raise SignIn(request.url.path)
    if not visitor.mfa_ok:
        raise SignIn(request.url.path, "/mfa/setup")
    return visitor


def check_csrf(request: Request, visitor: Visitor, token: str) -> None:
    """Every POST carries the session's CSRF token (form field or htmx header)."""
    sent = token or request.headers.get("x-csrf-token", "")
    if not hmac.compare_digest(sent.encode(), visitor.csrf.encode()):
        from proofdesk.errors import Forbidden

        raise Forbidden("the form expired; reload the page and try again", code="csrf_failed")


def posted_by(who: Callable[[Request], Visitor]) -> Any:
    """A form's poster: ``who`` may post it (signed in, staff, admin…) and sent the session's
    CSRF token with it. Every POST route of the UI takes its visitor through one of these."""

    def dependency(request: Request, csrf_token: Annotated[str, Form()] = "") -> Visitor:
        visitor = who(request)
        check_csrf(request, visitor, csrf_token)
        return visitor

    return Depends(dependency)


def enrolling(request: Request) -> Visitor:
    """Signed in, second factor or not (its set-up is the one page open before it)."""
    visitor = current(request)
    if visitor is None:
        raise SignIn("/mfa/setup")
    return visitor


def locale_of(request: Request, visitor: Visitor | None) -> str:
    return i18n.choose(
        request.cookies.get(i18n.LANG_COOKIE),
        visitor.locale if visitor else None,
        request.headers.get("accept-language"),
    )


#: The catalog's context of the error messages below: the sign-in page says "Too many
#: attempts" in Chinese in words of its own.
ERROR_CONTEXT = "error"
#: Error messages for the codes a person can meet in the UI (the API's are English).
ERRORS = {
    "not_found": NP_("error", "That page does not exist, or it is not yours."),
    "bad_credentials": NP_("error", "Wrong organization, e-mail or password."),
    "mfa_required": NP_("error", "Enter the code from your authenticator app."),
    "bad_mfa_code": NP_("error", "Wrong or used authentication code."),
    "rate_limited": NP_("error", "Too many attempts; wait a minute."),
    "account_locked": NP_("error", "Too many attempts; wait a minute."),
    "csrf_failed": NP_("error", "The form expired; reload the page and try again."),
    "not_solved": NP_("error", "Only a solved request can be rated."),
    "ticket_closed": NP_("error", "This request is closed."),
    "forbidden": NP_("error", "You may not do that."),
    "invalid_transition": NP_("error", "That status change is not possible."),
    "link_invalid": NP_("error", "This sign-in link was used or has expired; ask for a new one."),
    "account_disabled": NP_("error", "This account is disabled."),
    "network_required": NP_(
        "error",
        "A transaction id of 64 hex digits without 0x is a Tron, Bitcoin or TON one: choose "
        "its network.",
    ),
}
#: Any other error: the API's own (English) message after this.
CHECK_INPUT = N_("Please check: {message}")


def error_text(error: Error, locale: str) -> str:
    known = ERRORS.get(error.code)
    if known is not None:
        return i18n.translate(locale, known, context=ERROR_CONTEXT)
    return i18n.translate(locale, CHECK_INPUT, message=error.message)


def render(
    request: Request,
    visitor: Visitor | None,
    template: str,
    *,
    status: int = 200,
    language: str | None = None,
    **context: Any,
) -> HTMLResponse:
    locale = language or locale_of(request, visitor)
    html = (
        environment(locale)
        .get_template(template)
        .render(
            visitor=visitor,
            locale=locale,
            path=request.url.path,
            other_locale="en" if locale == "zh-CN" else "zh-CN",
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["Content-Language"] = locale
    return response


@contextmanager
def reading(request: Request) -> Iterator[Session]:
    with services_of(request).db.reader() as session:
        yield session


def staff(request: Request) -> Visitor:
    visitor = signed_in(request)
    if not visitor.is_staff:
        from proofdesk.errors import Forbidden

        raise Forbidden("the agent console is for staff", code="forbidden")
    return visitor


def manager(request: Request) -> Visitor:
    visitor = staff(request)
    if visitor.actor.role not in MANAGERS:
        from proofdesk.errors import Forbidden

        raise Forbidden("the dashboard is for supervisors and admins", code="forbidden")
    return visitor


def integer_field(value: str, name: str) -> int | None:
    from proofdesk.errors import InvalidInput

    value = value.strip()
    if not value:
        return None
    if not value.isdecimal() or len(value) > 18:
        raise InvalidInput(f"{name} is a whole number", field=name)
    return int(value)


#: Tickets on one page of a paged list (my requests, a customer's, search results).
LIST_PAGE = 20
_CURSOR_SEPARATOR = "~"


def newest_first(
    session: Session, query: Select[Ticket], after: str = "", size: int = LIST_PAGE
) -> tuple[list[Ticket], str]:
    """A page of ``query``'s tickets, last updated first, and the cursor of the next page
    (empty on the last). Keyset paging: ``after`` names the last ticket of the page before
    (its ``updated_at`` and id), so pages hold still while tickets arrive; a cursor that is
    not one is the first page."""
    at, _, last_id = after.partition(_CURSOR_SEPARATOR)
    if at and last_id and len(after) <= 120:
        query = query.where(
            or_(
                Ticket.updated_at < at,
                and_(Ticket.updated_at == at, Ticket.id < last_id),
            )
        )
    rows = list(
        session.scalars(query.order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(size + 1))
    )
    if len(rows) <= size:
        return rows, ""
    last = rows[size - 1]
    return rows[:size], f"{last.updated_at}{_CURSOR_SEPARATOR}{last.id}"
