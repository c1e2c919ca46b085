"""Our log asks two witnesses — two more ProofDesk servers on loopback — to cosign its
checkpoints: the served checkpoint and the receipts carry both cosignatures, ``verify
--witness … --min-witnesses`` counts them, a witness that is down does not stop the log, and a
forked copy of the database that signs another history is refused by the witness that saw
the first, which raises the alert on the log and keeps the evidence on the witness; a monitor
shown both histories keeps both notes as evidence of the split view."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest

from proofdesk.verify.cosignature import CosignerKey, cosignatures
from proofdesk.verify.note import Checkpoint, split_note
from tests.support.server import Deployment, proofdesk, start

pytestmark = pytest.mark.server

ORIGIN = "exchange.example/log"


def sqlite_deployment(root: Path, name: str, **env: str) -> Deployment:
    data = root / name
    data.mkdir()
    return Deployment(data, f"sqlite:///{data / 'proofdesk.db'}", env)


def eventually(check: Callable[[], bool], what: str, seconds: float = 45) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def rows(where: Deployment, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(where.data / "proofdesk.db") as conn:
        return conn.execute(sql, params).fetchall()


class Servers:
    def __init__(self) -> None:
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, where: Deployment) -> str:
        process, url = start(where)
        self.running[name] = process
        return url

    def stop(self, name: str) -> None:
        process = self.running.pop(name)
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture
def servers() -> Iterator[Servers]:
    s = Servers()
    yield s
    for name in list(s.running):
        s.stop(name)


def test_two_witnesses_cosign_and_a_fork_raises_the_alert(tmp_path: Path, servers: Servers) -> None:
    witnesses = []
    for name in ("w1", "w2"):
        where = sqlite_deployment(tmp_path, name, PROOFDESK_WITNESS_NAME=f"{name}.example/witness")
        proofdesk(where, "migrate")
        key = CosignerKey.parse(proofdesk(where, "witness", "key").stdout.strip())
        witnesses.append((where, key, servers.start(name, where)))
    keys = [key for _, key, _ in witnesses]

    log_env = {
        "PROOFDESK_LOG_ORIGIN": ORIGIN,
        "PROOFDESK_LOG_WITNESSES": json.dumps(
            [f"{url}/api/v1/witness {key.encode()}" for _, key, url in witnesses]
        ),
        "PROOFDESK_LOG_WITNESS_QUORUM": "2",
        "PROOFDESK_WITNESS_POLL_SECONDS": "0.2",
        "PROOFDESK_WITNESS_TIMEOUT_SECONDS": "2",
    }
    log = sqlite_deployment(tmp_path, "log", **log_env)
    proofdesk(log, "migrate")
    vkey = proofdesk(log, "log", "key").stdout.strip()
    (tmp_path / "log.vkey").write_text(vkey + "\n")
    for where, _, _ in witnesses:
        proofdesk(where, "witness", "add-log", ORIGIN, vkey)
    proofdesk(log, "org", "create", "acme", "--name", "Acme")
    proofdesk(log, "user", "create", "c@acme.example", "--org", "acme", "--role", "customer")
    token = proofdesk(log, "token", "create", "c@acme.example", "--org", "acme").stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    body = {"kind": "question", "subject": "充值未到账", "body": "ETH deposit, 2 h"}

    def open_ticket(url: str) -> str:
        r = httpx2.post(f"{url}/api/v1/tickets", json=body, headers=headers, timeout=10)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def cosigned_by(url: str, size: int) -> set[str]:
        note = httpx2.get(f"{url}/api/v1/log/checkpoint", timeout=10).text
        if Checkpoint.parse(split_note(note)[0]).size < size:
            return set()
        return set(cosignatures(note, keys))

    def size_of(url: str) -> int:
        note = httpx2.get(f"{url}/api/v1/log/checkpoint", timeout=10).text
        return Checkpoint.parse(split_note(note)[0]).size

    url = servers.start("log", log)
    ticket = open_ticket(url)
    open_ticket(url)
    eventually(lambda: len(cosigned_by(url, 2)) == 2, "two cosignatures")

    # The receipt carries the witnessed checkpoint; verify counts the cosignatures.
    r = httpx2.get(f"{url}/api/v1/tickets/{ticket}/receipt", headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    receipt = tmp_path / "receipt.json"
    receipt.write_text(r.text)
    args = ["verify", str(receipt), "--key", str(tmp_path / "log.vkey")]
    both = [a for k in keys for a in ("--witness", k.encode())]
    ok = proofdesk(log, *args, *both, "--min-witnesses", "2", check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "2 of 2 given witnesses cosigned" in ok.stdout
    stranger = proofdesk(witnesses[0][0], "witness", "key").stdout.strip()
    (witnesses[0][0].data / "witness.key").unlink()
    other = proofdesk(witnesses[0][0], "witness", "key").stdout.strip()  # a new key
    assert other != stranger
    refused = proofdesk(log, *args, "--witness", other, check=False)
    assert refused.returncode == 1, refused.stdout
    assert "0 of 1 given witnesses cosigned" in refused.stdout

    # A witness that is down does not stop the log.
    servers.stop("w2")
    before = size_of(url)
    open_ticket(url)
    eventually(lambda: keys[0].encode() in cosigned_by(url, before + 1), "w1 alone cosigning")
    down = "SELECT last_error FROM log_witnesses WHERE key = ?"
    eventually(
        lambda: "unreachable" in str(rows(log, down, keys[1].encode())[0][0]), "w2 noted as down"
    )

    # A forked copy of the database signs another history; w1 cosigns the fork first.
    servers.stop("log")
    fork = sqlite_deployment(tmp_path, "fork", **log_env)
    with (
        sqlite3.connect(log.data / "proofdesk.db") as source,
        sqlite3.connect(fork.data / "proofdesk.db") as copy,
    ):
        source.backup(copy)  # the WAL's commits too
    for key_file in ("log.key", "data.key"):
        shutil.copy(log.data / key_file, fork.data / key_file)
    fork_url = servers.start("fork", fork)
    forked_at = size_of(fork_url)
    open_ticket(fork_url)
    eventually(
        lambda: keys[0].encode() in cosigned_by(fork_url, forked_at + 1), "w1 cosigning the fork"
    )
    # The regulator (here w1's deployment) also monitors the log, and is shown the fork first.
    regulator = witnesses[0][0]
    proofdesk(regulator, "monitor", "add", ORIGIN, f"{fork_url}/api/v1/log", vkey)
    first = proofdesk(regulator, "monitor", "run", check=False)
    assert first.returncode == 0 and ": new size=" in first.stdout, first.stdout + first.stderr
    servers.stop("fork")

    url = servers.start("log", log)
    open_ticket(url)
    open_ticket(url)
    eventually(lambda: bool(rows(log, "SELECT message FROM witness_alerts")), "the alert")
    (message,) = rows(log, "SELECT message FROM witness_alerts")[0]
    assert "split view" in str(message)
    kinds = {kind for (kind,) in rows(witnesses[0][0], "SELECT kind FROM witness_refusals")}
    assert kinds & {"fork", "bad_proof", "rollback"}, kinds
    # The admin page and the witness's list say so too (checked here through the tables the
    # page and `proofdesk witness list` read).
    listing = proofdesk(witnesses[0][0], "witness", "list").stdout
    assert ORIGIN in listing
    # The monitor, now shown the original's history, catches the split view with evidence.
    proofdesk(regulator, "monitor", "add", ORIGIN, f"{url}/api/v1/log", vkey)
    caught = proofdesk(regulator, "monitor", "run", check=False)
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert ": split " in caught.stdout
    ((earlier, later),) = rows(
        regulator, "SELECT earlier_note, later_note FROM split_view_evidence"
    )
    assert earlier != later and ORIGIN in str(earlier) and ORIGIN in str(later)
