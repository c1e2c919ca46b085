"""Outbound webhooks delivered to a real receiver on loopback: every delivery verifies with the
``standardwebhooks`` package and, separately, its Ed25519 signature with ``cryptography``;
internal notes go only where ``note.added`` was asked for; a rolled-back change sends nothing;
the retry schedule, ``Retry-After``, 410, a receiver that hangs or answers garbage, a
redirect, and a secret rotation. SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from proofdesk.actions.tickets import NewTicket, do_add_message, do_change_status, do_create_ticket
from proofdesk.actions.webhook_deliveries import RETRY_DELAYS
from proofdesk.domain.tickets import Kind, Status, Visibility
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import Ticket, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from proofdesk.workers.webhooks import WebhookWorker
from tests.support.tenants import Tenant, actor_of
from tests.support.webhooks import (
    GARBAGE,
    HANG,
    Received,
    Receiver,
    WebhookVerificationError,
    receiver_on_loopback,
    subscribe,
    unsubscribe,
    verify_ed25519,
    verify_standard,
    webhook_worker,
)

API = "/api/v1"
PUBLIC_TYPES = ["ticket.created", "message.added", "status.changed", "assignment.changed"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiver_on_loopback() as r:
        yield r


WorkerOf = Callable[..., WebhookWorker]


@pytest.fixture
def worker_of() -> Iterator[WorkerOf]:
    """Makes webhooks workers (``support.webhooks.webhook_worker``), stopped at the end."""
    with ExitStack() as stack:
        yield lambda *args, **kwargs: stack.enter_context(webhook_worker(*args, **kwargs))


@pytest.fixture
def endpoints(db: Database, tenant: Tenant) -> Iterator[list[str]]:
    """Ids of the endpoints a test subscribes; removed afterwards with their outbox."""
    made: list[str] = []
    yield made
    for endpoint_id in made:
        unsubscribe(db, tenant, endpoint_id)


def hook(
    db: Database, tenant: Tenant, endpoints: list[str], url: str, types: list[str]
) -> tuple[str, str]:
    endpoint_id, secret = subscribe(db, tenant, url, types)
    endpoints.append(endpoint_id)
    return endpoint_id, secret


def ticket_with_a_note(db: Database, tenant: Tenant, note: str) -> str:
    """A customer's ticket with an agent's public reply, an internal note, and solved."""
    with db.writer() as session:
        state = do_create_ticket(
            session,
            actor_of(tenant.customer, tenant),
            NewTicket(kind=Kind.QUESTION, subject="Deposit missing", body="Where is my USDT?"),
        )
        ticket_id = state.id
    agent = actor_of(tenant.agent, tenant)
    for body, visibility in (("We are on it.", Visibility.PUBLIC), (note, Visibility.INTERNAL)):
        with db.writer() as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            do_add_message(session, agent, ticket, body=body, visibility=visibility)
    with db.writer() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        do_change_status(session, agent, ticket, Status.SOLVED)
    return ticket_id


def deliveries(db: Database, endpoint_id: str) -> list[WebhookDelivery]:
    with db.reader() as session:
        return list(
            session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.endpoint_id == endpoint_id)
                .order_by(WebhookDelivery.event_seq)
            )
        )


def attempts_of(db: Database, delivery_id: str) -> list[WebhookAttempt]:
    with db.reader() as session:
        return list(
            session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id == delivery_id)
                .order_by(WebhookAttempt.attempted_at)
            )
        )


def public_key(client: TestClient) -> str:
    r = client.get(f"{API}/webhooks/signing-key")
    assert r.status_code == 200, r.text
    assert r.json()["algorithm"] == "ed25519"
    return str(r.json()["public_key"])


def test_every_delivery_verifies_and_no_internal_note_leaves(
    client: TestClient,
    db: Database,
    settings: Settings,
    tenant: Tenant,
    receiver: Receiver,
    endpoints: list[str],
    worker_of: WorkerOf,
) -> None:
    note = "Internal: the customer is on a sanctions watch list"
    public_id, secret = hook(db, tenant, endpoints, receiver.url + "/hook", PUBLIC_TYPES)
    staff_id, staff_secret = hook(db, tenant, endpoints, receiver.url + "/staff", ["note.added"])
    ticket_id = ticket_with_a_note(db, tenant, note)
    worker = worker_of(db, settings)
    while worker.step():
        pass
    key = public_key(client)

    public = sorted(receiver.at("/hook"), key=lambda r: int(r.webhook_id))  # sent in parallel
    assert [verify_standard(secret, r)["type"] for r in public] == [
        "ticket.created",
        "message.added",
        "message.added",
        "status.changed",
    ]
    assert all(verify_ed25519(key, r) for r in public)
    for got in public:
        with pytest.raises(WebhookVerificationError):  # another endpoint's secret does not sign
            verify_standard(staff_secret, got)
        assert note not in got.body.decode()
        assert "internal" not in got.body.decode()
    payloads = [json.loads(r.body) for r in public]
    assert {p["data"]["ticket_id"] for p in payloads} == {ticket_id}
    assert [p["data"]["body"] for p in payloads[1:3]] == ["Where is my USDT?", "We are on it."]
    assert payloads[0]["data"]["subject"] == "Deposit missing"
    assert payloads[3]["data"]["to"] == "solved"
    # webhook-id is the event's log index, the payload's seq.
    assert [r.webhook_id for r in public] == [str(p["data"]["seq"]) for p in payloads]
    assert all(p["timestamp"] == p["data"]["occurred_at"] for p in payloads)

    staff = receiver.at("/staff")
    assert len(staff) == 1
    assert verify_standard(staff_secret, staff[0])["data"]["body"] == note
    assert verify_ed25519(key, staff[0])
    assert {d.status for d in deliveries(db, public_id) + deliveries(db, staff_id)} == {"delivered"}


def test_a_tampered_delivery_fails_both_verifications(
    client: TestClient,
    db: Database,
    settings: Settings,
    tenant: Tenant,
    receiver: Receiver,
    endpoints: list[str],
    worker_of: WorkerOf,
) -> None:
    _, secret = hook(db, tenant, endpoints, receiver.url + "/hook", ["ticket.created"])
    ticket_with_a_note(db, tenant, "n")
    worker_of(db, settings).step()
    (got,) = receiver.at("/hook")
    key = public_key(client)
    forged = Received(got.path, got.headers, got.body.replace(b"Deposit", b"Refund!"))
    with pytest.raises(WebhookVerificationError):
        verify_standard(secret, forged)
    assert not verify_ed25519(key, forged)
    assert verify_ed25519(key, got)


def test_a_rolled_back_change_queues_and_sends_nothing(
    db: Database,
    settings: Settings,
    tenant: Tenant,
    receiver: Receiver,
    endpoints: list[str],
    worker_of: WorkerOf,
) -> None:
    endpoint_id, _ = hook(db, tenant, endpoints, receiver.url + "/hook", PUBLIC_TYPES)

    class Boom(Exception):
        pass

    def change_then_fail() -> None:
        with db.writer() as session:
            do_create_ticket(
                session,
                actor_of(tenant.customer, tenant),
                NewTicket(kind=Kind.QUESTION, subject="Never", body="Rolled back"),
            )
            session.flush()
            queued = select(func.count()).where(WebhookDelivery.endpoint_id == endpoint_id)
            assert session.scalar(queued) == 2  # the ticket and its first message
            raise Boom

    with pytest.raises(Boom):
        change_then_fail()
    assert deliveries(db, endpoint_id) == []
    worker_of(db, settings).step()
    assert receiver.at("/hook") == []


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def failing(status: int, headers: dict[str, str] | None = None) -> Callable[[Received], Any]:
    def answer(_: Received) -> tuple[int, dict[str, str], bytes]:
        return status, headers or {}, b"nope"

    return answer


def one_created(db: Database, tenant: Tenant) -> None:
    with db.writer() as session:
        do_create_ticket(
            session,
            actor_of(tenant.customer, tenant),
            NewTicket(kind=Kind.QUESTION, subject="Retry me", body="Please"),
        )


def test_failures_follow_the_standard_schedule_then_fail(
    db: Database,
    settings: Settings,
    tenant: Tenant,
    receiver: Receiver,
    endpoints: list[str],
    worker_of: WorkerOf,
) -> None:
    endpoint_id, _ = hook(db, tenant, endpoints, receiver.url + "/hook", ["ticket.created"])
    receiver.answer = failing(500)
    one_created(db, tenant)
    clock = Clock()
    clock.advance(timedelta(seconds=1))
    worker = worker_of(db, settings, now=clock)
    worker.step()
    assert len(receiver.at("/hook")) == 1  # at once
    for done, delay in enumerate(RETRY_DELAYS, start=1):
        clock.advance(delay - timedelta(seconds=1))
        worker.step()
        assert len(receiver.at("/hook")) == done  # not yet
        clock.advance(timedelta(seconds=1))
        worker.step()
        assert len(receiver.at("/hook")) == done + 1
    (delivery,) = deliveries(db, endpoint_id)
    assert delivery.status == "failed" and delivery.attempts == 8
    assert delivery.last_status_code == 500
    attempts = attempts_of(db, delivery.id)
    gaps = [b.attempted_at - a.attempted_at for a, b in itertools.pairwise(attempts)]
    assert gaps == list(RETRY_DELAYS)
    clock.advance(timedelta(days=3))
    worker.step()
    assert len(receiver.at("/hook")) == 8  # failed is final until someone redelivers
    assert len({r.webhook_id for r in receiver.at("/hook")}) == 1  # one id for every retry


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_retry_after_pushes_the_next_attempt_later(
    db: Database,
    settings: Settings,
    tenant: Tenant,
    receiver: Receiver,
    endpoints: list[str],
    worker_of: WorkerOf,
    form: str,
) -> None:
    endpoint_id, _ = hook(db, tenant, endpoints, receiver.url + "/hook", ["ticket.created"])
    clock = Clock()
    wait = timedelta(minutes=20)  # the schedule alone would try again after 5 s
    value = "1200" if form == "seconds" else format_datetime(clock.now + wait, usegmt=True)
    receiver.answer = failing(503, {"Retry-After": value})
    one_created(db, tenant)
    clock.advance(timedelta(seconds=1))
    worker = worker_of(db, settings, now=clock)
    worker.step()
    clock.advance(wait - timedelta(seconds=5))
    worker.step()
    assert len(receiver.at("/hook")) == 1
    receiver.answer = failing(200)
    clock.advance(timedelta(seconds=10))
    worker.step()
    assert len(receiver.at("/hook")) == 2
    assert deliveries(db, endpoint_id)[0].status == "delivered"


def test_410_disables_the_endpoint(
    db: Database,
    settings: Settings,
    tenant: Tenant,
    receiver: Receiver,
    endpoints: list[str],
    worker_of: WorkerOf,
) -> None:
    endpoint_id, _ = hook(db, tenant, endpoints, receiver.url + "/hook", ["ticket.created"])
    receiver.answer = failing(410)
    one_created(db, tenant)
    worker = worker_of(db, settings)
    worker.step()
    with db.reader() as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None
        assert (endpoint.enabled, endpoint.disabled_reason) == (False, "gone")
    assert deliveries(db, endpoint_id)[0].status == "failed"
    one_created(db, tenant)  # a disabled endpoint gets no new rows
    assert len(deliveries(db, endpoint_id)) == 1
    worker.step()
    assert len(receiver.at("/hook")) == 1


@pytest.mark.parametrize("answer", [HANG, GARBAGE])
def test_a_receiver_that_hangs_or_answers_garbage_is_bounded_and_retried(
    db: Database,
    settings: Settings,
    tenant: Tenant,
    receiver: Receiver,
    endpoints: list[str],
    worker_of: WorkerOf,
    answer: str,
) -> None:
    endpoint_id, _ = hook(db, tenant, endpoints, receiver.url + "/hook", ["ticket.created"])
    receiver.answer = lambda _: answer
    receiver.hang_seconds = 4.0
    one_created(db, tenant)
    clock = Clock()
    worker = worker_of(db, settings, timeout=1.0, now=clock)
    assert worker.step() >= 1  # no exception reaches the worker
    (delivery,) = deliveries(db, endpoint_id)
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_status_code is None and delivery.last_error
    if answer == HANG:
        assert "timed out" in delivery.last_error
        assert attempts_of(db, delivery.id)[0].duration_ms < 3500  # cut at the timeout
    receiver.answer = failing(204)
    clock.advance(timedelta(seconds=6))
    worker.step()
    assert deliveries(db, endpoint_id)[0].status == "delivered"


def test_redirects_are_not_followed(
    db: Database,
    settings: Settings,
    tenant: Tenant,
    receiver: Receiver,
    endpoints: list[str],
    worker_of: WorkerOf,
) -> None:
    endpoint_id, _ = hook(db, tenant, endpoints, receiver.url + "/hook", ["ticket.created"])
    receiver.answer = failing(307, {"Location": receiver.url + "/elsewhere"})
    one_created(db, tenant)
    worker_of(db, settings).step()
    assert receiver.at("/elsewhere") == []
    (delivery,) = deliveries(db, endpoint_id)
    assert (delivery.status, delivery.last_status_code) == ("pending", 307)


def test_during_a_rotation_old_and_new_secrets_both_verify(
    client: TestClient,
    db: Database,
    settings: Settings,
    tenant: Tenant,
    receiver: Receiver,
    endpoints: list[str],
    worker_of: WorkerOf,
) -> None:
    endpoint_id, old = hook(db, tenant, endpoints, receiver.url + "/hook", ["ticket.created"])
    r = client.post(
        f"{API}/webhooks/endpoints/{endpoint_id}/rotate-secret", headers=tenant.admin.headers
    )
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new.startswith("whsec_") and new != old
    one_created(db, tenant)
    worker = worker_of(db, settings)
    worker.step()
    (got,) = receiver.at("/hook")
    assert verify_standard(old, got)["type"] == "ticket.created"
    assert verify_standard(new, got)["type"] == "ticket.created"
    assert [s.split(",")[0] for s in got.headers["webhook-signature"].split(" ")] == [
        "v1",
        "v1",
        "v1a",
    ]
    with db.writer() as session:  # the grace period ends
        row = session.get(WebhookEndpoint, endpoint_id)
        assert row is not None
        row.previous_expires_at = datetime.now(UTC) - timedelta(seconds=1)
    receiver.clear()
    one_created(db, tenant)
    worker.step()
    (got,) = receiver.at("/hook")
    verify_standard(new, got)
    with pytest.raises(WebhookVerificationError):
        verify_standard(old, got)
