"""Chains for tests: anvil (a real node from npm) on loopback, and small logs to anchor.

``anvil_binary`` finds the node that ``make`` installs from the npm package
``@foundry-rs/anvil``; without it the anvil half of a test is skipped with the reason shown,
or fails under ``PROOFDESK_REQUIRE_ALL=1``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hexbytes import HexBytes
from sqlalchemy import select

from proofdesk.access import Actor
from proofdesk.actions.accounts import do_create_organization, do_create_user
from proofdesk.actions.tickets import NewTicket, do_create_ticket
from proofdesk.chain.anchoring import ANCHORED_TOPIC, Anchorer, Policy
from proofdesk.chain.base import Chain, SignedTx, contract
from proofdesk.chain.deployments import deploy_contracts
from proofdesk.chain.embedded import EmbeddedChain, dev_accounts
from proofdesk.chain.rpc import RpcChain
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import Kind
from proofdesk.ledger import checkpoints
from proofdesk.ledger.keys import Keyring
from proofdesk.ledger.receipts import build_receipt
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.migrate import upgrade
from proofdesk.store.models import Anchor
from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parents[1]
ANVIL_CHAIN_ID = 31337


def anvil_binary() -> Path:
    """The anvil executable from node_modules (the platform package's binary, else the
    npm wrapper); skips or fails when ``make`` has not installed it."""
    found = sorted(ROOT.glob("node_modules/@foundry-rs/anvil-*/bin/anvil"))
    if found:
        return found[0]
    wrapper = ROOT / "node_modules" / ".bin" / "anvil"
    if wrapper.exists():
        return wrapper
    unavailable("anvil is not installed (run `npm ci`, or `make test`, which does)")
    raise AssertionError("unreachable")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Anvil:
    """One anvil node on loopback, which tests stop, restart and rewind."""

    def __init__(self, workdir: Path, *, state: bool = True, extra: tuple[str, ...] = ()) -> None:
        self.extra = extra
        self.binary = anvil_binary()
        self.workdir = workdir
        self.port = free_port()
        self.state_file = workdir / "anvil-state.json" if state else None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, keep_state: bool = True) -> Anvil:
        args = [str(self.binary), "--host", "127.0.0.1", "--port", str(self.port), "--silent"]
        args += self.extra
        if self.state_file is not None:
            if not keep_state and self.state_file.exists():
                self.state_file.unlink()
            args += ["--state", str(self.state_file)]
        self.log = self.workdir / "anvil.log"
        with self.log.open("ab") as sink:
            self.proc = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT)  # noqa: S603
        deadline = time.monotonic() + 20
        while True:
            try:
                self.rpc("eth_chainId")
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"anvil exited: {self.log.read_text()[-2000:]}") from None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop as an operator would (SIGTERM): anvil writes its state file on the way out."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None

    def rpc(self, method: str, *params: Any) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        request = urllib.request.Request(  # noqa: S310 - loopback http
            self.url, data=body.encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            answer = json.loads(response.read())
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def chain(self, *, confirmations: int = 1, retries: int = 4) -> RpcChain:
        return RpcChain(
            self.url,
            dev_accounts()[0],
            expected_chain_id=ANVIL_CHAIN_ID,
            confirmations=confirmations,
            retries=retries,
            backoff=0.05,
        )


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
