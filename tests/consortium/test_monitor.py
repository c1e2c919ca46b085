"""The monitor following a log by its tiles (here our own, through the app): the first
checkpoint is taken, growth is checked with a consistency proof computed from the tiles, and a
fork, a rollback or an inconsistent checkpoint is kept as evidence with both notes."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from proofdesk.actions.monitor import do_add_monitored_log
from proofdesk.ledger import checkpoints
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import MonitoredLog, SplitViewEvidence
from proofdesk.verify.note import Checkpoint, sign_note
from proofdesk.workers.monitor import MonitorLoop, _Known
from tests.support.tenants import Tenant, new_ticket

URL = "http://testserver/api/v1/log"


def sign_now(db: Database, settings: Settings) -> int:
    with db.writer() as session:
        return checkpoints.issue(session, checkpoints.signer_for(settings)).size


def monitor(client: TestClient, db: Database) -> MonitorLoop:
    loop = MonitorLoop(db, 0, 5)
    loop.use_client(client)  # the app itself answers http://testserver
    return loop


def test_the_monitor_follows_the_log_by_its_tiles(
    client: TestClient, db: Database, settings: Settings, tenant: Tenant
) -> None:
    signer = checkpoints.signer_for(settings)
    with db.writer() as session:
        session.execute(delete(MonitoredLog).where(MonitoredLog.origin == signer.name))
        do_add_monitored_log(session, signer.name, URL, signer.verifier.encode())
    new_ticket(client, tenant.customer)
    first = sign_now(db, settings)
    loop = monitor(client, db)
    assert [s.status for s in loop.step()] == ["new"]
    assert [s.status for s in loop.step()] == ["same"]
    for _ in range(4):
        new_ticket(client, tenant.customer)
    later = sign_now(db, settings)
    seen = loop.step()
    assert [(s.status, s.size) for s in seen] == [("new", later)]
    assert later > first


def test_forks_rollbacks_and_inconsistent_checkpoints_are_evidence(
    client: TestClient, db: Database, settings: Settings, tenant: Tenant
) -> None:
    signer = checkpoints.signer_for(settings)
    new_ticket(client, tenant.customer)
    size = sign_now(db, settings)
    loop = monitor(client, db)
    real = client.get(f"{URL}/checkpoint").text
    cp = Checkpoint.parse(real.split("\n\n")[0] + "\n")
    vkey = signer.verifier.encode()

    def known(at: int, root: bytes) -> _Known:
        note = sign_note(Checkpoint(signer.name, at, root).text(), signer)
        return _Known(signer.name, URL, vkey, at, root, note)

    with db.writer() as session:
        session.execute(delete(MonitoredLog).where(MonitoredLog.origin == signer.name))
        do_add_monitored_log(session, signer.name, URL, vkey)
    # What it saw before, signed by the same key, contradicts what the log now serves.
    assert loop.check(known(size, b"\x01" * 32)).status == "split"  # same size, other root
    assert loop.check(known(size + 5, cp.root)).status == "split"  # the log went back
    assert loop.check(known(size - 1, b"\x02" * 32)).status == "split"  # does not extend it
    with db.reader() as session:
        kinds = session.scalars(
            select(SplitViewEvidence.kind)
            .where(SplitViewEvidence.origin == signer.name)
            .order_by(SplitViewEvidence.id.desc())
            .limit(3)
        ).all()
        last = session.scalars(
            select(SplitViewEvidence).order_by(SplitViewEvidence.id.desc()).limit(1)
        ).one()
    assert list(kinds) == ["inconsistent", "rollback", "fork"]
    assert last.later_note.startswith(signer.name)  # both signed notes kept
    assert last.earlier_note != last.later_note
