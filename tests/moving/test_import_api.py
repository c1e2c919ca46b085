"""Importing from the REST APIs of Zendesk, Freshdesk and Zammad, served on loopback in their
documented shapes (``support/helpdesk_apis.py``): the same history as from their export files,
every page followed, a 429 waited out, a 503 on an attachment retried, the token sent home
only, a delta run that reads only what changed, and a refusing or broken source stopped with a
clear error. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from proofdesk.actions.blobs import BlobStore
from proofdesk.errors import Error
from proofdesk.moving.fetch import Fetcher
from proofdesk.moving.http import SourceHttp
from proofdesk.moving.importer import Report, import_tickets, read_api, read_file, source_http
from proofdesk.moving.sources import freshdesk
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import Attachment, Message, Ticket
from tests.support import helpdesks
from tests.support.helpdesk_apis import TOKEN, ZENDESK_USER, SourceDesk, serving
from tests.support.tenants import Tenant

SYSTEMS = ("zendesk", "freshdesk", "zammad")


def fetcher(settings: Settings, http: SourceHttp, base_dir: Path | None = None) -> Fetcher:
    return Fetcher(
        BlobStore(settings.blob_dir),
        settings.attachment_max_bytes,
        settings.attachment_types,
        base_dir=base_dir,
        http=http,
    )


def client(system: str, url: str, token: str = TOKEN) -> SourceHttp:
    http = source_http(system, url, token, ZENDESK_USER if system == "zendesk" else None)
    http.sleep = lambda seconds: None  # waits are asked for, not spent, in tests
    http.backoff = 0.0
    return http


def from_api(
    db: Database,
    settings: Settings,
    tenant: Tenant,
    source: SourceDesk,
    since: datetime | None = None,
) -> Report:
    http = client(source.system, source.url)
    tickets = read_api(source.system, http, since)
    return import_tickets(
        db, tenant.org_id, source.system, tickets, fetcher(settings, http), Report()
    )


def shape(db: Database, tenant: Tenant) -> tuple[list[tuple[str, str, int]], int]:
    """Each ticket's subject, status and message count, and the number of attachments."""
    with db.reader() as session:
        tickets = session.execute(
            select(Ticket.subject, Ticket.status, func.count(Message.id))
            .join(Message, Message.ticket_id == Ticket.id)
            .where(Ticket.organization_id == tenant.org_id)
            .group_by(Ticket.id, Ticket.subject, Ticket.status)
        ).all()
        files = session.scalar(
            select(func.count())
            .select_from(Attachment)
            .where(Attachment.organization_id == tenant.org_id)
        )
    return sorted((s, str(st), n) for s, st, n in tickets), int(files or 0)


@pytest.mark.parametrize("system", SYSTEMS)
def test_the_api_brings_the_same_history_as_the_export_file(
    system: str,
    db: Database,
    settings: Settings,
    tenant: Tenant,
    other_tenant: Tenant,
    tmp_path: Path,
) -> None:
    desk = helpdesks.generate(45)
    path = helpdesks.export(desk, system, tmp_path)
    local = fetcher(settings, SourceHttp(), base_dir=path.parent)
    import_tickets(db, other_tenant.org_id, system, read_file(system, path), local, Report())
    source = SourceDesk(system, desk, page_size=4)
    source.faults = [
        (LISTS[system], 429, {"Retry-After": "0"}, b'{"error":"slow down"}'),
        (FILES[system], 503, {}, b"busy"),
    ]
    with serving(source):
        report = from_api(db, settings, tenant, source)
    assert report.tickets["created"] == len(desk.tickets), report.notes
    assert report.attachments_missing == 0 and report.attachments == len(helpdesks.files_of(desk))
    assert shape(db, tenant) == shape(db, other_tenant)
    assert source.faults == []  # both faults were met, waited out and retried
    ticket_pages = [p for p, _ in source.requests if p.startswith(LISTS[system])]
    assert len(ticket_pages) > len(desk.tickets) // 4  # every page followed (and the retry)


@pytest.mark.parametrize("system", SYSTEMS)
def test_a_second_run_changes_nothing_and_a_delta_reads_only_what_changed(
    system: str, db: Database, settings: Settings, tenant: Tenant
) -> None:
    desk = helpdesks.generate(30)
    source = SourceDesk(system, desk, page_size=5)
    with serving(source):
        first = from_api(db, settings, tenant, source)
        again = from_api(db, settings, tenant, source)
        assert again.tickets["unchanged"] == first.tickets["created"] == len(desk.tickets)
        assert again.events == 0
        moment = datetime(2026, 1, 5, tzinfo=UTC)
        source.desk = desk.changed([3, 17, 24], moment)
        delta = from_api(db, settings, tenant, source, since=moment)
    assert delta.tickets["updated"] == 3 and sum(delta.tickets.values()) == 3, delta.tickets
    with db.reader() as session:
        followups = session.scalar(
            select(func.count())
            .select_from(Message)
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(Ticket.organization_id == tenant.org_id, Message.body.contains("有进展吗"))
        )
    assert followups == 3


def test_freshdesk_past_its_last_page_starts_again_from_the_last_change(
    db: Database, settings: Settings, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(freshdesk, "PER_PAGE", 4)
    monkeypatch.setattr(freshdesk, "LAST_PAGE", 2)
    desk = helpdesks.generate(30)
    source = SourceDesk("freshdesk", desk)
    with serving(source):
        report = from_api(db, settings, tenant, source)
    assert report.tickets["created"] == 30 and report.tickets["unchanged"] == 0, report.tickets
    restarts = {
        p.split("updated_since=")[1].split("&")[0]
        for p, _ in source.requests
        if "updated_since=" in p
    }
    assert len(restarts) >= 30 // 8


@pytest.mark.parametrize("system", SYSTEMS)
def test_the_token_goes_to_the_source_only(
    system: str, db: Database, settings: Settings, tenant: Tenant
) -> None:
    desk = helpdesks.generate(15)
    files = SourceDesk(system, desk)  # another host, where the tickets' attachments live
    with serving(files):
        source = SourceDesk(system, desk, files_base=files.url)
        with serving(source):
            report = from_api(db, settings, tenant, source)
    assert report.attachments == len(helpdesks.files_of(desk)) > 0
    assert {auth for _, auth in source.requests} == {
        client(system, source.url).headers["Authorization"]
    }
    assert [auth for _, auth in files.requests if auth is not None] == []


@pytest.mark.parametrize("system", SYSTEMS)
def test_a_wrong_token_stops_the_run_before_anything_is_written(
    system: str, db: Database, settings: Settings, tenant: Tenant
) -> None:
    source = SourceDesk(system, helpdesks.generate(10))
    with serving(source):
        http = client(system, source.url, token="wrong")
        tickets, files = read_api(system, http), fetcher(settings, http)
        with pytest.raises(Error) as caught:
            import_tickets(db, tenant.org_id, system, tickets, files, Report())
    assert caught.value.code == "import_source_failed" and "HTTP 401" in caught.value.message
    assert "wrong" not in caught.value.message and TOKEN not in caught.value.message
    assert shape(db, tenant) == ([], 0)


@pytest.mark.parametrize(
    ("system", "body", "code"),
    [
        ("zendesk", b"<html>maintenance</html>", "import_source_failed"),
        ("zendesk", b'{"tickets": {"id": 1}}', "bad_import_file"),
        ("zendesk", b'{"tickets": [], "end_of_stream": false}', "bad_import_file"),
        ("freshdesk", b'{"tickets": []}', "bad_import_file"),
        ("freshdesk", b"[1, 2]", "bad_import_file"),
        ("zammad", b'[{"id": true}]', "bad_import_file"),
    ],
)
def test_a_broken_page_is_refused_with_a_reason(
    system: str, body: bytes, code: str, db: Database, settings: Settings, tenant: Tenant
) -> None:
    source = SourceDesk(system, helpdesks.generate(10))
    source.faults = [(LISTS[system], 200, {"Content-Type": "application/json"}, body)]
    with serving(source), pytest.raises(Error) as caught:
        from_api(db, settings, tenant, source)
    assert caught.value.code == code, caught.value.message
    assert shape(db, tenant) == ([], 0)


def test_a_source_that_keeps_failing_is_given_up_after_the_retries(
    db: Database, settings: Settings, tenant: Tenant
) -> None:
    source = SourceDesk("zammad", helpdesks.generate(5))
    source.faults = [("/api/v1/users", 503, {}, b"down")] * 4
    with serving(source), pytest.raises(Error) as caught:
        from_api(db, settings, tenant, source)
    assert caught.value.code == "import_source_failed"
    assert "HTTP 503 after 4 attempts" in caught.value.message


@pytest.mark.parametrize("url", ["ftp://desk.example", "desk.example", "https://"])
def test_an_address_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(Error) as caught:
        source_http("zendesk", url, TOKEN)
    assert caught.value.code == "bad_source_url"


def test_csv_has_no_api() -> None:
    with pytest.raises(Error) as caught:
        source_http("csv", "https://desk.example", TOKEN)
    assert caught.value.code == "unknown_source"


#: The first ticket-list request and the first attachment request of each source.
LISTS = {
    "zendesk": "/api/v2/incremental/tickets/cursor.json",
    "freshdesk": "/api/v2/tickets",
    "zammad": "/api/v1/tickets",
}
FILES = {"zendesk": "/files/", "freshdesk": "/files/", "zammad": "/api/v1/ticket_attachment/"}
