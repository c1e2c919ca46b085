"""The help desk's numbers (``proofdesk.analytics.report``) for supervisors and admins: JSON, and
each chart's table as CSV (UTF-8 with a BOM, so spreadsheets read Chinese names)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from proofdesk.analytics.report import chart_csv, helpdesk_report
from proofdesk.api.deps import ServicesDep, TicketsReader
from proofdesk.api.schemas.common import NON_JSON_ERROR_RESPONSES

router = APIRouter(prefix="/analytics", tags=["analytics"])

From = Annotated[datetime | None, Query(alias="from", description="Start (RFC 3339, with zone).")]
To = Annotated[datetime | None, Query(alias="to", description="End, exclusive; default now.")]
TeamId = Annotated[str | None, Query(max_length=64, description="Only this team's tickets.")]


@router.get(
    "/helpdesk",
    summary="Volume, first response and resolution times, SLA, CSAT, backlog, per agent",
)
def helpdesk(
    services: ServicesDep,
    actor: TicketsReader,
    start: From = None,
    end: To = None,
    team_id: TeamId = None,
) -> dict[str, Any]:
    return helpdesk_report(services.db, actor, start, end, team_id)


@router.get(
    "/helpdesk.csv",
    summary="One chart's data of the help desk report as CSV",
    responses={**NON_JSON_ERROR_RESPONSES, 200: {"content": {"text/csv": {}}}},
)
def helpdesk_csv(
    services: ServicesDep,
    actor: TicketsReader,
    chart: Annotated[str, Query(max_length=40)],
    start: From = None,
    end: To = None,
    team_id: TeamId = None,
) -> Response:
    found = chart_csv(helpdesk_report(services.db, actor, start, end, team_id), chart)
    return Response(found.content, media_type=found.media_type, headers=found.headers)
