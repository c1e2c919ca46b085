"""The ``transfers`` worker: delivers the signed status updates of transferred tickets to the
partners (``actions.transfers.do_advance_updates``), each due row posted outside the writer
lock and marked under it, retried with a growing wait until the partner takes it; the
partner takes an update once, whatever the number of deliveries (docs/workers.md)."""

from __future__ import annotations

from proofdesk.actions.transfers import Parts, do_advance_updates
from proofdesk.actions.webhooks import UrlPolicy
from proofdesk.ledger.transfers import transfer_key
from proofdesk.ledger.witnessing import WitnessPolicy
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.verify.note import Signer
from proofdesk.workers.base import PeriodicWorker


class TransferWorker(PeriodicWorker):
    name = "transfers"

    def __init__(self, parts: Parts, interval: float) -> None:
        super().__init__(interval)
        self.parts = parts

    @classmethod
    def from_settings(cls, settings: Settings, db: Database, signer: Signer) -> TransferWorker:
        parts = Parts(
            db=db,
            signer=signer,
            key=transfer_key(settings.effective_transfers_key_file),
            policy=WitnessPolicy.of(settings),
            urls=UrlPolicy(allow_private=settings.transfers_allow_private),
            timeout=settings.transfers_timeout,
        )
        return cls(parts, settings.transfers_poll_seconds)

    def step(self) -> int:
        """Deliver the updates that are due; how many were delivered."""
        return do_advance_updates(self.parts)
