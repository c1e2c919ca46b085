"""``proofdesk export``: an organization's tickets, people, knowledge base, contracts and SLA
policies with the log's checkpoint and a receipt per ticket, verifiable offline; an erased
customer stays erased; a changed export does not verify."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from proofdesk.actions.blobs import BlobStore
from proofdesk.actions.erase import do_erase_customer
from proofdesk.ledger.checkpoints import signer_for
from proofdesk.moving.export import export_organization, verify_export
from proofdesk.moving.fetch import Fetcher
from proofdesk.moving.importer import Report, import_tickets, read_file
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import User
from tests.support import helpdesks
from tests.support.tenants import Tenant, actor_of


def test_an_export_verifies_keeps_erasures_and_detects_changes(
    db: Database, settings: Settings, tenant: Tenant, tmp_path: Path
) -> None:
    desk = helpdesks.generate(24)
    path = helpdesks.export(desk, "zendesk", tmp_path / "in")
    blobs = BlobStore(settings.blob_dir)
    fetcher = Fetcher(
        blobs, settings.attachment_max_bytes, settings.attachment_types, base_dir=path.parent
    )
    import_tickets(db, tenant.org_id, "zendesk", read_file("zendesk", path), fetcher, Report())
    erased_email = next(t.requester.email for t in desk.tickets if t.requester.email)
    with db.writer() as session:
        user = session.scalars(
            select(User).where(User.organization_id == tenant.org_id, User.email == erased_email)
        ).one()
        erased_id = user.id
        do_erase_customer(session, actor_of(tenant.admin, tenant), user)
    signer = signer_for(settings)
    out = tmp_path / "out"
    report = export_organization(db, signer, blobs, tenant.org_id, out)
    assert report.counts["tickets"] == 24
    assert report.counts["files"] >= 1
    assert verify_export(out, signer.verifier) == []
    people = [json.loads(line) for line in (out / "people.jsonl").read_text().splitlines()]
    erased = next(p for p in people if p["id"] == erased_id)
    assert erased["email"] is None and erased_email not in (out / "people.jsonl").read_text()
    assert erased_email not in (out / "tickets.jsonl").read_text()
    lines = (out / "tickets.jsonl").read_text(encoding="utf-8").splitlines()
    imported = [json.loads(line) for line in lines if '"imported"' in line]
    receipt = imported[0]["receipt"]
    marker = json.loads(receipt["entries"][0]["revealed"]["imported"]["value"])
    assert marker["from"] == "zendesk" and marker["id"] and marker["at"]
    # Change one revealed value: the export no longer verifies.
    doc = json.loads(lines[-1])
    entry = next(e for e in doc["receipt"]["entries"] if e["revealed"])
    name = next(iter(entry["revealed"]))
    entry["revealed"][name]["value"] = json.dumps("changed")
    lines[-1] = json.dumps(doc, ensure_ascii=False)
    (out / "tickets.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = verify_export(out, signer.verifier)
    assert any("does not verify" in p for p in problems)
    assert any("tickets.jsonl: missing or changed" in p for p in problems)
