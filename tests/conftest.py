"""Shared fixtures: a throwaway database per backend, the app over it, tenants, chains.

Every API test runs on SQLite and on PostgreSQL (``backend`` fixture). PostgreSQL comes from
``PROOFDESK_TEST_PG`` (default: the local server); each test session creates its own database
there and drops it at the end. When no server answers the PostgreSQL half is skipped with the
reason shown — unless ``PROOFDESK_REQUIRE_ALL=1``, under which it fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proofdesk.app.factory import create_app
from proofdesk.chain.embedded import EmbeddedChain
from proofdesk.ledger.keys import Keyring
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.migrate import upgrade
from tests.support.chain import Anvil
from tests.support.environment import fresh_pg_database, unavailable
from tests.support.tenants import Member, Tenant, actor_of, make_tenant, new_ticket

# Test files once imported these helpers from here; they live in tests/support/ now, and the
# names stay importable so that such a file on another branch still works after a merge.
__all__ = ["Member", "Tenant", "actor_of", "make_tenant", "new_ticket", "unavailable"]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (and this xdist worker)."""
    with fresh_pg_database("proofdesk_test") as url:
        yield url


@pytest.fixture(scope="session", params=["sqlite", "pg"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path]:
    """(database URL, data dir) of a migrated database, shared by the tests of a session."""
    # The same directory each time pytest re-creates this fixture (it does when tests switch
    # between parameters): the PostgreSQL database outlives it, and its tickets are sealed under
    # the data key kept here.
    data_dir = tmp_path_factory.getbasetemp() / f"data-{request.param}"
    data_dir.mkdir(exist_ok=True)
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'proofdesk.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    db = Database(url)
    upgrade(db)
    db.dispose()
    return url, data_dir


@pytest.fixture(scope="session")
def db(backend: tuple[str, Path]) -> Iterator[Database]:
    database = Database(backend[0], keyring=Keyring.from_file(backend[1] / "data.key"))
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def settings(backend: tuple[str, Path]) -> Settings:
    return Settings(
        data_dir=backend[1],
        database_url=backend[0],
        attachment_max_bytes=200_000,
        login_rate_per_minute=1000,
        # Tests make many requests from one address; test_abuse_limits.py lowers these.
        public_rate_per_minute=100_000,
        webhook_rate_per_minute=100_000,
        assistant_rate_per_minute=100_000,
        assistant_account_rate_per_minute=100_000,
        checkpoint_interval_seconds=0,  # tests sign checkpoints when they want them
        anchor_every_seconds=0,  # and anchor when they want to
        automation_poll_seconds=0,  # and run service contracts when they want to
        sla_poll_seconds=0,  # and SLA sweeps
        assistant_rebuild_seconds=0,  # and a changed knowledge base is rebuilt on the spot
        automation_sweep_seconds=0,
        webhooks_poll_seconds=0,  # and send webhooks when they want to
        webhooks_allow_private=True,  # to receivers on loopback
        mail_poll_seconds=0,  # and poll mailboxes
        mail_outbox_seconds=0,  # and send the outbox
        transfers_poll_seconds=0,  # and deliver transfer updates
        transfers_allow_private=True,  # to partners on loopback
        telegram_poll_seconds=0,  # and poll and send for Telegram bots
        telegram_outbox_seconds=0,
        telegram_rate_per_minute=100_000,
    )


@pytest.fixture(scope="session")
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def tenant(db: Database) -> Tenant:
    return make_tenant(db)


@pytest.fixture
def other_tenant(db: Database) -> Tenant:
    return make_tenant(db)


@pytest.fixture(scope="session", params=["embedded", "anvil"])
def chain(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A development chain with funded dev accounts: the embedded one, and anvil on loopback.
    The contract suites run on both."""
    workdir = tmp_path_factory.mktemp(f"chain-{request.param}")
    if request.param == "embedded":
        embedded = EmbeddedChain(workdir / "evm.sqlite3")
        yield embedded
        embedded.close()
        return
    node = Anvil(workdir, state=False).start()
    try:
        yield node.chain()
    finally:
        node.stop()
