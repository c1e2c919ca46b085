"""Writing leaves, one per event in the event's own transaction, and reading events back.

:class:`LedgerWriter` is called by ``store.events.EventAppender`` for every event it appends,
under the sequencer lock, so leaf ``seq`` is event ``seq`` and the tree's size is always the
log head. The salt of every commitment is derived from the ticket's salt key (HMAC-SHA-256
over the event's seq and the field name) and the event's private values are sealed under its
content key (``ledger.keys``, ``ledger.sealing``). :class:`EventReader` is the one way to read
an event back with its private values opened — or, for an erased ticket, their placeholders.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from proofdesk.canonical import canonical_json
from proofdesk.domain.tickets import Event
from proofdesk.ledger import sealing
from proofdesk.ledger.keys import Keyring, TicketKeys, derive
from proofdesk.ledger.tree import Key, LedgerError, Tree, append_leaves, frontier
from proofdesk.store.models import LedgerLeaf, LogHead, MerkleNode, TicketEvent, TicketSecret
from proofdesk.store.rows import row_to_event
from proofdesk.verify.merkle import leaf_hash
from proofdesk.verify.receipt import LEAF_VERSION, commitment

_SALT_CONTEXT = b"proofdesk/commitment-salt/v1"


class SqlNodes:
    """:class:`~proofdesk.ledger.tree.NodeReader` over ``merkle_nodes``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get_nodes(self, keys: Iterable[Key]) -> dict[Key, bytes]:
        wanted = sorted(set(keys))
        found: dict[Key, bytes] = {}
        connection = self.session.connection()
        style = connection.dialect.paramstyle
        for start in range(0, len(wanted), 100):
            chunk = wanted[start : start + 100]
            params = tuple(v for key in chunk for v in key)
            rows = connection.exec_driver_sql(_nodes_query(len(chunk), style), params)
            found.update({(level, idx): bytes(h) for level, idx, h in rows})
        return found


@functools.lru_cache(maxsize=256)
def _nodes_query(count: int, paramstyle: str) -> str:
    """The plain SQL for ``count`` keys, cached: a proof's few dozen keys as
    ``(level = ? AND idx = ?) OR …`` on the primary key. Sent straight to the DB-API driver:
    this is the one query on the path of every proof."""
    mark = "?" if paramstyle == "qmark" else "%s"
    where = " OR ".join(f"(level = {mark} AND idx = {mark})" for _ in range(count))
    return f"SELECT level, idx, hash FROM merkle_nodes WHERE {where}"  # noqa: S608


def log_size(session: Session) -> int:
    head = session.get(LogHead, 1)
    if head is None:
        raise LedgerError("log_head row missing: run `proofdesk migrate`")
    return head.next_seq


def tree(session: Session, size: int | None = None) -> Tree:
    writer = session.info.get("ledger_writer")
    if writer is not None:
        writer.flush()  # nodes appended earlier in this transaction
    return Tree(SqlNodes(session), log_size(session) if size is None else size)


def salt(salt_key: bytes, seq: int, name: str) -> bytes:
    message = b"%s\n%d\n%s" % (_SALT_CONTEXT, seq, name.encode())
    return hmac.new(salt_key, message, hashlib.sha256).digest()


def keyring_of(session: Session) -> Keyring:
    keyring = session.info.get("keyring")
    if keyring is None:
        raise LedgerError("this database was opened without a data key (Database(keyring=…))")
    assert isinstance(keyring, Keyring)
    return keyring


def ticket_keys(session: Session, ticket_id: str) -> TicketKeys | None:
    """The keys of a ticket; None once it is erased."""
    row = session.get(TicketSecret, ticket_id)
    if row is None:
        raise LedgerError(f"ticket {ticket_id} has no secret")
    if row.wrapped is None:
        return None
    return derive(keyring_of(session).unwrap(ticket_id, row.wrapped))


class EventReader:
    """Reads stored events with their private values opened (ticket keys cached)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._keys: dict[str, TicketKeys | None] = {}

    def keys(self, ticket_id: str) -> TicketKeys | None:
        if ticket_id not in self._keys:
            self._keys[ticket_id] = ticket_keys(self.session, ticket_id)
        return self._keys[ticket_id]

    def event(self, row: TicketEvent) -> Event:
        """The event of ``row`` as written; :class:`InvalidInput` if it is corrupt."""
        stored = row_to_event(row)
        if not sealing.has_private(stored.type.value, stored.payload):
            return stored
        keys = self.keys(row.ticket_id)
        payload = sealing.unseal(
            stored.type.value, stored.payload, row.seq, None if keys is None else keys.content
        )
        return replace(stored, payload=payload)


def leaf_record(
    event: Event, organization_id: str, salt_key: bytes, prev: bytes | None
) -> dict[str, Any]:
    """The leaf record of ``event`` (see :mod:`proofdesk.verify.receipt`)."""
    return {
        "v": LEAF_VERSION,
        "seq": event.seq,
        "org": organization_id,
        "ticket": event.ticket_id,
        "ticket_seq": event.ticket_seq,
        "type": event.type.value,
        "actor": event.actor_id,
        "time": event.occurred_at,
        "prev": None if prev is None else prev.hex(),
        "commitments": {
            name: commitment(salt(salt_key, event.seq, name), canonical_json(value)).hex()
            for name, value in event.payload.items()
        },
    }


def encode_frontier(size: int, nodes: dict[Key, bytes]) -> bytes:
    """What ``log_head.frontier`` holds: the size (8 bytes, big-endian), then the hashes of
    the tree's compact range at that size, largest subtree first."""
    return size.to_bytes(8, "big") + b"".join(nodes[k] for k in frontier(size))


class LedgerWriter:
    """Appends the leaves of one write transaction's events; one per session (:meth:`of`).

    The tree's frontier (its compact range: the stored subtrees an append may pair with) is
    kept in the ``log_head`` row next to the size, and each ticket's chain head in its
    ``ticket_secrets`` row, so an append reads nothing it has not already loaded. Leaves and
    nodes are buffered and written with one multi-row insert each when the transaction
    commits (or when something in it reads the tree).
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._size: int | None = None
        self._known: dict[Key, bytes] = {}
        self._keys: dict[str, TicketKeys] = {}
        self._rows: dict[str, TicketSecret] = {}
        self._leaves: list[dict[str, Any]] = []
        self._nodes: list[dict[str, Any]] = []
        event.listen(session, "before_commit", lambda _session: self.flush())

    @classmethod
    def of(cls, session: Session) -> LedgerWriter:
        writer = session.info.get("ledger_writer")
        if writer is None:
            writer = session.info["ledger_writer"] = cls(session)
        assert isinstance(writer, LedgerWriter)
        return writer

    def _start(self, size: int) -> None:
        head = self.session.get(LogHead, 1)
        if head is None:
            raise LedgerError("log_head row missing: run `proofdesk migrate`")
        keys = frontier(size)
        stored = head.frontier or b""
        if stored[:8] == size.to_bytes(8, "big") and len(stored) == 8 + 32 * len(keys):
            self._known = {k: stored[8 + 32 * i : 8 + 32 * i + 32] for i, k in enumerate(keys)}
        else:  # none kept yet (a log from before), or not for this size: read the nodes
            self._known = SqlNodes(self.session).get_nodes(keys)
        self._size = size
        self._head = head

    def append(self, event: Event, organization_id: str, prev_seq: int | None) -> bytes:
        """Add the leaf of ``event`` (whose ticket's previous event is ``prev_seq``); return
        its leaf hash."""
        if self._size is None:
            self._start(event.seq)
        if event.seq != self._size:
            raise LedgerError(f"event {event.seq} is not the next leaf {self._size}")
        row = self._row(event.ticket_id)
        prev = None
        if prev_seq is not None:
            prev = row.chain_head or SqlNodes(self.session).get_nodes([(0, prev_seq)]).get(
                (0, prev_seq)
            )
            if prev is None:
                raise LedgerError(f"leaf {prev_seq} is missing")
        salt_key = self.keys(event.ticket_id).salt_key if event.payload else b""
        record = canonical_json(leaf_record(event, organization_id, salt_key, prev))
        h = leaf_hash(record)
        nodes = append_leaves(event.seq, self._known, [h])
        self._leaves.append({"seq": event.seq, "record": record.decode()})
        self._nodes += [{"level": k[0], "idx": k[1], "hash": v} for k, v in nodes]
        row.chain_head = h
        self._size = event.seq + 1
        return h

    def flush(self) -> None:
        """Write the buffered leaves and nodes, and the frontier into the log head."""
        if not self._leaves:
            return
        connection = self.session.connection()
        connection.execute(insert(LedgerLeaf), self._leaves)
        connection.execute(insert(MerkleNode), self._nodes)
        assert self._size is not None
        keys = frontier(self._size)
        self._known = {k: self._known[k] for k in keys}
        self._head.frontier = encode_frontier(self._size, self._known)
        self._leaves, self._nodes = [], []
        self.session.flush()

    def _row(self, ticket_id: str) -> TicketSecret:
        """The ticket's ``ticket_secrets`` row, created (with its secret) at its first event."""
        if ticket_id not in self._rows:
            row = self.session.get(TicketSecret, ticket_id)
            if row is None:
                secret, wrapped = keyring_of(self.session).new_secret(ticket_id)
                row = TicketSecret(ticket_id=ticket_id, wrapped=wrapped)
                self.session.add(row)
                self._keys[ticket_id] = derive(secret)
            self._rows[ticket_id] = row
        return self._rows[ticket_id]

    def keys(self, ticket_id: str) -> TicketKeys:
        """The ticket's keys, creating its secret with its first event."""
        if ticket_id not in self._keys:
            row = self._row(ticket_id)
            if row.wrapped is None:
                raise LedgerError(f"ticket {ticket_id} was erased; it takes no more content")
            self._keys[ticket_id] = derive(keyring_of(self.session).unwrap(ticket_id, row.wrapped))
        return self._keys[ticket_id]

    def seal(self, event: Event) -> dict[str, Any]:
        """The payload of ``event`` as stored: its private values sealed."""
        if not sealing.has_private(event.type.value, event.payload):
            return event.payload
        key = self.keys(event.ticket_id).content
        return sealing.seal(event.type.value, event.payload, event.seq, key)


def catch_up(session: Session, batch: int = 1000) -> int:
    """Append the leaves of events that have none (written before the ledger existed).
    Run under the sequencer lock. Returns how many were added."""
    done = session.scalar(select(LedgerLeaf.seq).order_by(LedgerLeaf.seq.desc()).limit(1))
    start = 0 if done is None else done + 1
    writer = LedgerWriter.of(session)
    last_seq: dict[str, int] = {}
    added = 0
    while True:
        rows = session.scalars(
            select(TicketEvent)
            .where(TicketEvent.seq >= start)
            .order_by(TicketEvent.seq)
            .limit(batch)
        ).all()
        if not rows:
            return added
        for row in rows:
            prev = last_seq.get(row.ticket_id)
            if prev is None and row.ticket_seq > 1:
                prev = session.scalar(
                    select(TicketEvent.seq).where(
                        TicketEvent.ticket_id == row.ticket_id,
                        TicketEvent.ticket_seq == row.ticket_seq - 1,
                    )
                )
            event = row_to_event(row)
            writer.append(event, row.organization_id, prev)
            row.payload = canonical_json(writer.seal(event)).decode()
            last_seq[row.ticket_id] = row.seq
            added += 1
        start = rows[-1].seq + 1


def stored_record(session: Session, seq: int) -> dict[str, Any]:
    row = session.get(LedgerLeaf, seq)
    if row is None:
        raise LedgerError(f"leaf {seq} is missing")
    value: dict[str, Any] = json.loads(row.record)
    return value
