"""Following a transaction from an outbox row to a final block, whatever fails on the way.

Anchors and payouts share this. A row (``anchors``, ``payouts``) holds the signed bytes of its
transaction before they are broadcast, so a crash at any point leaves a row that the next tick
follows: it looks the transaction up, rebroadcasts the same bytes while the nonce is still free
(same bytes, same hash: the chain can include them once), and waits until the transaction's
block is ``confirmations`` deep and still canonical. When the nonce was taken by another
transaction or the transaction reverted, the owner's ``adopt`` looks on chain for what the row
wanted done (an anchor of the checkpoint, a payment of the claim) and records that instead of
sending again — the contracts refuse doing it twice — or marks the row failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from hexbytes import HexBytes

from proofdesk.canonical import format_time, utc_now
from proofdesk.chain.base import Chain, ChainError, SignedTx
from proofdesk.store.db import Database

log = logging.getLogger(__name__)

#: Statuses of a row whose transaction is on its way.
IN_FLIGHT = ("sent", "mined")


class OutboxRow(Protocol):
    id: Any
    status: str
    tx_hash: Any
    raw_tx: bytes | None
    sender: Any
    nonce: Any
    block_number: int | None
    block_hash: str | None
    contract: Any


R = TypeVar("R", bound=OutboxRow)


class Follower:
    """Moves rows of one outbox table along; ``what`` names a row in log lines."""

    def __init__(self, db: Database, chain: Chain, model: type[Any], what: str) -> None:
        self.db, self.chain, self.model, self.what = db, chain, model, what

    def get(self, row_id: int) -> Any:
        with self.db.reader() as session:
            row = session.get(self.model, row_id)
            if row is None:
                raise ChainError(f"{self.what} row {row_id} vanished")
            return row

    def update(self, row_id: int, **values: Any) -> Any:
        with self.db.writer() as session:
            row = session.get(self.model, row_id)
            if row is None:
                raise ChainError(f"{self.what} row {row_id} vanished")
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = format_time(utc_now())
        return row

    def broadcast(self, row: Any) -> None:
        if row.raw_tx is None:
            return
        signed = SignedTx(row.tx_hash, bytes(row.raw_tx), row.nonce, row.sender, 0)
        try:
            self.chain.broadcast(signed)
        except ChainError as exc:
            # The row stays in flight; the next tick looks again and decides.
            log.warning("broadcast of %s %s failed: %s", self.what, row.id, exc.message)
            self.update(row.id, error=exc.message)

    def follow(self, row: Any, adopt: Callable[[Any, str], Any]) -> Any:
        """One look at an in-flight row: mined, confirmed, replaced, reverted or still out."""
        receipt = self.chain.receipt(row.tx_hash)
        if receipt is None:
            return self._missing(row, adopt)
        if receipt["status"] != 1:
            return adopt(row, "reverted")
        block_number = int(receipt["blockNumber"])
        block_hash = HexBytes(receipt["blockHash"]).to_0x_hex()
        head = self.chain.head()
        depth = head - block_number + 1
        status = "confirmed" if depth >= self.chain.confirmations else "mined"
        block = self.chain.block(block_number)
        if HexBytes(block["hash"]).to_0x_hex() != block_hash:
            return self.update(row.id, status="sent", error="block replaced; waiting")
        return self.update(
            row.id,
            status=status,
            block_number=block_number,
            block_hash=block_hash,
            block_time=format_time(datetime.fromtimestamp(int(block["timestamp"]), UTC)),
            gas_used=int(receipt["gasUsed"]),
            error=None,
        )

    def _missing(self, row: Any, adopt: Callable[[Any, str], Any]) -> Any:
        """The transaction is in no block: rebroadcast it while its nonce is free."""
        if row.contract and not self.chain.code_at(row.contract):
            return self.update(
                row.id, status="lost", error=f"no contract code at {row.contract}: chain reset"
            )
        mined_nonce = self.chain.nonce(row.sender, "latest")
        if mined_nonce > row.nonce:
            # Our nonce was used by another transaction (replaced, or sent elsewhere).
            return adopt(row, "replaced")
        if mined_nonce < row.nonce and self.chain.nonce(row.sender, "pending") < row.nonce:
            # A gap below our nonce (the node forgot earlier transactions): this one would
            # wait forever. Give it up; the owner signs a new one.
            return self.update(row.id, status="failed", error="nonce gap; re-signing")
        self.broadcast(row)
        if self.chain.receipt(row.tx_hash) is not None:  # mined at once (automining chains)
            return self.follow(row, adopt)
        return row

    def reorganised_away(self, row: Any) -> Any | None:
        """A confirmed row whose transaction is no longer in its block goes back to ``sent``
        (returned), to be followed again; None while it is where it was."""
        receipt = self.chain.receipt(row.tx_hash)
        if receipt is not None and HexBytes(receipt["blockHash"]).to_0x_hex() == row.block_hash:
            return None
        log.warning(
            "%s %s (tx %s) is no longer in block %s; following it again",
            self.what,
            row.id,
            row.tx_hash,
            row.block_number,
        )
        return self.update(
            row.id,
            status="sent",
            block_number=None,
            block_hash=None,
            block_time=None,
            error=f"reorganised out of block {row.block_number}; resubmitted",
        )
