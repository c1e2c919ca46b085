"""The monitor worker: follows partners' logs by their C2SP tiles and catches split views.

Each step fetches every monitored log's ``<prefix>/checkpoint``, verifies the log's signature
and compares it with the checkpoint it saw before:

- the same size with another root, or a smaller size: a split view (or a rollback) — both
  notes are kept (``split_view_evidence``), at ERROR in the log;
- a larger size: the consistency proof from the earlier size is computed from the log's tiles
  (:class:`~proofdesk.ledger.tiles.TileNodes`, which hashes what it reads, so a lying tile
  server can only make the proof fail) and verified against both signed roots; a failure is a
  split view too, a success moves what we saw forward (compare-and-set, so two monitor
  processes never move it backwards).

Fetching and checking run outside any transaction; only the short writes take the lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx2
from sqlalchemy import select

from proofdesk.actions.monitor import (
    do_record_checkpoint_seen,
    do_record_monitor_failure,
    do_record_split_view,
)
from proofdesk.errors import Error
from proofdesk.ledger.tiles import TileNodes
from proofdesk.ledger.tree import Tree
from proofdesk.store.db import Database
from proofdesk.store.models import MonitoredLog
from proofdesk.verify.errors import VerificationError
from proofdesk.verify.merkle import verify_consistency
from proofdesk.verify.note import Checkpoint, Verifier, open_checkpoint
from proofdesk.workers.base import HttpWorker

log = logging.getLogger("proofdesk.monitor")


@dataclass(frozen=True)
class Seen:
    """What one step found for one log: ``new``, ``same``, ``split`` or ``failed``."""

    origin: str
    status: str
    size: int = 0
    detail: str = ""


@dataclass(frozen=True)
class _Known:
    origin: str
    url: str
    key: str
    size: int
    root: bytes | None
    note: str | None


class MonitorLoop(HttpWorker):
    """Checks every monitored log every ``interval`` seconds."""

    name = "monitor"

    def __init__(self, db: Database, interval: float, timeout: float) -> None:
        super().__init__(interval, timeout)
        self.db = db

    def step(self) -> list[Seen]:
        with self.db.reader() as session:
            logs = [
                _Known(r.origin, r.url, r.verifier_key, r.size, r.root and bytes(r.root), r.note)
                for r in session.scalars(select(MonitoredLog).order_by(MonitoredLog.origin))
            ]
        return [self.check(known) for known in logs]

    def _get(self, url: str) -> bytes:
        r = self.client().get(url)
        if r.status_code != 200:
            raise httpx2.HTTPError(f"GET {url}: HTTP {r.status_code}")
        return r.content

    def check(self, known: _Known) -> Seen:
        try:
            note = self._get(f"{known.url}/checkpoint").decode("utf-8", "replace")
            cp = open_checkpoint(note, Verifier.parse(known.key), known.origin)
        except (httpx2.HTTPError, VerificationError) as exc:
            return self._failed(known, f"{type(exc).__name__}: {exc}")
        if known.root is None or known.note is None:
            return self._moved(known, cp, note)
        if cp.size == known.size:
            if cp.root == known.root:
                return Seen(known.origin, "same", cp.size)
            return self._split(known, "fork", note, f"two roots for size {cp.size}")
        if cp.size < known.size:
            return self._split(
                known, "rollback", note, f"size {cp.size} after size {known.size} was signed"
            )
        try:
            nodes = TileNodes(lambda path: self._get(f"{known.url}/{path}"), cp.size)
            proof = Tree(nodes, cp.size).consistency_proof(known.size, cp.size)
        except (httpx2.HTTPError, Error) as exc:
            return self._failed(known, f"reading tiles: {exc}")
        try:
            verify_consistency(known.size, cp.size, known.root, cp.root, proof)
        except VerificationError as exc:
            return self._split(
                known, "inconsistent", note, f"size {cp.size} does not extend {known.size}: {exc}"
            )
        return self._moved(known, cp, note)

    def _moved(self, known: _Known, cp: Checkpoint, note: str) -> Seen:
        with self.db.writer() as session:
            do_record_checkpoint_seen(session, known.origin, known.size, cp.size, cp.root, note)
        return Seen(known.origin, "new", cp.size)

    def _failed(self, known: _Known, message: str) -> Seen:
        log.warning("monitor %s: %s", known.origin, message)
        with self.db.writer() as session:
            do_record_monitor_failure(session, known.origin, message)
        return Seen(known.origin, "failed", known.size, message)

    def _split(self, known: _Known, kind: str, note: str, detail: str) -> Seen:
        assert known.note is not None
        with self.db.writer() as session:
            do_record_split_view(session, known.origin, kind, known.note, note, detail)
        return Seen(known.origin, "split", known.size, detail)
