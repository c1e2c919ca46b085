"""Headers that make the pages hard to abuse: a strict Content-Security-Policy (scripts and
styles only from this site, no inline script, no framing), no MIME sniffing, no referrer
leaking ticket ids to other sites. Applied to every response that is not the JSON API's.

The chat widget's page (``/widget``) is the one page other sites may frame: its
``frame-ancestors`` are the configured ``widget_origins`` (any site by default), and it has no
``X-Frame-Options``."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BASE = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
]
POLICY = "; ".join([*BASE, "frame-ancestors 'none'"])
HEADERS = [
    (b"content-security-policy", POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
WIDGET_PATH = "/widget"


def widget_headers(origins: tuple[str, ...]) -> list[tuple[bytes, bytes]]:
    ancestors = " ".join(origins) if origins else "*"
    policy = "; ".join([*BASE, f"frame-ancestors {ancestors}"])
    return [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    ]


class SecurityHeaders:
    def __init__(self, app: ASGIApp, api_prefix: str, widget_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.api_prefix = api_prefix
        self.widget = widget_headers(widget_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.api_prefix):
            await self.app(scope, receive, send)
            return

        extra = self.widget if scope["path"] == WIDGET_PATH else HEADERS

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k for k, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(h for h in extra if h[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)
