"""Killing the server with SIGKILL in the middle of a write load loses no acknowledged ticket
and leaves a log that passes `proofdesk audit` and projections that match their events."""

from __future__ import annotations

import os
import random
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from proofdesk.store.db import Database
from proofdesk.store.models import Ticket
from tests.support.environment import fresh_pg_database
from tests.support.server import Deployment, proofdesk, start

pytestmark = pytest.mark.server

ROUNDS = 4
CLIENTS = 6


@pytest.fixture(params=["sqlite", "pg"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    """A data directory and a database of its own: SQLite in the directory, or a fresh
    PostgreSQL database on the server of PROOFDESK_TEST_PG."""
    if request.param == "sqlite":
        yield Deployment(tmp_path, f"sqlite:///{tmp_path / 'proofdesk.db'}")
        return
    with fresh_pg_database("proofdesk_crash") as url:
        yield Deployment(tmp_path, url)


def load(url: str, token: str, acknowledged: list[str], stop: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    body = {"kind": "transaction_problem", "subject": "提币未到账", "body": "TRC20 USDT, 3 h"}
    with httpx2.Client(base_url=url, headers=headers, timeout=5) as client:
        while not stop.is_set():
            try:
                r = client.post("/api/v1/tickets", json=body)
            except httpx2.TransportError:
                return  # the server is gone
            if r.status_code == 201:
                acknowledged.append(r.json()["id"])
            else:
                pytest.fail(f"unexpected answer {r.status_code}: {r.text}")


def test_sigkill_under_load_loses_nothing_acknowledged(deployment: Deployment) -> None:
    proofdesk(deployment, "migrate")
    proofdesk(deployment, "org", "create", "acme", "--name", "Acme")
    proofdesk(deployment, "user", "create", "c@acme.example", "--org", "acme", "--role", "customer")
    token = proofdesk(deployment, "token", "create", "c@acme.example", "--org", "acme")
    token_text = token.stdout.strip()
    rng = random.Random(7)
    acknowledged: list[str] = []
    for _ in range(ROUNDS):
        process, url = start(deployment)
        stop = threading.Event()
        threads = [
            threading.Thread(target=load, args=(url, token_text, acknowledged, stop))
            for _ in range(CLIENTS)
        ]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.4, 1.5))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        stop.set()
        for t in threads:
            t.join(timeout=10)
    assert len(acknowledged) > 20

    audit = proofdesk(deployment, "audit", check=False)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    signed = re.search(r"(\d+) checkpoints", audit.stdout)
    assert signed and int(signed.group(1)) >= ROUNDS, audit.stdout  # signed while under load
    rebuilt = proofdesk(deployment, "rebuild", "--check", check=False)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    db = Database(deployment.url)
    try:
        with db.reader() as session:
            stored = set(session.scalars(Ticket.__table__.select().with_only_columns(Ticket.id)))
    finally:
        db.dispose()
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged tickets lost"
