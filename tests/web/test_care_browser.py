"""Customer care in a real browser (Debian's Chromium driven by Playwright, the service on a
loopback port), in both languages: "Insert" on a canned reply puts its text, filled in for the
ticket, into the reply box; the customer's rating form appears by the live refresh as soon as
an agent solves the request. axe-core checks each page.

Chromium is Debian's (``/usr/bin/chromium``); without it, or without the front-end packages,
the test is skipped with the reason (a failure under PROOFDESK_REQUIRE_ALL=1).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from proofdesk import i18n
from proofdesk.access import Actor
from proofdesk.actions import tickets as actions
from proofdesk.actions.accounts import do_create_organization, do_create_user
from proofdesk.actions.macros import do_create_macro
from proofdesk.app.local import free_port, serving
from proofdesk.app.services import open_database
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import Kind, Status
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import Ticket
from tests.support import paths
from tests.support.environment import unavailable

CHROMIUM = Path("/usr/bin/chromium")
AXE = paths.ROOT / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "care browser password"
SIZES = {"desk": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
CASES = [("en", "desk"), ("zh-CN", "desk"), ("zh-CN", "phone")]


@dataclass
class Desk:
    url: str
    db: Database
    customer: Actor
    agent: Actor


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    for needed, why in (
        (CHROMIUM, f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
        (AXE, "axe-core is not installed (npm install)"),
        (
            paths.ROOT / "src" / "proofdesk" / "web" / "static" / "vendor" / "htmx.min.js",
            "the web UI's front-end packages are not built (make web)",
        ),
    ):
        if not needed.exists():
            unavailable(why)
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("care"),
        anchor_every_seconds=0,
        automation_poll_seconds=0,
        sla_poll_seconds=0,
        automation_sweep_seconds=0,
        login_rate_per_minute=1000,
    )
    db = open_database(settings, migrate=True)
    with db.writer() as session:
        org = do_create_organization(session, "careshop", "Care Shop")
        customer, agent = (
            do_create_user(
                session, org.id, role=role, display_name=name, email=email, password=PASSWORD
            )
            for role, name, email in (
                (Role.CUSTOMER, "陈静", "chen@careshop.example"),
                (Role.AGENT, "Dana Agent", "agent@careshop.example"),
            )
        )
        agent_actor = Actor(agent.id, org.id, Role.AGENT)
        do_create_macro(
            session,
            agent_actor,
            "hello",
            {"en": "Hello", "zh-CN": "问候"},
            [
                {
                    "type": "reply",
                    "body": {
                        "en": "Hello {{customer.name}}, about #{{ticket.number}}.",
                        "zh-CN": "{{customer.name}}您好，关于工单 #{{ticket.number}}。",
                    },
                }
            ],
            personal=True,
        )
    port = free_port()
    with serving(settings, db, port=port) as url:
        yield Desk(url, db, Actor(customer.id, org.id, Role.CUSTOMER), agent_actor)
    db.dispose()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


def open_as(chromium: Any, desk: Desk, email: str, language: str, size: str) -> Any:
    context = chromium.new_context(viewport=SIZES[size])
    context.add_cookies([{"name": i18n.LANG_COOKIE, "value": language, "url": desk.url}])
    page = context.new_page()
    page.goto(f"{desk.url}/login")
    page.fill("#organization", "careshop")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page


def serious_findings(page: Any) -> list[dict[str, Any]]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => ({id: v.id, nodes: v.nodes.map(n => n.target)}))"
    )
    return list(found)


def new_request(desk: Desk, subject: str, body: str) -> tuple[str, int]:
    with desk.db.writer() as session:
        state = actions.do_create_ticket(
            session,
            desk.customer,
            actions.NewTicket(kind=Kind.QUESTION, subject=subject, body=body),
        )
        return state.id, state.number


@pytest.mark.parametrize(("language", "size"), CASES)
def test_insert_puts_a_canned_reply_into_the_reply_box(
    desk: Desk, chromium: Any, language: str, size: str
) -> None:
    chinese = language == "zh-CN"
    ticket_id, number = new_request(
        desk, "提币没到账" if chinese else "Deposit missing", "还没到" if chinese else "Not yet"
    )
    page = open_as(chromium, desk, "agent@careshop.example", language, size)
    page.goto(f"{desk.url}/agent/tickets/{ticket_id}")
    page.fill("#reply", "Hi.")
    insert = page.locator(".canned button.insert-reply").first
    insert.wait_for()
    insert.click()
    expected = f"陈静您好，关于工单 #{number}。" if chinese else f"Hello 陈静, about #{number}."
    assert page.input_value("#reply") == f"Hi.\n\n{expected}"
    assert page.evaluate("document.activeElement.id") == "reply"
    assert serious_findings(page) == []
    page.context.close()


@pytest.mark.parametrize(("language", "size"), CASES)
def test_the_rating_form_appears_live_when_the_request_is_solved(
    desk: Desk, chromium: Any, language: str, size: str
) -> None:
    ticket_id, _ = new_request(desk, "Card not arriving", "Where is my card?")
    page = open_as(chromium, desk, "chen@careshop.example", language, size)
    page.goto(f"{desk.url}/requests/{ticket_id}")
    page.wait_for_load_state("networkidle")
    assert page.locator("form.survey").count() == 0
    with desk.db.writer() as session:
        row = session.get(Ticket, ticket_id)
        assert row is not None
        actions.do_add_message(session, desk.agent, row, body="Sent today.", status=Status.SOLVED)
    page.locator("form.survey").wait_for(timeout=15_000)  # no reload: the live refresh
    # The timeline is refreshed by the same event, in a request of its own.
    page.locator("#timeline", has_text="Sent today.").wait_for(timeout=15_000)
    assert page.locator("#timeline").inner_text().count("Sent today.") == 1
    assert serious_findings(page) == []
    page.context.close()
