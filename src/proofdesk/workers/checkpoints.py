"""The checkpoint worker: signs a checkpoint when the log has grown (``ledger.checkpoints``).

Exactly once per size: the tree is read, checked and signed in a read transaction, and only
the insert runs under the writer lock, after re-checking that the latest checkpoint is still
the one the draft extends. Two signers racing both draft; the second finds the latest moved and
stores nothing, and its next tick drafts from the new latest.
"""

from __future__ import annotations

from proofdesk.ledger.checkpoints import draft, store
from proofdesk.store.db import Database
from proofdesk.store.models import SignedCheckpoint
from proofdesk.verify.note import Signer
from proofdesk.workers.base import PeriodicWorker


class CheckpointLoop(PeriodicWorker):
    """Signs a checkpoint every ``interval`` seconds when there are leaves none covers."""

    name = "checkpoints"

    def __init__(self, db: Database, signer: Signer, interval: float) -> None:
        super().__init__(interval)
        self.db, self.signer = db, signer

    def tick(self) -> SignedCheckpoint | None:
        """Sign a checkpoint if there are leaves no checkpoint covers; None if there are not,
        or if another signer stored one first."""
        with self.db.reader() as session:
            made = draft(session, self.signer)
        if isinstance(made, SignedCheckpoint):
            return None
        with self.db.writer() as session:
            return store(session, made)

    step = tick
