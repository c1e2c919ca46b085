"""Anchoring signed checkpoints on chain, in batches, through a persistent outbox.

One anchor covers every leaf of its checkpoint, so its cost is shared by all the events since
the previous one. The service anchors the latest signed checkpoint when ``every_leaves`` new
leaves are waiting or the oldest waiting checkpoint is ``every_seconds`` old.

Exactly once, whatever fails. At most one anchor is in flight per chain. Its signed bytes are
written to ``anchors`` (status ``sent``) *before* they are broadcast, and the row is followed
to a final block by :class:`~proofdesk.chain.outbox.Follower` (shared with payouts). When the
nonce was taken by something else, when the transaction reverted, or when the chain was reset,
the anchorer asks the contract whether the checkpoint is anchored already and adopts that
anchor instead of sending another; the contract itself refuses a size that is not above the
last one, so a checkpoint can never be anchored twice. A confirmed anchor that disappears in a
reorganisation goes back to ``sent`` and is resubmitted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_utils.crypto import keccak
from hexbytes import HexBytes
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web3 import Web3

from proofdesk.canonical import format_time, parse_time, utc_now
from proofdesk.chain.base import (
    Chain,
    ChainError,
    SignedTx,
    TxReverted,
    contract,
)
from proofdesk.chain.deployments import deployed
from proofdesk.chain.outbox import IN_FLIGHT, Follower
from proofdesk.ledger import checkpoints
from proofdesk.store.db import Database
from proofdesk.store.models import Anchor, SignedCheckpoint

log = logging.getLogger(__name__)

ANCHOR_CONTRACT = "CheckpointAnchor"

#: The event a verifier looks for: Anchored(bytes32 indexed, bytes32 indexed, uint256, string).
ANCHORED_TOPIC = "0x" + keccak(text="Anchored(bytes32,bytes32,uint256,string)").hex()


def log_id(origin: str) -> bytes:
    """The contract's key of a log: ``keccak256`` of its origin line."""
    return keccak(text=origin)


# -- anchoring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    every_leaves: int = 1000
    every_seconds: float = 60.0


@dataclass(frozen=True)
class Status:
    """What ``proofdesk chain status`` and the API report."""

    chain: str
    chain_id: int
    development: bool
    head: int | None
    contract: str | None
    contract_live: bool
    checkpoint_size: int
    anchored_size: int
    in_flight: int | None
    problem: str | None


class Anchorer:
    """Anchors one log's checkpoints on one chain. Safe to run in several processes at once:
    rows are created under the database's writer lock, and the contract refuses duplicates."""

    def __init__(
        self,
        db: Database,
        chain: Chain,
        origin: str,
        policy: Policy,
        *,
        contract_address: str | None = None,
        now: Any = None,
    ) -> None:
        self.db, self.chain, self.origin, self.policy = db, chain, origin, policy
        self._address = contract_address
        self._now = now or (lambda: datetime.now(UTC))
        self.follower = Follower(db, chain, Anchor, "anchor")

    # -- what is where -----------------------------------------------------------------

    def contract_address(self) -> str | None:
        if self._address:
            return Web3.to_checksum_address(self._address)
        with self.db.reader() as session:
            row = deployed(session, self.chain.chain_id, ANCHOR_CONTRACT)
        return row.address if row else None

    def _contract(self, address: str) -> Any:
        return contract(self.chain, ANCHOR_CONTRACT, address)

    def _newest(self, session: Session, *statuses: str) -> Anchor | None:
        return session.scalars(
            select(Anchor)
            .where(Anchor.chain_id == self.chain.chain_id, Anchor.status.in_(statuses))
            .order_by(Anchor.id.desc())
            .limit(1)
        ).first()

    def anchored_size(self, session: Session, *statuses: str) -> int:
        """The largest size anchored (by default: confirmed or on its way) on this chain."""
        largest = session.scalar(
            select(func.max(Anchor.tree_size)).where(
                Anchor.chain_id == self.chain.chain_id,
                Anchor.status.in_(statuses or ("confirmed", *IN_FLIGHT)),
            )
        )
        return int(largest or 0)

    def status(self) -> Status:
        problem = None
        head: int | None = None
        address = self.contract_address()
        live = False
        try:
            head = self.chain.head()
            live = bool(address and self.chain.code_at(address))
        except ChainError as exc:
            problem = exc.message
        if problem is None and address is None:
            problem = "no CheckpointAnchor deployed on this chain: run `proofdesk chain deploy`"
        elif problem is None and not live:
            problem = (
                f"no contract code at {address}: the chain was reset or the address is wrong; "
                "run `proofdesk chain deploy`"
            )
        with self.db.reader() as session:
            cp = checkpoints.latest(session)
            flying = self._newest(session, *IN_FLIGHT)
            anchored = self.anchored_size(session, "confirmed")
        return Status(
            chain=self.chain.describe(),
            chain_id=self.chain.chain_id,
            development=self.chain.development,
            head=head,
            contract=address,
            contract_live=live,
            checkpoint_size=cp.size if cp else 0,
            anchored_size=anchored,
            in_flight=flying.tree_size if flying else None,
            problem=problem,
        )

    # -- the work ----------------------------------------------------------------------

    def tick(self, *, force: bool = False) -> Anchor | None:
        """Advance the in-flight anchor, check the last confirmed one is still on chain, and
        start a new anchor if the policy (or ``force``) says so. Returns the row it touched."""
        address = self.contract_address()
        if address is None:
            raise ChainError(
                "no CheckpointAnchor deployed on this chain: run `proofdesk chain deploy`",
                code="anchor_contract_missing",
            )
        with self.db.reader() as session:
            flying = self._newest(session, *IN_FLIGHT)
            confirmed = self._newest(session, "confirmed")
        if flying is not None:
            return self._follow(flying, address)
        if confirmed is not None:
            moved = self._reorganised_away(confirmed)
            if moved is not None:
                return moved
        return self._maybe_start(address, force=force)

    def _reorganised_away(self, row: Anchor) -> Anchor | None:
        """A confirmed anchor no longer in its block goes back to ``sent``: the same signed
        bytes are resubmitted, or the anchor adopted if present."""
        moved: Anchor | None = self.follower.reorganised_away(row)
        return moved

    def _maybe_start(self, address: str, *, force: bool) -> Anchor | None:
        with self.db.reader() as session:
            cp = checkpoints.latest(session)
            anchored = self.anchored_size(session)
            if cp is None or cp.size <= anchored:
                return None
            waiting = cp.size - anchored
            oldest = checkpoints.at_least(session, anchored + 1)
        due = force or waiting >= self.policy.every_leaves
        if not due and oldest is not None and self.policy.every_seconds > 0:
            age = (self._now() - parse_time(oldest.issued_at)).total_seconds()
            due = age >= self.policy.every_seconds
        if not due:
            return None
        return self._start(address, cp)

    def _start(self, address: str, cp: SignedCheckpoint) -> Anchor | None:
        if not self.chain.code_at(address):
            raise ChainError(
                f"no contract code at {address} on {self.chain.describe()}: the chain was "
                "reset; run `proofdesk chain deploy`",
                code="anchor_contract_missing",
            )
        call = self._contract(address).functions.anchor(self.origin, cp.size, bytes(cp.root))
        with self.chain.sending:
            try:
                signed = self.chain.prepare(
                    {
                        "to": Web3.to_checksum_address(address),
                        "data": call._encode_transaction_data(),
                    }
                )
            except TxReverted as exc:
                return self._adopt_or_fail(None, address, cp.size, bytes(cp.root), exc.reason)
            row = self._insert(address, cp, signed)
            if row is None:
                return None
            self._broadcast(row)
        return self._follow(row, address)

    def _insert(self, address: str, cp: SignedCheckpoint, signed: SignedTx) -> Anchor | None:
        """The outbox row, committed before anything is broadcast."""
        now = format_time(utc_now())
        with self.db.writer() as session:
            if self._newest(session, *IN_FLIGHT) or self.anchored_size(session) >= cp.size:
                return None  # another process started one first
            row = Anchor(
                chain_id=self.chain.chain_id,
                contract=address,
                origin=self.origin,
                tree_size=cp.size,
                root=bytes(cp.root),
                status="sent",
                tx_hash=signed.tx_hash,
                raw_tx=signed.raw,
                sender=signed.sender,
                nonce=signed.nonce,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
        return row

    def _broadcast(self, row: Anchor) -> None:
        self.follower.broadcast(row)

    def _follow(self, row: Anchor, address: str) -> Anchor:
        def adopt(row: Anchor, why: str) -> Anchor:
            return self._adopt_or_fail(row, address, row.tree_size, bytes(row.root), why)

        followed: Anchor = self.follower.follow(row, adopt)
        return followed

    def _adopt_or_fail(
        self, row: Anchor | None, address: str, size: int, root: bytes, why: str
    ) -> Anchor:
        """When the contract already holds an anchor of this checkpoint, record that one."""
        found = self.find_on_chain(address, size, root)
        if found is not None:
            tx_hash, _block = found
            if row is None:
                row = self._record_adopted(address, size, root, tx_hash)
            else:
                self._update(row.id, tx_hash=tx_hash, raw_tx=None, error=f"adopted after {why}")
            return self._follow(self._get(row.id), address)
        if row is None:
            raise TxReverted(why)
        return self._update(row.id, status="failed", error=why)

    def _record_adopted(self, address: str, size: int, root: bytes, tx_hash: str) -> Anchor:
        """A row for an anchor found on chain; re-checked under the lock, since another
        process may have recorded the same anchor meanwhile."""
        now = format_time(utc_now())
        with self.db.writer() as session:
            found = session.scalars(
                select(Anchor)
                .where(
                    Anchor.chain_id == self.chain.chain_id,
                    Anchor.tree_size == size,
                    Anchor.status.in_(("confirmed", *IN_FLIGHT)),
                )
                .order_by(Anchor.id.desc())
                .limit(1)
            ).first()
            if found is not None:
                return found
            row = Anchor(
                chain_id=self.chain.chain_id,
                contract=address,
                origin=self.origin,
                tree_size=size,
                root=root,
                status="sent",
                tx_hash=tx_hash,
                raw_tx=None,
                sender=self.chain.account.address,
                nonce=-1,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
        return row

    def find_on_chain(self, address: str, size: int, root: bytes) -> tuple[str, int] | None:
        """The transaction and block of the ``Anchored`` event of this checkpoint, if any."""
        with self.db.reader() as session:
            row = deployed(session, self.chain.chain_id, ANCHOR_CONTRACT)
        # From the deployment's block: providers limit the range a log query may span.
        start = row.block_number if row and row.address == address and row.block_number else 0
        logs = self.chain.logs(
            {
                "address": Web3.to_checksum_address(address),
                "fromBlock": start,
                "toBlock": "latest",
                "topics": [ANCHORED_TOPIC, "0x" + log_id(self.origin).hex(), "0x" + root.hex()],
            }
        )
        for entry in logs:
            if int.from_bytes(bytes(entry["data"])[:32], "big") == size:
                return HexBytes(entry["transactionHash"]).to_0x_hex(), int(entry["blockNumber"])
        return None

    # -- rows --------------------------------------------------------------------------

    def _get(self, row_id: int) -> Anchor:
        row: Anchor = self.follower.get(row_id)
        return row

    def _update(self, row_id: int, **values: Any) -> Anchor:
        row: Anchor = self.follower.update(row_id, **values)
        return row
