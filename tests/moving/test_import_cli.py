"""``proofdesk import`` as a command in a process of its own: a bad file exits 2 and writes
nothing, and a run killed half way (SIGKILL) is finished by the next one, with nothing
duplicated and nothing missing. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from proofdesk.store.models import ImportedRecord, Message, Ticket
from tests.support import helpdesks
from tests.support.environment import fresh_pg_database
from tests.support.server import Deployment, environment, proofdesk

TICKETS = 300


@pytest.fixture(params=["sqlite", "pg"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    if request.param == "sqlite":
        yield Deployment(tmp_path, f"sqlite:///{tmp_path / 'proofdesk.db'}")
        return
    with fresh_pg_database("proofdesk_import") as url:
        yield Deployment(tmp_path, url)


def _setup(where: Deployment) -> None:
    proofdesk(where, "migrate")
    proofdesk(where, "org", "create", "acme")


def _counts(where: Deployment) -> tuple[int, int, int]:
    engine = create_engine(where.url)
    try:
        with engine.connect() as conn:
            tickets = conn.scalar(select(func.count()).select_from(Ticket))
            messages = conn.scalar(select(func.count()).select_from(Message))
            records = conn.scalar(
                select(func.count())
                .select_from(ImportedRecord)
                .where(ImportedRecord.kind == "ticket")
            )
    finally:
        engine.dispose()
    return int(tickets or 0), int(messages or 0), int(records or 0)


def test_a_bad_file_exits_2_and_writes_nothing(where: Deployment, tmp_path: Path) -> None:
    _setup(where)
    desk = helpdesks.generate(10)
    path = helpdesks.export(desk, "zendesk", tmp_path / "export")
    with path.open("a", encoding="utf-8") as out:
        out.write('{"id": 99, "status": "open", "requester_id": 1, "comments": "no"}\n')
    result = proofdesk(where, "import", "zendesk", str(path), "--org", "acme", check=False)
    assert result.returncode == 2, result.stderr
    assert "comments" in result.stderr and "Traceback" not in result.stderr
    assert _counts(where) == (0, 0, 0)
    missing = proofdesk(
        where, "import", "csv", str(tmp_path / "nope.csv"), "--org", "acme", check=False
    )
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_a_killed_import_is_finished_by_the_next_run(where: Deployment, tmp_path: Path) -> None:
    _setup(where)
    desk = helpdesks.generate(TICKETS)
    path = helpdesks.export(desk, "zendesk", tmp_path / "export")
    command = [str(Path(sys.executable).parent / "proofdesk"), "import", "zendesk", str(path)]
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [*command, "--org", "acme"],
        env=environment(where),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while _counts(where)[0] < 20 and time.monotonic() < deadline:
            assert process.poll() is None, "the import ended before it could be killed"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    killed = _counts(where)
    assert 20 <= killed[0] < TICKETS and killed[0] == killed[2]  # whole tickets only
    done = proofdesk(where, "import", "zendesk", str(path), "--org", "acme")
    assert "tickets created" in done.stdout
    comments = sum(len(t.comments) for t in desk.tickets)
    merge_notes = sum(1 for t in desk.tickets if t.merged_into is not None)
    tickets, messages, records = _counts(where)
    assert (tickets, records) == (TICKETS, TICKETS)
    assert messages == comments + merge_notes
    engine = create_engine(where.url)
    try:
        with engine.connect() as conn:
            numbers = conn.execute(text("SELECT number FROM tickets ORDER BY number")).scalars()
            assert list(numbers) == list(range(1, TICKETS + 1))
    finally:
        engine.dispose()
    again = proofdesk(where, "import", "zendesk", str(path), "--org", "acme")
    assert _counts(where) == (tickets, messages, records)
    assert "unchanged" in again.stdout
