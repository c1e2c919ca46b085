"""The web UI's main pages in Chromium: weight (HTML, JavaScript, CSS, all) and time to first
contentful paint, each page loaded cold in a fresh browser context, on the demo data. Prints a
table and rewrites its section of ``docs/benchmarks.md``. Needs Debian's Chromium
(``/usr/bin/chromium``) and the built front-end files (``make web``).

    .venv/bin/python bench/web.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyotp
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))
from api_load import cpu_model
from ledger import markdown_table, replace_section, run_header
from proofdesk.actions.mfa import do_enable_mfa, do_start_enrolment
from proofdesk.app.local import serving
from proofdesk.app.services import open_database
from proofdesk.demo.play import DEMO_SLUG, STAFF_DOMAIN, seed_demo
from proofdesk.demo.starter import import_starter_kb
from proofdesk.domain.roles import Role
from proofdesk.ledger.checkpoints import signer_for
from proofdesk.settings import Settings
from proofdesk.store.models import Organization, Ticket, User
from proofdesk.workers.checkpoints import CheckpointLoop

CHROMIUM = "/usr/bin/chromium"
PAINTED = "() => performance.getEntriesByName('first-contentful-paint').length > 0"
#: What the page loaded, by kind, from the browser's own resource timing.
MEASURE = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  const sizes = {html: nav.encodedBodySize, js: 0, css: 0, other: 0};
  for (const r of performance.getEntriesByType('resource')) {
    const kind = r.initiatorType === 'script' ? 'js' : (r.name.endsWith('.css') ? 'css' : 'other');
    sizes[kind] += r.encodedBodySize;
  }
  return {...sizes, fcp: paint ? paint.startTime : null, dcl: nav.domContentLoadedEventEnd};
}"""


def sign_in(page: Any, url: str, email: str, password: str, totp: str = "") -> None:
    page.goto(f"{url}/login")
    page.fill("#organization", DEMO_SLUG)
    page.fill("#email", email)
    page.fill("#password", password)
    if totp:  # a code of the next time step: fresh, and valid for the next minute
        page.fill("#totp_code", pyotp.TOTP(totp).at(time.time() + 30))
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def measure(
    browser: Any,
    url: str,
    who: tuple[str, ...] | None,
    path: str,
    runs: int,
    sessions: dict[tuple[str, ...], Any],
) -> dict[str, Any]:
    signed: Any = None
    if who is not None and who not in sessions:
        # Once per person: a second-factor code is good for one sign-in.
        first = browser.new_context()
        sign_in(first.new_page(), url, *who)
        sessions[who] = first.storage_state()
        first.close()
    if who is not None:
        signed = sessions[who]
    samples = []
    for _ in range(runs):
        context = browser.new_context(storage_state=signed)  # a fresh cache each time
        page = context.new_page()
        response = page.goto(f"{url}{path}", wait_until="load")
        if response is None or response.status != 200 or page.url != f"{url}{path}":
            raise SystemExit(f"{path}: got {response.status if response else '?'} at {page.url}")
        for _ in range(100):  # the first paint is recorded a moment after "load", headless
            if page.evaluate(PAINTED):
                break
            page.wait_for_timeout(50)
        samples.append(page.evaluate(MEASURE))
        context.close()
    last = samples[-1]
    return {
        "html": last["html"],
        "js": last["js"],
        "css": last["css"],
        "total": last["html"] + last["js"] + last["css"] + last["other"],
        "fcp": statistics.median(s["fcp"] for s in samples),
        "dcl": statistics.median(s["dcl"] for s in samples),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("at least one run")
    if not Path(CHROMIUM).exists():
        parser.error(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            anchor_every_seconds=0,
            automation_poll_seconds=0,
            sla_poll_seconds=0,
        )
        db = open_database(settings, migrate=True)
        seed_demo(db, settings, seed=7, tickets=300, customers=50)
        import_starter_kb(db)
        CheckpointLoop(db, signer_for(settings), 0).tick()
        password = settings.demo_password.get_secret_value()
        with db.reader() as session:
            org = session.scalars(select(Organization).where(Organization.slug == DEMO_SLUG)).one()
            customer = session.scalars(
                select(User).where(
                    User.organization_id == org.id, User.email == f"customer@{STAFF_DOMAIN}"
                )
            ).one()
            agent = session.scalars(
                select(User)
                .where(User.organization_id == org.id, User.role == Role.AGENT.value)
                .order_by(User.email)
                .limit(1)
            ).one()
            mine = session.scalars(
                select(Ticket.id).where(Ticket.requester_id == customer.id).limit(1)
            ).first()
            managers = {
                role: session.scalars(
                    select(User)
                    .where(User.organization_id == org.id, User.role == role.value)
                    .order_by(User.email)
                    .limit(1)
                ).one()
                for role in (Role.SUPERVISOR, Role.ADMIN)
            }
            any_ticket = session.scalars(
                select(Ticket.id).where(Ticket.organization_id == org.id).limit(1)
            ).one()
            assert customer.email is not None
            assert agent.email is not None
            as_customer = (customer.email, password)
            as_agent = (agent.email, password)
        # Managers need a second factor: enrol one for each, as the set-up page would.
        keys = {}
        with db.writer() as session:
            assert db.keyring is not None
            for role, person in managers.items():
                user = session.get(User, person.id)
                assert user is not None
                assert user.email is not None
                secret, _, _ = do_start_enrolment(user, db.keyring)
                do_enable_mfa(session, user, db.keyring, pyotp.TOTP(secret).now())
                keys[role] = (user.email, password, secret)
        pages = [
            ("sign-in", None, "/login"),
            ("my requests", as_customer, "/requests"),
            ("new request", as_customer, "/requests/new"),
            ("a request", as_customer, f"/requests/{mine}" if mine else "/requests"),
            ("agent queue (all)", as_agent, "/agent?view=all"),
            ("agent ticket", as_agent, f"/agent/tickets/{any_ticket}"),
            ("dashboard", keys[Role.SUPERVISOR], "/agent/dashboard"),
            ("admin", keys[Role.ADMIN], "/admin"),
            ("SLA policy editor", keys[Role.ADMIN], "/admin/sla/new"),
            ("contract editor", keys[Role.ADMIN], "/admin/contracts/new"),
            ("payouts", keys[Role.SUPERVISOR], "/agent/payouts"),
            ("chat widget frame", None, f"/widget?org={DEMO_SLUG}"),
        ]
        rows = []
        with serving(settings, db) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            warm = browser.new_page()  # the browser's own start-up is not the page's time
            warm.goto(f"{url}/login")
            warm.close()
            sessions: dict[tuple[str, ...], Any] = {}
            for name, who, path in pages:
                found = measure(browser, url, who, path, args.runs, sessions)
                rows.append(
                    [
                        name,
                        f"{found['html'] / 1024:.1f}",
                        f"{found['js'] / 1024:.1f}",
                        f"{found['css'] / 1024:.1f}",
                        f"{found['total'] / 1024:.1f}",
                        f"{found['fcp']:.0f}",
                        f"{found['dcl']:.0f}",
                    ]
                )
            browser.close()
        db.dispose()
    headers = ["page", "HTML KB", "JS KB", "CSS KB", "total KB", "first paint ms", "DOM ready ms"]
    table = Table(*headers, title=f"Web pages, cold, median of {args.runs} loads")
    for row in rows:
        table.add_row(*row)
    Console(width=140).print(table)
    if not args.no_write:
        start, end = "<!-- web:start -->", "<!-- web:end -->"
        block = "\n".join(
            [
                start,
                *run_header("web.py", argv or sys.argv[1:]),
                "",
                f"- machine: {cpu_model()}; Chromium headless on loopback; the demo data (300 "
                "tickets); each load in a fresh context (no cache); sizes as sent (no compression "
                "configured); aim: no page over 200 KB of JavaScript",
                "",
                *markdown_table(headers, rows),
                "",
                end,
            ]
        )
        replace_section(start, end, "The web UI (`bench/web.py`)", block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
