"""Killing the server with SIGKILL in the middle of a write load loses no acknowledged ticket
and leaves a log that passes `proofdesk audit` and projections that match their events."""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from proofdesk.store.db import Database
from proofdesk.store.models import Ticket
from tests.conftest import fresh_pg_database

pytestmark = pytest.mark.server

ROUNDS = 4
CLIENTS = 6


@dataclass
class Deployment:
    data: Path
    url: str


@pytest.fixture(params=["sqlite", "pg"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    """A data directory and a database of its own: SQLite in the directory, or a fresh
    PostgreSQL database on the server of PROOFDESK_TEST_PG."""
    if request.param == "sqlite":
        yield Deployment(tmp_path, f"sqlite:///{tmp_path / 'proofdesk.db'}")
        return
    with fresh_pg_database("proofdesk_crash") as url:
        yield Deployment(tmp_path, url)


def proofdesk(
    where: Deployment, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own command line
        [str(Path(sys.executable).parent / "proofdesk"), *args],
        env=environment(where),
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def environment(where: Deployment) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROOFDESK_")}
    return env | {
        "PROOFDESK_DATA_DIR": str(where.data),
        "PROOFDESK_DATABASE_URL": where.url,
        "PROOFDESK_ENV_FILE": str(where.data / "none.env"),
        "PROOFDESK_LOG_LEVEL": "warning",
        "PROOFDESK_CHECKPOINT_INTERVAL_SECONDS": "0.2",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start(where: Deployment) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [str(Path(sys.executable).parent / "proofdesk"), "serve", "--port", str(port)],
        env=environment(where),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx2.TransportError):
            if httpx2.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return process, url
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    pytest.fail("server did not start")


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
