"""The event store on both backends: rebuild reproduces the projections, sequence numbers stay
gap-free under concurrent writers, and a failed action leaves nothing behind.

The ``db`` fixture is shared by the whole test session (and by other test files), so checks on
the global stream (``seq`` gap-free, ``check_projections``) are stated so that they hold
whatever else has been written, and per-tenant checks use a fresh tenant.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select, update

from proofdesk.access import Actor, access_ticket
from proofdesk.actions.rebuild import do_rebuild_all as rebuild_all
from proofdesk.actions.tickets import (
    NewTicket,
    do_add_message,
    do_assign,
    do_change_status,
    do_change_tags,
    do_create_ticket,
    do_merge,
    do_update_fields,
)
from proofdesk.domain.tickets import TRANSITIONS, Kind, Priority, Status, Visibility
from proofdesk.errors import Error, InvalidInput
from proofdesk.store.db import Database
from proofdesk.store.models import Attachment, LogHead, Message, Ticket, TicketEvent, TicketTag
from proofdesk.store.projections import check_projections
from tests.support.tenants import Tenant, actor_of, make_tenant, new_ticket

#: A status move: a literal target (often refused by the table), or an index into the targets
#: the table allows from wherever the ticket is when the move runs (so that most moves apply).
moves = st.sampled_from(list(Status)) | st.integers(0, 3)
tag_lists = st.lists(st.sampled_from(["vip", "refund", "usdt", "bridge", "kyc"]), max_size=3)
ticket_ix = st.integers(0, 7)

#: One action, as data: (name, *arguments). Ticket indices wrap around the tickets created.
operations = st.one_of(
    st.tuples(
        st.just("create"), st.sampled_from(["customer", "customer2", "agent", "agent"]), tag_lists
    ),
    st.tuples(
        st.just("reply"),
        ticket_ix,
        st.sampled_from(["customer", "customer2", "agent", "agent2"]),
        st.none() | moves,
    ),
    st.tuples(st.just("note"), ticket_ix, st.sampled_from(["agent", "supervisor"])),
    st.tuples(
        st.just("status"), ticket_ix, st.sampled_from(["customer", "agent", "agent2"]), moves
    ),
    st.tuples(st.just("assign"), ticket_ix, st.sampled_from([None, "agent", "agent2"])),
    st.tuples(st.just("tags"), ticket_ix, tag_lists, tag_lists),
    st.tuples(
        st.just("fields"),
        ticket_ix,
        st.sampled_from(["subject", "priority", "kind", "chain_id", "category", "order_id"]),
        st.integers(1, 4),
    ),
    st.tuples(st.just("merge"), ticket_ix, ticket_ix),
)


def new_ticket_spec(tenant: Tenant, creator: str, tags: list[str]) -> NewTicket:
    staff = creator not in ("customer", "customer2")
    return NewTicket(
        kind=Kind.TRANSACTION_PROBLEM,
        subject=f"Stuck withdrawal ({creator})",
        body="My USDT withdrawal has been pending for 3 hours.",
        tags=tags if staff else [],
        requester_id=tenant.customer.user_id if staff else None,
    )


def field_value(name: str, n: int) -> Any:
    return {
        "priority": list(Priority)[n % len(Priority)].value,
        "kind": list(Kind)[n % len(Kind)].value,
        "chain_id": n,
        "category": f"cat-{n}",
        "order_id": f"ORD-{n}",
    }.get(name, f"Subject {n}")


def resolve(move: Status | int | None, ticket: Ticket) -> Status | None:
    if move is None or isinstance(move, Status):
        return move
    allowed = sorted(TRANSITIONS[Status(ticket.status)])
    return allowed[move % len(allowed)] if allowed else Status.OPEN  # closed: refused


def perform(db: Database, tenant: Tenant, tickets: list[str], op: tuple[Any, ...]) -> None:
    """Run one operation in its own write transaction, as a route would."""
    name, *args = op
    if name == "create":
        creator, tags = args
        actor = actor_of(tenant.members[creator], tenant)
        with db.writer() as session:
            tickets.append(
                do_create_ticket(session, actor, new_ticket_spec(tenant, creator, tags)).id
            )
        return
    if not tickets:
        return
    who = {"reply": args[1], "note": args[1], "status": args[1]}.get(name, "agent")
    actor = actor_of(tenant.members[who], tenant)
    with db.writer() as session:
        ticket = access_ticket(
            session, actor, tickets[args[0] % len(tickets)], write=True, lock=True
        )
        if name == "reply":
            target = resolve(args[2], ticket)
            do_add_message(session, actor, ticket, body="Any news?", status=target)
        elif name == "note":
            do_add_message(session, actor, ticket, body="VIP", visibility=Visibility.INTERNAL)
        elif name == "status":
            do_change_status(session, actor, ticket, resolve(args[2], ticket) or Status.OPEN)
        elif name == "assign":
            assignee = None if args[1] is None else tenant.members[args[1]].user_id
            do_assign(session, actor, ticket, assignee_id=assignee, team_id=tenant.team_id)
        elif name == "tags":
            do_change_tags(session, actor, ticket, add=args[1], remove=args[2])
        elif name == "fields":
            do_update_fields(session, actor, ticket, {args[1]: field_value(args[1], args[2])})
        elif name == "merge":
            into = access_ticket(
                session, actor, tickets[args[1] % len(tickets)], write=True, lock=True
            )
            do_merge(session, actor, ticket, into)


def snapshot(db: Database, org_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every projection row of one organization, as plain dicts in a stable order."""
    with db.reader() as session:
        tickets = session.execute(
            select(Ticket.__table__).where(Ticket.organization_id == org_id).order_by(Ticket.id)
        ).mappings()
        rows = [dict(r) for r in tickets]
        ids = [r["id"] for r in rows]
        tags = session.execute(
            select(TicketTag.__table__)
            .where(TicketTag.ticket_id.in_(ids))
            .order_by(TicketTag.ticket_id, TicketTag.tag)
        ).mappings()
        messages = session.execute(
            select(Message.__table__).where(Message.ticket_id.in_(ids)).order_by(Message.seq)
        ).mappings()
        return {
            "tickets": rows,
            "ticket_tags": [dict(r) for r in tags],
            "messages": [dict(r) for r in messages],
        }


# --- (a) rebuild -----------------------------------------------------------------------------


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operations, max_size=25))
def test_rebuild_reproduces_projections(db: Database, ops: list[tuple[Any, ...]]) -> None:
    tenant = make_tenant(db)
    tickets: list[str] = []
    for op in [("create", "customer", []), ("create", "agent", ["vip"]), *ops]:
        try:
            perform(db, tenant, tickets, op)
        except Error as exc:  # e.g. a move the table forbids; the writer rolled it back
            event(f"{op[0]} refused: {exc.code}")
        else:
            event(f"{op[0]} applied")
    assert tickets, "the first create always succeeds"
    assert check_projections(db) == []
    before = snapshot(db, tenant.org_id)
    assert len(before["tickets"]) == len(tickets)
    rebuild_all(db)
    assert snapshot(db, tenant.org_id) == before
    assert check_projections(db) == []


def _open_solved_ticket(db: Database, tenant: Tenant) -> str:
    agent = actor_of(tenant.agent, tenant)
    with db.writer() as session:
        state = do_create_ticket(session, agent, new_ticket_spec(tenant, "agent", ["vip", "kyc"]))
    with db.writer() as session:
        ticket = access_ticket(session, agent, state.id, write=True, lock=True)
        do_add_message(session, agent, ticket, body="Fixed on our side.", status=Status.SOLVED)
    return state.id


#: A damaged projection row -> what ``check_projections`` says about it.
TAMPERINGS: dict[str, Any] = {
    "ticket status": update(Ticket).values(status="open"),
    "ticket solved_at": update(Ticket).values(solved_at=None),
    "message body": update(Message).values(body="x"),
    "message author_role": update(Message).values(author_role="admin"),
    "message row": delete(Message),
    "ticket_tags row": delete(TicketTag).where(TicketTag.tag == "vip"),
    "ticket_tags extra": insert(TicketTag).values(tag="x"),
}


def _tamper(name: str, ticket_id: str) -> tuple[Any, str]:
    """The statement for one ticket, and the start of the problem it must cause."""
    statement = TAMPERINGS[name]
    if name.startswith("ticket_tags"):
        if name.endswith("extra"):
            return statement.values(ticket_id=ticket_id), f"ticket {ticket_id}: tag "
        return statement.where(TicketTag.ticket_id == ticket_id), f"ticket {ticket_id}: tag "
    if name.startswith("message"):
        return statement.where(Message.ticket_id == ticket_id), "message "
    return statement.where(Ticket.id == ticket_id), f"ticket {ticket_id}: differs"


@pytest.mark.parametrize("tamper", list(TAMPERINGS))
def test_tampered_projection_is_reported_and_rebuilt(db: Database, tamper: str) -> None:
    tenant = make_tenant(db)
    ticket_id = _open_solved_ticket(db, tenant)
    assert check_projections(db) == []
    good = snapshot(db, tenant.org_id)
    assert good["tickets"][0]["status"] == "solved"
    statement, expected = _tamper(tamper, ticket_id)
    try:
        with db.writer() as session:
            session.execute(statement)
        problems = check_projections(db)
    finally:
        rebuild_all(db)  # repair even on failure: the database is shared by the session
    assert problems, "tampering went unnoticed"
    assert all(p.startswith(expected) for p in problems), problems
    assert check_projections(db) == []
    assert snapshot(db, tenant.org_id) == good


EVENT_CORRUPTIONS = {
    "payload not JSON": ("payload", "{not json"),
    "unknown type": ("type", "ticket.exploded"),
    "payload missing a key": ("payload", '{"body":"x"}'),
}


@pytest.mark.parametrize("corruption", list(EVENT_CORRUPTIONS))
def test_corrupt_event_is_reported_not_raised(db: Database, corruption: str) -> None:
    """``rebuild --check`` reports a damaged event row instead of raising, whatever the damage.
    The row is the source of truth, so it is put back afterwards for the rest of the session."""
    tenant = make_tenant(db)
    ticket_id = _open_solved_ticket(db, tenant)
    column, value = EVENT_CORRUPTIONS[corruption]
    where = (TicketEvent.ticket_id == ticket_id, TicketEvent.ticket_seq == 2)
    with db.reader() as session:
        row = session.scalars(select(TicketEvent).where(*where)).one()
        seq, original = row.seq, getattr(row, column)
    try:
        with db.writer() as session:
            session.execute(update(TicketEvent).where(*where).values({column: value}))
        problems = check_projections(db)
    finally:
        with db.writer() as session:
            session.execute(update(TicketEvent).where(*where).values({column: original}))
    # The replay stops at the first event it cannot apply: nothing after it can be trusted.
    assert problems == [problems[0]]
    assert problems[0].startswith(f"event {seq}: cannot apply"), problems
    assert check_projections(db) == []


# --- (b) sequence numbers under concurrent writers -------------------------------------------

THREADS = 8
OPS_PER_THREAD = 25


def test_concurrent_writers_get_gap_free_sequence_numbers(db: Database) -> None:
    tenant = make_tenant(db)
    staff = [actor_of(tenant.members[n], tenant) for n in ("agent", "agent2", "supervisor")]
    customer = actor_of(tenant.customer, tenant)
    tickets: list[str] = []
    tickets_lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def create(actor: Actor, n: int) -> None:
        spec = NewTicket(
            kind=Kind.QUESTION,
            subject=f"Question {n}",
            body="Where is my refund?",
            requester_id=None if actor.is_customer else tenant.customer.user_id,
        )
        with db.writer() as session:
            state = do_create_ticket(session, actor, spec)
        with tickets_lock:
            tickets.append(state.id)

    def reply(actor: Actor, ticket_id: str, rng: random.Random) -> None:
        visibility = Visibility.PUBLIC if actor.is_customer else rng.choice(list(Visibility))
        with db.writer() as session:
            ticket = access_ticket(session, actor, ticket_id, write=True, lock=True)
            do_add_message(session, actor, ticket, body="Any news?", visibility=visibility)

    def worker(n: int) -> int:
        rng = random.Random(n)
        start.wait()
        for i in range(OPS_PER_THREAD):
            actor = rng.choice([*staff, customer])
            with tickets_lock:
                known = list(tickets)
            if not known or rng.random() < 0.3:
                create(actor, n * 1000 + i)
            else:
                reply(actor, rng.choice(known), rng)
        return n

    with ThreadPoolExecutor(THREADS) as pool:
        done = [f.result() for f in [pool.submit(worker, n) for n in range(THREADS)]]
    assert done == list(range(THREADS))  # .result() re-raised any error of a worker

    with db.reader() as session:
        seqs = session.scalars(select(TicketEvent.seq).order_by(TicketEvent.seq)).all()
        assert seqs == list(range(len(seqs))), "seq is gap-free over the whole stream"
        head = session.get(LogHead, 1)
        assert head is not None
        assert head.next_seq == len(seqs)
        ours = session.execute(
            select(TicketEvent.ticket_id, TicketEvent.ticket_seq, TicketEvent.type)
            .where(TicketEvent.organization_id == tenant.org_id)
            .order_by(TicketEvent.seq)
        ).all()
        rows = session.scalars(select(Ticket).where(Ticket.organization_id == tenant.org_id)).all()
    assert len(ours) == THREADS * OPS_PER_THREAD + len(tickets)  # a create writes two events
    per_ticket: dict[str, list[int]] = {}
    for ticket_id, ticket_seq, _ in ours:
        per_ticket.setdefault(ticket_id, []).append(ticket_seq)
    assert sorted(per_ticket) == sorted(tickets)
    for ticket_id, numbers in per_ticket.items():
        assert numbers == list(range(1, len(numbers) + 1)), ticket_id
    assert sorted(r.number for r in rows) == list(range(1, len(tickets) + 1))
    assert {r.id: r.last_ticket_seq for r in rows} == {t: len(n) for t, n in per_ticket.items()}
    assert check_projections(db) == []


def test_concurrent_http_writers_get_gap_free_sequence_numbers(
    client: TestClient, db: Database
) -> None:
    """The same through the API: sync routes run in the server's thread pool, so these
    requests really overlap inside the app."""
    tenant = make_tenant(db)
    first = new_ticket(client, tenant.customer)

    def worker(n: int) -> list[int]:
        codes = []
        for i in range(6):
            if i % 3 == 0:
                r = client.post(
                    "/api/v1/tickets",
                    headers=tenant.customer.headers,
                    json={"kind": "question", "subject": f"Q{n}.{i}", "body": "Hello?"},
                )
            else:
                r = client.post(
                    f"/api/v1/tickets/{first['id']}/messages",
                    headers=tenant.members[("agent", "agent2")[n % 2]].headers,
                    json={"body": f"Reply {n}.{i}", "visibility": "internal"},
                )
            codes.append(r.status_code)
        return codes

    with ThreadPoolExecutor(THREADS) as pool:
        codes = [c for f in [pool.submit(worker, n) for n in range(THREADS)] for c in f.result()]
    assert set(codes) == {201}, codes
    events = client.get(f"/api/v1/tickets/{first['id']}/events", headers=tenant.agent.headers)
    assert [e["ticket_seq"] for e in events.json()] == list(range(1, 2 + THREADS * 4 + 1))
    with db.reader() as session:
        seqs = session.scalars(select(TicketEvent.seq).order_by(TicketEvent.seq)).all()
        numbers = session.scalars(
            select(Ticket.number).where(Ticket.organization_id == tenant.org_id)
        ).all()
    assert seqs == list(range(len(seqs)))
    assert sorted(numbers) == list(range(1, 1 + THREADS * 2 + 1))
    assert check_projections(db) == []


# --- (c) atomicity ---------------------------------------------------------------------------


def log_state(db: Database, org_id: str) -> dict[str, Any]:
    with db.reader() as session:
        head = session.get(LogHead, 1)
        assert head is not None
        return {
            "next_seq": head.next_seq,
            "events": session.scalar(select(func.count()).select_from(TicketEvent)),
            "tickets": session.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.organization_id == org_id)
            ),
            "messages": session.scalar(select(func.count()).select_from(Message)),
            "attachments_claimed": session.scalar(
                select(func.count())
                .select_from(Attachment)
                .where(Attachment.organization_id == org_id, Attachment.ticket_id.is_not(None))
            ),
        }


def upload(db: Database, tenant: Tenant, member: str) -> str:
    with db.writer() as session:
        row = Attachment(
            organization_id=tenant.org_id,
            sha256="ab" * 32,
            size=3,
            content_type="text/plain",
            filename="receipt.txt",
            uploaded_by=tenant.members[member].user_id,
            created_at=datetime.now(UTC),
        )
        session.add(row)
        session.flush()
        return row.id


@pytest.mark.parametrize("bad", ["missing", "someone_elses"])
def test_failed_create_leaves_nothing_behind(db: Database, bad: str) -> None:
    """``ticket.created`` is appended (and the ticket row flushed) before the attachments are
    claimed; when claiming fails the whole transaction, sequence number included, is undone."""
    tenant = make_tenant(db)
    own = upload(db, tenant, "customer")
    foreign = upload(db, tenant, "customer2")
    bad_id = {"missing": "00000000-0000-4000-8000-000000000000", "someone_elses": foreign}[bad]
    before = log_state(db, tenant.org_id)
    spec = NewTicket(
        kind=Kind.REFUND_REQUEST,
        subject="Refund",
        body="Please refund order 42.",
        attachment_ids=[own, bad_id],  # the first is claimed before the second fails
    )
    with pytest.raises(InvalidInput), db.writer() as session:
        do_create_ticket(session, actor_of(tenant.customer, tenant), spec)
    assert log_state(db, tenant.org_id) == before
    with db.reader() as session:
        assert session.get(Attachment, own).ticket_id is None  # type: ignore[union-attr]
    # The next write gets the sequence number the failed one would have had.
    with db.writer() as session:
        spec.attachment_ids = [own]
        state = do_create_ticket(session, actor_of(tenant.customer, tenant), spec)
    assert state.last_seq == before["next_seq"] + 1
    assert state.number == 1
    assert check_projections(db) == []


class Boom(Exception):
    """A failure after the actions succeeded, e.g. a bug in the code that called them."""


def test_exception_after_actions_rolls_back_every_event(db: Database) -> None:
    tenant = make_tenant(db)
    agent = actor_of(tenant.agent, tenant)
    before = log_state(db, tenant.org_id)
    written: list[str] = []

    def act_then_fail() -> None:
        with db.writer() as session:
            state = do_create_ticket(session, agent, new_ticket_spec(tenant, "agent", ["vip"]))
            ticket = access_ticket(session, agent, state.id, write=True, lock=True)
            do_add_message(session, agent, ticket, body="On it.", status=Status.PENDING)
            written.append(state.id)
            raise Boom

    with pytest.raises(Boom):
        act_then_fail()
    assert written
    assert log_state(db, tenant.org_id) == before
    with db.reader() as session:
        assert session.get(Ticket, written[0]) is None
        assert (
            session.scalars(select(TicketTag).where(TicketTag.ticket_id == written[0])).all() == []
        )
    assert check_projections(db) == []
