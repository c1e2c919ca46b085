"""The community in a real browser (Debian's Chromium through Playwright, axe-core on each
page): a customer asks in Chinese, an agent answers in English with the staff badge, the
customer accepts it; both languages, no script errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from proofdesk.actions.accounts import do_create_organization, do_create_user
from proofdesk.app.local import free_port, serving
from proofdesk.app.services import open_database
from proofdesk.domain.roles import Role
from proofdesk.settings import Settings
from tests.support import paths
from tests.support.environment import unavailable

CHROMIUM = "/usr/bin/chromium"
AXE = paths.ROOT / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "community browser password"
CUSTOMER, AGENT = "mei@qa.example", "sam@qa.example"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    if not AXE.exists():
        unavailable("axe-core is not installed (npm install)")
    port = free_port()
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("community-web"),
        port=port,
        checkpoint_interval_seconds=0,
        anchor_every_seconds=0,
        automation_poll_seconds=0,
        sla_poll_seconds=0,
        automation_sweep_seconds=0,
        login_rate_per_minute=1000,
        community_hold_days=0,  # held first posts are tested over HTTP
    )
    db = open_database(settings, migrate=True)
    with db.writer() as session:
        org = do_create_organization(session, "qa", "QA Exchange")
        for role, email, name, locale in (
            (Role.CUSTOMER, CUSTOMER, "梅梅", "zh-CN"),
            (Role.AGENT, AGENT, "Sam Agent", "en"),
        ):
            do_create_user(
                session,
                org.id,
                role=role,
                display_name=name,
                email=email,
                password=PASSWORD,
                locale=locale,
            )
    with serving(settings, db, port=port) as url:
        yield url
    db.dispose()


@pytest.fixture(scope="module")
def browser(site: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def sign_in(page: Any, url: str, email: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#organization", "qa")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => ({id: v.id, nodes: v.nodes.map(n => n.target)}))"
    )
    return list(found)


def test_ask_answer_accept_in_both_languages(site: str, browser: Any) -> None:
    customer_context = browser.new_context(locale="zh-CN")
    agent_context = browser.new_context(locale="en-US")
    customer, agent = customer_context.new_page(), agent_context.new_page()
    errors: list[str] = []
    for page in (customer, agent):
        page.on("pageerror", lambda e: errors.append(str(e)))

    sign_in(customer, site, CUSTOMER)
    customer.goto(f"{site}/community")
    assert "社区" in customer.content()
    assert axe_violations(customer) == []
    customer.click("text=提问")
    customer.fill("#title", "提币到账需要多久？")
    customer.fill("#body", "我在一小时前提了 USDT，还没有到账。")
    customer.fill("#tags", "提币")
    assert axe_violations(customer) == []
    customer.click("form[action='/community/ask'] button[type=submit]")
    customer.wait_for_selector("h1:has-text('提币到账需要多久？')")
    question_url = customer.url
    assert axe_violations(customer) == []

    sign_in(agent, site, AGENT)
    agent.goto(f"{site}/community")
    agent.click("text=提币到账需要多久？")
    agent.fill("#answer-body", "Withdrawals are sent in batches every 30 minutes.")
    agent.click("form[action$='/answer'] button[type=submit]")
    agent.wait_for_selector("text=Withdrawals are sent in batches")
    assert "Staff" in agent.inner_text(".answer")
    assert axe_violations(agent) == []

    customer.goto(question_url)
    assert "员工" in customer.inner_text(".answer")
    customer.click("text=采纳这个回答")
    customer.wait_for_selector(".answer.accepted")
    assert "已采纳的回答" in customer.content()
    assert axe_violations(customer) == []
    agent.goto(question_url)
    assert "Accepted answer" in agent.content()
    assert errors == [], errors
    customer_context.close()
    agent_context.close()
