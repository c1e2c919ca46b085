"""Pushed live updates: a client waiting for a ticket's next change (the long poll, as the
widget and the pages' streams wait) is woken by the commit that changes it — in this process
at once, from another process through the change feed's follower — and not by what a failed
write did or another ticket's change. Nothing polls per viewer any more: without the push the
wait would last its whole 25 s, so an answer within a few seconds is the push's doing."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from fastapi.testclient import TestClient

from proofdesk.access import access_ticket
from proofdesk.actions.tickets import do_add_message
from proofdesk.domain.tickets import Visibility
from proofdesk.errors import InvalidInput
from proofdesk.store.db import Database
from tests.support.tenants import Tenant, actor_of, new_ticket

#: Far below the 25 s wait, far above the follower's one second.
WOKEN_WITHIN = 10.0


def waiting(
    client: TestClient, tenant: Tenant, ticket_id: str, after: int
) -> tuple[threading.Thread, list[Any]]:
    answers: list[Any] = []
    thread = threading.Thread(
        target=lambda: answers.append(
            client.get(
                f"/api/v1/tickets/{ticket_id}/changes",
                params={"after": after, "wait": 25},
                headers=tenant.customer.headers,
            )
        ),
        daemon=True,
    )
    thread.start()
    time.sleep(0.5)  # the wait has begun
    return thread, answers


def last_seq(client: TestClient, tenant: Tenant, ticket_id: str) -> int:
    answer = client.get(f"/api/v1/tickets/{ticket_id}/changes", headers=tenant.customer.headers)
    return int(answer.json()["last_seq"])


def reply(db: Database, tenant: Tenant, ticket_id: str, body: str, fail: bool = False) -> None:
    actor = actor_of(tenant.agent, tenant)
    with db.writer() as session:
        ticket = access_ticket(session, actor, ticket_id, write=True, lock=True)
        do_add_message(session, actor, ticket, body=body, visibility=Visibility.PUBLIC)
        if fail:
            raise InvalidInput("changed my mind")


def test_another_processs_commit_wakes_the_waiting_client(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    ticket = new_ticket(client, tenant.customer)
    seq = last_seq(client, tenant, str(ticket["id"]))
    thread, answers = waiting(client, tenant, str(ticket["id"]), seq)
    # Another process: an engine of its own on the same database, whose commits this app's
    # feed never hears of directly.
    other = Database(db.url, keyring=db.keyring)
    try:
        reply(other, tenant, str(ticket["id"]), "From the worker process.")
    finally:
        other.dispose()
    thread.join(timeout=WOKEN_WITHIN)
    assert not thread.is_alive(), "not woken: the follower did not see the other process"
    assert answers[0].json()["last_seq"] > seq


def test_a_rolled_back_write_and_another_ticket_wake_nobody(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    mine, theirs = new_ticket(client, tenant.customer), new_ticket(client, tenant.customer)
    seq = last_seq(client, tenant, str(mine["id"]))
    thread, answers = waiting(client, tenant, str(mine["id"]), seq)
    with contextlib.suppress(InvalidInput):
        reply(db, tenant, str(mine["id"]), "Never sent.", fail=True)
    reply(db, tenant, str(theirs["id"]), "For the other ticket.")
    thread.join(timeout=3)
    assert thread.is_alive()  # still waiting: nothing of its own changed
    reply(db, tenant, str(mine["id"]), "Now for this one.")
    thread.join(timeout=WOKEN_WITHIN)
    assert not thread.is_alive()
    assert answers[0].json()["last_seq"] > seq
