"""The help desk's numbers (``proofdesk.analytics.helpdesk``) for supervisors and admins: JSON, and
each chart's table as CSV (UTF-8 with a BOM, so spreadsheets read Chinese names)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from proofdesk.access import Actor, require_manager, require_scope
from proofdesk.analytics import helpdesk as analytics
from proofdesk.api.deps import ActorDep, ServicesDep
from proofdesk.canonical import utc_now
from proofdesk.domain.roles import Scope
from proofdesk.errors import InvalidInput
from proofdesk.store.db import Database
from proofdesk.store.models import Team

router = APIRouter(prefix="/analytics", tags=["analytics"])

From = Annotated[datetime | None, Query(alias="from", description="Start (RFC 3339, with zone).")]
To = Annotated[datetime | None, Query(alias="to", description="End, exclusive; default now.")]
TeamId = Annotated[str | None, Query(max_length=64, description="Only this team's tickets.")]


def helpdesk_report(
    db: Database, actor: Actor, since: datetime | None, until: datetime | None, team_id: str | None
) -> dict[str, Any]:
    """The report for a manager of the actor's organization (default: the last 30 days)."""
    require_scope(actor, Scope.TICKETS_READ)
    require_manager(actor)
    end = until or utc_now()
    window = analytics.Range(since or end - timedelta(days=30), end, team_id or None)
    with db.reader() as session:
        if window.team_id is not None:
            team = session.get(Team, window.team_id) if len(window.team_id) <= 36 else None
            if team is None or team.organization_id != actor.organization_id:
                raise InvalidInput("no such team", field="team_id")
        return analytics.report(session, actor.organization_id, window)


def csv_response(rows: list[list[Any]], filename: str) -> Response:
    out = io.StringIO()
    out.write("\ufeff")  # a BOM: spreadsheet programs then read UTF-8 (Chinese) correctly
    csv.writer(out, lineterminator="\r\n").writerows(
        ["" if v is None else v for v in row] for row in rows
    )
    return Response(
        out.getvalue().encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/helpdesk",
    summary="Volume, first response and resolution times, SLA, CSAT, backlog, per agent",
)
def helpdesk(
    services: ServicesDep,
    actor: ActorDep,
    start: From = None,
    end: To = None,
    team_id: TeamId = None,
) -> dict[str, Any]:
    return helpdesk_report(services.db, actor, start, end, team_id)


@router.get(
    "/helpdesk.csv",
    summary="One chart's data of the help desk report as CSV",
    responses={200: {"content": {"text/csv": {}}}},
)
def helpdesk_csv(
    services: ServicesDep,
    actor: ActorDep,
    chart: Annotated[str, Query(max_length=40)],
    start: From = None,
    end: To = None,
    team_id: TeamId = None,
) -> Response:
    data = helpdesk_report(services.db, actor, start, end, team_id)
    return csv_response(analytics.table(data, chart), f"{chart}.csv")
