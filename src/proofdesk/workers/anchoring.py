"""The anchoring worker: anchors signed checkpoints on chain in batches (``chain.anchoring``).

The :class:`~proofdesk.chain.anchoring.Anchorer` is built when first needed, not at start-up,
because the node may be down then; the payouts worker borrows its chain, so one process opens
one connection (and one embedded chain) whatever it runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from proofdesk.chain.anchoring import Anchorer
from proofdesk.store.models import Anchor
from proofdesk.workers.base import PeriodicWorker


class AnchorLoop(PeriodicWorker):
    """Runs :meth:`Anchorer.tick` every ``interval`` seconds; faults are logged once and
    retried. Stopping it closes the chain it opened."""

    name = "anchoring"

    def __init__(self, factory: Callable[[], Anchorer], interval: float) -> None:
        super().__init__(interval)
        self.factory = factory
        self._anchorer: Anchorer | None = None
        self._build = threading.Lock()

    def anchorer(self) -> Anchorer:
        with self._build:
            if self._anchorer is None:
                self._anchorer = self.factory()
            return self._anchorer

    def step(self) -> Anchor | None:
        return self.anchorer().tick()

    def stop(self) -> None:
        super().stop()
        with self._build:
            if self._anchorer is not None:
                self._anchorer.chain.close()
                self._anchorer = None
