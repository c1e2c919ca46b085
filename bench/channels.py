"""How fast e-mail comes in on one core: 20 KB mails parsed (MIME, charsets, quoted history
stripped) and, separately, parsed *and threaded and written* (``actions.mail_in.ingest`` on a
throwaway SQLite database: a customer's first mail opens a ticket, the next ones thread onto
it by ``In-Reply-To``).

Prints a table and rewrites its section of ``docs/benchmarks.md`` (between
``<!-- channels:start -->`` and ``<!-- channels:end -->``).

    .venv/bin/python bench/channels.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from api_load import cpu_model
from ledger import markdown_table, replace_section, run_header
from proofdesk.access import Actor
from proofdesk.actions.accounts import do_create_organization, do_create_user
from proofdesk.actions.blobs import BlobStore
from proofdesk.actions.mail_in import find_thread, ingest
from proofdesk.actions.mailboxes import MailboxSpec, do_create_mailbox
from proofdesk.domain.roles import Role
from proofdesk.ledger.keys import Keyring
from proofdesk.mail.parse import parse
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.migrate import upgrade
from proofdesk.store.models import Mailbox

SIZE = 20 * 1024
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")
PARAGRAPH = "我的 USDT 提币已经等了三个小时，交易哈希是 0xabc。Please check the withdrawal status. "


def sample(n: int, to: str, replying_to: str | None) -> bytes:
    message = EmailMessage()
    message["From"] = f"Customer {n % 50} <c{n % 50}@customer.example>"
    message["To"] = to
    message["Subject"] = "提币问题 / withdrawal"
    message["Message-ID"] = make_msgid(domain="customer.example")
    if replying_to:
        message["In-Reply-To"] = f"<{replying_to}>"
    quote = "\n".join("> " + PARAGRAPH for _ in range(40))
    body = PARAGRAPH * 4 + "\n\n在 2026年12月1日 10:00，Support 写道：\n" + quote
    message.set_content(body, charset="utf-8")
    # A screenshot, as customers attach: PNG bytes (not text, so no secret scan of its own).
    png = PNG + bytes(range(256)) * max(0, (SIZE - len(body.encode()) - 3000) // 256)
    message.add_attachment(png, maintype="image", subtype="png", filename="screenshot.png")
    return message.as_bytes()


def timed(seconds: float, one: object) -> tuple[int, float]:
    assert callable(one)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        one(count)
        count += 1
    return count, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/")
    args = parser.parse_args(argv)
    mails = [sample(n, "support@acme.example", None) for n in range(200)]
    size = sum(map(len, mails)) // len(mails)
    parsed, parse_s = timed(args.seconds, lambda i: parse(mails[i % len(mails)]))

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database_url=f"sqlite:///{tmp}/bench.db",
            attachment_types=("text/plain",),
        )
        db = Database(settings.database_url or "", keyring=Keyring.from_file(Path(tmp) / "k"))
        upgrade(db)
        with db.writer() as session:
            org = do_create_organization(session, "acme", "Acme")
            admin = do_create_user(
                session, org.id, role=Role.ADMIN, display_name="a", email="admin@acme.example"
            )
            assert db.keyring is not None
            box = do_create_mailbox(
                session,
                Actor(admin.id, org.id, Role.ADMIN),
                db.keyring,
                MailboxSpec(address="support@acme.example"),
            )
            mailbox_id = box.id
        blobs = BlobStore(settings.blob_dir)
        last: dict[int, str] = {}

        def take(i: int) -> None:
            who = i % 50
            raw = sample(i, "support@acme.example", last.get(who))
            taken = ingest(db, blobs, settings, mailbox_id, raw)
            last[who] = taken.message_id

        ingested, ingest_s = timed(args.seconds, take)
        replies = [sample(n, "support@acme.example", last.get(n % 50)) for n in range(200)]
        with db.reader() as session:
            box_row = session.get(Mailbox, mailbox_id)
            assert box_row is not None

            def thread(i: int) -> None:
                find_thread(session, box_row, parse(replies[i % len(replies)]))

            threaded, thread_s = timed(args.seconds, thread)
        db.dispose()

    rows = [
        [
            f"parse + strip quotes ({size // 1024} KB mail)",
            f"{parsed / parse_s:,.0f}",
            f"{parse_s / parsed * 1e6:,.0f}",
        ],
        [
            "parse + thread (find the ticket, read only, SQLite)",
            f"{threaded / thread_s:,.0f}",
            f"{thread_s / threaded * 1e6:,.0f}",
        ],
        [
            "parse + thread + write (SQLite, one writer)",
            f"{ingested / ingest_s:,.0f}",
            f"{ingest_s / ingested * 1e6:,.0f}",
        ],
    ]
    headers = ["operation (one core)", "per second", "µs each"]
    table = Table(*headers, title="e-mail in")
    for row in rows:
        table.add_row(*row)
    Console(width=140).print(table)
    if args.no_write:
        return 0
    start, end = "<!-- channels:start -->", "<!-- channels:end -->"
    block = "\n".join(
        [
            start,
            *run_header("channels.py", sys.argv[1:] if argv is None else argv),
            "",
            f"- machine: {cpu_model()}; one process, one thread; aim ≥ 200 mails/s parsed and "
            "threaded. Each mail: ~20 KB, Chinese and English text over 40 quoted lines, and a "
            "PNG. The machine is shared with other jobs: runs vary by a factor of two.",
            "",
            *markdown_table(headers, rows),
            "",
            "Only parsing alone reached the aim, and only at a lighter load; with threading "
            "(a few indexed reads, ~2 ms on a quieter machine) **the ≥ 200/s aim is not met**. "
            "The whole write is bounded by what every ticket write costs (the "
            "API's own creates run at ~80/s on SQLite with the ledger, above), plus the secret "
            "scan of the kept original (`domain.redaction`, ~15 ms for 20 KB of text) and two "
            "fsynced blobs; neither cost is specific to mail.",
            "",
            end,
        ]
    )
    replace_section(start, end, "E-mail in (`bench/channels.py`)", block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
