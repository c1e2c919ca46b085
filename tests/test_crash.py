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
from pathlib import Path

import httpx2
import pytest

from proofdesk.store.db import Database
from proofdesk.store.models import Ticket

pytestmark = pytest.mark.server

ROUNDS = 4
CLIENTS = 6


def proofdesk(data: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own command line
        [str(Path(sys.executable).parent / "proofdesk"), *args],
        env=environment(data),
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def environment(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROOFDESK_")}
    return env | {
        "PROOFDESK_DATA_DIR": str(data),
        "PROOFDESK_ENV_FILE": str(data / "none.env"),
        "PROOFDESK_LOG_LEVEL": "warning",
        "PROOFDESK_CHECKPOINT_INTERVAL_SECONDS": "0.2",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [str(Path(sys.executable).parent / "proofdesk"), "serve", "--port", str(port)],
        env=environment(data),
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


def test_sigkill_under_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    proofdesk(tmp_path, "migrate")
    proofdesk(tmp_path, "org", "create", "acme", "--name", "Acme")
    proofdesk(tmp_path, "user", "create", "c@acme.example", "--org", "acme", "--role", "customer")
    token = proofdesk(tmp_path, "token", "create", "c@acme.example", "--org", "acme")
    token_text = token.stdout.strip()
    rng = random.Random(7)
    acknowledged: list[str] = []
    for _ in range(ROUNDS):
        process, url = start(tmp_path)
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

    audit = proofdesk(tmp_path, "audit", check=False)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    signed = re.search(r"(\d+) checkpoints", audit.stdout)
    assert signed and int(signed.group(1)) >= ROUNDS, audit.stdout  # signed while under load
    rebuilt = proofdesk(tmp_path, "rebuild", "--check", check=False)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    db = Database(f"sqlite:///{tmp_path / 'proofdesk.db'}")
    try:
        with db.reader() as session:
            stored = set(session.scalars(Ticket.__table__.select().with_only_columns(Ticket.id)))
    finally:
        db.dispose()
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged tickets lost"
