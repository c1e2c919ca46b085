"""The dashboard (supervisors and admins): the help desk report as charts and CSV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from proofdesk.analytics.report import chart_csv, helpdesk_report
from proofdesk.app.services import services_of
from proofdesk.store.models import (
    Team,
)
from proofdesk.web.pages import (
    WebRoute,
    manager,
    reading,
    render,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)


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
    visitor = manager(request)
    since, until = _window(start, end)
    data = helpdesk_report(services_of(request).db, visitor.actor, since, until, team or None)
    found = chart_csv(data, chart)
    return Response(found.content, media_type=found.media_type, headers=found.headers)
