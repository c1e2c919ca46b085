"""The help desk report as a manager asks for it, the same from the API and the dashboard: who
may read it, the default window, the team check, and one chart's table as a CSV file."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from proofdesk.access import Actor, require_manager, require_scope
from proofdesk.analytics import helpdesk
from proofdesk.canonical import utc_now
from proofdesk.domain.roles import Scope
from proofdesk.errors import InvalidInput
from proofdesk.store.db import Database
from proofdesk.store.models import Team

#: How far back a report reaches when no start is given.
DEFAULT_DAYS = 30


def helpdesk_report(
    db: Database, actor: Actor, since: datetime | None, until: datetime | None, team_id: str | None
) -> dict[str, Any]:
    """The report for a manager of the actor's organization (default: the last 30 days)."""
    require_scope(actor, Scope.TICKETS_READ)
    require_manager(actor)
    end = until or utc_now()
    window = helpdesk.Range(since or end - timedelta(days=DEFAULT_DAYS), end, team_id or None)
    with db.reader() as session:
        if window.team_id is not None:
            team = session.get(Team, window.team_id) if len(window.team_id) <= 36 else None
            if team is None or team.organization_id != actor.organization_id:
                raise InvalidInput("no such team", field="team_id")
        return helpdesk.report(session, actor.organization_id, window)


@dataclass(frozen=True, slots=True)
class CsvFile:
    """A download: its bytes and the HTTP headers that name it."""

    content: bytes
    filename: str
    media_type: str = "text/csv; charset=utf-8"

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Disposition": f'attachment; filename="{self.filename}"'}


def chart_csv(data: dict[str, Any], chart: str) -> CsvFile:
    """One chart of a report as CSV: UTF-8 with a BOM, so spreadsheets read Chinese names."""
    out = io.StringIO()
    out.write("\ufeff")
    csv.writer(out, lineterminator="\r\n").writerows(
        ["" if v is None else v for v in row] for row in helpdesk.table(data, chart)
    )
    return CsvFile(out.getvalue().encode(), f"{chart}.csv")
