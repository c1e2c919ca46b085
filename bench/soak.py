"""Soak of the real server: mixed load with bad input sprinkled in, for a long while.

``proofdesk serve`` runs in a subprocess on loopback (SQLite by default) with one organization,
an agent and ``--clients`` customers seeded as in ``bench/api_load.py``. Each client, in a closed
loop, creates tickets, replies, reads, lists, and one request in ``--bad`` is bad input drawn
from the table :data:`BAD` (deeply nested JSON, integers beyond 64 bits, NUL characters, secrets
in a query string, malformed JSON, a body over the limit, wrong passwords, unknown ids…). Every
``--sample`` seconds the server's resident memory (``VmRSS``) is read from ``/proc``.

It fails (exit 1) on any 5xx, any transport error (a crash shows as one), any 2xx to bad input,
memory that grows more than ``--max-growth`` from the end of the first tenth of the run to its
end, or a `proofdesk audit` that is not clean afterwards. It prints a table and rewrites its
section of ``docs/benchmarks.md``.

    .venv/bin/python bench/soak.py                 # 30 minutes, 20 clients, SQLite
    .venv/bin/python bench/soak.py --minutes 2 --no-write
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from rich.console import Console
from rich.table import Table

from api_load import Credentials, proofdesk_command, running_server, seed
from ledger import markdown_table, replace_section, run_header
from proofdesk.app.services import open_database
from proofdesk.settings import Settings

API = "/api/v1"
START, END = "<!-- soak:start -->", "<!-- soak:end -->"
KEY = "ab" * 32

# (label, method, path, body bytes or None, extra headers). Every one must get a 4xx, except
# those in ANSWERED_NORMALLY: a secret in a query string is not an error, the log must just not
# show it (nor break on it).
BAD: list[tuple[str, str, str, bytes | None, dict[str, str]]] = [
    ("deep JSON", "POST", "/auth/login", b"[" * 70_000, {"content-type": "application/json"}),
    ("deep object", "POST", "/tickets", b'{"a":' * 5_000, {"content-type": "application/json"}),
    (
        "malformed JSON",
        "POST",
        "/tickets",
        b'{"kind": "question", ',
        {"content-type": "application/json"},
    ),
    ("not an object", "POST", "/tickets", b"[1, 2, 3]", {"content-type": "application/json"}),
    (
        "NUL in body",
        "POST",
        "/tickets",
        b'{"kind":"question","subject":"a\\u0000b","body":"x"}',
        {"content-type": "application/json"},
    ),
    ("huge int path", "GET", "/log/checkpoints/9223372036854775808", None, {}),
    ("huge int query", "GET", "/log/anchors?before=9223372036854775808", None, {}),
    ("secret in query", "GET", f"/health?k={KEY}", None, {}),
    ("unknown ticket", "GET", "/tickets/00000000-0000-4000-8000-000000000000", None, {}),
    ("bad cursor", "GET", "/tickets?cursor=%%%%", None, {}),
    (
        "wrong password",
        "POST",
        "/auth/login",
        b'{"organization":"x","email":"a@b.example","password":"wrong-password"}',
        {"content-type": "application/json"},
    ),
    (
        "over the body limit",
        "POST",
        "/tickets",
        b'{"body":"' + b"x" * 3_000_000 + b'"}',
        {"content-type": "application/json"},
    ),
    ("wrong content type", "POST", "/tickets", b"kind=question", {"content-type": "text/plain"}),
]


ANSWERED_NORMALLY = {"secret in query"}


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    bad_sent: int = 0


def _ticket_body(rng: random.Random) -> dict[str, Any]:
    return {
        "kind": rng.choice(["question", "transaction_problem", "refund_request"]),
        "subject": rng.choice(["提币未到账", "Deposit not credited", "Refund please"]),
        "body": rng.choice(["TRC20 USDT, 3 h", "ETH deposit pending since noon", "订单 1234 退款"]),
    }


async def client_loop(
    base_url: str, token: str, deadline: float, bad_share: float, seed_value: int, tally: Tally
) -> None:
    rng = random.Random(seed_value)
    headers = {"Authorization": f"Bearer {token}"}
    mine: list[str] = []
    async with httpx2.AsyncClient(base_url=base_url + API, headers=headers, timeout=30) as client:
        while time.monotonic() < deadline:
            roll = rng.random()
            label = "good"
            try:
                if roll < bad_share:
                    label, method, path, body, extra = rng.choice(BAD)
                    tally.bad_sent += 1
                    # Its own connection: a refused body may leave the connection unusable
                    # (the server answers before reading it, then closes), as for any client.
                    extra = extra | {"connection": "close"}
                    answer = await client.request(method, path, content=body, headers=extra)
                    if answer.status_code < 400 and label not in ANSWERED_NORMALLY:
                        tally.failures[f"{label}: {answer.status_code}"] += 1
                elif roll < 0.45 or not mine:
                    answer = await client.post("/tickets", json=_ticket_body(rng))
                    if answer.status_code == 201:
                        mine.append(answer.json()["id"])
                elif roll < 0.6:
                    ticket = rng.choice(mine)
                    answer = await client.post(
                        f"/tickets/{ticket}/messages", json={"body": "any news?"}
                    )
                elif roll < 0.85:
                    answer = await client.get(f"/tickets/{rng.choice(mine)}")
                else:
                    answer = await client.get("/tickets", params={"limit": 20})
            except httpx2.TransportError as exc:
                tally.failures[f"{label}: {type(exc).__name__}"] += 1
                await asyncio.sleep(0.5)
                continue
            tally.requests += 1
            tally.statuses[answer.status_code] += 1
            if answer.status_code >= 500:
                tally.failures[f"{label}: {answer.status_code}"] += 1
            elif label == "good" and answer.status_code >= 400 and answer.status_code != 429:
                tally.failures[f"good request: {answer.status_code}"] += 1


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def sample_memory(
    pid: int, deadline: float, every: float, samples: list[tuple[float, float]]
) -> None:
    began = time.monotonic()
    while time.monotonic() < deadline:
        samples.append((time.monotonic() - began, rss_mib(pid)))
        await asyncio.sleep(every)
    samples.append((time.monotonic() - began, rss_mib(pid)))


async def drive(
    base_url: str, creds: Credentials, pid: int, args: argparse.Namespace
) -> tuple[Tally, list[tuple[float, float]]]:
    tally = Tally()
    samples: list[tuple[float, float]] = []
    deadline = time.monotonic() + args.minutes * 60
    loops = [
        client_loop(base_url, token, deadline, args.bad, i, tally)
        for i, token in enumerate(creds.customers)
    ]
    await asyncio.gather(sample_memory(pid, deadline, args.sample, samples), *loops)
    return tally, samples


def audit(data_dir: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROOFDESK_")}
    env |= {"PROOFDESK_DATA_DIR": str(data_dir), "PROOFDESK_ENV_FILE": str(data_dir / "none.env")}
    done = subprocess.run(  # noqa: S603 - our own command line
        [proofdesk_command(), "audit"], env=env, capture_output=True, text=True, timeout=600
    )
    said = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode, said[-1] if said else ""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument(
        "--bad", type=float, default=0.1, help="share of requests that are bad input"
    )
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between memory samples")
    parser.add_argument(
        "--max-growth", type=float, default=0.15, help="allowed RSS growth after warm-up"
    )
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/")
    parser.add_argument(
        "--note", default="", help="a sentence for the record (e.g. what else shared the CPU)"
    )
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.clients < 1 or not 0 <= args.bad <= 1 or args.sample <= 0:
        parser.error("minutes and sample must be positive, clients at least 1, bad in [0, 1]")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=140)
    with tempfile.TemporaryDirectory(prefix="pd-soak-") as scratch:
        data_dir = Path(scratch)
        db = open_database(Settings(data_dir=data_dir), migrate=True)
        try:
            creds = seed(db, args.clients)
        finally:
            db.dispose()
        with running_server(data_dir, None, 1, "warning") as (base_url, process):
            console.print(f"soaking {base_url} (pid {process.pid}) for {args.minutes:g} min…")
            load_before = os.getloadavg()[1]
            tally, samples = asyncio.run(drive(base_url, creds, process.pid, args))
            load_after = os.getloadavg()[1]
            alive = process.poll() is None
        audit_code, audit_line = audit(data_dir)
    warm = samples[max(1, len(samples) // 10)][1]
    last, peak = samples[-1][1], max(m for _, m in samples)
    growth = (last - warm) / warm if warm else 0.0
    server_errors = sum(n for s, n in tally.statuses.items() if s >= 500)
    ok = (
        alive
        and not tally.failures
        and server_errors == 0
        and audit_code == 0
        and growth <= args.max_growth
    )
    rows = [
        ["duration, clients", f"{args.minutes:g} min, {args.clients}"],
        ["requests (bad input among them)", f"{tally.requests:,} ({tally.bad_sent:,})"],
        ["statuses", ", ".join(f"{s}: {n:,}" for s, n in sorted(tally.statuses.items()))],
        [
            "5xx / transport errors / 2xx to bad input",
            f"{server_errors} / "
            + (", ".join(f"{k} ×{v}" for k, v in tally.failures.items()) or "none"),
        ],
        [
            "RSS after warm-up → end (peak)",
            f"{warm:.0f} → {last:.0f} MiB ({peak:.0f}); growth {growth:+.1%}",
        ],
        ["server alive at the end", "yes" if alive else "**no**"],
        [
            "machine load (5-min average, start → end; CPUs)",
            f"{load_before:.1f} → {load_after:.1f}; {os.cpu_count()}",
        ],
        ["`proofdesk audit` afterwards", f"exit {audit_code}: {audit_line}"],
        ["verdict", "pass" if ok else "**fail**"],
    ]
    headers = ["soak", "value"]
    table = Table(*headers, title="Soak")
    for row in rows:
        table.add_row(*(cell.replace("**", "") for cell in row))
    console.print(table)
    if not args.no_write:
        block = "\n".join(
            [
                START,
                *run_header("soak.py", sys.argv[1:] if argv is None else argv),
                "",
                f"- bad input: {len(BAD)} kinds ({', '.join(b[0] for b in BAD)}), "
                f"{args.bad:.0%} of requests; memory sampled every {args.sample:g} s",
                *([f"- {args.note}"] if args.note else []),
                "",
                *markdown_table(headers, rows),
                "",
                END,
            ]
        )
        replace_section(START, END, "Soak (`bench/soak.py`)", block)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
