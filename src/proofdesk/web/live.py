"""Live updates: server-sent events that tell a page its ticket, its queue or who else is here
changed, so that htmx reloads only that part."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from proofdesk.access import (
    access_ticket,
)
from proofdesk.app.services import services_of
from proofdesk.errors import Error
from proofdesk.store.feed import ticket_key
from proofdesk.store.models import (
    Ticket,
)
from proofdesk.web.pages import (
    HEARTBEAT_SECONDS,
    Visitor,
    WebRoute,
    reading,
    signed_in,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)


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
    keys: tuple[str, ...],
    *,
    recheck: float = HEARTBEAT_SECONDS,
    on_close: Callable[[], None] | None = None,
) -> StreamingResponse:
    """An event named after each watched value whenever it changes (``changed`` for a ticket's
    or a queue's last event, ``presence`` for who else is here). The stream sleeps until the
    change feed wakes it for one of ``keys`` (or ``recheck`` seconds pass), then reads the
    values through their access checks: a wake-up is a hint, the values are what is sent. A
    comment line now and then keeps proxies from closing the connection. Ends when the client
    goes or its access ends."""
    feed = services_of(request).db.feed

    async def events() -> AsyncIterator[str]:
        quiet = 0.0
        try:
            # Waiting before the first read: a change between the two is not missed.
            with feed.watching(*keys) as waiter:
                last = {name: await run_in_threadpool(read) for name, read in watch.items()}
                yield "retry: 2000\n\n"
                while not await request.is_disconnected():
                    started = time.monotonic()
                    await waiter.wait(recheck)
                    sent = False
                    for name, read in watch.items():
                        try:
                            value = await run_in_threadpool(read)
                        except Error:
                            return
                        if value != last[name]:
                            last[name], sent = value, True
                            yield f"event: {name}\ndata: {len(str(value))}\n\n"
                    quiet = 0.0 if sent else quiet + time.monotonic() - started
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
    return _stream(
        request,
        {"changed": lambda: _last_seq(request, visitor, ticket_id)},
        (ticket_key(ticket_id),),
    )
