"""The witnessing worker: asks our log's witnesses to cosign each new checkpoint.

Each tick reads the latest checkpoint and, for every witness that has not cosigned it, sends
``add-checkpoint`` with ``old`` = the size that witness last cosigned (``old 0`` while we do
not know it) and the consistency proof from there, all computed in a read transaction. The
answers are handled in a short write transaction each:

- 200: the cosignature lines are verified with the witness's key and kept;
- 409 with a size we have signed: we learn it and try once more from there; a size beyond our
  log, or a second 409 for the size we just learnt (same size, other root), is an alert;
- 422 (our proof from its size does not verify): it holds another root at that size, an alert;
- anything else, or no answer: the witness is down or misconfigured; noted, and the log goes on.

Witnesses are asked in parallel, so one that is down costs its timeout, not everyone's. Two
worker processes may both ask; the witness's own compare-and-set makes one of them a 409, and
storing a cosignature twice is a no-op.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx2

from proofdesk.actions.witnessing import (
    do_learn_witness_size,
    do_raise_witness_alert,
    do_record_cosignature,
    do_record_witness_failure,
)
from proofdesk.ledger import checkpoints
from proofdesk.ledger.store import tree
from proofdesk.ledger.witness import format_add_checkpoint, parse_size
from proofdesk.ledger.witnessing import Witness
from proofdesk.store.db import Database
from proofdesk.store.models import CheckpointCosignature, LogWitness
from proofdesk.verify.cosignature import cosignatures
from proofdesk.verify.errors import VerificationError
from proofdesk.verify.note import split_note
from proofdesk.workers.base import HttpWorker

log = logging.getLogger("proofdesk.witnessing")


@dataclass(frozen=True)
class Outcome:
    """What one witness did with one checkpoint: ``cosigned``, ``alert`` or ``failed``."""

    witness: str
    status: str
    detail: str = ""


class WitnessLoop(HttpWorker):
    """Sends every new checkpoint to ``witnesses`` every ``interval`` seconds."""

    name = "witnessing"

    def __init__(
        self, db: Database, witnesses: list[Witness], interval: float, timeout: float
    ) -> None:
        super().__init__(interval if witnesses else 0, timeout)
        self.db, self.witnesses = db, witnesses

    def step(self) -> list[Outcome]:
        """Ask every witness that has not cosigned the latest checkpoint; what each did."""
        with self.db.reader() as session:
            latest = checkpoints.latest(session)
            if latest is None or not self.witnesses:
                return []
            done = set(
                session.scalars(
                    CheckpointCosignature.__table__.select()
                    .with_only_columns(CheckpointCosignature.witness)
                    .where(CheckpointCosignature.size == latest.size)
                )
            )
            known = {
                w.id: (None if (row := session.get(LogWitness, w.id)) is None else row.size)
                for w in self.witnesses
            }
            size, note = latest.size, latest.note
        todo = [w for w in self.witnesses if w.id not in done]
        if not todo:
            return []
        with ThreadPoolExecutor(max_workers=len(todo)) as pool:
            return list(pool.map(lambda w: self.ask(w, size, note, known[w.id]), todo))

    def ask(self, witness: Witness, size: int, note: str, old: int | None) -> Outcome:
        """Send our checkpoint of ``size`` to one witness, learning its size at most once."""
        old = 0 if old is None or old > size else old
        learnt = False
        while True:
            with self.db.reader() as session:
                proof = tree(session, size).consistency_proof(old, size) if old else []
            try:
                r = self.client().post(
                    f"{witness.url}/add-checkpoint", content=format_add_checkpoint(old, proof, note)
                )
            except httpx2.HTTPError as exc:
                return self._failed(witness, f"unreachable: {type(exc).__name__}: {exc}")
            if r.status_code == 200:
                return self._cosigned(witness, size, note, r.text)
            if r.status_code == 409:
                theirs = parse_size(r.text)
                if theirs is None:
                    return self._failed(witness, f"409 without a size: {r.text[:200]!r}")
                if theirs > size:
                    return self._alert(
                        witness,
                        size,
                        f"it cosigned size {theirs} of our log, which has signed only {size}: "
                        "a split view, or our database was rolled back",
                    )
                if learnt and theirs == old:
                    return self._alert(
                        witness, size, f"it holds another root for our size {theirs}: a split view"
                    )
                with self.db.writer() as session:
                    do_learn_witness_size(session, witness.id, witness.url, theirs)
                old, learnt = theirs, True
                continue
            if r.status_code == 422:
                return self._alert(
                    witness,
                    size,
                    f"our consistency proof from its size {old} does not verify: it holds "
                    "another tree of our log (a split view)",
                )
            return self._failed(witness, f"HTTP {r.status_code}: {r.text[:200]}")

    def _cosigned(self, witness: Witness, size: int, note: str, body: str) -> Outcome:
        """Keep the witness's line of the answer (lines of its other keys are ignored)."""
        try:
            found = cosignatures(note + body, [witness.key])
            signatures = split_note(note + body)[1]
        except VerificationError as exc:
            return self._failed(witness, f"its cosignature does not verify: {exc}")
        if witness.id not in found:
            return self._failed(witness, "its answer holds no cosignature by its key")
        line = next(
            s.line()
            for s in signatures
            if s.name == witness.key.name and s.key_id == witness.key.key_id
        )
        with self.db.writer() as session:
            do_record_cosignature(session, witness.id, witness.url, size, line, found[witness.id])
        return Outcome(witness.id, "cosigned")

    def _failed(self, witness: Witness, message: str) -> Outcome:
        with self.db.writer() as session:
            news = do_record_witness_failure(session, witness.id, witness.url, message)
        if news:  # a witness that stays down is logged once, not every tick
            log.warning("witness %s: %s", witness.url, message)
        return Outcome(witness.id, "failed", message)

    def _alert(self, witness: Witness, size: int, message: str) -> Outcome:
        with self.db.writer() as session:
            do_raise_witness_alert(session, witness.id, witness.url, size, message)
        return Outcome(witness.id, "alert", message)
