"""Erasing a customer: content sealed in the event stream becomes unreadable, mutable copies
are scrubbed, the log and every receipt stay valid, and the erasure is on the log."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from proofdesk.access import Actor
from proofdesk.actions.blobs import BlobStore
from proofdesk.actions.erase import do_erase_customer
from proofdesk.canonical import utc_now
from proofdesk.cli.main import app
from proofdesk.domain.roles import Role
from proofdesk.errors import InvalidInput
from proofdesk.ledger import checkpoints
from proofdesk.ledger.audit import audit
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import AssistantExample, Base, TicketSecret, User
from proofdesk.store.projections import check_projections
from proofdesk.verify.note import Verifier
from proofdesk.verify.receipt import verify_receipt
from tests.support.tenants import Tenant, new_ticket

API = "/api/v1"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def everything_stored(db: Database) -> str:
    """Every row of every table, as text."""
    parts = []
    with db.reader() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(table.select()):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def erase(db: Database, tenant: Tenant, user_id: str) -> Any:
    admin = Actor(tenant.admin.user_id, tenant.org_id, Role.ADMIN)
    with db.writer() as session:
        user = session.get(User, user_id)
        assert user is not None
        return do_erase_customer(session, admin, user)


def test_erasure_shreds_content_and_keeps_the_log_valid(
    client: TestClient, db: Database, settings: Settings, tenant: Tenant
) -> None:
    secret = f"my seed phrase is {uuid.uuid4().hex}"
    wallet = "0x" + uuid.uuid4().hex + uuid.uuid4().hex[:8]
    upload = client.post(
        f"{API}/attachments",
        headers=tenant.customer.headers,
        files={"file": ("proof.png", PNG + uuid.uuid4().bytes, "image/png")},
    )
    assert upload.status_code == 201, upload.text
    ticket = new_ticket(
        client,
        tenant.customer,
        subject=f"Lost funds {secret[-8:]}",
        body=secret,
        wallet_address=wallet,
        attachment_ids=[upload.json()["id"]],
    )
    tid = str(ticket["id"])
    reply = client.post(
        f"{API}/tickets/{tid}/messages",
        json={"body": f"Agent reply about {secret[-8:]}", "visibility": "public"},
        headers=tenant.agent.headers,
    )
    assert reply.status_code == 201
    # What the customer told the assistant (no knowledge base: it hands off, a second ticket),
    # an example the assistant learnt from the ticket, and a rating with a comment.
    chat = client.post(
        f"{API}/assistant/messages",
        json={"text": f"still about {secret[-8:]}"},
        headers=tenant.customer.headers,
    )
    assert chat.status_code == 200, chat.text
    with db.writer() as session:
        session.add(
            AssistantExample(
                organization_id=tenant.org_id,
                text=f"lost funds {secret[-8:]}",
                label="withdrawal_pending",
                ticket_id=tid,
                created_at=utc_now(),
            )
        )
    client.post(
        f"{API}/tickets/{tid}/status", json={"status": "solved"}, headers=tenant.agent.headers
    )
    rated = client.post(
        f"{API}/tickets/{tid}/rating",
        json={"score": 3, "comment": f"ok {secret[-8:]}"},
        headers=tenant.customer.headers,
    )
    assert rated.status_code == 200, rated.text
    # Sealed at rest from the start: the event stream never holds the plaintext.
    assert secret not in "\n".join(
        repr(r) for r in db.engine.connect().exec_driver_sql("SELECT payload FROM ticket_events")
    )
    key = Verifier.parse(client.get(f"{API}/log/key").text)
    before = client.get(f"{API}/tickets/{tid}/receipt", headers=tenant.agent.headers).json()
    assert secret in json.dumps(before)

    erasure = erase(db, tenant, tenant.customer.user_id)
    assert erasure.tickets[0] == tid and len(erasure.tickets) == 2  # + the chat hand-off
    BlobStore(settings.blob_dir).path(upload.json()["sha256"]).unlink()  # as the CLI does

    stored = everything_stored(db)
    for private in (secret, secret[-8:], wallet, "proof.png", tenant.customer.email):
        assert private not in stored, private
    with db.reader() as session:
        row = session.get(TicketSecret, tid)
        assert row is not None and row.wrapped is None and row.erased_at

    # The receipt taken before still verifies: history did not change.
    assert verify_receipt(before, key=key).ok
    after = client.get(f"{API}/tickets/{tid}/receipt", headers=tenant.agent.headers).json()
    report = verify_receipt(after, key=key)
    assert report.ok, report.failures
    assert after["erased"] is True
    assert all(e["revealed"] == {} for e in after["entries"])
    assert json.loads(after["entries"][-1]["leaf"])["type"] == "ticket.erased"

    view = client.get(f"{API}/tickets/{tid}", headers=tenant.agent.headers).json()
    assert view["subject"] == "[erased]" and view["wallet_address"] is None
    bodies = client.get(f"{API}/tickets/{tid}/messages", headers=tenant.agent.headers).json()
    assert {m["body"] for m in bodies} == {"[erased]"}
    events = client.get(f"{API}/tickets/{tid}/events", headers=tenant.agent.headers).json()
    assert secret not in json.dumps(events)

    r = client.post(
        f"{API}/tickets/{tid}/messages",
        json={"body": "more", "visibility": "public"},
        headers=tenant.agent.headers,
    )
    assert r.status_code in (409, 422), r.text
    assert r.json()["error"]["code"] == "ticket_erased"
    assert client.get(f"{API}/auth/me", headers=tenant.customer.headers).status_code == 401

    assert check_projections(db) == []
    with db.writer() as session:
        checkpoints.issue(session, checkpoints.signer_for(settings))
    result = audit(db, checkpoints.signer_for(settings).verifier)
    assert result.ok, [f for f in result.findings if f.kind != "erased"]
    assert result.erased_tickets >= 1


def test_only_admins_erase_and_only_customers(db: Database, tenant: Tenant) -> None:
    from proofdesk.errors import Forbidden

    agent = Actor(tenant.agent.user_id, tenant.org_id, Role.AGENT)
    with db.writer() as session:
        user = session.get(User, tenant.customer2.user_id)
        assert user is not None
        with pytest.raises(Forbidden):
            do_erase_customer(session, agent, user)
    with pytest.raises(InvalidInput, match="only customers"):
        erase(db, tenant, tenant.agent2.user_id)
    with db.reader() as session:
        still = session.scalars(select(User).where(User.id == tenant.customer2.user_id)).one()
        assert still.display_name == "customer2"


def test_erase_command(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"PROOFDESK_DATA_DIR": str(tmp_path), "PROOFDESK_ENV_FILE": str(tmp_path / "x.env")}

    def run(*args: str) -> Any:
        return runner.invoke(app, list(args), env=env)

    assert run("migrate").exit_code == 0
    assert run("org", "create", "acme", "--name", "Acme").exit_code == 0
    admin = ("user", "create", "boss@acme.example", "--org", "acme", "--role", "admin")
    assert run(*admin, "--password", "long enough pw").exit_code == 0
    customer = ("user", "create", "c@acme.example", "--org", "acme", "--role", "customer")
    assert run(*customer).exit_code == 0
    for args in (
        ("erase", "customer", "c@acme.example", "--org", "acme", "--by", "nobody@x", "--yes"),
        ("erase", "customer", "ghost@acme.example", "--org", "acme", "--by", "boss@acme.example"),
        (
            "erase",
            "customer",
            "boss@acme.example",
            "--org",
            "acme",
            "--by",
            "boss@acme.example",
            "--yes",
        ),
    ):
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "error:" in result.stderr
    done = run(
        "erase", "customer", "c@acme.example", "--org", "acme", "--by", "boss@acme.example", "--yes"
    )
    assert done.exit_code == 0, done.output
    assert "erased" in done.stdout
    assert run("audit").exit_code == 0
