"""Benchmark of the ledger: durable appends, proofs from the database, verification, memory.

For each log size it builds a fresh migrated SQLite database and appends synthetic ticket
events through the real ``LedgerWriter`` (leaf record, salted commitments, per-ticket chain,
tree nodes, one transaction per batch), then times inclusion and consistency proofs read from
the stored tree and their verification. It prints a table and rewrites its section of
``docs/benchmarks.md`` (between ``<!-- ledger:start -->`` and ``<!-- ledger:end -->``).

    .venv/bin/python bench/ledger.py                   # 10^4 and 10^5 leaves
    .venv/bin/python bench/ledger.py --sizes 1e4,1e5,1e6
"""

from __future__ import annotations

import argparse
import random
import resource
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from api_load import cpu_model, git_commit, percentile, usable_cpus
from proofdesk.canonical import format_time
from proofdesk.domain.tickets import Event, EventType
from proofdesk.ledger.keys import Keyring
from proofdesk.ledger.store import LedgerWriter, SqlNodes
from proofdesk.ledger.tree import Tree
from proofdesk.store.db import Database
from proofdesk.store.migrate import upgrade
from proofdesk.store.models import LogHead
from proofdesk.verify.merkle import verify_consistency, verify_inclusion

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- ledger:start -->", "<!-- ledger:end -->"
EVENTS_PER_TICKET = 8
ORG = "00000000-0000-4000-8000-000000000000"


@dataclass
class Result:
    size: int
    append_rate: float  # leaves/s over the whole build, durable commits
    batch: int
    inclusion_ms: tuple[float, float]  # p50, p99
    consistency_ms: tuple[float, float]
    verify_inclusion_ms: tuple[float, float]
    verify_consistency_ms: tuple[float, float]
    proof_hashes: float  # mean hashes per inclusion proof
    peak_kib: float  # tracemalloc peak while serving proofs
    rss_mib: float


def synthetic(seq: int) -> Event:
    ticket = seq // EVENTS_PER_TICKET
    ticket_seq = seq % EVENTS_PER_TICKET + 1
    kind = EventType.CREATED if ticket_seq == 1 else EventType.MESSAGE_ADDED
    payload = (
        {"subject": f"Withdrawal {ticket} pending", "status": "new", "number": ticket + 1}
        if kind is EventType.CREATED
        else {"body": f"Reply {ticket_seq} on ticket {ticket}", "visibility": "public"}
    )
    return Event(
        seq=seq,
        ticket_id=f"{ticket:08d}-0000-4000-8000-000000000000",
        ticket_seq=ticket_seq,
        type=kind,
        actor_id=ORG,
        occurred_at=format_time(datetime(2026, 11, 23, tzinfo=UTC)),
        payload=payload,
    )


def build(db: Database, size: int, batch: int, first: int = 0) -> float:
    """Append leaves ``first .. size - 1`` through LedgerWriter; return leaves/s."""
    started = time.perf_counter()
    for start in range(first, size, batch):
        with db.writer() as session:
            writer = LedgerWriter.of(session)
            head = session.get(LogHead, 1)
            assert head is not None
            for seq in range(start, min(size, start + batch)):
                ticket_seq = seq % EVENTS_PER_TICKET + 1
                writer.append(synthetic(seq), ORG, None if ticket_seq == 1 else seq - 1)
            head.next_seq = min(size, start + batch)
    return (size - first) / (time.perf_counter() - started)


def timed(samples: int, fn: Callable[[], object]) -> list[float]:
    out = []
    for _ in range(samples):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return sorted(out)


def p50_p99(ms: list[float]) -> tuple[float, float]:
    return percentile(ms, 50), percentile(ms, 99)


def measure(size: int, batch: int, samples: int, rng: random.Random) -> Result:
    with tempfile.TemporaryDirectory() as scratch:
        db = Database(
            f"sqlite:///{Path(scratch) / 'ledger.db'}",
            keyring=Keyring.from_file(Path(scratch) / "data.key"),
        )
        upgrade(db)
        rate = build(db, size, batch)
        with db.reader() as session:
            t = Tree(SqlNodes(session), size)
            root = t.root()
            cases = [(rng.randrange(size), size) for _ in range(samples)]
            pairs = [tuple(sorted(rng.sample(range(1, size + 1), 2))) for _ in range(samples)]
            it = iter(cases)
            inclusion = timed(samples, lambda: t.inclusion_proof(*next(it)))
            pt = iter(pairs)
            consistency = timed(samples, lambda: t.consistency_proof(*next(pt)))
            # Memory in a separate pass: tracemalloc slows every allocation down.
            tracemalloc.start()
            for case, pair in zip(cases[:500], pairs[:500], strict=True):
                t.inclusion_proof(*case)
                t.consistency_proof(*pair)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            proofs = [(i, t.leaf_hash(i), t.inclusion_proof(i, size)) for i, _ in cases[:200]]
            roots = {x: t.root(x) for pair in pairs[:200] for x in pair}
            cons = [(m, n, t.consistency_proof(m, n)) for m, n in pairs[:200]]
        pi = iter(proofs * (samples // 200 + 1))
        v_inc = timed(samples, lambda: verify_inclusion(*_inc(next(pi), size, root)))
        pc = iter(cons * (samples // 200 + 1))
        v_con = timed(samples, lambda: verify_consistency(*_con(next(pc), roots)))
        db.dispose()
    return Result(
        size=size,
        append_rate=rate,
        batch=batch,
        inclusion_ms=p50_p99(inclusion),
        consistency_ms=p50_p99(consistency),
        verify_inclusion_ms=p50_p99(v_inc),
        verify_consistency_ms=p50_p99(v_con),
        proof_hashes=sum(len(p) for _, _, p in proofs) / len(proofs),
        peak_kib=peak / 1024,
        rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


def _inc(case: tuple[int, bytes, list[bytes]], size: int, root: bytes) -> tuple[Any, ...]:
    i, leaf, proof = case
    return i, size, leaf, proof, root


def _con(case: tuple[int, int, list[bytes]], roots: dict[int, bytes]) -> tuple[Any, ...]:
    m, n, proof = case
    return m, n, roots[m], roots[n], proof


HEADERS = [
    "leaves",
    "appends/s (durable, batch)",
    "inclusion proof p50 / p99 ms",
    "consistency proof p50 / p99 ms",
    "verify inclusion p50 / p99 ms",
    "verify consistency p50 / p99 ms",
    "hashes per proof",
    "proof memory peak KiB",
]


def cells(r: Result) -> list[str]:
    return [
        f"{r.size:,}",
        f"{r.append_rate:,.0f} ({r.batch})",
        f"{r.inclusion_ms[0]:.3f} / {r.inclusion_ms[1]:.3f}",
        f"{r.consistency_ms[0]:.3f} / {r.consistency_ms[1]:.3f}",
        f"{r.verify_inclusion_ms[0]:.3f} / {r.verify_inclusion_ms[1]:.3f}",
        f"{r.verify_consistency_ms[0]:.3f} / {r.verify_consistency_ms[1]:.3f}",
        f"{r.proof_hashes:.1f}",
        f"{r.peak_kib:.0f}",
    ]


def sqlite_version() -> str:
    return sqlite3.sqlite_version


def write_docs(results: list[Result], argv: list[str]) -> None:
    lines = [
        START,
        *run_header("ledger.py", argv),
        "",
        f"- machine: {usable_cpus()} CPUs, {cpu_model()}; Python "
        f"{sys.version.split()[0]}; SQLite {sqlite_version()} (WAL, synchronous=NORMAL: "
        "durable across a process crash; `FULL` would also survive power loss)",
        f"- one process, one thread; peak RSS of the whole run {results[-1].rss_mib:.0f} MiB",
        "",
        *markdown_table(HEADERS, [cells(r) for r in results]),
        "",
        END,
    ]
    replace_section(START, END, "Ledger (`bench/ledger.py`)", "\n".join(lines))


def run_header(script: str, argv: list[str]) -> list[str]:
    """The first lines of a benchmark's section: how to run it again, when, at which commit."""
    return [
        f"`.venv/bin/python bench/{script} {' '.join(argv)}`".replace(" `", "`"),
        f"— {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, git {git_commit()}.",
    ]


def counts(text: str) -> list[int]:
    """An argparse type: comma-separated counts such as ``1e4,1e5`` or ``1,10,100``."""
    try:
        return [int(float(part)) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not numbers such as 1,10,1e4") from None


def markdown_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """Lines of a Markdown table with right-aligned columns."""
    return [
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join(["---:"] * len(headers)) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def replace_section(start: str, end: str, heading: str, block: str) -> None:
    """Put ``block`` (which begins with ``start`` and ends with ``end``) in docs/benchmarks.md
    in place of the previous one, or under a new ``heading`` at the end."""
    content = DOCS.read_text()
    if start in content and end in content:
        head, rest = content.split(start, 1)
        _, tail = rest.split(end, 1)
        content = head + block + tail
    else:
        content = content.rstrip("\n") + f"\n\n## {heading}\n\n" + block + "\n"
    DOCS.write_text(content)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=counts, default="1e4,1e5", help="comma-separated log sizes")
    parser.add_argument("--batch", type=int, default=1000, help="leaves per transaction")
    parser.add_argument("--samples", type=int, default=2000, help="proofs timed per size")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/")
    args = parser.parse_args(argv)
    sizes = args.sizes
    if any(s < 2 for s in sizes) or args.batch < 1 or args.samples < 1:
        parser.error("sizes must be at least 2; batch and samples at least 1")
    rng = random.Random(9162)
    console = Console(width=160)
    results = []
    for size in sizes:
        console.print(f"building a log of {size:,} leaves…")
        results.append(measure(size, args.batch, args.samples, rng))
    table = Table(*HEADERS, title="Ledger")
    for r in results:
        table.add_row(*cells(r))
    console.print(table)
    if not args.no_write:
        write_docs(results, sys.argv[1:] if argv is None else argv)
        console.print(f"wrote {DOCS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
