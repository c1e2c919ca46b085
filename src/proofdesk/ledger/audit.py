"""The audit: recompute every leaf from the stored events and the tree from the leaves, and
check every stored leaf record, tree node and signed checkpoint against them.

Events are the source of truth and the checkpoints are what the log has promised in public.
Anything that disagrees is reported with its place: an altered event or leaf (and which
fields), a deleted or inserted event, events of a ticket out of order, a tree node that is not
the hash of its children, a checkpoint whose signature, size or root is wrong. The audit
streams the log in batches and keeps only the tree's frontier, the per-ticket chain heads and
the checkpoints in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from proofdesk.canonical import canonical_json
from proofdesk.errors import Error
from proofdesk.ledger import sealing
from proofdesk.ledger.keys import TicketKeys
from proofdesk.ledger.store import (
    EventReader,
    SqlNodes,
    encode_frontier,
    leaf_record,
    log_size,
)
from proofdesk.ledger.tree import Key, LedgerError, Tree, append_leaves, fold, frontier, pieces
from proofdesk.store.db import Database
from proofdesk.store.models import (
    LedgerLeaf,
    LogHead,
    MerkleNode,
    SignedCheckpoint,
    TicketEvent,
)
from proofdesk.store.rows import row_to_event
from proofdesk.verify.merkle import EMPTY_ROOT, ProofError, leaf_hash, verify_consistency
from proofdesk.verify.note import NoteError, Verifier, open_checkpoint


@dataclass(frozen=True)
class Finding:
    kind: str  # altered | deleted | inserted | reordered | tree | checkpoint | erased
    where: str
    detail: str


@dataclass
class AuditReport:
    size: int = 0
    leaves_checked: int = 0
    checkpoints_checked: int = 0
    erased_tickets: int = 0
    findings: list[Finding] = field(default_factory=list)
    #: Mismatches that follow from a finding already listed (a parent of an altered node, the
    #: next leaf in an altered ticket's hash chain): counted, not listed.
    consequences: int = 0

    @property
    def ok(self) -> bool:
        return not any(f.kind != "erased" for f in self.findings)

    def add(self, kind: str, where: str, detail: str) -> None:
        self.findings.append(Finding(kind, where, detail))


def audit(db: Database, verifier: Verifier, *, batch: int = 2000) -> AuditReport:
    with db.reader() as session:
        return _Auditor(session, verifier, batch).run()


class _Auditor:
    def __init__(self, session: Session, verifier: Verifier, batch: int) -> None:
        self.session = session
        self.verifier = verifier
        self.batch = batch
        self.report = AuditReport()
        self.heads: dict[str, tuple[int, bytes]] = {}  # ticket -> (ticket_seq, leaf hash)
        self.reader = EventReader(session)
        self.keys: dict[str, TicketKeys | None] = {}
        self.roots: dict[int, bytes] = {}
        self.flagged_tickets: set[str] = set()
        self.flagged_seqs: set[int] = set()
        self.bad_nodes: set[Key] = set()

    def run(self) -> AuditReport:
        size = self.report.size = log_size(self.session)
        self._beyond_head(size)
        wanted = set(self.session.scalars(select(SignedCheckpoint.size)))
        known: dict[Key, bytes] = {}
        if 0 in wanted:
            self.roots[0] = EMPTY_ROOT
        for start in range(0, size, self.batch):
            end = min(size, start + self.batch)
            hashes = self._leaves(start, end)
            expected: list[tuple[Key, bytes]] = []
            for offset, h in enumerate(hashes):
                expected += append_leaves(start + offset, known, [h])
                if start + offset + 1 in wanted:
                    self.roots[start + offset + 1] = fold(pieces(0, start + offset + 1), known)
            self._compare_nodes(expected)
            known = {k: known[k] for k in frontier(end)}
        self._count_nodes(size)
        self._check_frontier(size, known)
        self._checkpoints(size)
        self.report.erased_tickets = sum(1 for f in self.report.findings if f.kind == "erased")
        return self.report

    # --- events and leaves -------------------------------------------------------------------

    def _leaves(self, start: int, end: int) -> list[bytes]:
        """Check events and leaf records of ``[start, end)``; return the true leaf hashes."""
        events = {
            e.seq: e
            for e in self.session.scalars(
                select(TicketEvent).where(TicketEvent.seq >= start, TicketEvent.seq < end)
            )
        }
        query = select(LedgerLeaf.seq, LedgerLeaf.record).where(
            LedgerLeaf.seq >= start, LedgerLeaf.seq < end
        )
        records: dict[int, str] = {row.seq: row.record for row in self.session.execute(query)}
        out = []
        for seq in range(start, end):
            self.report.leaves_checked += 1
            record = records.get(seq)
            if record is None:
                self.report.add("deleted", f"leaf {seq}", "the leaf record is missing")
            row = events.get(seq)
            if row is None:
                self.report.add("deleted", f"event {seq}", "no event has this sequence number")
                # Nothing to recompute from: the stored record (if any) is all there is.
                out.append(leaf_hash((record or "").encode()))
                continue
            true = self._recompute(row, record)
            out.append(leaf_hash(true))
        return out

    def _recompute(self, row: TicketEvent, record: str | None) -> bytes:
        where = f"event {row.seq}"
        head = self.heads.get(row.ticket_id)
        expected_seq = 1 if head is None else head[0] + 1
        if row.ticket_seq != expected_seq:
            self._flag(row)
            self.report.add(
                "reordered",
                where,
                f"is event {row.ticket_seq} of ticket {row.ticket_id}, but {expected_seq} "
                "comes next (events deleted, inserted or reordered)",
            )
        keys = self._keys(row.ticket_id)
        try:
            stored = row_to_event(row)
            if canonical_json(stored.payload).decode() != row.payload:
                raise ValueError("payload is not canonical JSON")
            if not sealing.is_sealed(stored.type.value, stored.payload):
                raise ValueError("private content is stored unsealed")
            event = self.reader.event(row) if keys is not None else stored
        except (Error, ValueError) as exc:
            self._flag(row)
            self.report.add("altered", where, f"the stored event is corrupt: {exc}")
            true = (record or "").encode()
        else:
            prev = None if head is None else head[1]
            if keys is None:  # erased: the commitments cannot be recomputed
                recomputed = self._erased_record(row, record, prev)
            else:
                recomputed = leaf_record(event, row.organization_id, keys.salt_key, prev)
            true = canonical_json(recomputed)
            if record is not None and record != true.decode():
                self._describe(row, record, recomputed)
        self.heads[row.ticket_id] = (row.ticket_seq, leaf_hash(true))
        return true

    def _erased_record(
        self, row: TicketEvent, record: str | None, prev: bytes | None
    ) -> dict[str, Any]:
        stored = _loads(record) or {}
        commitments = stored.get("commitments", {})
        event = row_to_event(row)
        if set(commitments) != set(event.payload):
            self.report.add(
                "altered", f"event {row.seq}", "payload fields differ from the committed ones"
            )
        return {
            "v": 1,
            "seq": row.seq,
            "org": row.organization_id,
            "ticket": row.ticket_id,
            "ticket_seq": row.ticket_seq,
            "type": row.type,
            "actor": row.actor_id,
            "time": row.occurred_at,
            "prev": None if prev is None else prev.hex(),
            "commitments": commitments,
        }

    def _flag(self, row: TicketEvent) -> None:
        self.flagged_tickets.add(row.ticket_id)
        self.flagged_seqs.add(row.seq)

    def _describe(self, row: TicketEvent, record: str, recomputed: dict[str, Any]) -> None:
        where = f"event {row.seq}"
        stored = _loads(record)
        fields = sorted(
            k
            for k in set(stored or {}) | set(recomputed)
            if (stored or {}).get(k) != recomputed.get(k)
        )
        if fields == ["prev"] and row.ticket_id in self.flagged_tickets:
            self.report.consequences += 1  # the chain moved because an earlier event did
            self.flagged_seqs.add(row.seq)
            return
        self._flag(row)
        if stored is None:
            self.report.add("altered", f"leaf {row.seq}", "the leaf record is not JSON")
            return
        if fields == ["commitments"]:
            names = sorted(
                n
                for n in set(stored["commitments"]) | set(recomputed["commitments"])
                if stored["commitments"].get(n) != recomputed["commitments"].get(n)
            )
            detail = f"payload field(s) {', '.join(names)} differ from what the log committed to"
        else:
            detail = f"event and leaf record differ in {', '.join(fields)}"
        self.report.add("altered", where, detail)

    def _keys(self, ticket_id: str) -> TicketKeys | None:
        """The ticket's keys; None (with a finding unless erased) when they cannot be had."""
        if ticket_id not in self.keys:
            try:
                keys = self.reader.keys(ticket_id)
            except LedgerError as exc:
                keys = None
                self.report.add("altered", f"ticket {ticket_id}", str(exc))
            else:
                if keys is None:
                    self.report.add("erased", f"ticket {ticket_id}", "erased: content not opened")
            self.keys[ticket_id] = keys
        return self.keys[ticket_id]

    def _beyond_head(self, size: int) -> None:
        for model, label in ((TicketEvent, "event"), (LedgerLeaf, "leaf")):
            for seq in self.session.scalars(select(model.seq).where(model.seq >= size).limit(20)):
                self.report.add("inserted", f"{label} {seq}", f"beyond the log size {size}")

    # --- tree --------------------------------------------------------------------------------

    def _compare_nodes(self, expected: list[tuple[Key, bytes]]) -> None:
        stored = SqlNodes(self.session).get_nodes(k for k, _ in expected)
        for key, h in expected:
            got = stored.get(key)
            if got == h:
                continue
            self.bad_nodes.add(key)
            level, idx = key
            explained = (
                idx in self.flagged_seqs
                if level == 0
                else bool({(level - 1, 2 * idx), (level - 1, 2 * idx + 1)} & self.bad_nodes)
            )
            if explained:
                self.report.consequences += 1
                continue
            span = f"leaves {idx << level}..{((idx + 1) << level) - 1}"
            what = "missing" if got is None else "hash differs from the recomputed one"
            self.report.add("tree", f"node {key}", f"{what} ({span})")

    def _check_frontier(self, size: int, known: dict[Key, bytes]) -> None:
        """The log head's frontier is what the next append builds on: it must be the tree's."""
        head = self.session.get(LogHead, 1)
        stored = None if head is None else head.frontier
        expected = encode_frontier(size, known)
        if stored is not None and stored != expected:
            self.report.add("tree", "log head", "its frontier is not the compact range of the tree")

    def _count_nodes(self, size: int) -> None:
        stored = self.session.scalar(select(func.count()).select_from(MerkleNode)) or 0
        expected = 2 * size - size.bit_count()
        if stored != expected:
            self.report.add(
                "inserted" if stored > expected else "deleted",
                "tree",
                f"{stored} stored nodes, {expected} expected for size {size}",
            )

    # --- checkpoints -------------------------------------------------------------------------

    def _checkpoints(self, size: int) -> None:
        rows = list(self.session.scalars(select(SignedCheckpoint).order_by(SignedCheckpoint.size)))
        stored_tree = Tree(SqlNodes(self.session), size)
        previous = None
        for row in rows:
            self.report.checkpoints_checked += 1
            where = f"checkpoint {row.size}"
            try:
                cp = open_checkpoint(row.note, self.verifier)
            except NoteError as exc:
                self.report.add("checkpoint", where, f"signature or format: {exc}")
                continue
            if cp.size != row.size or cp.root != row.root:
                self.report.add("checkpoint", where, "the stored size/root differ from the note")
            if cp.size > size:
                self.report.add("checkpoint", where, f"beyond the log size {size}")
                continue
            true_root = self.roots.get(cp.size)
            if true_root is not None and cp.root != true_root:
                self.report.add(
                    "checkpoint", where, "signed root differs from the root recomputed from events"
                )
            if previous is not None:
                try:
                    proof = stored_tree.consistency_proof(previous.size, cp.size)
                    verify_consistency(previous.size, cp.size, previous.root, cp.root, proof)
                except (ProofError, LedgerError) as exc:
                    self.report.add(
                        "checkpoint",
                        where,
                        f"not consistent with checkpoint {previous.size}: {exc}",
                    )
            previous = cp


def _loads(record: str | None) -> dict[str, Any] | None:
    if record is None:
        return None
    try:
        value = json.loads(record)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
