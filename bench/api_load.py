"""Load benchmark of the real server: ``proofdesk serve`` in a subprocess, many HTTP clients.

What it does, in order:

1. makes a throwaway data directory (and, with ``--create-db``, a throwaway PostgreSQL
   database), migrates it and seeds one organization, one agent and one customer per client,
   each with an API token, directly through the library;
2. starts ``proofdesk serve --port <free port> [--workers N]`` on 127.0.0.1 and waits for
   ``GET /api/v1/health``;
3. runs ``--clients`` concurrent clients (one ``httpx2.AsyncClient`` and one customer token
   each) through the phases, each bounded by ``--seconds`` (and ``--requests`` if given):

   * ``create`` — ``POST /api/v1/tickets``;
   * ``read`` — ``GET /api/v1/tickets/{id}`` of the client's own tickets and
     ``GET /api/v1/tickets?limit=20``, half and half;
   * ``mixed`` — creates, replies, reads and lists, plus one agent listing the org's queue;

   in a closed loop (each client sends again as soon as it is answered) or, with ``--rate``,
   an open loop (requests at fixed times, latency counted from the scheduled time);
4. prints a table (requests, errors, throughput, p50/p95/p99/max latency, CPU used by the
   client, the server and the rest of the machine) and writes it with the machine's
   description into ``docs/benchmarks.md``, between ``<!-- api_load:start -->`` and
   ``<!-- api_load:end -->`` (one block per database, workers, clients and rate; everything
   else in the file is kept).

The load generator runs on the same machine as the server and competes with it for CPU; the
table reports how much each used so that the numbers can be read with that in mind.

An error is any non-2xx response or exception. The exit code is 1 when there was one.

    .venv/bin/python bench/api_load.py                      # SQLite, 1 worker, 100 clients
    .venv/bin/python bench/api_load.py --workers 2
    .venv/bin/python bench/api_load.py --create-db \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/proofdesk_bench
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import proofdesk
from proofdesk.actions.accounts import do_create_organization, do_create_user
from proofdesk.actions.sessions import do_issue_api_token
from proofdesk.app.local import free_port
from proofdesk.app.services import open_database
from proofdesk.domain.roles import ALL_SCOPES, Role, Scope
from proofdesk.settings import Settings
from proofdesk.store.db import Database

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- api_load:start -->", "<!-- api_load:end -->"
RUN_MARK = re.compile(r"^<!-- api_load:run (\S+) -->$", re.MULTILINE)
API = "/api/v1"
PHASES = ("create", "read", "mixed")
#: The issue's aim for ticket creation at 100 concurrent clients.
AIM_CREATES_PER_S = 500.0
AIM_P99_MS = 100.0

INTRO = """# Benchmarks

Measured numbers, with the command that produced them and the machine they came from.
Sections between `api_load` markers are rewritten by `bench/api_load.py`; the rest is prose.

"""

console = Console(width=None if sys.stdout.isatty() else 110)


# --- measurement ----------------------------------------------------------------------------


@dataclass
class OpStats:
    """Latencies (ms) and errors of one operation in one phase."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    samples: list[str] = field(default_factory=list)

    def record(self, ms: float, error: str | None) -> None:
        self.latencies.append(ms)
        if error is not None:
            self.errors += 1
            if len(self.samples) < 5:
                self.samples.append(error)

    def merge(self, other: OpStats) -> None:
        self.latencies.extend(other.latencies)
        self.errors += other.errors
        self.samples.extend(other.samples[: 5 - len(self.samples)])


def percentile(sorted_ms: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (nan when empty)."""
    if not sorted_ms:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_ms)))
    return sorted_ms[rank - 1]


@dataclass
class PhaseResult:
    name: str
    elapsed: float
    ops: dict[str, OpStats]
    client_cpu: float  # CPU seconds used by this process during the phase
    server_cpu: float  # CPU seconds used by the server's process tree during the phase
    machine_cpu: float  # CPU seconds used by everything (PostgreSQL included) during the phase

    def total(self) -> OpStats:
        merged = OpStats()
        for stats in self.ops.values():
            merged.merge(stats)
        return merged


def row(label: str, stats: OpStats, elapsed: float) -> list[str]:
    ms = sorted(stats.latencies)
    return [
        label,
        str(len(ms)),
        str(stats.errors),
        f"{len(ms) / elapsed:,.0f}" if elapsed else "-",
        *(f"{percentile(ms, p):.1f}" for p in (50, 95, 99)),
        f"{ms[-1]:.1f}" if ms else "-",
    ]


HEADERS = [
    "phase / operation",
    "requests",
    "errors",
    "req/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "max ms",
]


def table_rows(results: list[PhaseResult]) -> list[list[str]]:
    rows: list[list[str]] = []
    for result in results:
        rows.append(row(f"**{result.name}**", result.total(), result.elapsed))
        if len(result.ops) > 1:
            rows.extend(
                row(f"· {op}", stats, result.elapsed) for op, stats in sorted(result.ops.items())
            )
    return rows


# --- the server's CPU time -------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user+system CPU seconds) of a process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields_ = raw[raw.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields_[1]), (int(fields_[11]) + int(fields_[12])) / ticks


def machine_cpu_seconds() -> float:
    """CPU seconds spent busy by the whole machine since boot (``/proc/stat``)."""
    with Path("/proc/stat").open() as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(
            int, stat.readline().split()[1:9]
        )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of ``root`` and its live descendants (uvicorn's worker processes)."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := _proc_stat(int(entry.name))) is not None:
            stats[int(entry.name)] = found
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
        todo.extend(children.get(pid, []))
    return total


# --- seeding and the server ------------------------------------------------------------------


@dataclass
class Credentials:
    agent: str
    customers: list[str]


def seed(db: Database, customers: int) -> Credentials:
    """One organization, one agent and ``customers`` customers, each with an API token."""
    slug = f"bench-{os.getpid()}-{int(time.time())}"
    scopes = ALL_SCOPES - {Scope.ADMIN}
    with db.writer() as session:
        org = do_create_organization(session, slug, "Load benchmark")
        agent = do_create_user(
            session, org.id, role=Role.AGENT, display_name="agent", email=f"agent@{slug}.example"
        )
        _, agent_token = do_issue_api_token(session, agent, "bench", scopes)
        tokens = []
        for i in range(customers):
            user = do_create_user(
                session,
                org.id,
                role=Role.CUSTOMER,
                display_name=f"customer {i}",
                email=f"customer{i}@{slug}.example",
            )
            tokens.append(do_issue_api_token(session, user, "bench", scopes)[1])
    return Credentials(agent_token, tokens)


def proofdesk_command() -> str:
    beside = Path(sys.executable).parent / "proofdesk"
    if beside.is_file():
        return str(beside)
    found = shutil.which("proofdesk")
    if found is None:
        raise SystemExit("cannot find the `proofdesk` command; run from the project's virtualenv")
    return found


@contextlib.contextmanager
def running_server(
    data_dir: Path, database_url: str | None, workers: int, log_level: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start ``proofdesk serve`` and yield (base URL, process) once it is healthy."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROOFDESK_")}
    env |= {
        "PROOFDESK_DATA_DIR": str(data_dir),
        "PROOFDESK_LOG_LEVEL": log_level,
        "PROOFDESK_ENV_FILE": str(data_dir / "no-such.env"),  # ignore a stray proofdesk.env
    }
    if database_url:
        env["PROOFDESK_DATABASE_URL"] = database_url
    log_path = data_dir / "server.log"
    command = [proofdesk_command(), "serve", "--port", str(port), "--workers", str(workers)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base_url, process, log_path, workers)
        yield base_url, process
    finally:
        stop(process)


def wait_healthy(
    base_url: str, process: subprocess.Popen[bytes], log_path: Path, workers: int
) -> None:
    deadline = time.monotonic() + 60
    with httpx2.Client(base_url=base_url, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"server exited ({process.returncode}):\n{log_path.read_text()}")
            with contextlib.suppress(httpx2.TransportError):
                if client.get(f"{API}/health").status_code == 200:
                    # With several workers the first healthy answer does not mean all are up.
                    time.sleep(1.0 if workers > 1 else 0)
                    return
            time.sleep(0.1)
    stop(process)
    raise SystemExit(f"server not healthy after 60 s:\n{log_path.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # uvicorn shuts its workers down on SIGTERM
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the group we started (start_new_session)
        process.wait()


# --- the load --------------------------------------------------------------------------------


class Budget:
    """Stops a phase at its deadline or after ``limit`` requests, whichever comes first."""

    def __init__(self, seconds: float, limit: int | None) -> None:
        self.deadline = time.perf_counter() + seconds
        self.left = limit

    def take(self) -> bool:
        if time.perf_counter() >= self.deadline:
            return False
        if self.left is None:
            return True
        if self.left <= 0:
            return False
        self.left -= 1
        return True


@dataclass
class SimClient:
    """One simulated user: its own connection, token and tickets."""

    index: int
    http: httpx2.AsyncClient
    rng: random.Random
    is_agent: bool = False
    ticket_ids: list[str] = field(default_factory=list)
    created: int = 0


Op = Callable[[SimClient], tuple[str, str, dict[str, Any] | None]]


def op_create(c: SimClient) -> tuple[str, str, dict[str, Any] | None]:
    c.created += 1
    body = {
        "kind": "question",
        "subject": f"Withdrawal {c.created} of client {c.index} pending",
        "body": "My USDT withdrawal has been pending for 3 hours. Order ORD-20240611-77.",
    }
    return "POST", f"{API}/tickets", body


def op_get(c: SimClient) -> tuple[str, str, dict[str, Any] | None]:
    return "GET", f"{API}/tickets/{c.rng.choice(c.ticket_ids)}", None


def op_list(c: SimClient) -> tuple[str, str, dict[str, Any] | None]:
    return "GET", f"{API}/tickets?limit=20", None


def op_reply(c: SimClient) -> tuple[str, str, dict[str, Any] | None]:
    body = {"body": "Any news? The transaction is still not in my wallet."}
    return "POST", f"{API}/tickets/{c.rng.choice(c.ticket_ids)}/messages", body


def op_queue(c: SimClient) -> tuple[str, str, dict[str, Any] | None]:
    return "GET", f"{API}/tickets?limit=20&status=new", None


OPS: dict[str, Op] = {
    "create": op_create,
    "get": op_get,
    "list": op_list,
    "reply": op_reply,
    "queue": op_queue,
}


def choose(phase: str, c: SimClient) -> str:
    """The next operation of a client in a phase."""
    if c.is_agent:
        return "queue"
    if phase == "create" or not c.ticket_ids:  # reads and replies need a ticket of one's own
        return "create"
    if phase == "read":
        return c.rng.choice(("get", "list"))
    if phase == "warm-up":
        return c.rng.choice(("create", "get", "list"))
    # mixed: a support desk is read far more than written
    return c.rng.choices(("create", "reply", "get", "list"), weights=(25, 15, 30, 30))[0]


@dataclass
class Pace:
    """An open-loop schedule for one client: a request every ``interval`` seconds."""

    interval: float
    next_at: float


async def client_loop(
    phase: str, c: SimClient, budget: Budget, ops: dict[str, OpStats], pace: Pace | None
) -> None:
    """Closed loop (the next request when the last one is answered) or, with ``pace``, open
    loop: requests at scheduled times, each latency counted from its scheduled time, so that
    a slow answer delaying the next send is not hidden (no coordinated omission)."""
    while True:
        if pace is not None:
            if pace.next_at >= budget.deadline:
                return
            await asyncio.sleep(max(0.0, pace.next_at - time.perf_counter()))
        if not budget.take():
            return
        name = choose(phase, c)
        method, url, body = OPS[name](c)
        error: str | None = None
        start = time.perf_counter() if pace is None else pace.next_at
        if pace is not None:
            pace.next_at += pace.interval
        try:
            response = await c.http.request(method, url, json=body)
            ms = (time.perf_counter() - start) * 1000
            if not 200 <= response.status_code < 300:
                error = f"{method} {url}: {response.status_code} {response.text[:200]}"
            elif name == "create":
                c.ticket_ids.append(response.json()["id"])
        except Exception as exc:  # every failure counts as an error; the run goes on
            ms = (time.perf_counter() - start) * 1000
            error = f"{method} {url}: {type(exc).__name__}: {exc}"
        ops.setdefault(name, OpStats()).record(ms, error)


async def run_phase(
    phase: str,
    clients: list[SimClient],
    seconds: float,
    limit: int | None,
    server_pid: int,
    rate: float | None = None,
) -> PhaseResult:
    ops: dict[str, OpStats] = {}
    budget = Budget(seconds, limit)
    paces: list[Pace | None] = [None] * len(clients)
    if rate:
        interval, now = len(clients) / rate, time.perf_counter()
        paces = [Pace(interval, now + i * interval / len(clients)) for i in range(len(clients))]
    cpu0, server0, machine0 = (
        time.process_time(),
        tree_cpu_seconds(server_pid),
        machine_cpu_seconds(),
    )
    start = time.perf_counter()
    await asyncio.gather(
        *(client_loop(phase, c, budget, ops, pace) for c, pace in zip(clients, paces, strict=True))
    )
    elapsed = time.perf_counter() - start
    return PhaseResult(
        name=phase,
        elapsed=elapsed,
        ops=ops,
        client_cpu=time.process_time() - cpu0,
        server_cpu=tree_cpu_seconds(server_pid) - server0,
        machine_cpu=machine_cpu_seconds() - machine0,
    )


async def drive(
    base_url: str, creds: Credentials, args: argparse.Namespace, server_pid: int
) -> list[PhaseResult]:
    timeout = httpx2.Timeout(args.timeout)
    # One connection per client, dropped after 4 s idle: before uvicorn's 5 s keep-alive
    # timeout closes it under us (the agent idles until the mixed phase).
    limits = httpx2.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=4)

    def connect(token: str) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            limits=limits,
            trust_env=False,
        )

    async with contextlib.AsyncExitStack() as stack:
        customers = [
            SimClient(i, await stack.enter_async_context(connect(token)), random.Random(i))
            for i, token in enumerate(creds.customers)
        ]
        agent = SimClient(
            -1, await stack.enter_async_context(connect(creds.agent)), random.Random(-1), True
        )
        # Warm-up: open the connections, fill caches, give every client a ticket. Not counted.
        warm = await run_phase("warm-up", customers, args.warmup, None, server_pid)
        if warm.total().errors:
            raise SystemExit(f"warm-up failed: {warm.total().samples}")
        results = []
        for phase in args.phases:
            everyone = [*customers, agent] if phase == "mixed" else customers
            result = await run_phase(
                phase, everyone, args.seconds, args.requests, server_pid, args.rate
            )
            results.append(result)
            show(result)
        return results


# --- reporting -------------------------------------------------------------------------------


def show(result: PhaseResult) -> None:
    table = Table(*HEADERS, title=f"phase {result.name} ({result.elapsed:.1f} s)")
    for cells in table_rows([result]):
        table.add_row(*(cell.replace("**", "") for cell in cells))
    console.print(table)
    console.print(cpu_line(result), highlight=False)
    for op, stats in result.ops.items():
        for sample in stats.samples:
            console.print(f"[red]error ({op}):[/] {sample}", highlight=False)


def cpu_line(result: PhaseResult) -> str:
    per_s = 1 / result.elapsed
    rest = result.machine_cpu - result.client_cpu - result.server_cpu
    return (
        f"{result.name}: client {result.client_cpu * per_s:.2f}, "
        f"server {result.server_cpu * per_s:.2f}, "
        f"rest of machine {max(rest, 0) * per_s:.2f} of {os.cpu_count()} CPUs"
    )


def background_load(seconds: float = 1.0) -> float:
    """CPUs kept busy by other processes, measured over ``seconds`` before the run starts."""
    before = machine_cpu_seconds()
    time.sleep(seconds)
    return (machine_cpu_seconds() - before) / seconds


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0))


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def database_description(db: Database) -> str:
    with db.engine.connect() as connection:
        if db.dialect == "sqlite":
            version = connection.execute(text("select sqlite_version()")).scalar()
            mode = connection.execute(text("pragma journal_mode")).scalar()
            return f"SQLite {version} (journal_mode={mode}, synchronous=NORMAL)"
        version = connection.execute(text("show server_version")).scalar()
        return f"PostgreSQL {version} on {make_url(db.url).host}"


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - read-only
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def command_line() -> str:
    argv = [shlex.quote(a) for a in sys.argv[1:]]
    for i, a in enumerate(argv):
        if "://" in a:  # never write a password into the docs
            argv[i] = make_url(a).render_as_string(hide_password=True)
    return " ".join([".venv/bin/python bench/api_load.py", *argv])


def machine_lines(database: str, args: argparse.Namespace, background: float) -> list[str]:
    return [
        f"- machine: {usable_cpus()} CPUs (nproc), {cpu_model()}, {platform.platform()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"proofdesk {proofdesk.__version__} (git {git_commit()}, working tree as run)",
        f"- database: {database}",
        f"- server: `proofdesk serve --workers {args.workers}`, uvicorn log level "
        f"`{args.server_log_level}`; client: {args.clients} httpx2 client"
        f"{'s' if args.clients > 1 else ''} in one asyncio "
        f"process on the same machine",
        f"- load from other processes just before the run: {background:.2f} CPUs "
        '("rest of machine" below includes PostgreSQL when it is the database)',
    ]


def aim_line(results: list[PhaseResult], clients: int) -> str | None:
    create = next((r for r in results if r.name == "create"), None)
    if create is None or clients != 100:
        return None
    total = create.total()
    rate = len(total.latencies) / create.elapsed
    p99 = percentile(sorted(total.latencies), 99)
    met = rate >= AIM_CREATES_PER_S and p99 < AIM_P99_MS and total.errors == 0
    return (
        f"Aim (≥ {AIM_CREATES_PER_S:.0f} creates/s, p99 < {AIM_P99_MS:.0f} ms, 0 errors at 100 "
        f"clients): **{'met' if met else 'not met'}** — {rate:.0f} creates/s, p99 {p99:.0f} ms, "
        f"{total.errors} errors."
    )


def markdown_block(
    key: str,
    results: list[PhaseResult],
    database: str,
    args: argparse.Namespace,
    background: float,
) -> str:
    title = (
        f"{database.split(' (')[0].split(' on ')[0]}, {args.workers} "
        f"worker{'s' if args.workers > 1 else ''}, {args.clients} "
        f"client{'s' if args.clients > 1 else ''}"
        + (f", {args.rate:g} requests/s offered" if args.rate else "")
    )
    lines = [
        f"<!-- api_load:run {key} -->",
        f"#### {title}",
        "",
        f"`{command_line()}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{args.seconds:g} s per phase after a {args.warmup:g} s warm-up; "
        + (
            f"open loop at {args.rate:g} requests/s offered, latency from the scheduled send"
            if args.rate
            else "closed loop: each client sends its next request as soon as it has its answer"
        ),
        "",
        *machine_lines(database, args, background),
        "",
        "| " + " | ".join(HEADERS) + " |",
        "| " + " | ".join(["---"] + ["---:"] * (len(HEADERS) - 1)) + " |",
        *("| " + " | ".join(cells) + " |" for cells in table_rows(results)),
        "",
        "CPU during each phase: " + "; ".join(cpu_line(r) for r in results) + ".",
        "",
    ]
    aim = aim_line(results, args.clients)
    if aim:
        lines += [aim, ""]
    return "\n".join(lines)


def write_docs(path: Path, key: str, block: str) -> None:
    """Replace this run's block inside the api_load section, keeping everything else."""
    content = path.read_text() if path.exists() else INTRO
    if START not in content or END not in content:
        content = content.rstrip("\n") + f"\n\n{START}\n{END}\n"
    head, rest = content.split(START, 1)
    section, tail = rest.split(END, 1)
    blocks: dict[str, str] = {}
    marks = list(RUN_MARK.finditer(section))
    for i, mark in enumerate(marks):
        stop_at = marks[i + 1].start() if i + 1 < len(marks) else len(section)
        blocks[mark.group(1)] = section[mark.start() : stop_at].strip("\n") + "\n"
    blocks[key] = block.strip("\n") + "\n"
    body = "\n".join(blocks.values())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{head}{START}\n{body}{END}{tail}")


# --- main ------------------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_postgres(url: str) -> Iterator[None]:
    """Create the database named in ``url`` (which must not exist) and drop it afterwards."""
    target = make_url(url)
    name = target.database
    if not name or not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit("--create-db needs a database name of letters, digits and _")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100, help="concurrent clients (100)")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each phase (15)")
    parser.add_argument(
        "--requests", type=int, default=None, help="also stop a phase after this many requests"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="open loop: this many requests/s in all, spread over the clients "
        "(default: closed loop, each client sends as soon as it has its answer)",
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="uncounted warm-up seconds (2)")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (1)")
    parser.add_argument(
        "--phases",
        type=lambda s: [p for p in s.split(",") if p],
        default=list(PHASES),
        help=f"comma-separated, from {','.join(PHASES)} (all)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="a SQLAlchemy URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench "
        "(default: SQLite in the temporary data directory)",
    )
    parser.add_argument(
        "--create-db",
        action="store_true",
        help="create the PostgreSQL database named in --database-url and drop it afterwards",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout (30 s)")
    parser.add_argument(
        "--server-log-level",
        default="warning",
        help="uvicorn log level; `info` also writes an access-log line per request (warning)",
    )
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOCS.name}")
    parser.add_argument("--output", type=Path, default=DOCS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = [p for p in args.phases if p not in PHASES]
    if unknown:
        parser.error(f"unknown phase {unknown[0]!r}; phases are {', '.join(PHASES)}")
    if args.clients < 1 or args.workers < 1 or args.seconds <= 0 or (args.rate or 1) <= 0:
        parser.error("--clients, --workers, --seconds and --rate must be positive")
    if args.create_db and not (args.database_url or "").startswith("postgresql"):
        parser.error("--create-db needs a postgresql --database-url")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    background = background_load()
    if background > 0.25:
        console.print(f"[yellow]warning:[/] other processes keep {background:.2f} CPUs busy")
    with contextlib.ExitStack() as stack:
        if args.create_db:
            stack.enter_context(scratch_postgres(args.database_url))
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pd-bench-")))
        settings = Settings(data_dir=data_dir, database_url=args.database_url)
        db = open_database(settings, migrate=True)
        try:
            creds = seed(db, args.clients)
            database = database_description(db)
        finally:
            db.dispose()
        console.print(f"{database}; seeded 1 agent and {args.clients} customers", highlight=False)
        base_url, process = stack.enter_context(
            running_server(data_dir, args.database_url, args.workers, args.server_log_level)
        )
        console.print(f"server {base_url} (pid {process.pid}, {args.workers} worker(s))")
        results = asyncio.run(drive(base_url, creds, args, process.pid))
    for line in machine_lines(database, args, background):
        console.print(line, highlight=False)
    aim = aim_line(results, args.clients)
    if aim:
        console.print(aim.replace("**", ""), highlight=False)
    if not args.no_write:
        key = f"{database.split()[0].lower()}-w{args.workers}-c{args.clients}"
        key += f"-r{args.rate:g}" if args.rate else ""
        write_docs(args.output, key, markdown_block(key, results, database, args, background))
        console.print(
            f"wrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}"
        )
    return 1 if any(r.total().errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
