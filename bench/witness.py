"""Benchmark of the consortium pieces: a witness's add-checkpoint rate, tiles served per second,
and the time from a new checkpoint to k of n cosignatures.

1. add-checkpoint: one witness (a migrated SQLite database, the real ``do_add_checkpoint`` and
   the real route through an in-process ASGI client), one core, a partner log growing by one
   leaf per request with its consistency proof.
2. tiles: a log of ``--leaves`` synthetic leaves (stored leaves and Merkle nodes, as the ledger
   stores them), random full level-0 and level-1 tiles and entry bundles through the route.
3. cosigning: two ``proofdesk serve`` witnesses on loopback; each round the log grows, signs
   a checkpoint, and the witnessing worker's step asks both; the time until both cosigned.

It prints a table and rewrites its section of ``docs/benchmarks.md`` (between
``<!-- witness:start -->`` and ``<!-- witness:end -->``).

    .venv/bin/python bench/witness.py
    .venv/bin/python bench/witness.py --requests 2000 --leaves 100000 --rounds 30
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, update

sys.path.insert(0, str(Path(__file__).parent))
from api_load import cpu_model, percentile, usable_cpus
from ledger import markdown_table, replace_section, run_header
from proofdesk.actions.witness import do_add_checkpoint, do_add_witnessed_log
from proofdesk.app.factory import create_app
from proofdesk.app.local import free_port
from proofdesk.ledger import checkpoints
from proofdesk.ledger.keys import Keyring
from proofdesk.ledger.store import SqlNodes
from proofdesk.ledger.tiles import encode_index
from proofdesk.ledger.tree import append_leaves, frontier
from proofdesk.ledger.witness import format_add_checkpoint, parse_add_checkpoint
from proofdesk.ledger.witnessing import Witness
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.migrate import upgrade
from proofdesk.store.models import LedgerLeaf, LogHead, MerkleNode
from proofdesk.verify.cosignature import Cosigner, CosignerKey
from proofdesk.verify.merkle import consistency_proof, leaf_hash, mth
from proofdesk.verify.note import Checkpoint, Signer, sign_note
from proofdesk.workers.witnessing import WitnessLoop

START, END = "<!-- witness:start -->", "<!-- witness:end -->"
HEADING = "Witness, tiles and cosigning (`bench/witness.py`)"
PROOFDESK = Path(sys.executable).parent / "proofdesk"


def database(where: Path) -> Database:
    db = Database(f"sqlite:///{where / 'proofdesk.db'}", keyring=Keyring.from_file(where / "k"))
    upgrade(db)
    return db


def partner_requests(name: str, n: int) -> tuple[Signer, list[bytes]]:
    """``n`` add-checkpoint bodies of a log growing one leaf at a time, each from the last."""
    signer = Signer.generate(name)
    leaves: list[bytes] = []
    bodies = []
    for i in range(n):
        leaves.append(leaf_hash(b"leaf %d" % i))
        proof = consistency_proof(i, leaves) if i else []
        text = Checkpoint(signer.name, len(leaves), mth(leaves)).text()
        bodies.append(format_add_checkpoint(i, proof, sign_note(text, signer)))
    return signer, bodies


QUIET = {
    "checkpoint_interval_seconds": 0,
    "anchor_every_seconds": 0,
    "automation_poll_seconds": 0,
    "sla_poll_seconds": 0,
    "automation_sweep_seconds": 0,
    "witness_poll_seconds": 0,
}


def settings_for(where: Path, db: Database, **more: object) -> Settings:
    return Settings(data_dir=where, database_url=db.url, **QUIET, **more)  # type: ignore[arg-type]


def bench_add_checkpoint(where: Path, n: int) -> dict[str, float]:
    """add-checkpoint requests per second, through the action and through the route."""
    db = database(where)
    cosigner = Cosigner.generate("bench.example/witness")
    out = {}
    for label in ("action", "http"):
        signer, bodies = partner_requests(f"{label}.bench.example/log", n)
        with db.writer() as session:
            do_add_witnessed_log(session, signer.name, signer.verifier.encode())
        if label == "http":
            with TestClient(create_app(settings_for(where, db), db, run_workers=())) as client:
                started = time.perf_counter()
                for body in bodies:
                    r = client.post("/api/v1/witness/add-checkpoint", content=body)
                    assert r.status_code == 200, r.text
                elapsed = time.perf_counter() - started
        else:
            parsed = [parse_add_checkpoint(b) for b in bodies]
            started = time.perf_counter()
            for request in parsed:
                do_add_checkpoint(db, cosigner, request, int(time.time()))
            elapsed = time.perf_counter() - started
        out[label] = n / elapsed
    db.dispose()
    return out


def grow(db: Database, count: int) -> None:
    """Append ``count`` synthetic leaves (records, leaf hashes, completed subtrees) the way
    the ledger stores them, without ticket events: tiles read only these."""
    with db.writer() as session:
        head = session.get(LogHead, 1)
        assert head is not None
        size = head.next_seq
        known = SqlNodes(session).get_nodes(frontier(size))
        records = [f'{{"bench":{i}}}' for i in range(size, size + count)]
        nodes = append_leaves(size, known, [leaf_hash(r.encode()) for r in records])
        conn = session.connection()
        leaves = [{"seq": size + i, "record": r} for i, r in enumerate(records)]
        hashes = [{"level": k[0], "idx": k[1], "hash": h} for k, h in nodes]
        for start in range(0, len(leaves), 5000):
            conn.execute(insert(LedgerLeaf), leaves[start : start + 5000])
        for start in range(0, len(hashes), 5000):
            conn.execute(insert(MerkleNode), hashes[start : start + 5000])
        session.execute(update(LogHead).values(next_seq=size + count, frontier=None))


def bench_tiles(where: Path, leaves: int, requests: int) -> dict[str, float]:
    """Tiles (and entry bundles) served per second through the route, random full tiles."""
    db = database(where)
    grow(db, leaves)
    rng = random.Random(8)
    out = {}
    with TestClient(create_app(settings_for(where, db), db, run_workers=())) as client:
        kinds = {
            "level-0 tile": (0, leaves // 256),
            "level-1 tile": (1, leaves // 65536),
            "entry bundle": ("entries", leaves // 256),
        }
        for label, (level, full) in kinds.items():
            if full == 0:
                continue
            paths = [
                f"/api/v1/log/tile/{level}/{encode_index(rng.randrange(full))}"
                for _ in range(requests)
            ]
            started = time.perf_counter()
            for path in paths:
                r = client.get(path)
                assert r.status_code == 200, (path, r.text)
            out[label] = requests / (time.perf_counter() - started)
    db.dispose()
    return out


@contextlib.contextmanager
def witness_server(where: Path, name: str, origin: str, vkey: str) -> Iterator[Witness]:
    """A ``proofdesk serve`` witness on loopback that witnesses ``origin``."""
    where.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROOFDESK_")} | {
        "PROOFDESK_DATA_DIR": str(where),
        "PROOFDESK_ENV_FILE": str(where / "none.env"),
        "PROOFDESK_LOG_LEVEL": "warning",
        "PROOFDESK_WITNESS_NAME": name,
        "PROOFDESK_CHECKPOINT_INTERVAL_SECONDS": "0",
        "PROOFDESK_ANCHOR_EVERY_SECONDS": "0",
    }

    def cli(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - our own command line
            [str(PROOFDESK), *args], env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    cli("migrate")
    key = CosignerKey.parse(cli("witness", "key"))
    cli("witness", "add-log", origin, vkey)
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [str(PROOFDESK), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx2.TransportError):
                if httpx2.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield Witness(f"{url}/api/v1/witness", key)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def bench_cosigning(where: Path, rounds: int) -> list[float]:
    """Milliseconds from signing a checkpoint to both witnesses' cosignatures stored."""
    db = database(where / "log")
    signer = Signer.generate("bench.example/cosigned-log")
    vkey = signer.verifier.encode()
    with (
        witness_server(where / "w1", "w1.bench.example/witness", signer.name, vkey) as w1,
        witness_server(where / "w2", "w2.bench.example/witness", signer.name, vkey) as w2,
    ):
        loop = WitnessLoop(db, [w1, w2], 0, 5)
        times = []
        try:
            for _ in range(rounds + 1):
                grow(db, 50)
                started = time.perf_counter()
                with db.writer() as session:
                    checkpoints.issue(session, signer)
                outcomes = loop.step()
                elapsed = (time.perf_counter() - started) * 1000
                assert [o.status for o in outcomes] == ["cosigned", "cosigned"], outcomes
                times.append(elapsed)
        finally:
            loop.stop()
    db.dispose()
    return sorted(times[1:])  # the first round opens the connections


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="add-checkpoints timed")
    parser.add_argument("--leaves", type=int, default=70_000, help="leaves of the tiled log")
    parser.add_argument("--tiles", type=int, default=1000, help="tile requests timed per kind")
    parser.add_argument("--rounds", type=int, default=20, help="checkpoints cosigned")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/")
    args = parser.parse_args(argv)
    console = Console(width=160)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "a").mkdir()
        (root / "t").mkdir()
        adds = bench_add_checkpoint(root / "a", args.requests)
        tiles = bench_tiles(root / "t", args.leaves, args.tiles)
        cosign = bench_cosigning(root, args.rounds)
    rows = [
        [
            "add-checkpoint, the action (verify + compare-and-set + cosign)",
            f"{adds['action']:,.0f}/s",
        ],
        ["add-checkpoint through HTTP (in-process ASGI client)", f"{adds['http']:,.0f}/s"],
        *[
            [f"{k} of a {args.leaves:,}-leaf log, through HTTP", f"{v:,.0f}/s"]
            for k, v in tiles.items()
        ],
        [
            f"new checkpoint → 2 of 2 cosigned (p50 / p99 of {len(cosign)}; 2 witnesses on loopback)",
            f"{percentile(cosign, 50):.1f} / {percentile(cosign, 99):.1f} ms",
        ],
    ]
    table = Table("measure", "result", title="Witness, tiles, cosigning")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if not args.no_write:
        lines = [
            START,
            *run_header("witness.py", sys.argv[1:] if argv is None else argv),
            "",
            f"- machine: {usable_cpus()} CPUs, {cpu_model()}; Python {sys.version.split()[0]}; "
            "SQLite (WAL); one process, one thread for the first two parts; load average "
            f"{os.getloadavg()[0]:.1f} while it ran (the machine is shared)",
            "",
            *markdown_table(["measure", "result"], rows),
            "",
            END,
        ]
        replace_section(START, END, HEADING, "\n".join(lines))
        console.print("wrote docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
