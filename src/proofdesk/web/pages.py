"""The web UI: server-rendered pages (Jinja2), made live with htmx and server-sent events.

Pages use the same actions, access rules and sessions as the API: signing in here opens the
same session (HttpOnly cookie) as ``POST /api/v1/auth/login``; every form carries the
session's CSRF token, checked on every POST; every ticket is loaded through
``access.access_ticket``, so a customer reaches only their own requests and never an internal
note. Output is escaped by Jinja2's autoescaping — customer text is hostile — and the
Content-Security-Policy (``web.security``) allows no inline script.

Customer portal: ``/requests`` (mine), ``/requests/new`` (with knowledge-base suggestions as
they type), ``/requests/{id}`` (the timeline, live; replies; the verification panel with the
receipt; the satisfaction survey once solved). Agent console: ``/agent`` (views with counts),
``/agent/tickets/{id}`` (public replies and internal notes, status, live).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hmac
import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from proofdesk.access import Actor, access_ticket, visible_messages, visible_tickets
from proofdesk.actions import login_links
from proofdesk.actions import payouts as payout_actions
from proofdesk.actions import tickets as actions
from proofdesk.actions.mfa import do_enable_mfa, do_start_enrolment
from proofdesk.actions.sessions import do_close_session, do_open_session, do_password_login
from proofdesk.api.deps import CSRF_COOKIE, DEVICE_COOKIE, SESSION_COOKIE, Services, services_of
from proofdesk.channels.email.send import Mail, Mailer, MailUnavailable
from proofdesk.domain.roles import MANAGERS, WORKERS, Role
from proofdesk.domain.tickets import (
    TRANSITIONS,
    UNSOLVED,
    Channel,
    Kind,
    Priority,
    Status,
    Visibility,
)
from proofdesk.errors import Error, NotFound, Unauthenticated
from proofdesk.identity.credentials import (
    actor_from_session,
    new_token,
)
from proofdesk.ledger.anchors import covering_anchor
from proofdesk.sla.policies import NEVER
from proofdesk.store.models import (
    Macro,
    Message,
    Order,
    Organization,
    Payout,
    SignedCheckpoint,
    Team,
    Ticket,
    TicketSla,
    User,
    Wallet,
)
from proofdesk.web import i18n

HERE = Path(__file__).parent
STATIC = HERE / "static"
#: How often a live page's stream looks for new events, and says it is alive.
POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
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
                return render(
                    request,
                    current(request),
                    "error.html",
                    status=exc.http_status,
                    error=exc,
                    message=error_text(exc, locale_of(request, current(request))),
                )

        return route


router = APIRouter(route_class=WebRoute, include_in_schema=False)


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
    return env


def _files(stored: str) -> list[dict[str, Any]]:
    """A message's attachments (stored as JSON) for the timeline."""
    try:
        found = json.loads(stored or "[]")
    except ValueError:
        return []
    return (
        [f for f in found if isinstance(f, dict) and "id" in f] if isinstance(found, list) else []
    )


# --- who is asking -------------------------------------------------------------------------------


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


#: Error messages for the codes a person can meet in the UI (the API's are English).
ERRORS = {
    "not_found": ("That page does not exist, or it is not yours.", "页面不存在，或不属于您。"),
    "bad_credentials": ("Wrong organization, e-mail or password.", "组织、邮箱或密码错误。"),
    "mfa_required": (
        "Enter the code from your authenticator app.",
        "请输入身份验证器中的验证码。",
    ),
    "bad_mfa_code": ("Wrong or used authentication code.", "验证码错误或已使用。"),
    "rate_limited": ("Too many attempts; wait a minute.", "尝试次数过多，请稍候再试。"),
    "account_locked": ("Too many attempts; wait a minute.", "尝试次数过多，请稍候再试。"),
    "csrf_failed": (
        "The form expired; reload the page and try again.",
        "表单已过期，请刷新页面后重试。",
    ),
    "not_solved": ("Only a solved request can be rated.", "只有已解决的工单可以评价。"),
    "ticket_closed": ("This request is closed.", "该工单已关闭。"),
    "forbidden": ("You may not do that.", "您无权执行此操作。"),
    "invalid_transition": ("That status change is not possible.", "无法变更为该状态。"),
    "link_invalid": (
        "This sign-in link was used or has expired; ask for a new one.",
        "此登录链接已使用或已过期，请重新获取。",
    ),
    "account_disabled": ("This account is disabled.", "此账户已停用。"),
}


def error_text(error: Error, locale: str) -> str:
    known = ERRORS.get(error.code)
    if known is not None:
        return known[1] if locale == "zh-CN" else known[0]
    prefix = "请检查输入：" if locale == "zh-CN" else "Please check: "
    return prefix + error.message


# --- rendering ---------------------------------------------------------------------------------


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


# --- signing in ----------------------------------------------------------------------------------


@router.get("/")
def home(request: Request) -> Response:
    visitor = current(request)
    if visitor is None:
        return RedirectResponse("/login", 303)
    return RedirectResponse("/agent" if visitor.is_staff else "/requests", 303)


@router.get("/lang/{locale}")
def switch_language(request: Request, locale: str, back: str = "/") -> Response:
    """The language switch: a cookie, then back to the page (only to a path of this site)."""
    target = back if back.startswith("/") and not back.startswith("//") else "/"
    response = RedirectResponse(target, 303)
    if locale in i18n.LOCALES:
        response.set_cookie(i18n.LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax")
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/", org: str = "") -> Response:
    return render(
        request,
        None,
        "login.html",
        next=_local(next),
        org=org,
        error=None,
        email="",
        links=Mailer.from_settings(services_of(request).settings) is not None,
    )


@router.post("/login")
def login(
    request: Request,
    organization: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    totp_code: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    services = services_of(request)
    _refuse_other_sites(request)
    address = request.client.host if request.client else "unknown"
    try:
        services.login_limiter_by_address.hit(address)
        services.login_limiter.hit(f"{address}|{organization}|{email.strip().lower()}")
    except Error as exc:
        return _login_again(request, exc, organization, email, next)
    keyring = services.db.keyring
    assert keyring is not None
    device = request.cookies.get(DEVICE_COOKIE) or new_token()
    with services.db.writer() as session:
        attempt = do_password_login(
            session,
            keyring,
            organization.strip(),
            email,
            password,
            totp_code=totp_code.strip() or None,
            recovery_code=None,
            device_cookie=device,
            user_agent=request.headers.get("user-agent", ""),
        )
        opened = None
        if attempt.user is not None:
            user = attempt.user
            opened = do_open_session(
                session, user, services.settings.session_ttl_seconds, mfa_ok=attempt.mfa_ok
            )
            staff = user.role != Role.CUSTOMER.value
    if attempt.error is not None or opened is None:
        assert attempt.error is not None
        return _login_again(request, attempt.error, organization, email, next)
    target = _local(next)
    if target == "/":
        target = "/agent" if staff else "/requests"
    if not attempt.mfa_ok:  # first, the second factor this role must have
        target = f"/mfa/setup?next={quote(target, safe='/')}"
    response = _with_session(RedirectResponse(target, 303), services, opened)
    response.set_cookie(
        DEVICE_COOKIE,
        device,
        max_age=400 * 86400,
        httponly=True,
        samesite="lax",
        secure=services.settings.secure_cookies,
        path="/login",
    )
    return response


def _with_session(response: Response, services: Services, opened: tuple[str, str]) -> Response:
    """Set the session's cookies (HttpOnly session, readable CSRF) on ``response``."""
    token, csrf = opened
    secure = services.settings.secure_cookies
    ttl = services.settings.session_ttl_seconds
    response.set_cookie(
        SESSION_COOKIE, token, max_age=ttl, httponly=True, samesite="lax", secure=secure, path="/"
    )
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=ttl, httponly=False, samesite="lax", secure=secure, path="/"
    )
    return response


def _refuse_other_sites(request: Request) -> None:
    """Login CSRF: another site posting into this browser a sign-in of its choosing."""
    if not _same_origin(request):
        from proofdesk.errors import Forbidden

        raise Forbidden("sign in from this site's own page", code="csrf_failed")


# --- signing in with a link sent by e-mail -------------------------------------------------------


def _mailer(request: Request) -> Mailer:
    mailer = Mailer.from_settings(services_of(request).settings)
    if mailer is None:
        raise NotFound("sign-in links are not offered here (no e-mail server is configured)")
    return mailer


@router.get("/login/link")
def link_page(request: Request, org: str = "", next: str = "/") -> Response:
    _mailer(request)
    return render(
        request, None, "login_link.html", org=org, email="", next=_local(next), sent=False
    )


@router.post("/login/link")
def send_link(
    request: Request,
    background: BackgroundTasks,
    organization: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """E-mail a sign-in link to the customer with this address. The page says the same
    whether or not there is such a customer; the link works once, for a short while."""
    mailer = _mailer(request)
    _refuse_other_sites(request)
    services = services_of(request)
    address = request.client.host if request.client else "unknown"
    services.login_limiter_by_address.hit(address)
    services.login_limiter.hit(f"{address}|{organization}|{email.strip().lower()}")
    settings = services.settings
    with services.db.writer() as session:
        issued = login_links.do_issue_login_link(
            session, organization, email, settings.login_link_ttl_seconds
        )
        if issued is not None:
            user, token = issued
            org = session.get(Organization, user.organization_id)
            language = user.locale if user.locale in i18n.LOCALES else "en"
            text = (
                environment(language)
                .get_template("mail_login_link.txt")
                .render(
                    name=user.display_name,
                    organization=org.name if org else organization,
                    url=f"{settings.base_url}/login/link/{token}?next={quote(_local(next), safe='/')}",
                    minutes=settings.login_link_ttl_seconds // 60,
                )
            )
            to = user.email or ""
    if issued is not None:
        subject, _, body = text.partition("\n\n")
        # After the answer is sent, so that its timing does not tell whether the address has
        # an account; a failure is logged by the mailer, and the page must not tell either.
        background.add_task(_send_quietly, mailer, Mail(to=to, subject=subject.strip(), text=body))
    return render(
        request,
        None,
        "login_link.html",
        org=organization,
        email=email,
        next=_local(next),
        sent=True,
    )


def _send_quietly(mailer: Mailer, mail: Mail) -> None:
    with contextlib.suppress(MailUnavailable):
        mailer.send(mail)


@router.get("/login/link/{token}")
def link_landing(request: Request, token: str, next: str = "/") -> Response:
    """The link from the e-mail: a button, not a sign-in yet — mail scanners open links, and
    only a person's click (a POST) uses it up."""
    return render(request, None, "login_link_open.html", token=token, next=_local(next))


@router.post("/login/link/{token}")
def link_sign_in(request: Request, token: str, next: Annotated[str, Form()] = "/") -> Response:
    _refuse_other_sites(request)
    services = services_of(request)
    services.login_limiter_by_address.hit(request.client.host if request.client else "unknown")
    with services.db.writer() as session:
        user = login_links.do_consume_login_link(session, token)
        opened = do_open_session(session, user, services.settings.session_ttl_seconds)
    target = _local(next)
    return _with_session(
        RedirectResponse("/requests" if target == "/" else target, 303), services, opened
    )


def _same_origin(request: Request) -> bool:
    """A form posted from this site (or by a client that sends no ``Origin``, which a
    browser always sends on a cross-site POST)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _login_again(
    request: Request, error: Error, organization: str, email: str, next: str
) -> Response:
    return render(
        request,
        None,
        "login.html",
        status=error.http_status,
        next=_local(next),
        org=organization,
        email=email,
        error=error_text(error, locale_of(request, None)),
        links=Mailer.from_settings(services_of(request).settings) is not None,
    )


def _local(path: str) -> str:
    return path if path.startswith("/") and not path.startswith("//") else "/"


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    visitor = current(request)  # also a session still waiting for its second factor
    if visitor is None:
        return RedirectResponse("/login", 303)
    check_csrf(request, visitor, csrf_token)
    services = services_of(request)
    with services.db.writer() as session:
        do_close_session(session, request.cookies.get(SESSION_COOKIE, ""), visitor.actor.user_id)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/mfa/setup")
def mfa_setup_page(request: Request, next: str = "/") -> Response:
    """Enrol an authenticator app: a new secret as a QR code (and as text), then a code."""
    visitor = current(request)
    if visitor is None:
        raise SignIn("/mfa/setup")
    if visitor.mfa_ok:
        return RedirectResponse(_local(next), 303)
    services = services_of(request)
    assert services.db.keyring is not None
    with services.db.writer() as session:
        user = session.get(User, visitor.actor.user_id)
        assert user is not None
        secret, _, svg = do_start_enrolment(user, services.db.keyring, keep_pending=True)
    image = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    return render(
        request,
        visitor,
        "mfa_setup.html",
        secret=secret,
        image=image,
        next=_local(next),
        error=None,
    )


@router.post("/mfa/setup")
def mfa_enable(
    request: Request,
    visitor: Annotated[Visitor, posted_by(enrolling)],
    code: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    services = services_of(request)
    assert services.db.keyring is not None
    with services.db.writer() as session:
        user = session.get(User, visitor.actor.user_id)
        assert user is not None
        codes = do_enable_mfa(session, user, services.db.keyring, code.strip())
    return render(request, visitor, "mfa_done.html", codes=codes, next=_local(next))


# --- the customer portal -------------------------------------------------------------------------


@router.get("/requests")
def my_requests(request: Request) -> Response:
    visitor = signed_in(request)
    if visitor.is_staff:
        return RedirectResponse("/agent", 303)
    with reading(request) as session:
        rows = session.scalars(
            visible_tickets(visitor.actor).order_by(Ticket.updated_at.desc()).limit(PAGE_SIZE)
        ).all()
    return render(request, visitor, "requests.html", tickets=rows)


KIND_FIELDS = {
    Kind.TRANSACTION_PROBLEM.value: ("tx_hash", "chain_id"),
    Kind.REFUND_REQUEST.value: ("order_id",),
    Kind.WARRANTY_CLAIM.value: ("order_id",),
}


@router.get("/requests/new")
def new_request_page(request: Request, kind: str = Kind.QUESTION.value) -> Response:
    visitor = signed_in(request)
    if visitor.is_staff:
        return RedirectResponse("/agent", 303)
    return render(
        request,
        visitor,
        "new_request.html",
        kinds=[k.value for k in Kind],
        kind=kind if kind in {k.value for k in Kind} else Kind.QUESTION.value,
        form={},
        error=None,
    )


@router.post("/requests/new")
def create_request(
    request: Request,
    visitor: Annotated[Visitor, posted_by(signed_in)],
    kind: Annotated[str, Form()] = "",
    subject: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    order_id: Annotated[str, Form()] = "",
    tx_hash: Annotated[str, Form()] = "",
    chain_id: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    if visitor.is_staff:
        return RedirectResponse("/agent", 303)
    form = {"subject": subject, "body": body, "order_id": order_id, "tx_hash": tx_hash}
    form["chain_id"] = chain_id
    try:
        spec = actions.NewTicket(
            kind=Kind(kind) if kind in {k.value for k in Kind} else Kind.QUESTION,
            subject=subject,
            body=body,
            order_id=order_id.strip() or None,
            tx_hash=tx_hash.strip() or None,
            chain_id=integer_field(chain_id, "chain_id"),
            attachment_ids=_uploads(request, visitor, files),
        )
        with services_of(request).db.writer() as session:
            state = actions.do_create_ticket(session, visitor.actor, spec)
    except Error as exc:
        return render(
            request,
            visitor,
            "new_request.html",
            status=exc.http_status,
            kinds=[k.value for k in Kind],
            kind=kind,
            form=form,
            error=error_text(exc, locale_of(request, visitor)),
        )
    return RedirectResponse(f"/requests/{state.id}", 303)


def _uploads(request: Request, visitor: Visitor, files: list[UploadFile] | None) -> list[str]:
    """Store the files of a form (the API's checks: size, type by content, no secrets) and
    return their ids to attach; an empty file input sends one nameless empty part."""
    from proofdesk.api.routes.attachments import store_upload
    from proofdesk.errors import InvalidInput

    chosen = [f for f in files or [] if f.filename]
    if len(chosen) > MAX_FILES:
        raise InvalidInput(f"at most {MAX_FILES} files", field="files")
    return [store_upload(services_of(request), visitor.actor, f).id for f in chosen]


def integer_field(value: str, name: str) -> int | None:
    from proofdesk.errors import InvalidInput

    value = value.strip()
    if not value:
        return None
    if not value.isdecimal() or len(value) > 18:
        raise InvalidInput(f"{name} is a whole number", field=name)
    return int(value)


@router.get("/requests/suggest")
def suggest(request: Request, subject: str = "", body: str = "") -> Response:
    """Knowledge-base articles for what the customer is typing (an htmx fragment)."""
    visitor = signed_in(request)
    text = f"{subject}\n{body}".strip()[:2000]
    found: list[Any] = []
    if len(text) >= 4:
        services = services_of(request)
        try:
            model = services.assistant.of(services.db, visitor.actor.organization_id)
        except NotFound:
            model = None
        if model is not None:
            locale = locale_of(request, visitor)
            # The articles of the likeliest intents first (in the reader's language when there
            # is one), then the closest by search.
            for candidate in model.classify(text)[:2]:
                article = model.article_for(candidate.intent, locale)
                if candidate.probability >= 0.3 and article is not None:
                    found.append(article)
            for article, score in model.search(text, k=6):
                if score >= 0.3 and article.locale == locale and article not in found:
                    found.append(article)
            found = found[:3]
    return render(request, visitor, "_suggestions.html", articles=found)


@router.get("/requests/{ticket_id}")
def request_page(request: Request, ticket_id: str) -> Response:
    visitor = signed_in(request)
    if visitor.is_staff:
        return RedirectResponse(f"/agent/tickets/{ticket_id}", 303)
    with reading(request) as session:
        ticket, messages = _ticket_and_messages(session, visitor, ticket_id)
        proof = verification(session, services_of(request), ticket)
    return render(
        request,
        visitor,
        "request.html",
        ticket=ticket,
        messages=messages,
        proof=proof,
        error=None,
        solved=ticket.status == Status.SOLVED.value,
    )


@router.get("/requests/{ticket_id}/timeline")
def request_timeline(request: Request, ticket_id: str) -> Response:
    visitor = signed_in(request)
    with reading(request) as session:
        ticket, messages = _ticket_and_messages(session, visitor, ticket_id)
        proof = verification(session, services_of(request), ticket)
    return render(request, visitor, "_timeline.html", ticket=ticket, messages=messages, proof=proof)


@router.post("/requests/{ticket_id}/reply")
def reply(
    request: Request,
    ticket_id: str,
    visitor: Annotated[Visitor, posted_by(signed_in)],
    body: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    attached = _uploads(request, visitor, files)
    return _change(
        request,
        visitor,
        ticket_id,
        lambda session, ticket: actions.do_add_message(
            session, visitor.actor, ticket, body=body, attachment_ids=attached
        ),
        f"/requests/{ticket_id}",
    )


@router.post("/requests/{ticket_id}/rating")
def rate(
    request: Request,
    ticket_id: str,
    visitor: Annotated[Visitor, posted_by(signed_in)],
    score: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    value = integer_field(score, "score") or 0
    return _change(
        request,
        visitor,
        ticket_id,
        lambda session, ticket: actions.do_rate(
            session, visitor.actor, ticket, score=value, comment=comment or None
        ),
        f"/requests/{ticket_id}",
    )


def _change(
    request: Request,
    visitor: Visitor,
    ticket_id: str,
    action: Callable[[Session, Ticket], object],
    back: str,
) -> Response:
    """One action on a ticket the visitor may change, in one transaction; then back to the
    page (post/redirect/get) — the other side sees it live."""
    with services_of(request).db.writer() as session:
        action(session, access_ticket(session, visitor.actor, ticket_id, write=True, lock=True))
    return RedirectResponse(back, 303)


def _ticket_and_messages(
    session: Session, visitor: Visitor, ticket_id: str
) -> tuple[Ticket, list[Message]]:
    ticket = access_ticket(session, visitor.actor, ticket_id)
    messages = list(session.scalars(visible_messages(visitor.actor, ticket.id)))
    session.expunge_all()
    return ticket, messages


def verification(session: Session, services: Services, ticket: Ticket) -> dict[str, Any]:
    """Where the ticket's history stands in the log: the first signed checkpoint that holds
    its last event, and the first on-chain anchor that covers it (either may be pending)."""
    size = ticket.last_seq + 1
    checkpoint = session.scalars(
        select(SignedCheckpoint)
        .where(SignedCheckpoint.size >= size)
        .order_by(SignedCheckpoint.size)
        .limit(1)
    ).first()
    anchor = covering_anchor(session, size)
    return {
        "origin": services.signer.name,
        "leaves": size,
        "checkpoint": checkpoint.size if checkpoint else None,
        "anchor_block": anchor.block_number if anchor else None,
        "anchor_chain": anchor.chain_id if anchor else None,
        "anchor_tx": anchor.tx_hash if anchor else None,
    }


# --- live updates --------------------------------------------------------------------------------


def _last_seq(request: Request, visitor: Visitor, ticket_id: str) -> int:
    with reading(request) as session:
        return access_ticket(session, visitor.actor, ticket_id).last_seq


def _queue_seq(request: Request, visitor: Visitor) -> int:
    with reading(request) as session:
        value = session.scalar(
            select(func.max(Ticket.last_seq)).where(
                Ticket.organization_id == visitor.actor.organization_id
            )
        )
        return int(value or 0)


def _stream(
    request: Request,
    watch: dict[str, Callable[[], Any]],
    on_close: Callable[[], None] | None = None,
) -> StreamingResponse:
    """An event named after each watched value whenever it changes (``changed`` for a ticket's
    or a queue's last event, ``presence`` for who else is here); a comment line now and then
    keeps proxies from closing the connection. Ends when the client goes or its access ends."""

    async def events() -> AsyncIterator[str]:
        last = {name: await run_in_threadpool(read) for name, read in watch.items()}
        quiet = 0.0
        yield "retry: 2000\n\n"
        try:
            while not await request.is_disconnected():
                await asyncio.sleep(POLL_SECONDS)
                sent = False
                for name, read in watch.items():
                    try:
                        value = await run_in_threadpool(read)
                    except Error:
                        return
                    if value != last[name]:
                        last[name], sent = value, True
                        yield f"event: {name}\ndata: {len(str(value))}\n\n"
                quiet = 0.0 if sent else quiet + POLL_SECONDS
                if quiet >= HEARTBEAT_SECONDS:
                    quiet = 0.0
                    yield ": alive\n\n"
        finally:
            if on_close is not None:
                on_close()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/requests/{ticket_id}/live")
def request_live(request: Request, ticket_id: str) -> Response:
    visitor = signed_in(request)
    _last_seq(request, visitor, ticket_id)  # refused now, not in the stream
    return _stream(request, {"changed": lambda: _last_seq(request, visitor, ticket_id)})


# --- the agent console -------------------------------------------------------------------------

VIEWS = ("mine", "unassigned", "sla", "all")


def staff(request: Request) -> Visitor:
    visitor = signed_in(request)
    if not visitor.is_staff:
        from proofdesk.errors import Forbidden

        raise Forbidden("the agent console is for staff", code="forbidden")
    return visitor


@dataclass(frozen=True)
class Queue:
    """What the console's queue shows: a view (``mine``, ``unassigned``, ``sla``, ``all`` or
    ``team-<id>``), filters by kind, priority and channel, and an order (last updated, or time
    to breach). Read from the page's query; anything unknown falls back to the default."""

    view: str = "unassigned"
    kind: str = ""
    priority: str = ""
    channel: str = ""
    sort: str = "updated"

    @classmethod
    def of(
        cls, view: str, kind: str, priority: str, channel: str, sort: str, teams: Iterable[str]
    ) -> Queue:
        views = {*VIEWS, *(f"team-{t}" for t in teams)}
        return cls(
            view=view if view in views else "unassigned",
            kind=kind if kind in {k.value for k in Kind} else "",
            priority=priority if priority in {p.value for p in Priority} else "",
            channel=channel if channel in {c.value for c in Channel} else "",
            sort="due" if sort == "due" or view == "sla" else "updated",
        )

    def link(self, **changes: str) -> str:
        """This queue's URL with ``changes`` (only what differs from the defaults)."""
        chosen = {**self.__dict__, **changes}
        if chosen["view"] == "sla":
            chosen["sort"] = "updated"  # the view sorts by time to breach anyway
        defaults = Queue().__dict__
        query = urlencode({k: v for k, v in chosen.items() if v and v != defaults[k]})
        return f"/agent?{query}" if query else "/agent"

    def select(self, visitor: Visitor, view: str) -> Any:
        """The unsolved tickets of ``view`` the visitor may see, filtered."""
        query = visible_tickets(visitor.actor).where(Ticket.status.in_([s.value for s in UNSOLVED]))
        if view == "mine":
            query = query.where(Ticket.assignee_id == visitor.actor.user_id)
        elif view == "unassigned":
            query = query.where(Ticket.assignee_id.is_(None))
        elif view == "sla":
            query = query.join(TicketSla, TicketSla.ticket_id == Ticket.id)
        elif view.startswith("team-"):
            query = query.where(Ticket.team_id == view.removeprefix("team-"))
        for column, value in (
            (Ticket.kind, self.kind),
            (Ticket.priority, self.priority),
            (Ticket.channel, self.channel),
        ):
            if value:
                query = query.where(column == value)
        return query

    def ordered(self, visitor: Visitor) -> Any:
        query = self.select(visitor, self.view)
        if self.sort != "due":
            return query.order_by(Ticket.updated_at.desc(), Ticket.id)
        if self.view != "sla":
            query = query.outerjoin(TicketSla, TicketSla.ticket_id == Ticket.id)
        return query.order_by(func.coalesce(TicketSla.due_at, NEVER), Ticket.id)


@router.get("/agent")
def agent_home(
    request: Request,
    view: str = "unassigned",
    kind: str = "",
    priority: str = "",
    channel: str = "",
    sort: str = "",
) -> Response:
    visitor = staff(request)
    with reading(request) as session:
        teams = session.execute(
            select(Team.id, Team.name)
            .where(Team.organization_id == visitor.actor.organization_id)
            .order_by(Team.name)
        ).all()
        queue = Queue.of(view, kind, priority, channel, sort, (t.id for t in teams))
        views = [*VIEWS, *(f"team-{t.id}" for t in teams)]
        counts = {
            name: session.scalar(
                select(func.count()).select_from(queue.select(visitor, name).subquery())
            )
            for name in views
        }
        rows = session.scalars(queue.ordered(visitor).limit(PAGE_SIZE)).all()
        due = dict(
            session.execute(
                select(TicketSla.ticket_id, TicketSla.due_at).where(
                    TicketSla.ticket_id.in_([r.id for r in rows]), TicketSla.due_at != NEVER
                )
            ).all()
        )
    return render(
        request,
        visitor,
        "agent_queue.html",
        queue=queue,
        views=views,
        team_names={f"team-{t.id}": t.name for t in teams},
        counts=counts,
        tickets=rows,
        due=due,
        kinds=[k.value for k in Kind],
        priorities=[p.value for p in Priority],
        channels=[c.value for c in Channel],
    )


@router.get("/agent/live")
def agent_live(request: Request) -> Response:
    visitor = staff(request)
    return _stream(request, {"changed": lambda: _queue_seq(request, visitor)})


@router.get("/agent/tickets/{ticket_id}")
def agent_ticket(request: Request, ticket_id: str) -> Response:
    visitor = staff(request)
    with reading(request) as session:
        ticket, messages = _ticket_and_messages(session, visitor, ticket_id)
        proof = verification(session, services_of(request), ticket)
        requester = session.get(User, ticket.requester_id)
        requester_name = requester.display_name if requester else ""
        locale = locale_of(request, visitor)
        macros = [
            (row.id, _macro_title(row.title, locale, row.name))
            for row in session.scalars(
                select(Macro)
                .where(Macro.organization_id == visitor.actor.organization_id)
                .order_by(Macro.name)
            )
        ]
        teams = session.execute(
            select(Team.id, Team.name)
            .where(Team.organization_id == visitor.actor.organization_id)
            .order_by(Team.name)
        ).all()
        workers = session.execute(
            select(User.id, User.display_name)
            .where(
                User.organization_id == visitor.actor.organization_id,
                User.role.in_([r.value for r in WORKERS]),
                User.is_active,
            )
            .order_by(User.display_name)
        ).all()
    return render(
        request,
        visitor,
        "agent_ticket.html",
        teams=teams,
        workers=workers,
        tags=json.loads(ticket.tags),
        priorities=[p.value for p in Priority],
        ticket=ticket,
        messages=messages,
        proof=proof,
        requester=requester_name,
        # The statuses this one may become (domain.tickets.TRANSITIONS), in their usual order.
        next_statuses=[s.value for s in Status if s in TRANSITIONS[Status(ticket.status)]],
        others=services_of(request).presence.others(ticket_id, visitor.actor.user_id),
        macros=macros,
        error=None,
    )


@router.get("/agent/tickets/{ticket_id}/side")
def agent_side(request: Request, ticket_id: str) -> Response:
    """The side panel, loaded after the page: the customer (wallets, orders, other requests),
    what the chain says of the linked transaction, and the assistant's suggested answers and
    similar solved tickets."""
    from proofdesk.assistant.assist import suggestions
    from proofdesk.chain.base import ChainError
    from proofdesk.facts.providers import transaction_facts

    visitor = staff(request)
    services = services_of(request)
    with reading(request) as session:
        ticket = access_ticket(session, visitor.actor, ticket_id)
        requester = session.get(User, ticket.requester_id)
        wallets = session.scalars(
            select(Wallet).where(Wallet.user_id == ticket.requester_id).limit(10)
        ).all()
        orders = session.scalars(
            select(Order)
            .where(Order.customer_id == ticket.requester_id)
            .order_by(Order.created_at.desc())
            .limit(5)
        ).all()
        others = session.scalars(
            visible_tickets(visitor.actor)
            .where(Ticket.requester_id == ticket.requester_id, Ticket.id != ticket.id)
            .order_by(Ticket.updated_at.desc())
            .limit(5)
        ).all()
        session.expunge_all()
    chain_facts: dict[str, Any] | None = None
    if ticket.tx_hash:
        chain = services.chain_or_none()
        try:
            chain_facts = (
                transaction_facts(chain, ticket.tx_hash) if chain else {"unavailable": True}
            )
        except (ChainError, ValueError):
            chain_facts = {"unavailable": True}
    try:
        model = services.assistant.of(services.db, visitor.actor.organization_id)
    except NotFound:
        model = None
    suggested: list[Any] = []
    similar: list[Any] = []
    if model is not None:
        with reading(request) as session:
            fresh = access_ticket(session, visitor.actor, ticket_id)
            locale = requester.locale if requester is not None else "en"
            suggested, similar = suggestions(session, model, fresh, locale)
    return render(
        request,
        visitor,
        "_agent_side.html",
        ticket=ticket,
        requester=requester,
        wallets=wallets,
        orders=orders,
        others=others,
        chain=chain_facts,
        suggested=suggested,
        similar=similar,
    )


@router.get("/agent/tickets/{ticket_id}/timeline")
def agent_timeline(request: Request, ticket_id: str) -> Response:
    visitor = staff(request)
    with reading(request) as session:
        ticket, messages = _ticket_and_messages(session, visitor, ticket_id)
        proof = verification(session, services_of(request), ticket)
    return render(request, visitor, "_timeline.html", ticket=ticket, messages=messages, proof=proof)


@router.get("/agent/tickets/{ticket_id}/live")
def agent_ticket_live(request: Request, ticket_id: str) -> Response:
    visitor = staff(request)
    _last_seq(request, visitor, ticket_id)
    user = visitor.actor.user_id

    registry = services_of(request).presence

    def presence() -> tuple[tuple[str, bool], ...]:
        registry.here(ticket_id, user, visitor.name)
        return registry.others(ticket_id, user)

    return _stream(
        request,
        {"changed": lambda: _last_seq(request, visitor, ticket_id), "presence": presence},
        on_close=lambda: registry.leave(ticket_id, user),
    )


@router.get("/agent/tickets/{ticket_id}/presence")
def agent_presence(request: Request, ticket_id: str) -> Response:
    visitor = staff(request)
    with reading(request) as session:
        access_ticket(session, visitor.actor, ticket_id)
    others = services_of(request).presence.others(ticket_id, visitor.actor.user_id)
    return render(request, visitor, "_presence.html", others=others)


@router.post("/agent/tickets/{ticket_id}/typing")
def agent_typing(request: Request, ticket_id: str) -> Response:
    """The reply box says its agent is typing (htmx, throttled; CSRF in the header)."""
    visitor = staff(request)
    check_csrf(request, visitor, "")
    with reading(request) as session:
        access_ticket(session, visitor.actor, ticket_id)
    services_of(request).presence.typing(ticket_id, visitor.actor.user_id, visitor.name)
    return Response(status_code=204)


@router.post("/agent/tickets/{ticket_id}/reply")
def agent_reply(
    request: Request,
    ticket_id: str,
    visitor: Annotated[Visitor, posted_by(staff)],
    body: Annotated[str, Form()] = "",
    visibility: Annotated[str, Form()] = "public",
    status: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    seen = Visibility.INTERNAL if visibility == "internal" else Visibility.PUBLIC
    target = Status(status) if status in {s.value for s in Status} else None
    attached = _uploads(request, visitor, files)
    return _change(
        request,
        visitor,
        ticket_id,
        lambda session, ticket: actions.do_add_message(
            session,
            visitor.actor,
            ticket,
            body=body,
            visibility=seen,
            status=target,
            attachment_ids=attached,
        ),
        f"/agent/tickets/{ticket_id}",
    )


def _macro_title(title: str, locale: str, name: str) -> str:
    try:
        titles = json.loads(title)
    except ValueError:
        return name
    if not isinstance(titles, dict):
        return name
    return str(titles.get(locale) or titles.get("en") or name)


@router.post("/agent/tickets/{ticket_id}/macro")
def agent_macro(
    request: Request,
    ticket_id: str,
    visitor: Annotated[Visitor, posted_by(staff)],
    macro_id: Annotated[str, Form()] = "",
) -> Response:
    """Apply a macro (its reply, fields, tags, status — all or nothing)."""
    from proofdesk.actions.macros import do_apply_macro

    return _change(
        request,
        visitor,
        ticket_id,
        lambda session, ticket: do_apply_macro(session, visitor.actor, ticket, macro_id),
        f"/agent/tickets/{ticket_id}",
    )


#: What the queue's bulk form can do to every ticket ticked.
BULK = ("assign_me", "open", "pending", "solved")


@router.post("/agent/bulk")
def agent_bulk(
    request: Request,
    visitor: Annotated[Visitor, posted_by(staff)],
    action: Annotated[str, Form()] = "",
    ticket_ids: Annotated[list[str] | None, Form()] = None,
    back: Annotated[str, Form()] = "/agent",
) -> Response:
    """One action on many tickets, in one transaction: all are changed, or none."""
    from proofdesk.errors import InvalidInput

    chosen = list(dict.fromkeys(ticket_ids or []))
    if action not in BULK or not chosen or len(chosen) > PAGE_SIZE:
        raise InvalidInput(f"choose an action and 1-{PAGE_SIZE} tickets", field="ticket_ids")
    with services_of(request).db.writer() as session:
        for ticket_id in chosen:
            ticket = access_ticket(session, visitor.actor, ticket_id, write=True, lock=True)
            if action == "assign_me":
                actions.do_assign(
                    session,
                    visitor.actor,
                    ticket,
                    assignee_id=visitor.actor.user_id,
                    team_id=ticket.team_id,
                )
            elif ticket.status != action:
                actions.do_change_status(session, visitor.actor, ticket, Status(action))
    return RedirectResponse(back if back.startswith("/agent") else "/agent", 303)


@router.post("/agent/tickets/{ticket_id}/status")
def agent_status(
    request: Request,
    ticket_id: str,
    visitor: Annotated[Visitor, posted_by(staff)],
    status: Annotated[str, Form()] = "",
) -> Response:
    if status not in {s.value for s in Status}:
        from proofdesk.errors import InvalidInput

        raise InvalidInput("choose a status", field="status")
    return _change(
        request,
        visitor,
        ticket_id,
        lambda session, ticket: (
            ticket.status == status  # left as it was: nothing to do
            or actions.do_change_status(session, visitor.actor, ticket, Status(status))
        ),
        f"/agent/tickets/{ticket_id}",
    )


@router.post("/agent/tickets/{ticket_id}/properties")
def agent_properties(
    request: Request,
    ticket_id: str,
    visitor: Annotated[Visitor, posted_by(staff)],
    priority: Annotated[str, Form()] = "",
    team_id: Annotated[str, Form()] = "",
    assignee_id: Annotated[str, Form()] = "",
    tags: Annotated[str, Form()] = "",
) -> Response:
    """Priority, team, assignee and tags in one transaction: each change its own event (the
    same actions as the API), all or none."""
    wanted = sorted({t for t in tags.replace(",", " ").split() if t})

    def change(session: Session, ticket: Ticket) -> None:
        if priority:
            actions.do_update_fields(session, visitor.actor, ticket, {"priority": priority})
        actions.do_assign(
            session,
            visitor.actor,
            ticket,
            assignee_id=assignee_id or None,
            team_id=team_id or None,
        )
        held = json.loads(ticket.tags)
        actions.do_change_tags(
            session,
            visitor.actor,
            ticket,
            add=[t for t in wanted if t not in held],
            remove=[t for t in held if t not in wanted],
        )

    return _change(request, visitor, ticket_id, change, f"/agent/tickets/{ticket_id}")


# --- the dashboard ------------------------------------------------------------------------------


def manager(request: Request) -> Visitor:
    visitor = staff(request)
    if visitor.actor.role not in MANAGERS:
        from proofdesk.errors import Forbidden

        raise Forbidden("the dashboard is for supervisors and admins", code="forbidden")
    return visitor


def _window(start: str, end: str) -> tuple[datetime | None, datetime | None]:
    """``from``/``to`` of the dashboard's form: dates (``to`` inclusive), UTC."""
    from proofdesk.errors import InvalidInput

    try:
        since = datetime.fromisoformat(start).replace(tzinfo=UTC) if start else None
        until = datetime.fromisoformat(end).replace(tzinfo=UTC) + timedelta(days=1) if end else None
    except ValueError:
        raise InvalidInput("dates are YYYY-MM-DD", field="from") from None
    return since, until


@router.get("/agent/dashboard")
def dashboard(request: Request, start: str = "", end: str = "", team: str = "") -> Response:
    from proofdesk.api.routes.analytics import helpdesk_report

    visitor = manager(request)
    since, until = _window(start, end)
    data = helpdesk_report(services_of(request).db, visitor.actor, since, until, team or None)
    with reading(request) as session:
        teams = session.execute(
            select(Team.id, Team.name)
            .where(Team.organization_id == visitor.actor.organization_id)
            .order_by(Team.name)
        ).all()
    first = data["days"][0]
    last = data["days"][-1]
    query = urlencode({"start": first, "end": last, "team": team})
    return render(
        request,
        visitor,
        "dashboard.html",
        data=data,
        teams=teams,
        team=team,
        start=first,
        end=last,
        query=query,
        charts={
            "channel": {"days": data["days"], "series": data["volume"]["by_channel"]},
            "kind": {"days": data["days"], "series": data["volume"]["by_kind"]},
            "backlog": {"days": data["days"], "series": {"net": data["backlog"]["net_per_day"]}},
        },
    )


@router.get("/agent/dashboard.csv")
def dashboard_csv(
    request: Request, chart: str = "summary", start: str = "", end: str = "", team: str = ""
) -> Response:
    from proofdesk.analytics import helpdesk as analytics
    from proofdesk.api.routes.analytics import csv_response, helpdesk_report

    visitor = manager(request)
    since, until = _window(start, end)
    data = helpdesk_report(services_of(request).db, visitor.actor, since, until, team or None)
    return csv_response(analytics.table(data, chart), f"{chart}.csv")


# --- the chat widget -----------------------------------------------------------------------------


@router.get("/widget")
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


# --- payouts held for a person ------------------------------------------------------------------

PAYOUT_VIEWS = ("held", "failed", "all")


@router.get("/agent/payouts")
def payouts_page(request: Request, status: str = "held") -> Response:
    """What decisions pay (supervisors and admins): the held ones to approve — naming one of
    the customer's verified wallets when that was the doubt — or reject with a reason, the
    failed ones to retry; each with its ticket and, once sent, its transaction."""
    visitor = manager(request)
    status = status if status in PAYOUT_VIEWS else "held"
    with reading(request) as session:
        query = select(Payout, Ticket).join(Ticket, Ticket.id == Payout.ticket_id)
        query = query.where(Payout.organization_id == visitor.actor.organization_id)
        if status != "all":
            query = query.where(Payout.status == status)
        rows = session.execute(query.order_by(Payout.id.desc()).limit(PAGE_SIZE)).all()
        wallets = {
            payout.id: payout_actions.verified_wallets(session, payout.customer_id)
            for payout, _ in rows
            if payout.status == "held" and payout.recipient is None
        }
        counts = dict(
            session.execute(
                select(Payout.status, func.count())
                .where(
                    Payout.organization_id == visitor.actor.organization_id,
                    Payout.status.in_(["held", "failed"]),
                )
                .group_by(Payout.status)
            ).all()
        )
        session.expunge_all()
    return render(
        request,
        visitor,
        "payouts.html",
        view=status,
        views=PAYOUT_VIEWS,
        counts=counts,
        rows=rows,
        wallets=wallets,
    )


@router.post("/agent/payouts/{payout_id}/{decision}")
def decide_payout(
    request: Request,
    payout_id: str,
    decision: str,
    visitor: Annotated[Visitor, posted_by(manager)],
    recipient: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "held",
) -> Response:
    """Approve, reject or retry one payout (``actions.payouts``, as the API)."""
    with services_of(request).db.writer() as session:
        if decision == "approve":
            payout_actions.do_approve(session, visitor.actor, payout_id, recipient or None)
        elif decision == "reject":
            payout_actions.do_reject(session, visitor.actor, payout_id, reason)
        elif decision == "retry":
            payout_actions.do_retry(session, visitor.actor, payout_id)
        else:
            raise NotFound("no such action")
    return RedirectResponse(
        f"/agent/payouts?status={back if back in PAYOUT_VIEWS else 'held'}", 303
    )
