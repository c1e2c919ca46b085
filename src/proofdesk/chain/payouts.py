"""Sending queued payouts: escrow payments (``WarrantyEscrow.pay``) and reward credits
(``RewardToken.mint``), exactly once.

The same outbox discipline as anchoring (``chain.outbox``): the signed transaction is written
to the payout's row before it is broadcast, then followed to a final block. A crash between
sending and recording leaves a ``sent`` row whose transaction the next tick finds (or
rebroadcasts, same bytes). For escrow payouts the contract is the last word: before signing,
and whenever the transaction was replaced or reverted, the payer asks whether the claim id is
paid already and adopts that payment. Writing the finished payout into its ticket's
timeline is the payouts worker's (``workers.payouts``): this module sends, it records no event.
"""

from __future__ import annotations

import logging
from typing import Any

from hexbytes import HexBytes
from sqlalchemy import select
from web3 import Web3

from proofdesk.canonical import format_time, utc_now
from proofdesk.chain.base import Chain, ChainError, ChainUnavailable, TxReverted, contract
from proofdesk.chain.deployments import deployed
from proofdesk.chain.outbox import IN_FLIGHT, Follower
from proofdesk.store.db import Database
from proofdesk.store.models import Payout

log = logging.getLogger(__name__)

ESCROW = "WarrantyEscrow"
REWARD = "RewardToken"
#: keccak256("Paid(bytes32,address,address,uint256,address)")
PAID_TOPIC = "0x" + Web3.keccak(text="Paid(bytes32,address,address,uint256,address)").hex()
#: The escrow's Status flag value of a paid claim.
PAID = 2


class Payer:
    """Sends this deployment's queued payouts on one chain and follows them."""

    def __init__(self, db: Database, chain: Chain, *, batch: int = 20) -> None:
        self.db, self.chain, self.batch = db, chain, batch
        self.follower = Follower(db, chain, Payout, "payout")

    def contract_address(self, kind: str) -> str | None:
        with self.db.reader() as session:
            row = deployed(session, self.chain.chain_id, ESCROW if kind == "escrow" else REWARD)
        return row.address if row else None

    def tick(self) -> int:
        """Follow in-flight payouts and start queued ones; returns how many rows it touched."""
        touched = 0
        with self.db.reader() as session:
            flying = session.scalars(
                select(Payout).where(Payout.status.in_(IN_FLIGHT)).order_by(Payout.id)
            ).all()
            queued = session.scalars(
                select(Payout)
                .where(Payout.status == "queued")
                .order_by(Payout.id)
                .limit(self.batch)
            ).all()
        for row in flying:
            self.follower.follow(row, self._adopt_or_fail)
            touched += 1
        for row in queued:
            try:
                self._start(row)
            except ChainUnavailable:
                raise  # the node is away: every row waits for the next tick
            except ChainError as exc:
                # This row cannot be sent (no contract, a refusal): a person looks; the others
                # go on.
                self.follower.update(row.id, status="failed", error=exc.message)
            except (ValueError, TypeError) as exc:
                self.follower.update(
                    row.id, status="failed", error=f"cannot be sent: {str(exc)[:200]}"
                )
            touched += 1
        return touched

    # -- sending -------------------------------------------------------------------------

    def _call(self, row: Payout) -> Any:
        address = self.contract_address(row.kind)
        if address is None:
            raise ChainError(
                f"no {ESCROW if row.kind == 'escrow' else REWARD} deployed on this chain: run "
                "`proofdesk chain deploy`",
                code="payout_contract_missing",
            )
        if row.kind == "escrow":
            fn = contract(self.chain, ESCROW, address).functions.pay(
                HexBytes(row.claim_id),
                Web3.to_checksum_address(str(row.merchant)),
                Web3.to_checksum_address(str(row.recipient)),
                int(row.amount_units),
            )
        else:
            fn = contract(self.chain, REWARD, address).functions.mint(
                Web3.to_checksum_address(str(row.recipient)), int(row.amount_units)
            )
        return address, fn

    def _start(self, row: Payout) -> None:
        address, fn = self._call(row)
        if row.kind == "escrow" and self._paid_on_chain(address, row) is not None:
            self._adopt_or_fail(row, "already paid")
            return
        with self.chain.sending:
            try:
                signed = self.chain.prepare(
                    {"to": Web3.to_checksum_address(address), "data": fn._encode_transaction_data()}
                )
            except TxReverted as exc:  # the node's estimate says it would revert
                self.follower.update(row.id, status="failed", error=f"reverted: {exc.reason}")
                return
            with self.db.writer() as session:
                fresh = session.get(Payout, row.id)
                if fresh is None or fresh.status != "queued":
                    return  # another process took it
                fresh.status, fresh.contract, fresh.chain_id = "sent", address, self.chain.chain_id
                fresh.tx_hash, fresh.raw_tx = signed.tx_hash, signed.raw
                fresh.sender, fresh.nonce = signed.sender, signed.nonce
                fresh.updated_at = format_time(utc_now())
            sent = self.follower.get(row.id)
            self.follower.broadcast(sent)
        self.follower.follow(self.follower.get(row.id), self._adopt_or_fail)

    def _paid_on_chain(self, address: str, row: Payout) -> str | None:
        """The transaction that paid this claim, if the escrow says it is paid."""
        escrow = contract(self.chain, ESCROW, address)
        claim = self.chain.call(lambda: escrow.functions.claims(HexBytes(row.claim_id)).call())
        if int(claim[4]) != PAID:
            return None
        logs = self.chain.logs(
            {
                "address": Web3.to_checksum_address(address),
                "fromBlock": 0,
                "toBlock": "latest",
                "topics": [PAID_TOPIC, row.claim_id],
            }
        )
        if not logs:
            raise ChainError(f"claim {row.claim_id} is paid but its Paid event is not found")
        return HexBytes(logs[-1]["transactionHash"]).to_0x_hex()

    def _adopt_or_fail(self, row: Payout, why: str) -> Payout:
        if row.kind == "escrow":
            address = row.contract or self.contract_address("escrow")
            paid = self._paid_on_chain(address, row) if address else None
            if paid is not None:
                updated: Payout = self.follower.update(
                    row.id,
                    status="sent",
                    contract=address,
                    chain_id=self.chain.chain_id,
                    tx_hash=paid,
                    raw_tx=None,
                    error=f"adopted after {why}" if paid != row.tx_hash else None,
                )
                followed: Payout = self.follower.follow(updated, self._adopt_or_fail)
                return followed
        # A reward mint has no claim id on chain: after a replacement a person checks the
        # chain before retrying, so a credit is never minted twice.
        failed: Payout = self.follower.update(row.id, status="failed", error=why)
        return failed
