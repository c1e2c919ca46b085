"""Tampering with the stored log, hundreds of ways: `audit` catches every one, and receipts
and checkpoints issued afterwards show it."""

from __future__ import annotations

import random
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from proofdesk.demo.play import seed_demo
from proofdesk.ledger import checkpoints
from proofdesk.ledger.audit import audit
from proofdesk.ledger.keys import Keyring
from proofdesk.ledger.tree import LedgerError
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.migrate import upgrade
from proofdesk.verify.note import Verifier

MUTATIONS = 260


def keyring(settings: Settings) -> Keyring:
    return Keyring.from_file(settings.effective_data_key_file)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Settings, Verifier]:
    """A demo log with checkpoints along the way, audited clean."""
    data = tmp_path_factory.mktemp("tamper")
    settings = Settings(data_dir=data, checkpoint_interval_seconds=0)
    db = Database(settings.effective_database_url, keyring=keyring(settings))
    upgrade(db)
    signer = checkpoints.signer_for(settings)
    with db.writer() as session:
        checkpoints.issue(session, signer)  # size 0
    seed_demo(db, settings, tickets=25, customers=6)
    with db.writer() as session:
        checkpoints.issue(session, signer)
    seed_demo_more(db, settings)
    with db.writer() as session:
        checkpoints.issue(session, signer)
    report = audit(db, signer.verifier)
    assert report.ok, report.findings
    assert report.checkpoints_checked == 3
    db.dispose()
    return data / "proofdesk.db", settings, signer.verifier


def seed_demo_more(db: Database, settings: Settings) -> None:
    """Grow the log a little after the second checkpoint: a reply on an existing ticket."""
    from sqlalchemy import select

    from proofdesk.access import Actor
    from proofdesk.actions.tickets import do_add_message
    from proofdesk.domain.roles import Role
    from proofdesk.domain.tickets import Visibility
    from proofdesk.store.models import Ticket, User

    with db.writer() as session:
        ticket = session.scalars(
            select(Ticket).where(Ticket.status != "closed").order_by(Ticket.number).limit(1)
        ).one()
        agent = session.scalars(
            select(User).where(User.organization_id == ticket.organization_id, User.role == "agent")
        ).first()
        assert agent is not None
        actor = Actor(agent.id, ticket.organization_id, Role.AGENT)
        do_add_message(
            session,
            actor,
            ticket,
            body="Checked on chain: 12 confirmations.",
            visibility=Visibility.PUBLIC,
        )


Mutation = Callable[[sqlite3.Connection, random.Random], str]


def _pick(con: sqlite3.Connection, rng: random.Random, sql: str) -> tuple[object, ...]:
    rows = con.execute(sql).fetchall()
    return tuple(rng.choice(rows))


def _flip_char(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text))
    choices = [c for c in '0123456789abcdefXYZ"{}:, ' if c != text[i]]
    return text[:i] + rng.choice(choices) + text[i + 1 :]


def _flip_bit(blob: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(blob) * 8)
    raw = bytearray(blob)
    raw[i // 8] ^= 1 << (i % 8)
    return bytes(raw)


def edit_payload(con: sqlite3.Connection, rng: random.Random) -> str:
    seq, payload = _pick(con, rng, "SELECT seq, payload FROM ticket_events")
    con.execute(
        "UPDATE ticket_events SET payload=? WHERE seq=?", (_flip_char(str(payload), rng), seq)
    )
    return f"payload of event {seq}"


def edit_event_field(con: sqlite3.Connection, rng: random.Random) -> str:
    seq, occurred, actor, kind = _pick(
        con, rng, "SELECT seq, occurred_at, actor_id, type FROM ticket_events"
    )
    column, value = rng.choice(
        [
            ("occurred_at", _flip_char(str(occurred), rng)),
            ("actor_id", f"{actor}x"),
            ("type", "status.changed" if kind != "status.changed" else "tags.changed"),
        ]
    )
    con.execute(f"UPDATE ticket_events SET {column}=? WHERE seq=?", (value, seq))  # noqa: S608
    return f"{column} of event {seq}"


def delete_event(con: sqlite3.Connection, rng: random.Random) -> str:
    (seq,) = _pick(con, rng, "SELECT seq FROM ticket_events")
    con.execute("DELETE FROM ticket_events WHERE seq=?", (seq,))
    return f"delete event {seq}"


def swap_events(con: sqlite3.Connection, rng: random.Random) -> str:
    seqs = [s for (s,) in con.execute("SELECT seq FROM ticket_events")]
    a, b = rng.sample(seqs, 2)
    con.execute("UPDATE ticket_events SET seq=-1 WHERE seq=?", (a,))
    con.execute("UPDATE ticket_events SET seq=? WHERE seq=?", (a, b))
    con.execute("UPDATE ticket_events SET seq=? WHERE seq=-1", (b,))
    return f"swap events {a} and {b}"


def insert_event(con: sqlite3.Connection, rng: random.Random) -> str:
    (size,) = con.execute("SELECT next_seq FROM log_head").fetchone()
    (seq,) = _pick(con, rng, "SELECT seq FROM ticket_events")
    con.execute(
        "INSERT INTO ticket_events (seq, organization_id, ticket_id, ticket_seq, type, actor_id,"
        " occurred_at, payload) SELECT ?, organization_id, ticket_id, ticket_seq + 1000, type,"
        " actor_id, occurred_at, payload FROM ticket_events WHERE seq=?",
        (size + rng.randrange(3), seq),
    )
    return "insert an event beyond the head"


def edit_node(con: sqlite3.Connection, rng: random.Random) -> str:
    level, idx, h = _pick(con, rng, "SELECT level, idx, hash FROM merkle_nodes")
    con.execute(
        "UPDATE merkle_nodes SET hash=? WHERE level=? AND idx=?",
        (_flip_bit(bytes(h), rng), level, idx),
    )
    return f"node ({level}, {idx})"


def delete_node(con: sqlite3.Connection, rng: random.Random) -> str:
    level, idx = _pick(con, rng, "SELECT level, idx FROM merkle_nodes")
    con.execute("DELETE FROM merkle_nodes WHERE level=? AND idx=?", (level, idx))
    return f"delete node ({level}, {idx})"


def edit_leaf(con: sqlite3.Connection, rng: random.Random) -> str:
    seq, record = _pick(con, rng, "SELECT seq, record FROM ledger_leaves")
    con.execute(
        "UPDATE ledger_leaves SET record=? WHERE seq=?", (_flip_char(str(record), rng), seq)
    )
    return f"leaf {seq}"


def delete_leaf(con: sqlite3.Connection, rng: random.Random) -> str:
    (seq,) = _pick(con, rng, "SELECT seq FROM ledger_leaves")
    con.execute("DELETE FROM ledger_leaves WHERE seq=?", (seq,))
    return f"delete leaf {seq}"


def edit_secret(con: sqlite3.Connection, rng: random.Random) -> str:
    ticket, secret = _pick(con, rng, "SELECT ticket_id, wrapped FROM ticket_secrets")
    con.execute(
        "UPDATE ticket_secrets SET wrapped=? WHERE ticket_id=?",
        (_flip_bit(bytes(secret), rng), ticket),
    )
    return f"secret of {ticket}"


def edit_checkpoint(con: sqlite3.Connection, rng: random.Random) -> str:
    size, note, root = _pick(con, rng, "SELECT size, note, root FROM checkpoints")
    if rng.random() < 0.5:
        con.execute(
            "UPDATE checkpoints SET note=? WHERE size=?", (_flip_char(str(note), rng), size)
        )
    else:
        con.execute(
            "UPDATE checkpoints SET root=? WHERE size=?", (_flip_bit(bytes(root), rng), size)
        )
    return f"checkpoint {size}"


def edit_frontier(con: sqlite3.Connection, rng: random.Random) -> str:
    (blob,) = con.execute("SELECT frontier FROM log_head").fetchone()
    con.execute("UPDATE log_head SET frontier=?", (_flip_bit(bytes(blob), rng),))
    return "log head frontier"


def replace_checkpoint(con: sqlite3.Connection, rng: random.Random) -> str:
    rows = con.execute("SELECT size, note FROM checkpoints").fetchall()
    (a, _), (_, note_b) = rng.sample(rows, 2)
    con.execute("UPDATE checkpoints SET note=? WHERE size=?", (note_b, a))
    return f"checkpoint {a} replaced by another"


KINDS: list[Mutation] = [
    edit_payload,
    edit_event_field,
    delete_event,
    swap_events,
    insert_event,
    edit_node,
    delete_node,
    edit_leaf,
    delete_leaf,
    edit_secret,
    edit_checkpoint,
    replace_checkpoint,
    edit_frontier,
]


@pytest.fixture
def copy_of(pristine: tuple[Path, Settings, Verifier], tmp_path: Path) -> Path:
    target = tmp_path / "proofdesk.db"
    shutil.copy(pristine[0], target)
    return target


def test_every_mutation_is_detected(
    pristine: tuple[Path, Settings, Verifier], tmp_path: Path
) -> None:
    source, _, verifier = pristine
    rng = random.Random(9162)
    kinds_seen = set()
    for n in range(MUTATIONS):
        target = tmp_path / f"m{n}.db"
        shutil.copy(source, target)
        mutate = KINDS[n % len(KINDS)]
        with sqlite3.connect(target) as con:
            what = mutate(con, rng)
        db = Database(f"sqlite:///{target}", keyring=keyring(pristine[1]))
        try:
            report = audit(db, verifier)
        finally:
            db.dispose()
            target.unlink()
        assert not report.ok, f"mutation {n} ({what}) went unnoticed"
        assert report.findings
        kinds_seen.add(mutate.__name__)
    assert kinds_seen == {k.__name__ for k in KINDS}


def test_the_log_refuses_to_sign_over_a_tampered_tree(
    pristine: tuple[Path, Settings, Verifier], copy_of: Path
) -> None:
    _, settings, _ = pristine
    with sqlite3.connect(copy_of) as con:
        # The largest stored subtree: every later root is built on it.
        con.execute(
            "UPDATE merkle_nodes SET hash=zeroblob(32) "
            "WHERE level=(SELECT max(level) FROM merkle_nodes) AND idx=0"
        )
    db = Database(f"sqlite:///{copy_of}", keyring=keyring(settings))
    try:
        # Grow the log by one leaf so that there is something new to sign.
        seed_demo_more(db, settings)
        with pytest.raises(LedgerError, match="does not extend the checkpoint"), db.writer() as s:
            checkpoints.issue(s, checkpoints.signer_for(settings))
    finally:
        db.dispose()


def _receipt_of_first_ticket(
    db: Database, settings: Settings, since: int | None = None
) -> dict[str, Any]:
    from sqlalchemy import select

    from proofdesk.access import Actor
    from proofdesk.domain.roles import Role
    from proofdesk.ledger.receipts import build_receipt
    from proofdesk.store.models import Ticket, User

    with db.reader() as session:
        ticket = session.scalars(select(Ticket).order_by(Ticket.number).limit(1)).one()
        admin = session.scalars(
            select(User).where(User.organization_id == ticket.organization_id, User.role == "admin")
        ).one()
        actor = Actor(admin.id, ticket.organization_id, Role.ADMIN)
    return build_receipt(db, checkpoints.signer_for(settings), actor, ticket.id, since)


def test_receipts_show_tampering_precisely(
    pristine: tuple[Path, Settings, Verifier], copy_of: Path
) -> None:
    from proofdesk.verify.note import open_checkpoint
    from proofdesk.verify.receipt import verify_receipt

    _, settings, verifier = pristine
    db = Database(f"sqlite:///{copy_of}", keyring=keyring(settings))
    try:
        before = _receipt_of_first_ticket(db, settings)
        assert verify_receipt(before, key=verifier).ok
        old_note = before["checkpoint"]
        old_size = open_checkpoint(old_note, verifier).size

        # A body edited by someone holding the keys (re-sealed properly) no longer matches
        # what the log committed to.
        seq = next(e["index"] for e in before["entries"] if "body" in e["revealed"])
        _reseal_body(db, seq, "We never received your transfer.")
        after = verify_receipt(_receipt_of_first_ticket(db, settings), key=verifier)
        assert (f"leaf {seq} field 'body'", "the revealed value does not match its commitment") in (
            after.failures
        )

        # A rewritten subtree: the log will not sign over it, and a proof from the checkpoint
        # the holder kept shows the fork.
        with sqlite3.connect(copy_of) as con:
            con.execute(
                "UPDATE merkle_nodes SET hash=zeroblob(32) "
                "WHERE level=(SELECT max(level) FROM merkle_nodes) AND idx=0"
            )
        seed_demo_more(db, settings)
        with pytest.raises(LedgerError), db.writer() as s:
            checkpoints.issue(s, checkpoints.signer_for(settings))
        forged = _forged_receipt(db, settings, old_size)
        report = verify_receipt(forged, key=verifier, since_note=old_note)
        assert any(item == "consistency" and "fork" in why for item, why in report.failures), (
            report.failures,
            old_size,
        )
    finally:
        db.dispose()


def _reseal_body(db: Database, seq: int, body: str) -> None:
    import json

    from proofdesk.canonical import canonical_json
    from proofdesk.ledger import sealing
    from proofdesk.ledger.store import EventReader
    from proofdesk.store.models import TicketEvent

    with db.writer() as session:
        row = session.get(TicketEvent, seq)
        assert row is not None
        reader = EventReader(session)
        event = reader.event(row)
        keys = reader.keys(row.ticket_id)
        assert keys is not None
        edited = sealing.seal(row.type, dict(event.payload, body=body), seq, keys.content)
        assert json.loads(row.payload) != edited
        row.payload = canonical_json(edited).decode()


def _forged_receipt(db: Database, settings: Settings, first: int) -> dict[str, Any]:
    """What a forger holding the key would serve: a checkpoint over the tampered tree, with a
    consistency proof from ``first`` computed from the tampered nodes."""
    from proofdesk.ledger.store import tree
    from proofdesk.verify.note import Checkpoint, sign_note

    signer = checkpoints.signer_for(settings)
    with db.reader() as session:
        t = tree(session)
        note = sign_note(Checkpoint(signer.name, t.size, t.root()).text(), signer)
        proof = [h.hex() for h in t.consistency_proof(first, t.size)]
    return {
        "format": "proofdesk-receipt/v1",
        "log": {"origin": signer.name, "verifier_key": signer.verifier.encode()},
        "checkpoint": note,
        "ticket_id": "forged",
        "entries": [],
        "consistency": {"first": first, "proof": proof},
    }
