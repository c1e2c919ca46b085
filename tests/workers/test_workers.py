"""The background workers in their own room: one registry for ``serve`` and ``proofdesk
worker``, the API without workers, workers run apart and stopped by a signal, their work read
outside the writer lock, and two workers on one PostgreSQL doing each job once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from proofdesk.actions.contracts import AUTOMATION_ID, do_activate, do_publish
from proofdesk.actions.sla import do_create_policy
from proofdesk.actions.tickets import NewTicket, do_create_ticket
from proofdesk.app.factory import create_app
from proofdesk.cli.main import app as cli
from proofdesk.domain.tickets import EventType, Kind
from proofdesk.ledger.checkpoints import signer_for
from proofdesk.ledger.keys import Keyring
from proofdesk.ledger.store import log_size
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import SignedCheckpoint, TicketEvent
from proofdesk.verify.note import Signer
from proofdesk.workers import checkpoints as checkpoint_worker
from proofdesk.workers import registry
from proofdesk.workers import sla as sla_worker
from proofdesk.workers.automation import Automator
from proofdesk.workers.checkpoints import CheckpointLoop
from proofdesk.workers.sla import SlaWorker
from tests.support.environment import fresh_pg_database, two_pg_databases
from tests.support.tenants import Tenant, actor_of, make_tenant

TAGGER = """
apiVersion: proofdesk/v1
kind: Automation
metadata: {name: tagger, version: 1, title: {en: Tag new tickets, zh-CN: 标记新工单}}
spec:
  appliesTo: [question]
  triggers: [created]
  facts: {ticket.kind: string}
  rules:
    - id: seen
      when: ticket.kind == "question"
      actions:
        - {type: add_tags, tags: [seen]}
"""


def test_the_registry_names_every_worker_and_refuses_unknown_names() -> None:
    assert registry.NAMES == (
        "checkpoints",
        "anchoring",
        "payouts",
        "automation",
        "sla",
        "inbox",
        "webhooks",
        "mail_poll",
        "mail_outbox",
        "mail_smtp",
        "witnessing",
        "monitor",
        "transfers",
        "assistant",
        "telegram_poll",
        "telegram_outbox",
    )
    assert registry.chosen(None) == registry.NAMES
    assert registry.chosen(" sla, automation,sla ") == ("automation", "sla")
    for bad in ("sla,nope", "", " , "):
        with pytest.raises(registry.UnknownWorker) as caught:
            registry.chosen(bad)
        assert caught.value.code == "unknown_worker" and "checkpoints" in caught.value.message


def test_the_registry_builds_them_all_and_starts_only_those_asked(
    settings: Settings, db: Database
) -> None:
    conf = settings.model_copy(update={"sla_poll_seconds": 30.0})
    workers = registry.build(conf, db, signer_for(conf), _no_chain)
    assert set(workers.by_name) == set(registry.NAMES)
    try:
        # Intervals of 0 (the test settings) run no thread: the steps are run by hand.
        assert workers.start(["checkpoints", "automation"]) == []
        assert workers.start(["sla"]) == ["sla"]
        assert workers.sla._thread is not None and workers.sla._thread.is_alive()
        assert workers.automation._thread is None
    finally:
        workers.stop()
    assert workers.sla._thread is None


def _no_chain() -> Any:
    raise AssertionError("no chain is opened by these tests")


def test_the_app_starts_every_worker_unless_told_not_to(settings: Settings, db: Database) -> None:
    conf = settings.model_copy(
        update={"sla_poll_seconds": 30.0, "checkpoint_interval_seconds": 30.0}
    )
    with TestClient(create_app(conf, db)) as client:
        services = client.app.state.services  # type: ignore[attr-defined]
        assert services.sla._thread is not None
    assert services.sla._thread is None  # stopped with the app
    with TestClient(create_app(conf, db, run_workers=())) as client:
        services = client.app.state.services  # type: ignore[attr-defined]
        assert services.sla._thread is None and services.automation._thread is None
        assert client.get("/api/v1/health").status_code == 200


def test_serve_no_workers_serves_the_app_without_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    served: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **_: served.append(target))
    env = {"PROOFDESK_DATA_DIR": str(tmp_path), "PROOFDESK_ENV_FILE": str(tmp_path / "none")}
    runner = CliRunner()
    assert runner.invoke(cli, ["serve", "--no-workers"], env=env).exit_code == 0
    assert runner.invoke(cli, ["serve"], env=env).exit_code == 0
    assert served == ["proofdesk.app.asgi_no_workers:app", "proofdesk.app.asgi:app"]


def test_worker_refuses_unknown_names_and_idle_workers_with_exit_2(tmp_path: Path) -> None:
    env = {"PROOFDESK_DATA_DIR": str(tmp_path), "PROOFDESK_ENV_FILE": str(tmp_path / "none")}
    runner = CliRunner()
    result = runner.invoke(cli, ["worker", "--only", "sla,bogus"], env=env)
    assert result.exit_code == 2
    assert "unknown worker bogus" in result.stderr
    assert runner.invoke(cli, ["migrate"], env=env).exit_code == 0
    idle = runner.invoke(
        cli, ["worker", "--only", "anchoring"], env=env | {"PROOFDESK_ANCHOR_EVERY_SECONDS": "0"}
    )
    assert idle.exit_code == 2 and "no worker to run" in idle.stderr
    assert "Traceback" not in result.output + idle.output


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_worker_runs_apart_until_a_signal_then_stops_cleanly(
    tmp_path: Path, signum: signal.Signals
) -> None:
    env = os.environ | {
        "PROOFDESK_DATA_DIR": str(tmp_path),
        "PROOFDESK_ENV_FILE": str(tmp_path / "none"),
        "PROOFDESK_SLA_POLL_SECONDS": "0.1",
        "PROOFDESK_CHECKPOINT_INTERVAL_SECONDS": "0.1",
    }
    command = str(Path(sys.executable).parent / "proofdesk")
    subprocess.run([command, "migrate"], env=env, check=True, capture_output=True, timeout=120)  # noqa: S603
    with subprocess.Popen(  # noqa: S603 - our own command line
        [command, "worker", "--only", "sla,checkpoints"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == "running workers: checkpoints, sla"
        process.send_signal(signum)
        rest, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors
    assert "workers stopped" in rest and "Traceback" not in errors


# -- the work is read outside the writer lock ------------------------------------------------


@contextmanager
def watched_writer(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Make ``db.writer`` record when it is held; yields the flag's stack."""
    held: list[bool] = []
    real = db.writer

    @contextmanager
    def writer() -> Iterator[Any]:
        held.append(True)
        try:
            with real() as session:
                yield session
        finally:
            held.pop()

    monkeypatch.setattr(db, "writer", writer)
    yield held


def spy(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, held: list[bool]) -> list[bool]:
    """Record, for every call of ``module.name``, whether the writer lock was held."""
    calls: list[bool] = []
    real: Callable[..., Any] = getattr(module, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        calls.append(bool(held))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)
    return calls


def sla_policy(db: Database, tenant: Tenant, **fields: Any) -> None:
    values = {
        "name": f"p-{os.urandom(3).hex()}",
        "position": 0,
        "first_response_minutes": 60,
        "warn_before_minutes": 15,
        **fields,
    }
    with db.writer() as session:
        do_create_policy(session, actor_of(tenant.admin, tenant), values)


def ticket_at(db: Database, tenant: Tenant, at: datetime) -> str:
    with db.writer() as session:
        state = do_create_ticket(
            session,
            actor_of(tenant.customer, tenant),
            NewTicket(kind=Kind.QUESTION, subject="Help", body="Please"),
            at=at,
        )
        return state.id


def test_sla_and_checkpoints_compute_outside_the_writer_lock(
    settings: Settings, db: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    sla_policy(db, tenant)
    tid = ticket_at(db, tenant, datetime.now(UTC) - timedelta(hours=2))
    with watched_writer(db, monkeypatch) as held:
        reads = spy(monkeypatch, sla_worker, "read", held)
        drafts = spy(monkeypatch, checkpoint_worker, "draft", held)
        SlaWorker(db, 0).step()
        # The session's own log key: the database is shared, and a checkpoint signed by any
        # other key fails every later audit of it (tests/ledger/test_erase.py).
        CheckpointLoop(db, signer_for(settings), 0).tick()
    assert reads and not any(reads)
    assert drafts and not any(drafts)
    with db.reader() as session:
        types = session.scalars(select(TicketEvent.type).where(TicketEvent.ticket_id == tid))
        assert EventType.SLA_BREACHED.value in list(types)


# -- two workers on one PostgreSQL ------------------------------------------------------------


@pytest.fixture
def two_databases(tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    """Two ``Database`` objects (as two processes would have) on one fresh PostgreSQL database."""
    with two_pg_databases("proofdesk_workers", tmp_path / "data.key") as dbs:
        yield dbs


def test_two_workers_on_one_postgresql_do_each_job_once(
    two_databases: tuple[Database, Database],
) -> None:
    dbs = two_databases
    tenant = make_tenant(dbs[0])
    admin = actor_of(tenant.admin, tenant)
    sla_policy(dbs[0], tenant)
    with dbs[0].writer() as session:
        row, _ = do_publish(session, admin, TAGGER)
        do_activate(session, admin, row.contract_hash)
    signer = Signer.generate("workers.test/log")
    crews = [
        (SlaWorker(db, 0), Automator(db, None, 0, sweep_seconds=0), CheckpointLoop(db, signer, 0))
        for db in dbs
    ]
    crews[0][1].cursor()  # automation starts at the stream's end: the tickets come after
    late = [ticket_at(dbs[0], tenant, datetime.now(UTC) - timedelta(hours=2)) for _ in range(6)]
    fresh = [ticket_at(dbs[0], tenant, datetime.now(UTC)) for _ in range(6)]

    start = threading.Barrier(len(crews))
    failures: list[BaseException] = []

    def work(crew: tuple[SlaWorker, Automator, CheckpointLoop]) -> None:
        try:
            start.wait()
            for _ in range(4):
                for worker in crew:
                    worker.step()
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(crew,)) for crew in crews]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures
    for worker in crews[1]:  # whatever the race left over, one more round finishes it
        worker.step()

    with dbs[0].reader() as session:
        events = session.execute(
            select(
                TicketEvent.ticket_id, TicketEvent.type, TicketEvent.actor_id, TicketEvent.payload
            )
        ).all()
        sizes = session.scalars(select(SignedCheckpoint.size)).all()
        largest = session.scalar(select(func.max(SignedCheckpoint.size)))
        size = log_size(session)
    breaches = Counter(
        (tid, json.loads(payload)["key"])
        for tid, kind, _, payload in events
        if kind == EventType.SLA_BREACHED.value
    )
    assert sorted({tid for tid, _ in breaches}) == sorted(late)
    assert set(breaches.values()) == {1}  # each breach written once
    tagged = Counter(
        tid
        for tid, kind, actor, _ in events
        if kind == EventType.TAGS_CHANGED.value and actor == AUTOMATION_ID
    )
    assert tagged == Counter(fresh)  # each event handled once
    assert len(sizes) == len(set(sizes)) and largest is not None
    CheckpointLoop(dbs[1], signer, 0).tick()
    with dbs[1].reader() as session:
        assert session.scalar(select(func.max(SignedCheckpoint.size))) == log_size(session)
    assert largest <= size


# -- the rooms' imports ------------------------------------------------------------------------

SRC = Path(__file__).resolve().parents[2] / "src" / "proofdesk"


def imported(package: str) -> dict[str, set[str]]:
    """Every ``proofdesk.*`` module imported by each module of ``package`` (at any depth)."""
    import ast

    found: dict[str, set[str]] = {}
    for path in sorted((SRC / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[str(path.relative_to(SRC))] = {n for n in names if n.startswith("proofdesk")}
    return found


@pytest.mark.parametrize(
    ("package", "allowed", "refused"),
    [
        # The SLA computations are pure: no database, no actions, no workers.
        (
            "sla",
            ("proofdesk.sla", "proofdesk.domain", "proofdesk.canonical", "proofdesk.errors"),
            (),
        ),
        # The chain code never reaches up into actions, the workers or an adapter.
        (
            "chain",
            None,
            (
                "proofdesk.actions",
                "proofdesk.workers",
                "proofdesk.api",
                "proofdesk.web",
                "proofdesk.cli",
            ),
        ),
        # The workers stand below every adapter.
        ("workers", None, ("proofdesk.api", "proofdesk.web", "proofdesk.cli", "proofdesk.app")),
    ],
)
def test_the_workers_rooms_import_only_downwards(
    package: str, allowed: tuple[str, ...] | None, refused: tuple[str, ...]
) -> None:
    def within(name: str, packages: tuple[str, ...]) -> bool:
        # Whole module names: proofdesk.webhooks is not inside proofdesk.web.
        return any(name == p or name.startswith(p + ".") for p in packages)

    for module, names in imported(package).items():
        for name in names:
            if allowed is not None:
                assert within(name, allowed), f"{module} imports {name}"
            assert not within(name, refused), f"{module} imports {name}"


def hold_once(target: Any, name: str, barrier: threading.Barrier) -> None:
    """Make the first call of ``target.name`` wait at ``barrier`` after it returns."""
    real = getattr(target, name)
    held = [False]

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        if not held[0]:
            held[0] = True
            barrier.wait(timeout=60)
        return result

    setattr(target, name, wrapped)


@pytest.mark.server
def test_two_anchoring_workers_on_one_postgresql_send_one_transaction_per_batch(
    tmp_path: Path,
) -> None:
    from tests.support.chain import Anvil, SmallLog, anchored_events

    node = Anvil(tmp_path).start()
    try:
        with fresh_pg_database("proofdesk_anchors") as url:
            log = SmallLog.create(tmp_path / "data", database_url=url)
            other = Database(url, keyring=Keyring.from_file(tmp_path / "data" / "data.key"))
            try:
                first = log.anchorer(node.chain(), every_seconds=0)
                second = type(first)(other, node.chain(), log.origin, first.policy)
                size = log.grow(3)
                start, signed = threading.Barrier(2), threading.Barrier(2)
                for anchorer in (first, second):
                    # Both sign before either writes its outbox row: the race at its worst.
                    hold_once(anchorer.chain, "prepare", signed)
                failures: list[BaseException] = []

                def tick(anchorer: Any) -> None:
                    try:
                        start.wait()
                        anchorer.tick(force=True)
                    except BaseException as exc:  # reported by the test below
                        failures.append(exc)

                threads = [threading.Thread(target=tick, args=(a,)) for a in (first, second)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=120)
                assert not failures, failures
                row = log.settle(first)
                second.tick()
                address = first.contract_address()
                assert address is not None
                assert [s for s, _ in anchored_events(first.chain, address)] == [size]
                live = [a for a in log.anchors() if a.status != "failed"]
                assert [(a.tree_size, a.tx_hash) for a in live] == [(size, row.tx_hash)]
            finally:
                other.dispose()
                log.db.dispose()
    finally:
        node.stop()


def test_two_payout_workers_on_one_postgresql_record_each_payout_once(
    two_databases: tuple[Database, Database],
) -> None:
    from proofdesk.canonical import format_time, utc_now
    from proofdesk.store.models import Payout
    from proofdesk.workers.payouts import PayoutWorker

    dbs = two_databases
    tenant = make_tenant(dbs[0])
    tickets = [ticket_at(dbs[0], tenant, datetime.now(UTC)) for _ in range(3)]
    now = format_time(utc_now())
    with dbs[0].writer() as session:
        for i, tid in enumerate(tickets):
            session.add(
                Payout(
                    organization_id=tenant.org_id,
                    ticket_id=tid,
                    decision_seq=0,
                    claim_id=f"0x{i:064x}",
                    kind="reward",
                    customer_id=tenant.customer.user_id,
                    recipient="0x" + "ab" * 20,
                    amount="1",
                    amount_units=str(10**18),
                    status="confirmed" if i else "failed",
                    tx_hash="0x" + f"{i:x}" * 64 if i else None,
                    recorded=False,
                    created_at=now,
                    updated_at=now,
                )
            )
    both_read = threading.Barrier(2)
    workers = [PayoutWorker(db, _no_chain, 0) for db in dbs]  # nothing waits: no chain
    for db in dbs:
        # Both read the unrecorded payouts before either takes the writer lock.
        hold_once(db, "writer", both_read)
    failures: list[BaseException] = []

    def step(worker: PayoutWorker) -> None:
        try:
            worker.step()
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=step, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    with dbs[0].reader() as session:
        recorded = Counter(
            session.scalars(
                select(TicketEvent.ticket_id).where(TicketEvent.type == EventType.PAYOUT.value)
            )
        )
        flags = set(session.scalars(select(Payout.recorded)))
    assert recorded == Counter(tickets) and flags == {True}
