"""The request inbox worker: reads final ``Filed`` events of the request inbox contract and
turns each into a ticket, a link or a refusal (``actions.chain_requests``).

Exactly once. The worker reads the chain outside the writer lock, then, under it, moves the
``chain_scans`` row from the block it started at to the block after the last it read, with a
compare-and-set: of two workers that read the same range, only the first to commit records
its filings, and the second finds the row moved and starts again from there. A filing is also
unique by (chain, transaction, log index), so nothing is recorded twice even if the cursor
were reset.

Reorganisations. Only filings ``confirmations`` deep are read. A final filing whose block is
later no longer canonical (a reorganisation deeper than that) is dropped, with an event on its
ticket, and the cursor goes back to its block, so the same transaction is recorded again if it
was mined anew.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update

from proofdesk.actions.chain_requests import (
    DRAFT_TTL,
    do_drop_filing,
    do_record_filing,
    do_retry_unmatched,
)
from proofdesk.canonical import format_time, utc_now
from proofdesk.chain.base import Chain
from proofdesk.chain.inbox import (
    MAX_RANGE,
    deployed_at,
    final_head,
    inbox_address,
    read_filings,
    still_canonical,
)
from proofdesk.store.db import Database
from proofdesk.store.models import ChainFiling, ChainScan
from proofdesk.workers.base import PeriodicWorker

log = logging.getLogger(__name__)

#: How many blocks back final filings are checked for a reorganisation.
REORG_WINDOW = 256


@dataclass(frozen=True)
class Round:
    """What one step did."""

    recorded: int = 0
    retried: int = 0
    dropped: int = 0


class InboxWorker(PeriodicWorker):
    """Follows the request inbox on the chain ``chain`` gives (opened by its owner)."""

    name = "inbox"

    def __init__(
        self,
        db: Database,
        chain: Callable[[], Chain],
        interval: float,
        *,
        contract: str | None = None,
    ) -> None:
        super().__init__(interval)
        self.db, self._chain, self._configured = db, chain, contract

    def step(self) -> Round:
        chain = self._chain()
        address = inbox_address(self.db, chain, self._configured)
        if address is None:
            return Round()
        dropped = self.check_reorganisations(chain)
        recorded = self.read_new(chain, address)
        return Round(recorded=recorded, retried=self.retry_unmatched(), dropped=dropped)

    # -- new filings -----------------------------------------------------------------------

    def _position(self, chain: Chain, address: str) -> int:
        with self.db.reader() as session:
            row = session.get(ChainScan, (chain.chain_id, address))
        return row.next_block if row is not None else deployed_at(self.db, chain, address)

    def read_new(self, chain: Chain, address: str) -> int:
        """Record the filings of the final blocks not read yet; returns how many were new."""
        start = self._position(chain, address)
        last = min(final_head(chain), start + MAX_RANGE - 1)
        if last < start:
            return 0
        filings = read_filings(chain, address, start, last)
        with self.db.writer() as session:
            scan = session.get(ChainScan, (chain.chain_id, address))
            if scan is None:
                session.add(
                    ChainScan(chain_id=chain.chain_id, contract=address, next_block=last + 1)
                )
                session.flush()
            else:
                moved = session.execute(
                    update(ChainScan)
                    .where(
                        ChainScan.chain_id == chain.chain_id,
                        ChainScan.contract == address,
                        ChainScan.next_block == start,
                    )
                    .values(next_block=last + 1)
                    .returning(ChainScan.next_block)
                ).first()
                if moved is None:
                    return 0  # another worker read this range first
            for filing in filings:
                do_record_filing(session, filing)
        if filings:
            log.info("request inbox: %d filing(s) in blocks %d-%d", len(filings), start, last)
        return len(filings)

    # -- filings that matched nothing yet ---------------------------------------------------

    def retry_unmatched(self) -> int:
        since = format_time(utc_now() - DRAFT_TTL - DRAFT_TTL)
        with self.db.reader() as session:
            ids = session.scalars(
                select(ChainFiling.id).where(
                    ChainFiling.status == "unmatched", ChainFiling.created_at >= since
                )
            ).all()
        changed = 0
        for row_id in ids:
            with self.db.writer() as session:
                row = do_retry_unmatched(session, row_id)
                changed += row is not None and row.status != "unmatched"
        return changed

    # -- reorganisations --------------------------------------------------------------------

    def check_reorganisations(self, chain: Chain) -> int:
        """Drop final filings whose block is no longer canonical; returns how many."""
        low = max(chain.head() - REORG_WINDOW, 0)
        with self.db.reader() as session:
            recent = session.execute(
                select(
                    ChainFiling.id,
                    ChainFiling.contract,
                    ChainFiling.block_number,
                    ChainFiling.block_hash,
                )
                .where(
                    ChainFiling.chain_id == chain.chain_id,
                    ChainFiling.status != "dropped",
                    ChainFiling.block_number >= low,
                )
                .order_by(ChainFiling.block_number)
            ).all()
        gone = [r for r in recent if not still_canonical(chain, r.block_number, r.block_hash)]
        for row_id, contract, block_number, block_hash in gone:
            with self.db.writer() as session:
                do_drop_filing(session, row_id, block_hash)
                # Read the block again: the transaction may have been mined anew.
                session.execute(
                    update(ChainScan)
                    .where(
                        ChainScan.chain_id == chain.chain_id,
                        ChainScan.contract == contract,
                        ChainScan.next_block > block_number,
                    )
                    .values(next_block=block_number)
                )
            log.error(
                "request inbox: the final filing in block %d is no longer on the chain "
                "(a reorganisation deeper than the confirmation depth)",
                block_number,
            )
        return len(gone)
