"""The console's search: the box in every staff page's header and ``/agent/search`` (the one
search of ``access.search_tickets``, by pages)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from proofdesk.access import TicketFilter, search_tickets
from proofdesk.store.models import User
from proofdesk.web.pages import WebRoute, newest_first, reading, render, staff

router = APIRouter(route_class=WebRoute, include_in_schema=False)

#: As the API's ``q``.
MAX_QUERY = 200


@router.get("/agent/search")
def agent_search(request: Request, q: str = "", after: str = "") -> Response:
    visitor = staff(request)
    text = q.strip()[:MAX_QUERY]
    rows: list[object] = []
    next_after = ""
    names: dict[str, str] = {}
    if text:
        with reading(request) as session:
            found, next_after = newest_first(
                session, search_tickets(visitor.actor, TicketFilter(text=text)), after
            )
            rows = list(found)
            names = dict(
                session.execute(
                    select(User.id, User.display_name).where(
                        User.id.in_({t.requester_id for t in found})
                    )
                ).all()
            )
    return render(
        request,
        visitor,
        "agent_search.html",
        q=text,
        tickets=rows,
        names=names,
        next_link=f"/agent/search?{urlencode({'q': text, 'after': next_after})}"
        if next_after
        else "",
        first_link=f"/agent/search?{urlencode({'q': text})}" if after else "",
    )
