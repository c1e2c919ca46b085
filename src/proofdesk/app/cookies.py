"""The browser cookies of a session, named and set in one place for the API and the web pages.

Signing in through ``POST /api/v1/auth/login`` or the ``/login`` page opens the same session,
so both must set the same cookies the same way: the session token HttpOnly (no script reads
it), the CSRF token readable (the page's script sends it back in a header), both ``SameSite=Lax``
and ``Secure`` behind HTTPS.
"""

from __future__ import annotations

from starlette.responses import Response

from proofdesk.settings import Settings

SESSION_COOKIE = "pd_session"
#: A long-lived random id of the browser: log-ins from a known one skip the account lock.
DEVICE_COOKIE = "pd_device"
CSRF_COOKIE = "pd_csrf"
CSRF_HEADER = "x-csrf-token"
#: The device cookie lives as long as browsers keep any cookie (RFC 6265bis caps it at 400
#: days), so a device stays known between log-ins.
DEVICE_COOKIE_MAX_AGE = 400 * 86400


def set_session_cookies(response: Response, settings: Settings, token: str, csrf: str) -> None:
    """The session (HttpOnly) and its CSRF token (readable), for the session's lifetime."""
    ttl = settings.session_ttl_seconds
    secure = settings.secure_cookies
    response.set_cookie(
        SESSION_COOKIE, token, max_age=ttl, httponly=True, samesite="lax", secure=secure, path="/"
    )
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=ttl, httponly=False, samesite="lax", secure=secure, path="/"
    )


def set_device_cookie(response: Response, settings: Settings, device: str, path: str) -> None:
    """The browser's device id, sent back only to the log-in at ``path``."""
    response.set_cookie(
        DEVICE_COOKIE,
        device,
        max_age=DEVICE_COOKIE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path=path,
    )


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
