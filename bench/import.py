"""Importing from a file: tickets per second and peak memory, at several sizes.

Each size runs in a process of its own (so its peak RSS is its own) on a fresh SQLite database:
a Zendesk JSON-lines export of N tickets (three comments each, English and Chinese) made here,
imported by ``proofdesk.moving.importer`` as ``proofdesk import zendesk`` does. Flat memory is
the streaming claim: the peak should not grow with N. Prints a table and rewrites its section
of ``docs/benchmarks.md`` (between ``<!-- import:start -->`` and ``<!-- import:end -->``).

    .venv/bin/python bench/import.py [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from api_load import cpu_model, usable_cpus
from ledger import counts, markdown_table, replace_section, run_header

START, END = "<!-- import:start -->", "<!-- import:end -->"
TEXTS = ["My withdrawal is pending.", "我的提现还没有到账。", "We are checking it.", "已处理。"]


def write_export(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for uid in range(1, 1001):
            user = {"id": uid, "name": f"User {uid}", "email": f"u{uid}@bench.example"}
            out.write(json.dumps({"user": {**user, "role": "end-user"}}) + "\n")
        out.write(
            json.dumps(
                {
                    "user": {
                        "id": 5000,
                        "name": "Agent",
                        "email": "agent@bench.example",
                        "role": "agent",
                    }
                }
            )
            + "\n"
        )
        for i in range(1, n + 1):
            comments = [
                {
                    "id": i * 10 + c,
                    "author_id": 5000 if c % 2 else (i % 1000) + 1,
                    "body": TEXTS[(i + c) % 4],
                    "public": True,
                    "created_at": f"2025-01-01T{c:02d}:00:00Z",
                }
                for c in range(3)
            ]
            ticket = {
                "id": i,
                "subject": f"Ticket {i}",
                "status": ["open", "pending", "solved", "closed"][i % 4],
                "priority": "normal",
                "requester_id": (i % 1000) + 1,
                "assignee_id": 5000,
                "tags": ["bench"],
                "created_at": "2025-01-01T00:00:00Z",
                "updated_at": "2025-01-01T03:00:00Z",
                "comments": comments,
            }
            out.write(json.dumps(ticket, ensure_ascii=False) + "\n")


def one(n: int) -> None:
    """Run one size in this process; print its numbers as JSON."""
    from proofdesk.actions.accounts import do_create_organization
    from proofdesk.actions.blobs import BlobStore
    from proofdesk.app.services import open_database
    from proofdesk.moving.fetch import Fetcher
    from proofdesk.moving.importer import Report, import_tickets, read_file
    from proofdesk.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        settings = Settings(data_dir=data)
        db = open_database(settings, migrate=True)
        with db.writer() as session:
            org = do_create_organization(session, "bench", "Bench").id
        path = data / "tickets.jsonl"
        write_export(path, n)
        fetcher = Fetcher(BlobStore(settings.blob_dir), 1 << 20, ("text/plain",), base_dir=data)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        report = import_tickets(db, org, "zendesk", read_file("zendesk", path), fetcher, Report())
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        db.dispose()
    print(
        json.dumps(
            {
                "n": n,
                "seconds": seconds,
                "created": report.tickets["created"],
                "events": report.events,
                "rss_before_kib": before,
                "peak_kib": peak,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=counts, default=[1000, 10000, 100000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one)
        return
    env = {**os.environ, "PROOFDESK_ENV_FILE": os.devnull}
    rows = []
    for n in args.sizes:
        done = subprocess.run(  # noqa: S603 - this script
            [sys.executable, __file__, "--one", str(n)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(
            [
                f"{n:,}",
                f"{r['events']:,}",
                f"{r['seconds']:.1f}",
                f"{n / r['seconds']:.0f}",
                f"{r['events'] / r['seconds']:.0f}",
                f"{r['rss_before_kib'] / 1024:.0f}",
                f"{r['peak_kib'] / 1024:.0f}",
            ]
        )
        print(rows[-1], flush=True)
    load = os.getloadavg()[0]
    lines = [
        START,
        *run_header("import.py", sys.argv[1:]),
        "",
        f"- machine: {usable_cpus()} CPUs, {cpu_model()}; one process, SQLite (WAL) in a temp "
        f"folder; load average at the end {load:.1f}",
        "- each ticket: 3 comments, one status, its tags; a transaction per 50 whole tickets",
        "",
        *markdown_table(
            [
                "tickets",
                "events",
                "seconds",
                "tickets/s",
                "events/s",
                "RSS before MiB",
                "peak RSS MiB",
            ],
            rows,
        ),
        "",
        END,
    ]
    replace_section(START, END, "Import (`bench/import.py`)", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
