"""Search and people in a real browser (Debian's Chromium driven by Playwright, the service on a
loopback port), in both languages and at a desk's and a phone's size: the header's search box
finds a ticket, the customer page shows a customer's 35 requests by pages, the portal pages
them too, and an unknown console address shows a page. axe-core checks each page; screenshots
go to build/screenshots.

Chromium is Debian's (``/usr/bin/chromium``); without it, or without the front-end packages,
the test is skipped with the reason (a failure under PROOFDESK_REQUIRE_ALL=1).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from proofdesk import i18n
from proofdesk.access import Actor
from proofdesk.actions import tickets as actions
from proofdesk.actions.accounts import do_create_organization, do_create_user
from proofdesk.app.local import free_port, serving
from proofdesk.app.services import open_database
from proofdesk.canonical import utc_now
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import Kind
from proofdesk.settings import Settings
from tests.support import paths
from tests.support.environment import unavailable

CHROMIUM = Path("/usr/bin/chromium")
AXE = paths.ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = paths.ROOT / "build" / "screenshots"
PASSWORD = "desk browser password"
SIZES = {"desk": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
TITLES = {"en": "Page not found", "zh-CN": "页面不存在"}


@dataclass
class Desk:
    url: str
    customer_id: str
    #: The number of the ticket whose message says 提现没到账.
    withdrawal: int


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
        data_dir=tmp_path_factory.mktemp("desk"),
        anchor_every_seconds=0,
        automation_poll_seconds=0,
        sla_poll_seconds=0,
        automation_sweep_seconds=0,
        login_rate_per_minute=1000,
    )
    db = open_database(settings, migrate=True)
    with db.writer() as session:
        org = do_create_organization(session, "deskshop", "Desk Shop")
        customer, _agent = (
            do_create_user(
                session, org.id, role=role, display_name=name, email=email, password=PASSWORD
            )
            for role, name, email in (
                (Role.CUSTOMER, "陈静", "chen@deskshop.example"),
                (Role.AGENT, "Dana Agent", "agent@deskshop.example"),
            )
        )
        asking = Actor(customer.id, org.id, Role.CUSTOMER)
        start = utc_now() - timedelta(days=1)
        withdrawal = 0
        for i in range(35):
            body = "我的提现没到账" if i == 7 else f"Question number {i}"
            state = actions.do_create_ticket(
                session,
                asking,
                actions.NewTicket(kind=Kind.QUESTION, subject=f"Request {i:02d}", body=body),
                at=start + timedelta(minutes=i),
            )
            if i == 7:
                withdrawal = state.number
    port = free_port()
    with serving(settings, db, port=port) as url:
        yield Desk(url, customer.id, withdrawal)
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
    page.fill("#organization", "deskshop")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page


def serious_findings(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is now."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => ({id: v.id, nodes: v.nodes.map(n => n.target)}))"
    )
    return list(found)


def rows(page: Any) -> int:
    return int(page.locator("table.list tbody tr").count())


def fits(page: Any) -> bool:
    """Nothing wider than the window (no sideways scrolling on a phone)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


both = pytest.mark.parametrize(
    ("language", "size"), [(lang, size) for lang in ("en", "zh-CN") for size in SIZES]
)


@both
def test_the_header_search_box_finds_a_ticket(
    desk: Desk, chromium: Any, language: str, size: str
) -> None:
    page = open_as(chromium, desk, "agent@deskshop.example", language, size)
    box = page.locator("#top-search")
    box.fill("提现")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/agent/search\?q="))
    assert rows(page) == 1
    assert page.locator("table.list").inner_text().count(str(desk.withdrawal)) >= 1
    assert serious_findings(page) == [] and fits(page)
    page.screenshot(path=str(_shot(f"desk-search-{language}-{size}")), full_page=True)
    page.locator("table.list tbody a", has_text="Request 07").click()
    page.wait_for_url(re.compile(r"/agent/tickets/"))
    assert "我的提现没到账" in page.content()
    page.context.close()


@both
def test_the_customer_page_shows_35_requests_by_pages(
    desk: Desk, chromium: Any, language: str, size: str
) -> None:
    page = open_as(chromium, desk, "agent@deskshop.example", language, size)
    page.goto(f"{desk.url}/agent/search?q=Request")
    page.locator("table.list tbody a", has_text="陈静").first.click()
    page.wait_for_url(re.compile(r"/agent/customers/"))
    assert rows(page) == 20 and page.locator("#requests-title .count").inner_text() == "35"
    assert serious_findings(page) == [] and fits(page)
    page.screenshot(path=str(_shot(f"desk-customer-{language}-{size}")), full_page=True)
    page.locator("a[rel=next]").click()
    page.wait_for_load_state("networkidle")
    assert rows(page) == 15 and page.locator("a[rel=next]").count() == 0
    page.context.close()
    portal = open_as(chromium, desk, "chen@deskshop.example", language, size)
    assert rows(portal) == 20
    portal.locator("a[rel=next]").click()
    portal.wait_for_load_state("networkidle")
    assert rows(portal) == 15
    assert serious_findings(portal) == [] and fits(portal)
    portal.context.close()


@both
def test_an_unknown_console_address_shows_a_page(
    desk: Desk, chromium: Any, language: str, size: str
) -> None:
    page = open_as(chromium, desk, "agent@deskshop.example", language, size)
    response = page.goto(f"{desk.url}/agent/no-such-page")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == TITLES[language]
    assert page.locator("#top-search").count() == 1  # still the console, with its header
    assert serious_findings(page) == [] and fits(page)
    page.screenshot(path=str(_shot(f"desk-404-{language}-{size}")), full_page=True)
    page.context.close()


def _shot(name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / f"{name}.png"
