"""A witness's refusal that means a split view is loud: kept, logged at ERROR, shown on the
admin page until the witness cosigns again."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from proofdesk.actions.witnessing import do_raise_witness_alert, do_record_cosignature
from proofdesk.domain.roles import Role
from proofdesk.store.db import Database
from proofdesk.store.models import LogWitness
from tests.support.tenants import Tenant
from tests.support.web import staff_browser

KEY = "w.example/witness+00000000+BAAA"
URL = "http://w.example/api/v1/witness"


def test_an_alert_is_logged_and_shown_on_the_admin_page_until_cosigned(
    client: TestClient, db: Database, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    with db.writer() as session:
        session.execute(delete(LogWitness).where(LogWitness.key == KEY))
    with caplog.at_level(logging.ERROR, logger="proofdesk.witnessing"), db.writer() as session:
        do_raise_witness_alert(session, KEY, URL, 12, "it holds another root for our size 12")
    assert any("another root" in r.getMessage() for r in caplog.records)
    with db.writer() as session:  # the same episode: updated, not repeated
        again = do_raise_witness_alert(session, KEY, URL, 13, "it holds another root for 13")
    assert again is None
    web = staff_browser(client, db, tenant, Role.ADMIN, f"root@{tenant.slug}.example")
    page = web.get("/admin").text
    assert f"Witness {URL} refused our checkpoint" in page
    assert "it holds another root for 13" in page
    with db.writer() as session:
        do_record_cosignature(session, KEY, URL, 13, "\u2014 w.example/witness AAAA\n", 1)
    assert "refused our checkpoint" not in web.get("/admin").text
