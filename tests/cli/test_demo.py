"""The demo seed: a real event history that covers every kind and status, written once, and the
same content for the same seed. Each test seeds its own SQLite file (the seed owns the slug
``demo``, so it cannot share the session database)."""

from __future__ import annotations

import json
import random
import re
import string
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from proofdesk.app.services import open_database
from proofdesk.canonical import parse_time, utc_now
from proofdesk.chain.embedded import dev_accounts
from proofdesk.cli.main import app
from proofdesk.demo import data as demo_data
from proofdesk.demo import plan as demo_plan
from proofdesk.demo import play as demo
from proofdesk.domain.tickets import Kind, Status, Visibility
from proofdesk.identity.credentials import verify_password
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import Message, Order, Organization, Ticket, TicketEvent, User
from proofdesk.store.projections import check_projections

CHAINS = {1, 56, 137, 42161}
HAN = re.compile(r"[\u4e00-\u9fff]")


def fresh(path: Path) -> tuple[Database, Settings]:
    settings = Settings(data_dir=path, database_url=f"sqlite:///{path / 'proofdesk.db'}")
    return open_database(settings, migrate=True), settings


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[Database, Settings, str]]:
    db, settings = fresh(tmp_path)
    summary = demo.seed_demo(db, settings, tickets=40, customers=10)
    yield db, settings, summary
    db.dispose()


def test_every_kind_and_status_through_real_events(seeded: tuple[Database, Settings, str]) -> None:
    db, _, _ = seeded
    with db.reader() as session:
        tickets = session.scalars(select(Ticket)).all()
        notes = session.scalar(
            select(func.count()).where(Message.visibility == Visibility.INTERNAL.value)
        )
    assert len(tickets) == 40
    assert {t.kind for t in tickets} == {k.value for k in Kind}
    assert {t.status for t in tickets} == {s.value for s in Status}
    assert notes
    merged = [t for t in tickets if t.merged_into_id]
    assert merged and all(t.status == Status.CLOSED.value for t in merged)
    assert check_projections(db) == []


def test_links_match_the_requester(seeded: tuple[Database, Settings, str]) -> None:
    db, _, _ = seeded
    with db.reader() as session:
        tickets = session.scalars(select(Ticket).where(Ticket.merged_into_id.is_(None))).all()
        orders = {o.external_id: o for o in session.scalars(select(Order))}
    for t in tickets:
        if t.kind == Kind.TRANSACTION_PROBLEM.value:
            assert t.tx_hash and re.fullmatch(r"0x[0-9a-f]{64}", t.tx_hash)
            assert t.chain_id in CHAINS
        if t.kind in (Kind.REFUND_REQUEST.value, Kind.WARRANTY_CLAIM.value):
            assert t.order_id in orders
            order = orders[t.order_id]
            assert order.customer_id == t.requester_id
            assert t.created_at > order.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_history_is_in_the_past_and_in_order(seeded: tuple[Database, Settings, str]) -> None:
    db, _, _ = seeded
    now = utc_now()
    with db.reader() as session:
        events = session.scalars(
            select(TicketEvent).order_by(TicketEvent.ticket_id, TicketEvent.ticket_seq)
        ).all()
    previous: dict[str, str] = {}
    for e in events:
        earlier = previous.get(e.ticket_id, "")
        # The opening message shares its ticket's creation time; everything else comes later.
        assert e.occurred_at >= earlier if e.ticket_seq == 2 else e.occurred_at > earlier
        previous[e.ticket_id] = e.occurred_at
        assert now - timedelta(days=46) < parse_time(e.occurred_at) < now


def test_demo_logins_use_the_demo_password(seeded: tuple[Database, Settings, str]) -> None:
    db, settings, summary = seeded
    password = settings.demo_password.get_secret_value()
    assert password in summary
    for email in ("admin@demo.example", "agent1@demo.example", "customer@demo.example"):
        assert email in summary
        with db.reader() as session:
            user = session.scalars(select(User).where(User.email == email)).one()
        assert verify_password(user.password_hash, password)
    with db.reader() as session:
        locales = set(session.scalars(select(User.locale).where(User.role == "agent")))
    assert locales == {"en", "zh-CN"}


def test_a_second_call_changes_nothing_and_repeats_the_logins(
    seeded: tuple[Database, Settings, str],
) -> None:
    db, settings, summary = seeded
    with db.reader() as session:
        before = session.scalar(select(func.count()).select_from(TicketEvent))
    message = demo.seed_demo(db, settings)
    first, *logins = message.splitlines()
    assert "exists" in first
    assert logins == summary.splitlines()[2:]  # the sign-in line and one line per log-in
    assert settings.demo_password.get_secret_value() in logins[0]
    assert any("customer@demo.example" in line for line in logins)
    with db.reader() as session:
        assert session.scalar(select(func.count()).select_from(TicketEvent)) == before


def count(db: Database, model: type[object]) -> int:
    with db.reader() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_failed_seed_leaves_nothing_and_the_next_run_starts_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, settings = fresh(tmp_path)
    play, played = demo._play, []

    def failing_play(run: demo._Run) -> None:
        if len(played) == 10:
            # The first tickets really were written (in the seed's transaction) before this.
            assert run.session.scalar(select(func.count()).select_from(TicketEvent))
            raise RuntimeError("interrupted")
        play(run)
        played.append(run.ticket_id)

    monkeypatch.setattr(demo, "_play", failing_play)
    with pytest.raises(RuntimeError, match="interrupted"):
        demo.seed_demo(db, settings, tickets=40, customers=10)
    with db.reader() as session:
        assert (
            session.scalars(select(Organization).where(Organization.slug == "demo")).first() is None
        )
    assert [count(db, m) for m in (TicketEvent, Ticket, User, Order)] == [0, 0, 0, 0]

    monkeypatch.setattr(demo, "_play", play)
    summary = demo.seed_demo(db, settings, tickets=40, customers=10)
    assert summary.startswith("Seeded") and count(db, Ticket) == 40
    assert check_projections(db) == []
    db.dispose()


def test_summary_counts_in_the_singular(tmp_path: Path) -> None:
    db, settings = fresh(tmp_path)
    summary = demo.seed_demo(db, settings, tickets=1, customers=1)
    assert summary.splitlines()[1] == "1 ticket, 1 customer, 4 teams."
    db.dispose()


#: The acknowledgement names the expected reply time on the real clock the demo's history is
#: played up to (``actions.sla_timers.do_acknowledge``): not content drawn from the seed.
REPLY_BY = re.compile(r"(reply from us by|将在) [^;；]+?(;|之前)")


def content(db: Database) -> list[tuple[object, ...]]:
    with db.reader() as session:
        rows = session.execute(
            select(Ticket.number, Ticket.kind, Ticket.status, Ticket.subject, Ticket.tags)
            .add_columns(Message.body, Message.visibility)
            .join(Message, Message.ticket_id == Ticket.id)
            .order_by(Ticket.number, Message.seq)
        ).all()
    return [(*r[:5], REPLY_BY.sub(r"\1 <time>\2", r[5]), r[6]) for r in rows]


def test_same_seed_same_content(tmp_path: Path) -> None:
    dbs = [fresh(tmp_path / name) for name in ("one", "two")]
    for db, settings in dbs:
        demo.seed_demo(db, settings, seed=3, tickets=15, customers=4)
    first, second = (content(db) for db, _ in dbs)
    assert first == second and len(first) > 15
    for db, _ in dbs:
        db.dispose()


def test_every_text_is_bilingual_with_known_placeholders() -> None:
    texts = [
        v
        for s in demo_data.demo_data().scenarios
        for v in dict(s).values()
        if isinstance(v, demo_data.Text)
    ]
    texts += dict(demo_data.demo_data().phrases).values()
    assert (
        len(demo_data.demo_data().scenarios) >= 20
        and len(texts) == 6 * len(demo_data.demo_data().scenarios) + 13
    )
    for text in texts:
        assert HAN.search(text.zh) and not HAN.search(text.en), text
        for half in (text.en, text.zh):
            names = {name for _, name, _, _ in string.Formatter().parse(half) if name}
            assert names <= demo_data.PLACEHOLDERS, text
    # The list of placeholders is what a ticket really draws.
    scenario, address, tx = demo_data.demo_data().scenarios[0], "0x" + "0" * 40, "0x" + "0" * 64
    drawn = demo_plan.draw_values(random.Random(0), scenario, 1, address, tx, None)
    assert set(drawn) | {"subject", "number"} == demo_data.PLACEHOLDERS


def edited_data(tmp_path: Path, edit: str) -> Path:
    data = json.loads(demo_data.DATA_FILE.read_text(encoding="utf-8"))
    scenario = data["scenarios"][2]
    if edit == "unknown field":
        scenario["colour"] = "red"
    elif edit == "unknown placeholder":
        scenario["ask"]["zh"] += "{amout}"
    elif edit == "unknown team":
        scenario["team"] = "marketing"
    elif edit == "missing phrase":
        del data["phrases"]["hold"]
    path = tmp_path / "scenarios.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("unknown field", "scenarios.2.colour"),
        ("unknown placeholder", "['amout']"),
        ("unknown team", "no agent in team 'marketing'"),
        ("missing phrase", "phrases.hold"),
        ("not json", "Invalid JSON"),
    ],
)
def test_a_broken_data_file_is_a_clear_error(tmp_path: Path, edit: str, message: str) -> None:
    path = edited_data(tmp_path, edit)
    if edit == "not json":
        path.write_text(path.read_text(encoding="utf-8")[:-5], encoding="utf-8")
    with pytest.raises(demo_data.DemoDataError) as raised:
        demo_data.load_data(path)
    assert message in raised.value.message and str(path) in raised.value.message
    assert demo_data.load_data(demo_data.DATA_FILE) == demo_data.demo_data()


def test_cli_demo(tmp_path: Path) -> None:
    env = {
        "PROOFDESK_DATA_DIR": str(tmp_path),
        "PROOFDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'proofdesk.db'}",
        "PROOFDESK_ENV_FILE": str(tmp_path / "none.env"),
    }
    runner = CliRunner()
    result = runner.invoke(app, ["demo", "--tickets", "20", "--customers", "5"], env=env)
    assert result.exit_code == 0, result.output
    assert "customer@demo.example" in result.stdout
    again = runner.invoke(app, ["demo"], env=env)
    assert again.exit_code == 0 and "exists" in again.stdout
    assert "customer@demo.example" in again.stdout and "demo-password" in again.stdout
    # The embedded chain's escrow is funded and named the demo's merchant, by the admin.
    assert "escrow bond of the demo merchant" in result.stdout
    db = Database(env["PROOFDESK_DATABASE_URL"])
    try:
        with db.reader() as session:
            org = session.scalars(select(Organization).where(Organization.slug == "demo")).one()
            assert org.merchant_address == dev_accounts()[3].address.lower()
    finally:
        db.dispose()


def test_importing_the_demo_reads_no_data_file() -> None:
    code = (
        "import proofdesk.demo.play\n"
        "from proofdesk.demo import data\n"
        "assert data.demo_data.cache_info().currsize == 0\n"
        "data.demo_data()\n"
        "assert data.demo_data.cache_info().currsize == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603
