"""Importing from Zendesk, Freshdesk, Zammad and CSV export files: idempotent, delta, whole
tickets, people matched by address, secrets removed, and nothing fires on imported history."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from proofdesk.actions.blobs import BlobStore
from proofdesk.app.services import Services
from proofdesk.domain.tickets import IMPORTED
from proofdesk.moving.fetch import Fetcher
from proofdesk.moving.importer import Report, import_tickets, read_file
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import Attachment, Message, Ticket, TicketEvent, User
from tests.support import helpdesks
from tests.support.tenants import Tenant

SYSTEMS = ("zendesk", "freshdesk", "zammad", "csv")
API = "/api/v1"


def run(db: Database, settings: Settings, tenant: Tenant, system: str, path: Path) -> Report:
    fetcher = Fetcher(
        BlobStore(settings.blob_dir),
        settings.attachment_max_bytes,
        settings.attachment_types,
        base_dir=path.parent,
    )
    return import_tickets(db, tenant.org_id, system, read_file(system, path), fetcher, Report())


def last_seqs(db: Database, tenant: Tenant) -> dict[str, int]:
    with db.reader() as session:
        rows = session.execute(
            select(Ticket.id, Ticket.last_seq).where(Ticket.organization_id == tenant.org_id)
        ).all()
    return dict(rows)


def org_events(db: Database, tenant: Tenant) -> list[TicketEvent]:
    with db.reader() as session:
        return list(
            session.scalars(
                select(TicketEvent)
                .where(TicketEvent.organization_id == tenant.org_id)
                .order_by(TicketEvent.seq)
            )
        )


@pytest.mark.parametrize("system", SYSTEMS)
def test_import_twice_then_a_delta_of_three(
    system: str, db: Database, settings: Settings, tenant: Tenant, tmp_path: Path
) -> None:
    desk = helpdesks.generate(90)
    path = helpdesks.export(desk, system, tmp_path / "one")
    first = run(db, settings, tenant, system, path)
    expected = sum(1 for t in desk.tickets if system != "csv" or t.requester.email)
    assert first.tickets["created"] == expected, first.notes
    before = last_seqs(db, tenant)
    assert len(before) == expected
    # Again: nothing changes.
    again = run(db, settings, tenant, system, path)
    assert again.tickets["unchanged"] == expected and again.events == 0
    assert last_seqs(db, tenant) == before
    # Three tickets change at the source: exactly those get new events.
    changed_ids = [3, 17, 44]
    later = desk.changed(changed_ids, datetime(2026, 1, 5, tzinfo=UTC))
    delta = run(db, settings, tenant, system, helpdesks.export(later, system, tmp_path / "two"))
    after = last_seqs(db, tenant)
    moved = {tid for tid in after if after[tid] != before[tid]}
    assert len(moved) == 3, delta.notes
    assert delta.tickets["updated"] + delta.tickets["unchanged"] == expected
    # Every event of the organization is marked imported, with where it came from.
    events = org_events(db, tenant)
    markers = [json.loads(e.payload)[IMPORTED] for e in events]
    assert {m["from"] for m in markers} == {system}
    assert all(m["id"] and m["at"] for m in markers)


@pytest.mark.parametrize("system", ["zendesk", "freshdesk", "zammad"])
def test_people_attachments_and_secrets(
    system: str, db: Database, settings: Settings, tenant: Tenant, tmp_path: Path
) -> None:
    desk = helpdesks.generate(60)
    report = run(db, settings, tenant, system, helpdesks.export(desk, system, tmp_path))
    with db.reader() as session:
        emails = session.scalars(
            select(User.email).where(User.organization_id == tenant.org_id, User.email.is_not(None))
        ).all()
        assert len(emails) == len(set(emails))  # one user per address, never two
        imported_emails = {
            p.email
            for t in desk.tickets
            for p in (t.requester, *(c.author for c in t.comments))
            if p.email
        }
        assert imported_emails <= set(emails)
        deleted = session.scalars(
            select(User).where(User.organization_id == tenant.org_id, User.email.is_(None))
        ).all()
        assert deleted and not any(u.is_active for u in deleted)
        files = session.scalar(
            select(func.count())
            .select_from(Attachment)
            .where(Attachment.organization_id == tenant.org_id)
        )
        bodies = session.scalars(
            select(Message.body)
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(Ticket.organization_id == tenant.org_id)
        ).all()
    assert files == len(helpdesks.files_of(desk)) == report.attachments
    assert report.attachments_missing == 0
    assert any("有进展" in b or "提现" in b or "充值" in b for b in bodies)  # Chinese kept
    assert not any(helpdesks.PASTED_KEY[2:] in b for b in bodies)
    assert any("secret was removed" in n for n in report.notes)
    for stored in helpdesks.files_of(desk).values():
        assert BlobStore(settings.blob_dir).path(hashlib.sha256(stored.data).hexdigest()).exists()


def test_a_merged_zendesk_ticket_points_at_its_target(
    db: Database, settings: Settings, tenant: Tenant, tmp_path: Path
) -> None:
    desk = helpdesks.generate(60)
    run(db, settings, tenant, "zendesk", helpdesks.export(desk, "zendesk", tmp_path))
    with db.reader() as session:
        merged = session.scalars(
            select(Ticket).where(
                Ticket.organization_id == tenant.org_id, Ticket.merged_into_id.is_not(None)
            )
        ).all()
    sources = [t for t in desk.tickets if t.merged_into is not None]
    assert sources and len(merged) >= 1
    assert all(t.status == "closed" for t in merged)


IDLE = """
apiVersion: proofdesk/v1
kind: Automation
metadata: {name: NAME, version: 1, title: {en: Everything, zh-CN: 一切}}
spec:
  appliesTo: [question]
  triggers: [created, message, updated, sweep]
  facts: {ticket.status: string}
  rules:
    - id: nudge
      when: ticket.status != "closed"
      actions: [{type: add_note, text: {en: Seen., zh-CN: 已看到。}}]
"""


def activate(client: TestClient, tenant: Tenant, source: str) -> None:
    published = client.post(
        f"{API}/contracts",
        json={"source": source.replace("NAME", f"all-{tenant.slug}")},
        headers=tenant.admin.headers,
    )
    assert published.status_code == 201, published.text
    digest = published.json()["contract_hash"]
    assert client.post(f"{API}/contracts/{digest}/activate", headers=tenant.admin.headers)


def test_nothing_fires_on_imported_history(
    client: TestClient, db: Database, settings: Settings, tenant: Tenant, tmp_path: Path
) -> None:
    """An SLA policy that every imported open ticket has long breached (by its original times),
    and a rule set that fires on everything: after the import, the workers write nothing. (The
    clocks of a ticket still open start at the import: its first hour is not over yet.)"""
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    services.automation.cursor()
    services.sla.step()
    response = client.post(
        f"{API}/sla/policies",
        json={
            "name": f"p-{tenant.slug}",
            "first_response_minutes": 60,
            "resolution_minutes": 120,
            "warn_before_minutes": 15,
        },
        headers=tenant.admin.headers,
    )
    assert response.status_code == 201, response.text
    activate(client, tenant, IDLE)
    before = len(org_events(db, tenant))
    recent = datetime.now(UTC) - timedelta(days=5)
    desk = helpdesks.generate(20, start=recent)
    run(db, settings, tenant, "zendesk", helpdesks.export(desk, "zendesk", tmp_path))
    imported = org_events(db, tenant)[before:]
    assert imported
    for _ in range(3):
        services.automation.step()
        services.automation.sweep()
        services.sla.step()
    made = org_events(db, tenant)[before + len(imported) :]
    assert [(e.type, e.actor_id) for e in made] == []
    with db.reader() as session:
        open_ones = session.scalars(
            select(Ticket).where(
                Ticket.organization_id == tenant.org_id, Ticket.status.in_(["new", "open"])
            )
        ).all()
    assert open_ones  # the test has tickets the policy and the rules would act on
    # A live reply on an imported ticket is work again: the rules see it.
    ticket = open_ones[0]
    reply = client.post(
        f"{API}/tickets/{ticket.id}/messages",
        json={"body": "Looking at it now", "visibility": "public"},
        headers=tenant.agent.headers,
    )
    assert reply.status_code in (200, 201), reply.text
    services.automation.step()
    assert any(e.actor_id == "automation" for e in org_events(db, tenant)[before:])


def _bad(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("system", "text", "said"),
    [
        ("zendesk", '{"id": 1, "status": "open"\n', "not JSON"),
        ("zendesk", '{"id": 1, "status": "open", "requester_id": 5, "comments": 3}\n', "comments"),
        ("freshdesk", '[{"id": 1}]', "status"),
        (
            "zammad",
            '{"id": 1, "state": "open", "customer_id": 2, "created_at": "yesterday"}\n',
            "time",
        ),
        ("csv", "ticket_id,subject\n1,x\n", "missing columns"),
    ],
)
def test_a_bad_file_is_refused_with_a_reason(
    system: str, text: str, said: str, tmp_path: Path
) -> None:
    from proofdesk.errors import Error
    from proofdesk.moving.importer import check_file

    with pytest.raises(Error) as caught:
        check_file(system, _bad(tmp_path, "bad.data", text))
    assert caught.value.code == "bad_import_file" and said in caught.value.message
