"""The receipt verifier in the browser: one self-contained HTML page (``make web`` builds it
from ``web/frontend/`` into the static files), served at ``/verify`` and downloadable as a file
that works offline (``docs/verifier.md``).

The page is the same bytes in both places. It checks a receipt with the rules of
``proofdesk verify`` and trusts only the keys its user gives it, so it must not be able to ask
this server anything: its policy allows only its own inline script and style (by hash) and no
connection at all (``connect-src 'none'``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache

from fastapi import APIRouter
from fastapi.responses import Response

from proofdesk.app.limits import Kind, per_address
from proofdesk.errors import NotFound
from proofdesk.web.pages import STATIC, WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE = STATIC / "vendor" / "proofdesk-verifier.html"
FILE_NAME = "proofdesk-verifier.html"
NONE = "'none'"
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


@cache
def _page(mtime: float) -> tuple[bytes, str]:
    """The page and its Content-Security-Policy (the hashes of its inline script and style)."""
    body = PAGE.read_bytes()
    sources: dict[str, list[str]] = {"script": [], "style": []}
    for kind, text in _INLINE.findall(body.decode()):
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        sources[kind].append(f"'sha256-{digest}'")
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src {' '.join(sources['script']) or NONE}",
            f"style-src {' '.join(sources['style']) or NONE}",
            "img-src data:",
            "connect-src 'none'",
            "form-action 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return body, policy


def _load() -> tuple[bytes, str]:
    try:
        mtime = PAGE.stat().st_mtime
    except OSError:
        raise NotFound("the verifier page is not built (make web)") from None
    return _page(mtime)


@router.get("/verify", dependencies=[per_address(Kind.PUBLIC)])
def verify_page() -> Response:
    """The verifier, to use here."""
    body, policy = _load()
    return Response(
        body, media_type="text/html; charset=utf-8", headers={"content-security-policy": policy}
    )


@router.get(f"/verify/{FILE_NAME}", dependencies=[per_address(Kind.PUBLIC)])
def verify_download() -> Response:
    """The same page as a file to keep and open offline."""
    body, policy = _load()
    return Response(
        body,
        media_type="text/html; charset=utf-8",
        headers={
            "content-security-policy": policy,
            "content-disposition": f'attachment; filename="{FILE_NAME}"',
        },
    )
