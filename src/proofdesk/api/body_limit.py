"""Request body limits that answer in the API's error shape.

Starlette's own limit answers ``413 Content Too Large`` as plain text from outside the
exception handlers, so a client would get two different shapes for one error. This middleware
refuses a declared ``Content-Length`` over the limit before reading anything, and stops a
streamed body the moment it crosses the limit by raising :class:`PayloadTooLarge` from
``receive``; the handlers of :mod:`proofdesk.api.errors` turn that into the usual JSON.

A JSON body is also scanned for its nesting depth as it arrives (:mod:`proofdesk.jsonlimits`)
and refused before FastAPI parses it: a deep enough document would otherwise exhaust the C
parser's stack, and one request would kill the process.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from proofdesk.api.errors import error_response
from proofdesk.errors import PayloadTooLarge
from proofdesk.jsonlimits import DepthScanner, JsonTooDeep


class BodyLimit:
    """Limit request bodies to ``default`` bytes, or to ``by_path[path]`` for listed paths, or
    to ``by_suffix[s]`` for paths ending with ``s`` (the web forms that carry files)."""

    def __init__(
        self,
        app: ASGIApp,
        default: int,
        by_path: Mapping[str, int],
        by_suffix: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.default = default
        self.by_path = dict(by_path)
        self.by_suffix = dict(by_suffix or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = self.by_path.get(path) or next(
            (n for suffix, n in self.by_suffix.items() if path.endswith(suffix)), self.default
        )
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            if declared <= DRAIN_LIMIT:
                await _drain(receive)
            error = _too_large(limit)
            response = error_response(error.http_status, error.code, error.message, error.details)
            await response(scope, receive, send)
            return
        received = 0
        scanner = DepthScanner() if _is_json(scope) else None

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                received += len(body)
                if received > limit:
                    raise _too_large(limit)
                if scanner is not None:
                    try:
                        scanner.feed(body)
                    except JsonTooDeep as exc:
                        raise _BodyTooDeep(exc) from None
            return message

        await self.app(scope, limited, send)


#: A body refused for its declared length is still read (and dropped) up to this size before the
#: answer: a server that answers and closes while the client is still sending makes the kernel
#: reset the connection, and the client sees a reset instead of the 413. Beyond it, the answer
#: goes at once and the connection closes (a client sending that much meant no good).
DRAIN_LIMIT = 16 * 1024 * 1024


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


def _is_json(scope: Scope) -> bool:
    """Whether FastAPI will parse the body as JSON: no content type at all, or a subtype of
    ``json`` or ``…+json`` under any main type (its own rule, mirrored)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            media = value.decode("latin-1").split(";", 1)[0].strip().lower()
            subtype = media.partition("/")[2]
            return not media or subtype == "json" or subtype.endswith("+json")
    return True


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdecimal() else None
    return None


class _BodyTooLarge(PayloadTooLarge, HTTPException):
    """Raised from ``receive``. FastAPI turns any other exception met while it reads a body
    into a 400, but lets an ``HTTPException`` through; the handler lookup follows the MRO and
    so answers with the :class:`PayloadTooLarge` shape."""

    def __init__(self, limit: int) -> None:
        PayloadTooLarge.__init__(self, f"request body exceeds {limit} bytes", limit_bytes=limit)
        HTTPException.__init__(self, self.http_status, self.message)


def _too_large(limit: int) -> _BodyTooLarge:
    return _BodyTooLarge(limit)


class _BodyTooDeep(JsonTooDeep, HTTPException):
    """Raised from ``receive``, like :class:`_BodyTooLarge` and for the same reason."""

    def __init__(self, cause: JsonTooDeep) -> None:
        JsonTooDeep.__init__(self, cause.message, **cause.details)
        HTTPException.__init__(self, self.http_status, self.message)
