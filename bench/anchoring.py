"""What anchoring costs on chain, per anchor and per event, against one transaction per event;
and how long an event waits for a confirmed anchor.

Runs against anvil (the node ``make`` installs from npm) on loopback; gas is the EVM's own
accounting, the same on any chain with the same rules. Prints tables and rewrites its section
of ``docs/benchmarks.md`` (between ``<!-- anchoring:start -->`` and ``<!-- anchoring:end -->``).

    .venv/bin/python bench/anchoring.py [--batches 1,10,100,1000,10000] [--latency-samples 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from vyper.compiler import compile_code

sys.path.insert(0, str(Path(__file__).parent))
from api_load import cpu_model, usable_cpus
from ledger import build, counts, markdown_table, replace_section, run_header
from proofdesk.chain.anchoring import Anchorer, Policy
from proofdesk.chain.anvil import Anvil
from proofdesk.chain.base import Chain, transact
from proofdesk.chain.deployments import deploy_contracts
from proofdesk.ledger import checkpoints
from proofdesk.ledger.keys import Keyring
from proofdesk.store.db import Database
from proofdesk.store.migrate import upgrade
from proofdesk.store.models import Anchor, LogHead
from proofdesk.verify.note import Signer
from proofdesk.workers.anchoring import AnchorLoop
from proofdesk.workers.checkpoints import CheckpointLoop

START, END = "<!-- anchoring:start -->", "<!-- anchoring:end -->"
ORIGIN = "desk.example.com/proofdesk"
NAIVE_SAMPLES = 100
ROOT = Path(__file__).resolve().parent.parent  # where `make` installs anvil (node_modules)


def fresh_log(workdir: Path) -> tuple[Database, Signer]:
    db = Database(f"sqlite:///{workdir / 'bench.db'}", keyring=Keyring.from_file(workdir / "k"))
    upgrade(db)
    signer = checkpoints.load_or_create_signer(workdir / "log.key", ORIGIN, ORIGIN)
    return db, signer


def log_size(db: Database) -> int:
    with db.reader() as session:
        head = session.get(LogHead, 1)
        return head.next_seq if head else 0


def grow(db: Database, signer: Signer, events: int) -> int:
    """Append ``events`` leaves and sign a checkpoint; returns the new size."""
    size = log_size(db)
    build(db, size + events, 1000, first=size)
    with db.writer() as session:
        return checkpoints.issue(session, signer).size


def naive_gas_per_event(chain: Chain) -> float:
    """Mean gas of one ``record(hash)`` transaction per event (the cost is the same for every
    event: a fresh storage slot, a log, the transaction's base cost)."""
    source = (Path(__file__).parent / "contracts" / "NaiveEventLog.vy").read_text()
    out = compile_code(source, output_formats=["abi", "bytecode"])
    factory = chain.w3.eth.contract(abi=out["abi"], bytecode=out["bytecode"])
    with chain.sending:
        signed = chain.prepare({"data": factory.constructor().data_in_transaction})
        chain.broadcast(signed)
    naive = chain.w3.eth.contract(
        address=chain.wait(signed.tx_hash)["contractAddress"], abi=out["abi"]
    )
    gas = [
        transact(chain, naive.functions.record(i.to_bytes(32, "big")))["gasUsed"]
        for i in range(1, NAIVE_SAMPLES + 1)
    ]
    return statistics.fmean(gas)


def gas_table(chain: Chain, workdir: Path, batches: list[int]) -> tuple[list[list[str]], dict]:
    db, signer = fresh_log(workdir)
    deploy_contracts(db, chain, ("CheckpointAnchor",))
    anchorer = Anchorer(db, chain, ORIGIN, Policy(10**9, 0))
    grow(db, signer, 1)
    first = anchorer.tick(force=True)
    assert first is not None
    assert first.gas_used
    naive = naive_gas_per_event(chain)
    rows = []
    facts: dict[str, float] = {"first_anchor": first.gas_used, "naive": naive}
    for events in batches:
        grow(db, signer, events)
        row = anchorer.tick(force=True)
        assert row is not None
        assert row.status == "confirmed"
        assert row.gas_used
        per_event = row.gas_used / events
        facts[f"per_event_{events}"] = per_event
        rows.append(
            [
                f"{events:,}",
                f"{row.gas_used:,}",
                f"{per_event:,.1f}",
                f"{naive * events:,.0f}",
                f"{naive:,.0f}",
                f"{naive / per_event:,.0f}×"
                if naive >= 10 * per_event
                else f"{naive / per_event:.1f}×",
            ]
        )
    db.dispose()
    return rows, facts


def latency(
    workdir: Path, samples: int, window: float, block_time: int, confirmations: int
) -> list[float]:
    """Seconds from an event's commit to a confirmed anchor covering it, with the background
    checkpoint (1 s) and anchoring (``window`` s, polled every 0.2 s) workers of ``serve``."""
    node = Anvil(workdir, root=ROOT, state=False, extra=("--block-time", str(block_time))).start()
    try:
        chain = node.chain(confirmations=confirmations)
        db, signer = fresh_log(workdir)
        deploy_contracts(db, chain, ("CheckpointAnchor",))
        signing = CheckpointLoop(db, signer, 1.0)
        anchoring = AnchorLoop(lambda: Anchorer(db, chain, ORIGIN, Policy(10**9, window)), 0.2)
        signing.start()
        anchoring.start()
        waits = []
        try:
            for i in range(samples):
                time.sleep((i * 0.37) % 1.0)  # events arrive at scattered moments
                size = log_size(db)
                build(db, size + 1, 1, first=size)
                started = time.perf_counter()
                while True:
                    with db.reader() as session:
                        done = session.scalar(
                            select(func.count())
                            .select_from(Anchor)
                            .where(Anchor.status == "confirmed", Anchor.tree_size > size)
                        )
                    if done:
                        break
                    time.sleep(0.02)
                waits.append(time.perf_counter() - started)
        finally:
            anchoring.stop()
            signing.stop()
            db.dispose()
        return waits
    finally:
        node.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=counts, default="1,10,100,1000,10000")
    parser.add_argument("--latency-samples", type=int, default=8)
    parser.add_argument("--window", type=float, default=3.0, help="anchor every N seconds")
    parser.add_argument("--block-time", type=int, default=1)
    parser.add_argument("--confirmations", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/")
    args = parser.parse_args(argv)
    batches = args.batches
    if any(b < 1 for b in batches) or args.latency_samples < 0 or args.window <= 0:
        parser.error("batches must be at least 1, the window above 0")
    console = Console(width=140)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        node = Anvil(workdir / "gas", root=ROOT, state=False)
        (workdir / "gas").mkdir()
        node.start()
        try:
            rows, facts = gas_table(node.chain(), workdir / "gas", batches)
        finally:
            node.stop()
        (workdir / "latency").mkdir()
        waits = (
            latency(
                workdir / "latency",
                args.latency_samples,
                args.window,
                args.block_time,
                args.confirmations,
            )
            if args.latency_samples
            else []
        )
    headers = [
        "events per anchor",
        "gas per anchor",
        "gas per event",
        "naive: gas for these events",
        "naive: gas per event",
        "anchoring is cheaper by",
    ]
    table = Table(*headers, title="Gas: one anchor per batch vs one transaction per event")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    bound = 1.0 + args.window + 0.2 + args.confirmations * args.block_time
    lat = ""
    if waits:
        lat = (
            f"event → confirmed anchor over {len(waits)} events: median {statistics.median(waits):.2f} s, "
            f"max {max(waits):.2f} s; bound = checkpoint interval 1 s + window {args.window:g} s "
            f"+ poll 0.2 s + {args.confirmations} blocks × {args.block_time} s = {bound:.1f} s"
        )
        console.print(lat)
    if args.no_write:
        return 0
    lines = [
        START,
        *run_header("anchoring.py", argv or sys.argv[1:]),
        "",
        f"- machine: {usable_cpus()} CPUs, {cpu_model()}; anvil on loopback (automining for gas; "
        f"`--block-time {args.block_time}` for latency)",
        f"- the first anchor of a log costs {facts['first_anchor']:,.0f} gas (its storage slot "
        "goes from zero to non-zero); every later one is the row's figure. The naive design's "
        f"figure is the mean of {NAIVE_SAMPLES} `record(hash)` transactions "
        "(`bench/contracts/NaiveEventLog.vy`).",
        "",
        *markdown_table(headers, rows),
        "",
        *([f"- {lat}", ""] if lat else []),
        END,
    ]
    replace_section(START, END, "Anchoring (`bench/anchoring.py`)", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
