"""What the machine must provide (a PostgreSQL server, anvil, a browser), and what a test does
when it does not: skip with the reason shown, or fail when CI sets ``PROOFDESK_REQUIRE_ALL=1``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from proofdesk.ledger.keys import Keyring
from proofdesk.store.db import Database
from proofdesk.store.migrate import upgrade

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


@contextmanager
def two_pg_databases(prefix: str, data_key: Path) -> Iterator[tuple[Database, Database]]:
    """Two ``Database`` objects (as two processes would have) on one fresh, migrated
    PostgreSQL database, sealing under the data key at ``data_key``."""
    with fresh_pg_database(prefix) as url:
        first, second = (Database(url, keyring=Keyring.from_file(data_key)) for _ in range(2))
        upgrade(first)
        try:
            yield first, second
        finally:
            first.dispose()
            second.dispose()
