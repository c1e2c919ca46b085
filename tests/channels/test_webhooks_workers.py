"""The webhooks worker across crashes and processes.

* Killed after it claimed and before it sent (or never started after the event): each webhook
  is delivered exactly once after the restart.
* Killed between a send and its record: the webhook is sent once more, with the same
  ``webhook-id``, and never a third time (at least once, with an idempotency key).
* Two workers on one PostgreSQL — each with its own ``Database`` in one process, and two
  ``proofdesk worker`` processes: no row is delivered twice.

The killed workers are real processes (``SIGKILL``); the receiver is a real HTTP server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from proofdesk.actions.tickets import NewTicket, do_create_ticket
from proofdesk.canonical import stored_utc
from proofdesk.domain.tickets import Kind
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import WebhookAttempt, WebhookDelivery
from tests.support.environment import two_pg_databases
from tests.support.tenants import Tenant, actor_of, make_tenant
from tests.support.webhooks import (
    Received,
    Receiver,
    receiver_on_loopback,
    subscribe,
    unsubscribe,
    verify_standard,
    webhook_worker,
)

TYPES = ["ticket.created", "message.added"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiver_on_loopback() as r:
        yield r


def open_tickets(db: Database, tenant: Tenant, count: int) -> None:
    for n in range(count):
        with db.writer() as session:
            do_create_ticket(
                session,
                actor_of(tenant.customer, tenant),
                NewTicket(kind=Kind.QUESTION, subject=f"Crash {n}", body="Still there?"),
            )


def rows_of(db: Database, endpoint_id: str) -> list[WebhookDelivery]:
    with db.reader() as session:
        return list(
            session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
            )
        )


def after_the_leases(rows: list[WebhookDelivery]) -> Callable[[], datetime]:
    """A clock just past the dead worker's leases (about a minute ahead: still inside the
    five minutes a receiver tolerates, so the package verifies what is signed with it)."""
    ends = [stored_utc(r.lease_until) for r in rows if r.lease_until is not None]
    offset = max(ends) + timedelta(seconds=1) - datetime.now(UTC)
    return lambda: datetime.now(UTC) + offset


def slowly(_: Received) -> tuple[int, dict[str, str], bytes]:
    time.sleep(0.01)  # long enough for the two workers' sends to overlap
    return 204, {}, b""


def environment(backend: tuple[str, Path]) -> dict[str, str]:
    url, data_dir = backend
    return os.environ | {
        "PROOFDESK_DATABASE_URL": url,
        "PROOFDESK_DATA_DIR": str(data_dir),
        "PROOFDESK_ENV_FILE": str(data_dir / "none"),
        "PROOFDESK_WEBHOOKS_ALLOW_PRIVATE": "1",
        "PROOFDESK_WEBHOOKS_POLL_SECONDS": "0.1",
        "PROOFDESK_WEBHOOKS_TIMEOUT_SECONDS": "3",
        "PROOFDESK_LOG_LEVEL": "warning",
    }


#: A worker process that claims a batch and dies the moment it would send the first webhook.
DIE_BEFORE_SENDING = textwrap.dedent(
    """
    import os, signal
    from proofdesk.app.services import open_database
    from proofdesk.settings import load_settings
    from proofdesk.workers.webhooks import WebhookWorker

    conf = load_settings()
    worker = WebhookWorker.from_settings(conf, open_database(conf))

    def die(*args, **kwargs):
        print("claimed", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    worker.sender.send = die
    worker.step()
    """
)


def test_killed_before_sending_every_webhook_is_delivered_once_after_the_restart(
    backend: tuple[str, Path],
    db: Database,
    settings: Settings,
    tenant: Tenant,
    receiver: Receiver,
) -> None:
    endpoint_id, secret = subscribe(db, tenant, receiver.url + "/hook", TYPES)
    try:
        open_tickets(db, tenant, 3)  # six webhooks committed with their events
        process = subprocess.run(  # noqa: S603 - our own interpreter
            [sys.executable, "-c", DIE_BEFORE_SENDING],
            env=environment(backend),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert process.returncode == -signal.SIGKILL, process.stderr
        assert "claimed" in process.stdout
        assert receiver.received == []
        leased = rows_of(db, endpoint_id)
        assert len(leased) == 6 and all(r.lease_owner for r in leased)

        with webhook_worker(db, settings) as worker:
            worker.step()  # the dead worker's lease still holds: nothing yet
            assert receiver.received == []
        with webhook_worker(db, settings, now=after_the_leases(leased)) as worker:
            while worker.step():
                pass
            worker.step()
        ids = Counter(receiver.ids())
        assert len(ids) == 6 and set(ids.values()) == {1}
        assert {r.status for r in rows_of(db, endpoint_id)} == {"delivered"}
        for got in receiver.at("/hook"):
            verify_standard(secret, got)
    finally:
        unsubscribe(db, tenant, endpoint_id)


def test_killed_between_sending_and_recording_sends_once_more_with_the_same_id(
    backend: tuple[str, Path],
    db: Database,
    settings: Settings,
    tenant: Tenant,
    receiver: Receiver,
) -> None:
    endpoint_id, secret = subscribe(db, tenant, receiver.url + "/hook", ["ticket.created"])
    command = str(Path(sys.executable).parent / "proofdesk")
    killed = threading.Event()
    process: subprocess.Popen[str] | None = None

    def kill_the_sender(_: Received) -> tuple[int, dict[str, str], bytes]:
        if not killed.is_set() and process is not None:
            process.send_signal(signal.SIGKILL)  # the request arrived; no record will follow
            process.wait(timeout=30)
            killed.set()
        return 200, {}, b"ok"

    receiver.answer = kill_the_sender
    try:
        open_tickets(db, tenant, 1)
        with subprocess.Popen(  # noqa: S603 - our own command line
            [command, "worker", "--only", "webhooks"],
            env=environment(backend),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            assert killed.wait(timeout=60), "the worker never sent"
            process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL
        (row,) = rows_of(db, endpoint_id)
        assert row.status == "pending" and row.lease_owner  # sent, not recorded

        with webhook_worker(db, settings, now=after_the_leases([row])) as worker:
            for _ in range(3):
                worker.step()
        first, second = receiver.at("/hook")
        assert first.webhook_id == second.webhook_id  # the receiver drops the duplicate by it
        assert first.body == second.body
        verify_standard(secret, first)  # signed at real time by the killed process
        (row,) = rows_of(db, endpoint_id)
        assert row.status == "delivered"
    finally:
        unsubscribe(db, tenant, endpoint_id)


@pytest.fixture
def two_databases(tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    """Two ``Database`` objects (as two processes would have) on one fresh PostgreSQL."""
    with two_pg_databases("proofdesk_webhooks", tmp_path / "data.key") as dbs:
        yield dbs


@pytest.mark.pg
def test_two_workers_on_one_postgresql_never_deliver_a_row_twice(
    two_databases: tuple[Database, Database], tmp_path: Path, receiver: Receiver
) -> None:
    conf = Settings(data_dir=tmp_path, webhooks_allow_private=True)
    tenant = make_tenant(two_databases[0])
    _, secret = subscribe(two_databases[0], tenant, receiver.url + "/a", TYPES)
    _, other = subscribe(two_databases[0], tenant, receiver.url + "/b", ["message.added"])
    open_tickets(two_databases[0], tenant, 20)  # 40 + 20 webhooks
    receiver.answer = slowly
    start = threading.Barrier(2)
    failures: list[BaseException] = []
    counts: list[int] = []

    def work(db: Database) -> None:
        try:
            with webhook_worker(db, conf, threads=3) as worker:
                start.wait(timeout=30)
                done = 0
                while (n := worker.step()) > 0:
                    done += n
                counts.append(done)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(db,)) for db in two_databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures
    assert sum(counts) == 60 and all(counts), counts  # both worked, each row once
    for path, key, expected in (("/a", secret, 40), ("/b", other, 20)):
        ids = Counter(receiver.ids(path))
        assert len(ids) == expected and set(ids.values()) == {1}
        for got in receiver.at(path):
            verify_standard(key, got)
    with two_databases[1].reader() as session:
        statuses = session.scalars(select(WebhookDelivery.status)).all()
    assert Counter(statuses) == {"delivered": 60}


def unhurried(_: Received) -> tuple[int, dict[str, str], bytes]:
    time.sleep(0.05)  # so that one process cannot empty the outbox before the other looks
    return 204, {}, b""


@pytest.mark.pg
def test_two_worker_processes_on_one_postgresql_never_deliver_a_row_twice(
    tmp_path: Path, receiver: Receiver
) -> None:
    with two_pg_databases("proofdesk_webhook_procs", tmp_path / "data.key") as (db, _):
        tenant = make_tenant(db)
        _, secret = subscribe(db, tenant, receiver.url + "/hook", TYPES)
        receiver.answer = unhurried
        env = environment((db.url, tmp_path)) | {"PROOFDESK_WEBHOOKS_CONCURRENCY": "2"}
        command = str(Path(sys.executable).parent / "proofdesk")
        processes = [
            subprocess.Popen(  # noqa: S603 - our own command line
                [command, "worker", "--only", "webhooks"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            for process in processes:
                assert process.stdout is not None
                assert process.stdout.readline().strip() == "running workers: webhooks"
            open_tickets(db, tenant, 20)  # 40 webhooks, after both are polling
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and len(set(receiver.ids())) < 40:
                time.sleep(0.2)
            time.sleep(1.0)  # anything sent twice would arrive by now
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            outputs = [process.communicate(timeout=60) for process in processes]
        assert all(p.returncode == 0 for p in processes), outputs
        ids = Counter(receiver.ids())
        assert len(ids) == 40 and set(ids.values()) == {1}, ids
        for got in receiver.at("/hook"):
            verify_standard(secret, got)
        with db.reader() as session:
            statuses = Counter(session.scalars(select(WebhookDelivery.status)))
            senders = set(session.scalars(select(WebhookAttempt.worker)))
        assert statuses == {"delivered": 40}
        assert len(senders) == 2  # both processes sent some: the race was run
