"""Chains for tests: anvil (a real node from npm) on loopback, and small logs to anchor.

``Anvil`` is the development node of ``proofdesk.chain.anvil`` (the one ``make`` installs from
the npm package ``@foundry-rs/anvil``); without it the anvil half of a test is skipped with the
reason shown, or fails under ``PROOFDESK_REQUIRE_ALL=1``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hexbytes import HexBytes
from sqlalchemy import select

from proofdesk.access import Actor
from proofdesk.actions.accounts import do_create_organization, do_create_user
from proofdesk.actions.tickets import NewTicket, do_create_ticket
from proofdesk.chain import anvil
from proofdesk.chain.anchoring import ANCHORED_TOPIC, Anchorer, Policy
from proofdesk.chain.base import Chain, SignedTx, contract
from proofdesk.chain.deployments import deploy_contracts
from proofdesk.chain.embedded import EmbeddedChain
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import Kind
from proofdesk.ledger import checkpoints
from proofdesk.ledger.keys import Keyring
from proofdesk.ledger.receipts import build_receipt
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.migrate import upgrade
from proofdesk.store.models import Anchor
from tests.support.environment import unavailable
from tests.support.paths import ROOT


class Anvil(anvil.Anvil):
    """The development node of ``proofdesk.chain.anvil`` from this checkout's node_modules;
    skips (or fails, under ``PROOFDESK_REQUIRE_ALL=1``) when ``make`` has not installed it."""

    def __init__(self, workdir: Path, *, state: bool = True, extra: tuple[str, ...] = ()) -> None:
        try:
            super().__init__(workdir, root=ROOT, state=state, extra=extra)
        except anvil.AnvilNotInstalled as exc:
            unavailable(exc.message)


def advance_time(chain: Chain, seconds: int) -> None:
    """Move a development chain's clock forward and mine a block."""
    if isinstance(chain, EmbeddedChain):
        chain.advance_time(seconds)
        return
    chain.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


@dataclass
class SmallLog:
    """A deployment of its own (database, keys, log) that grows on request."""

    settings: Settings
    db: Database
    actor: Actor
    tickets: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, data_dir: Path, **settings: Any) -> SmallLog:
        data_dir.mkdir(parents=True, exist_ok=True)
        conf = Settings(
            data_dir=data_dir,
            checkpoint_interval_seconds=0,
            anchor_every_seconds=0,
            **settings,
        )
        db = Database(
            conf.effective_database_url,
            keyring=Keyring.from_file(conf.effective_data_key_file),
        )
        upgrade(db)
        with db.writer() as session:
            org = do_create_organization(session, "chain", "Chain tests")
            customer = do_create_user(
                session, org.id, role=Role.CUSTOMER, display_name="c", email="c@x.example"
            )
            actor = Actor(customer.id, org.id, Role.CUSTOMER)
        return cls(conf, db, actor)

    @property
    def origin(self) -> str:
        return checkpoints.signer_for(self.settings).name

    def grow(self, tickets: int = 1) -> int:
        """Open ``tickets`` tickets and sign a checkpoint; returns the log's size."""
        for i in range(tickets):
            with self.db.writer() as session:
                ticket = do_create_ticket(
                    session,
                    self.actor,
                    NewTicket(kind=Kind.QUESTION, subject=f"ticket {i}", body="body"),
                )
                self.tickets.append(ticket.id)
        with self.db.writer() as session:
            return checkpoints.issue(session, checkpoints.signer_for(self.settings)).size

    def anchorer(
        self, chain: Chain, *, every_leaves: int = 1000, every_seconds: float = 0, **kw: Any
    ) -> Anchorer:
        """An anchorer of this log on ``chain``, deploying CheckpointAnchor there if needed."""
        deploy_contracts(self.db, chain, ("CheckpointAnchor",))
        return Anchorer(self.db, chain, self.origin, Policy(every_leaves, every_seconds), **kw)

    def anchor_call(self, chain: Chain, address: str) -> Any:
        """``anchor(origin, size, root)`` of the latest signed checkpoint, not yet sent."""
        with self.db.reader() as session:
            cp = checkpoints.latest(session)
        assert cp is not None
        return contract(chain, "CheckpointAnchor", address).functions.anchor(
            self.origin, cp.size, bytes(cp.root)
        )

    def outbox_only(self, anchorer: Anchorer) -> SignedTx:
        """Do what a tick does up to the outbox commit, then stop as if the process died."""
        address = anchorer.contract_address()
        assert address is not None
        call = self.anchor_call(anchorer.chain, address)
        with self.db.reader() as session:
            cp = checkpoints.latest(session)
        assert cp is not None
        signed = anchorer.chain.prepare({"to": address, "data": call._encode_transaction_data()})
        row = anchorer._insert(address, cp, signed)
        assert row is not None and row.status == "sent"
        return signed

    def settle(
        self, anchorer: Anchorer, *, force: bool = False, want: tuple[str, ...] = ("confirmed",)
    ) -> Anchor:
        """Tick until the newest anchor reaches a wanted status, as the worker would: a node
        may answer a broadcast before its automining has produced the receipt."""
        anchorer.tick(force=force)
        deadline = time.monotonic() + 30  # generous: 2 cores also run browsers
        while True:
            rows = self.anchors()
            if rows and rows[-1].status in want:
                return rows[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"anchor stuck at {rows[-1].status if rows else None}")
            time.sleep(0.05)
            anchorer.tick()

    def receipt(self, ticket_id: str | None = None) -> dict[str, Any]:
        return build_receipt(
            self.db,
            checkpoints.signer_for(self.settings),
            self.actor,
            ticket_id or self.tickets[0],
        )

    def anchors(self) -> list[Anchor]:
        with self.db.reader() as session:
            return list(session.scalars(select(Anchor).order_by(Anchor.id)))


def anchored_events(chain: Chain, address: str) -> list[tuple[int, str]]:
    """(size, tx hash) of every Anchored event the contract emitted on the canonical chain."""
    logs = chain.w3.eth.get_logs(
        {"address": address, "fromBlock": 0, "toBlock": "latest", "topics": [ANCHORED_TOPIC]}
    )
    return [
        (int.from_bytes(bytes(x["data"])[:32], "big"), HexBytes(x["transactionHash"]).to_0x_hex())
        for x in logs
    ]
