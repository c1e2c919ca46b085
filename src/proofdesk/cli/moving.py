"""``proofdesk import …`` and ``proofdesk export …``: moving an organization's history in from
another help desk, and out to files anyone can verify (``docs/import.md``, ``docs/export.md``)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from proofdesk.cli.common import app, handles_errors, org_id, out, settings
from proofdesk.errors import InvalidInput


class Source(StrEnum):
    ZENDESK = "zendesk"
    FRESHDESK = "freshdesk"
    ZAMMAD = "zammad"
    CSV = "csv"


@app.command("import")
@handles_errors
def import_(
    system: Annotated[Source, typer.Argument(help="The help desk the history comes from.")],
    source: Annotated[
        str,
        typer.Argument(
            help="The export file, or the desk's address (https://acme.zendesk.com) to read "
            "its REST API with the token in PROOFDESK_IMPORT_TOKEN."
        ),
    ],
    org: Annotated[str, typer.Option(help="Organization slug.")],
    since: Annotated[
        str | None,
        typer.Option(help="From an API: only tickets changed at or after this RFC 3339 time."),
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="From Zendesk's API: the agent whose API token it is.")
    ] = None,
) -> None:
    """Import tickets, comments and people from an export file or a desk's API; run it again
    to import only what is new or changed (it resumes where a stopped run left off)."""
    from proofdesk.actions.blobs import BlobStore
    from proofdesk.app.services import open_database
    from proofdesk.canonical import parse_time
    from proofdesk.moving.fetch import Fetcher
    from proofdesk.moving.http import SourceHttp
    from proofdesk.moving.importer import (
        Report,
        check_file,
        import_tickets,
        read_api,
        read_file,
        source_http,
    )

    config = settings()
    remote = source.startswith(("http://", "https://"))
    path = Path(source)
    if remote:
        if config.import_token is None:
            raise InvalidInput(
                "set PROOFDESK_IMPORT_TOKEN to the source's API token", code="import_token_missing"
            )
        http = source_http(system.value, source, config.import_token.get_secret_value(), user)
        after = None if since is None else parse_time(since)
        total = None
    else:
        if since is not None or user is not None:
            raise InvalidInput("--since and --user are for an API", code="bad_import_option")
        http = SourceHttp()
        total = check_file(system.value, path)  # a bad file stops here, before any write
    db = open_database(config)
    try:
        with db.reader() as session:
            organization_id = org_id(session, org)
        fetcher = Fetcher(
            BlobStore(config.blob_dir),
            config.attachment_max_bytes,
            config.attachment_types,
            base_dir=None if remote else path.parent,
            http=http,
        )
        report = Report()
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        tickets = read_api(system.value, http, after) if remote else read_file(system.value, path)
        with Progress(*columns, console=out, transient=True) as progress:
            task = progress.add_task(f"importing from {system.value}", total=total)
            import_tickets(
                db,
                organization_id,
                system.value,
                tickets,
                fetcher,
                report,
                advance=lambda: progress.advance(task),
            )
    finally:
        db.dispose()
    print_report(report)


def print_report(report: object) -> None:
    from proofdesk.moving.importer import Report

    assert isinstance(report, Report)
    table = Table("imported", "count")
    for result in ("created", "updated", "unchanged"):
        table.add_row(f"tickets {result}", str(report.tickets[result]))
    for label, value in (
        ("events", report.events),
        ("comments", report.comments),
        ("people", report.people),
        ("attachments", report.attachments),
        ("attachments missing", report.attachments_missing),
    ):
        table.add_row(label, str(value))
    out.print(table)
    if report.notes_total:
        out.print(f"{report.notes_total} things could not be mapped as they were:")
        for note in report.notes:
            out.print(f"  {note}", highlight=False, soft_wrap=True)
        if report.notes_total > len(report.notes):
            out.print(f"  … and {report.notes_total - len(report.notes)} more")


@app.command("export")
@handles_errors
def export(
    out_dir: Annotated[Path, typer.Argument(help="An empty (or new) folder to write into.")],
    org: Annotated[str, typer.Option(help="Organization slug.")],
) -> None:
    """Export everything an organization owns, with the log's checkpoint and each ticket's
    receipt against it (check it with ``proofdesk verify-export``)."""
    from proofdesk.actions.blobs import BlobStore
    from proofdesk.app.services import open_database
    from proofdesk.ledger.checkpoints import signer_for
    from proofdesk.moving.export import export_organization

    config = settings()
    db = open_database(config)
    try:
        with db.reader() as session:
            organization_id = org_id(session, org)
        report = export_organization(
            db, signer_for(config), BlobStore(config.blob_dir), organization_id, out_dir
        )
    finally:
        db.dispose()
    for name, count in report.counts.items():
        out.print(f"{name}: {count}", highlight=False)


@app.command("verify-export")
@handles_errors
def verify_export(
    out_dir: Annotated[Path, typer.Argument(help="The export's folder.")],
    key: Annotated[
        str | None,
        typer.Option(help="The log's verifier key (text or file), obtained independently."),
    ] = None,
) -> None:
    """Check an export offline: every file against its manifest, every ticket's receipt
    against the export's checkpoint. Exit 0 if it verifies, 1 naming each problem."""
    from proofdesk.cli.log import key_option
    from proofdesk.moving.export import verify_export as check

    problems = check(out_dir, None if key is None else key_option(key))
    for line in problems[:100]:
        out.print(f"✗ {line}", highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(code=1)
    out.print("✓ the export verifies against its checkpoint", highlight=False)
