"""Signing in: the log-in page, sign-in links sent by e-mail, the second factor's set-up, and log-out."""

from __future__ import annotations

import base64
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response

from proofdesk import i18n
from proofdesk.actions import login_links
from proofdesk.actions import mfa as mfa_actions
from proofdesk.actions.login import PasswordAttempt, do_log_out, do_password_login
from proofdesk.actions.sessions import do_open_session
from proofdesk.app.cookies import (
    DEVICE_COOKIE,
    SESSION_COOKIE,
    clear_session_cookies,
    set_device_cookie,
    set_session_cookies,
)
from proofdesk.app.guards import client_address
from proofdesk.app.services import SendMail, Services, services_of
from proofdesk.errors import Error, NotFound
from proofdesk.store.models import (
    Organization,
    User,
)
from proofdesk.web.pages import (
    SignIn,
    Visitor,
    WebRoute,
    check_csrf,
    current,
    enrolling,
    environment,
    error_text,
    locale_of,
    posted_by,
    render,
    with_retry_after,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)


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
        links=services_of(request).send_mail is not None,
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
    attempt = PasswordAttempt(
        organization=organization.strip(),
        email=email,
        password=password,
        totp_code=totp_code.strip() or None,
        recovery_code=None,
        device=request.cookies.get(DEVICE_COOKIE),
        user_agent=request.headers.get("user-agent", ""),
        address=client_address(request, services.settings.trusted_proxies),
    )
    ttl = services.settings.session_ttl_seconds
    try:
        done = do_password_login(services.db, services.login_limits(), ttl, attempt)
    except Error as exc:
        return _login_again(request, exc, organization, email, next)
    target = _local(next)
    if target == "/":
        target = "/agent" if done.is_staff else "/requests"
    if not done.mfa_ok:  # first, the second factor this role must have
        target = f"/mfa/setup?next={quote(target, safe='/')}"
    response = _with_session(RedirectResponse(target, 303), services, (done.token, done.csrf))
    set_device_cookie(response, services.settings, done.device, "/login")
    return response


def _with_session(response: Response, services: Services, opened: tuple[str, str]) -> Response:
    """Set the session's cookies (HttpOnly session, readable CSRF) on ``response``."""
    set_session_cookies(response, services.settings, *opened)
    return response


def _refuse_other_sites(request: Request) -> None:
    """Login CSRF: another site posting into this browser a sign-in of its choosing."""
    if not _same_origin(request):
        from proofdesk.errors import Forbidden

        raise Forbidden("sign in from this site's own page", code="csrf_failed")


def _mailer(request: Request) -> SendMail:
    mailer = services_of(request).send_mail
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
    address = client_address(request, services_of(request).settings.trusted_proxies)
    services.login_limits().hit(address, organization, email)
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
        background.add_task(mailer, to, subject.strip(), body)
    return render(
        request,
        None,
        "login_link.html",
        org=organization,
        email=email,
        next=_local(next),
        sent=True,
    )


@router.get("/login/link/{token}")
def link_landing(request: Request, token: str, next: str = "/") -> Response:
    """The link from the e-mail: a button, not a sign-in yet — mail scanners open links, and
    only a person's click (a POST) uses it up."""
    return render(request, None, "login_link_open.html", token=token, next=_local(next))


@router.post("/login/link/{token}")
def link_sign_in(request: Request, token: str, next: Annotated[str, Form()] = "/") -> Response:
    _refuse_other_sites(request)
    services = services_of(request)
    services.login_limiter_by_address.hit(
        client_address(request, services.settings.trusted_proxies)
    )
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
    page = render(
        request,
        None,
        "login.html",
        status=error.http_status,
        next=_local(next),
        org=organization,
        email=email,
        error=error_text(error, locale_of(request, None)),
        links=services_of(request).send_mail is not None,
    )
    return with_retry_after(page, error)


def _local(path: str) -> str:
    return path if path.startswith("/") and not path.startswith("//") else "/"


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    visitor = current(request)  # also a session still waiting for its second factor
    if visitor is None:
        return RedirectResponse("/login", 303)
    check_csrf(request, visitor, csrf_token)
    do_log_out(
        services_of(request).db, request.cookies.get(SESSION_COOKIE, ""), visitor.actor.user_id
    )
    response = RedirectResponse("/login", 303)
    clear_session_cookies(response)
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
        secret, _, svg = mfa_actions.do_start_enrolment(
            user, services.db.keyring, keep_pending=True
        )
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
        codes = mfa_actions.do_enable_mfa(session, user, services.db.keyring, code.strip())
    return render(request, visitor, "mfa_done.html", codes=codes, next=_local(next))
