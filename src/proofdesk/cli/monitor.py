"""``proofdesk monitor``: follow partners' logs by their C2SP tiles and catch split views."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import func, select

from proofdesk.cli.common import app, handles_errors, out, settings

monitor_app = typer.Typer(help="Monitor partners' logs for split views.", no_args_is_help=True)
app.add_typer(monitor_app, name="monitor")


@monitor_app.command("add")
@handles_errors
def add(
    origin: Annotated[str, typer.Argument(help="The log's origin line.")],
    url: Annotated[str, typer.Argument(help="Its tiles prefix, e.g. https://x/api/v1/log.")],
    vkey: Annotated[str, typer.Argument(help="The log's verifier key (vkey).")],
) -> None:
    """Follow the log ORIGIN at URL, whose checkpoints VKEY signs (again: a new URL)."""
    from proofdesk.actions.monitor import do_add_monitored_log
    from proofdesk.app.services import open_database

    db = open_database(settings())
    with db.writer() as session:
        row = do_add_monitored_log(session, origin, url, vkey)
        out.print(f"monitoring {row.origin} at {row.url} (seen size {row.size})", highlight=False)


@monitor_app.command("run")
@handles_errors
def run() -> None:
    """Check every monitored log once. Exit 1 if a split view was found."""
    from proofdesk.app.services import open_database
    from proofdesk.workers.monitor import MonitorLoop

    conf = settings()
    loop = MonitorLoop(open_database(conf), 0, conf.witness_timeout_seconds)
    try:
        seen = loop.step()
    finally:
        loop.stop()
    for s in seen:
        out.print(f"{s.origin}: {s.status} size={s.size} {s.detail}".rstrip(), highlight=False)
    if any(s.status == "split" for s in seen):
        raise typer.Exit(code=1)


@monitor_app.command("list")
@handles_errors
def list_logs() -> None:
    """The logs followed, the latest checkpoint checked, and the split views found."""
    from proofdesk.app.services import open_database
    from proofdesk.store.models import MonitoredLog, SplitViewEvidence

    db = open_database(settings())
    with db.reader() as session:
        rows = session.scalars(select(MonitoredLog).order_by(MonitoredLog.origin)).all()
        found = dict(
            session.execute(
                select(SplitViewEvidence.origin, func.count()).group_by(SplitViewEvidence.origin)
            ).all()
        )
    for row in rows:
        out.print(
            f"{row.origin} url={row.url} size={row.size} checked_at={row.checked_at or '-'} "
            f"split_views={found.get(row.origin, 0)}",
            highlight=False,
            soft_wrap=True,
        )
