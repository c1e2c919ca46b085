"""Community events are leaves of the transparency log like ticket events: each one's
inclusion proof verifies against a signed checkpoint, the audit of the log stays clean, and a
rebuild of the ticket projections leaves the community alone."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from proofdesk.actions.rebuild import do_rebuild_all
from proofdesk.ledger import checkpoints
from proofdesk.ledger.audit import audit
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import CommunityPost, TicketEvent
from proofdesk.store.projections import check_projections
from proofdesk.verify.merkle import leaf_hash, verify_inclusion
from proofdesk.verify.note import Verifier, open_checkpoint
from tests.support.community import answer, ask, moderate
from tests.support.tenants import Tenant

LOG = "/api/v1/log"


def test_community_events_are_proven_in_the_log(
    client: TestClient, db: Database, settings: Settings, tenant: Tenant
) -> None:
    qid = ask(client, tenant.agent, title="Do you list new tokens on request?")["id"]
    reply = answer(client, tenant.agent2, qid, "Listing requests go through the form.")
    moderate(client, tenant.supervisor, reply["id"], "hide", "outdated link")
    signer = checkpoints.signer_for(settings)
    with db.writer() as session:
        checkpoints.issue(session, signer)
    note = client.get(f"{LOG}/checkpoint").text
    head = open_checkpoint(note, Verifier.parse(client.get(f"{LOG}/key").text))
    with db.reader() as session:
        seqs = session.scalars(
            select(TicketEvent.seq).where(TicketEvent.ticket_id == qid).order_by(TicketEvent.seq)
        ).all()
    assert len(seqs) == 3
    for seq in seqs:
        entry = client.get(f"{LOG}/entries", params={"start": seq, "end": seq + 1}).json()
        leaf = entry["entries"][0]["leaf"]
        assert "Listing requests" not in leaf and "outdated link" not in leaf
        proof = client.get(
            f"{LOG}/proof/inclusion", params={"index": seq, "size": head.size}
        ).json()
        verify_inclusion(
            seq,
            head.size,
            leaf_hash(leaf.encode()),
            [bytes.fromhex(h) for h in proof["hashes"]],
            head.root,
        )
        assert json.loads(leaf)  # a record, canonical JSON

    report = audit(db, signer.verifier)
    assert report.ok, report.findings
    do_rebuild_all(db)
    assert check_projections(db) == []
    with db.reader() as session:
        post = session.get(CommunityPost, reply["id"])
        assert post is not None and post.hidden_reason == "outdated link"
