"""Running an import: read the source (an export file, or the source desk's REST API), fetch
attachments, write each ticket in its own savepoint, and count what happened.

A file is read twice, both times streaming: first to check all of it (a bad file is refused
before anything is written), then to import. An API is read once: a bad page stops the run,
after the whole tickets before it. Tickets are written ``batch`` to a transaction, each in a
savepoint of its own (``actions.imports.do_import_ticket``), so a run killed at any point
leaves whole tickets and the map of source ids; a second run skips what the map says is
unchanged, writes only what is new or changed, and so resumes.
"""

from __future__ import annotations

import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from proofdesk.actions.imports import StoredFile, TicketOutcome, do_import_ticket
from proofdesk.canonical import format_time, utc_now
from proofdesk.domain.imported import SourceTicket
from proofdesk.errors import Error, InvalidInput
from proofdesk.moving.fetch import Fetcher
from proofdesk.moving.http import SourceHttp
from proofdesk.moving.sources import csvfile, freshdesk, zammad, zendesk
from proofdesk.moving.sources.common import records
from proofdesk.store.db import Database
from proofdesk.store.models import ImportedRecord

#: How many notes the report keeps (it counts them all).
MAX_NOTES = 1000


def read_file(system: str, path: Path) -> Iterator[SourceTicket]:
    """The tickets of an export file of ``system``, one at a time."""
    if system == "zendesk":
        return zendesk.tickets(records(path, zendesk.PREFIXES))
    if system == "freshdesk":
        return freshdesk.tickets(records(path, freshdesk.PREFIXES))
    if system == "zammad":
        return zammad.tickets(records(path, zammad.PREFIXES))
    if system == "csv":
        return csvfile.tickets(path)
    raise InvalidInput(f"unknown source system {system!r}", code="unknown_source")


def read_api(
    system: str, http: SourceHttp, since: datetime | None = None
) -> Iterator[SourceTicket]:
    """The tickets changed at or after ``since`` (or all) at a source desk's REST API."""
    if system == "zendesk":
        start = 0 if since is None else int(since.timestamp())
        return zendesk.tickets(zendesk.api_records(http, start))
    if system == "freshdesk":
        after = "1970-01-01T00:00:00Z" if since is None else format_time(since)
        return freshdesk.tickets(freshdesk.api_records(http, after))
    if system == "zammad":
        return zammad.tickets(
            zammad.api_records(http, None if since is None else format_time(since))
        )
    raise InvalidInput(f"{system} has no API to read: give its export file", code="unknown_source")


def source_http(system: str, url: str, token: str, user: str | None = None) -> SourceHttp:
    """The HTTP client of a source desk's API at ``url``, with its token's headers."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{url!r} is not an http(s) address", code="bad_source_url")
    readers = {"zendesk": zendesk.auth, "freshdesk": freshdesk.auth, "zammad": zammad.auth}
    if system not in readers:
        raise InvalidInput(
            f"{system} has no API to read: give its export file", code="unknown_source"
        )
    base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    return SourceHttp(base_url=base, headers=readers[system](token, user))


@dataclass
class Report:
    tickets: Counter[str] = field(default_factory=Counter)
    events: int = 0
    comments: int = 0
    people: int = 0
    attachments: int = 0
    attachments_missing: int = 0
    notes: list[str] = field(default_factory=list)
    notes_total: int = 0

    def add(self, outcome: TicketOutcome) -> None:
        self.tickets[outcome.result] += 1
        self.events += outcome.events
        self.comments += outcome.comments
        self.people += outcome.people
        self.attachments += outcome.attachments
        self.note(*outcome.notes)

    def note(self, *notes: str) -> None:
        self.notes_total += len(notes)
        room = MAX_NOTES - len(self.notes)
        self.notes += list(notes[: max(room, 0)])


def check_file(system: str, path: Path) -> int:
    """Read the whole file once; raise ``BadImportFile`` on the first bad object. Returns the
    number of tickets."""
    return sum(1 for _ in read_file(system, path))


def _unchanged(db: Database, organization_id: str, system: str, ticket: SourceTicket) -> bool:
    with db.reader() as session:
        row = session.get(ImportedRecord, (organization_id, system, "ticket", ticket.source_id))
        return row is not None and row.fingerprint == ticket.fingerprint()


def _known_comments(
    db: Database, organization_id: str, system: str, ticket: SourceTicket
) -> set[str]:
    ids = [c.source_id for c in ticket.comments]
    with db.reader() as session:
        return set(
            session.scalars(
                select(ImportedRecord.source_id).where(
                    ImportedRecord.organization_id == organization_id,
                    ImportedRecord.system == system,
                    ImportedRecord.kind == "comment",
                    ImportedRecord.source_id.in_(ids),
                )
            )
        )


def import_tickets(
    db: Database,
    organization_id: str,
    system: str,
    tickets: Iterable[SourceTicket],
    fetcher: Fetcher,
    report: Report,
    *,
    advance: Callable[[], None] = lambda: None,
    batch: int = 50,
) -> Report:
    """Import the tickets, ``batch`` whole tickets a transaction (each in a savepoint of its
    own: a ticket that cannot be written is reported and left out, alone). Attachments are
    fetched first, outside the transaction, and only for comments not imported before."""
    imported_at = format_time(utc_now())
    pending: list[tuple[SourceTicket, dict[str, StoredFile | None]]] = []
    for ticket in tickets:
        if _unchanged(db, organization_id, system, ticket):
            report.tickets["unchanged"] += 1
            advance()
            continue
        pending.append((ticket, _fetch(db, organization_id, system, ticket, fetcher, report)))
        if len(pending) >= batch:
            _write(db, organization_id, system, pending, imported_at, report, advance)
            pending = []
    if pending:
        _write(db, organization_id, system, pending, imported_at, report, advance)
    return report


def _fetch(
    db: Database,
    organization_id: str,
    system: str,
    ticket: SourceTicket,
    fetcher: Fetcher,
    report: Report,
) -> dict[str, StoredFile | None]:
    known = _known_comments(db, organization_id, system, ticket)
    files: dict[str, StoredFile | None] = {}
    for comment in ticket.comments:
        if comment.source_id in known:
            continue
        for attachment in comment.attachments:
            stored, why = fetcher.fetch(attachment)
            files[attachment.source_id] = stored
            if stored is None:
                report.attachments_missing += 1
                report.note(f"ticket {ticket.source_id}: attachment {attachment.filename!r}: {why}")
    return files


def _write(
    db: Database,
    organization_id: str,
    system: str,
    pending: list[tuple[SourceTicket, dict[str, StoredFile | None]]],
    imported_at: str,
    report: Report,
    advance: Callable[[], None],
) -> None:
    outcomes = []
    with db.writer() as session:
        for ticket, files in pending:
            try:
                with session.begin_nested():
                    outcome = do_import_ticket(
                        session, organization_id, system, ticket, files, imported_at=imported_at
                    )
            except Error as exc:
                outcome = TicketOutcome(
                    "failed", "", notes=[f"ticket {ticket.source_id}: {exc.message}"]
                )
            outcomes.append(outcome)
    for outcome in outcomes:  # counted once committed
        # The fetch failure is already in the report: keep one line per missing file.
        outcome.notes = [n for n in outcome.notes if "could not be fetched" not in n]
        report.add(outcome)
        advance()
