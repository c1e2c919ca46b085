"""Shared fixtures: a throwaway database per backend, the app over it, and tenants to test with.

Every API test runs on SQLite and on PostgreSQL (``backend`` fixture). PostgreSQL comes from
``PROOFDESK_TEST_PG`` (default: the local server); each test session creates its own database
there and drops it at the end. When no server answers the PostgreSQL half is skipped with the
reason shown — unless ``PROOFDESK_REQUIRE_ALL=1``, under which it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from proofdesk.access import Actor
from proofdesk.actions.accounts import do_create_organization, do_create_user
from proofdesk.actions.sessions import do_issue_api_token
from proofdesk.api.app import create_app
from proofdesk.domain.roles import ALL_SCOPES, Role, Scope
from proofdesk.ledger.keys import Keyring
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.migrate import upgrade
from proofdesk.store.models import Team, TeamMember, User

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REQUIRE_ALL = os.environ.get("PROOFDESK_REQUIRE_ALL") == "1"


def unavailable(reason: str) -> None:
    """Skip for a missing server, or fail when CI requires everything to run."""
    if REQUIRE_ALL:
        pytest.fail(f"PROOFDESK_REQUIRE_ALL=1 but {reason}")
    pytest.skip(reason)


@contextmanager
def fresh_pg_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of PROOFDESK_TEST_PG, dropped on exit;
    skipped (or failed, under PROOFDESK_REQUIRE_ALL) when the server does not answer."""
    base = make_url(os.environ.get("PROOFDESK_TEST_PG", DEFAULT_PG))
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(
            base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any failure to reach the server means "not available here"
        unavailable(
            f"PostgreSQL not reachable at {base.render_as_string(hide_password=True)}: "
            f"{type(exc).__name__}"
        )
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
        checkpoint_interval_seconds=0,  # tests sign checkpoints when they want them
        anchor_every_seconds=0,  # and anchor when they want to
        automation_poll_seconds=0,  # and run service contracts when they want to
        sla_poll_seconds=0,  # and SLA sweeps
        automation_sweep_seconds=0,
    )


@pytest.fixture(scope="session")
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db), raise_server_exceptions=False) as c:
        yield c


@dataclass
class Member:
    user_id: str
    role: Role
    token: str
    email: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Tenant:
    """One organization with one user of every role, two customers and a team."""

    org_id: str
    slug: str
    team_id: str
    members: dict[str, Member] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Member:
        try:
            return self.members[name]
        except KeyError:
            raise AttributeError(name) from None


def make_tenant(db: Database, *, password: str | None = None) -> Tenant:
    slug = f"t{uuid.uuid4().hex[:10]}"
    with db.writer() as session:
        org = do_create_organization(session, slug, f"Tenant {slug}")
        team = Team(organization_id=org.id, name="Tier 1", created_at=org.created_at)
        session.add(team)
        session.flush()
        tenant = Tenant(org_id=org.id, slug=slug, team_id=team.id)
        people = [
            ("admin", Role.ADMIN),
            ("supervisor", Role.SUPERVISOR),
            ("agent", Role.AGENT),
            ("agent2", Role.AGENT),
            ("auditor", Role.AUDITOR),
            ("customer", Role.CUSTOMER),
            ("customer2", Role.CUSTOMER),
        ]
        for name, role in people:
            email = f"{name}@{slug}.example"
            user: User = do_create_user(
                session,
                org.id,
                role=role,
                display_name=name,
                email=email,
                password=password if name == "agent" else None,
            )
            _, token = do_issue_api_token(
                session,
                user,
                "test",
                ALL_SCOPES if role is Role.ADMIN else ALL_SCOPES - {Scope.ADMIN},
            )
            tenant.members[name] = Member(user.id, role, token, email)
        for name in ("agent", "agent2", "supervisor"):
            session.add(TeamMember(team_id=team.id, user_id=tenant.members[name].user_id))
    return tenant


@pytest.fixture
def tenant(db: Database) -> Tenant:
    return make_tenant(db)


@pytest.fixture
def other_tenant(db: Database) -> Tenant:
    return make_tenant(db)


def actor_of(member: Member, tenant: Tenant) -> Actor:
    return Actor(member.user_id, tenant.org_id, member.role)


def new_ticket(client: TestClient, member: Member, **fields: object) -> dict[str, object]:
    """Open a ticket through the API; staff open it for ``requester_id`` (default: customer)."""
    body: dict[str, object] = {
        "kind": "question",
        "subject": "Withdrawal pending",
        "body": "My USDT withdrawal has been pending for 3 hours.",
    }
    body.update(fields)
    response = client.post("/api/v1/tickets", json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


@pytest.fixture(scope="session", params=["embedded", "anvil"])
def chain(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A development chain with funded dev accounts: the embedded one, and anvil on loopback.
    The contract suites run on both."""
    from proofdesk.chain.embedded import EmbeddedChain
    from tests.chain_support import Anvil

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
