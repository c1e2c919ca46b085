"""The chat widget and the console's activity in a real browser (Debian's Chromium driven by
Playwright against the service on a loopback port), at 1280×900 and 390×844:

- a shop visitor without an account chats on the shop's own page (another origin): after
  several answers the message box is still inside the frame (bounding boxes); the feedback
  buttons speak the conversation's language (English in a Chinese browser); a hand-off asks
  for an e-mail (a bad one refused in the chat), then a person takes over and the agent's reply
  arrives under the agent's alias; the close button hides the frame and the launcher reopens
  it; on a phone the frame is the whole screen;
- in the console the timeline names who did what, the side form follows the live refresh (the
  customer's reopen shows in its menu without reloading), and a form left open on an older
  version (no JavaScript: no live refresh) is refused with what changed since.

Screenshots: build/screenshots/widget-phone.png and console-stale-form.png (copied into docs/img).
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from proofdesk.actions.accounts import do_create_organization, do_create_user
from proofdesk.actions.kb import do_save_article
from proofdesk.app.local import free_port, serving
from proofdesk.app.services import open_database
from proofdesk.assistant import kb
from proofdesk.domain.roles import Role
from proofdesk.settings import Settings
from tests.support import paths
from tests.support.environment import unavailable

ROOT = paths.ROOT
CHROMIUM = "/usr/bin/chromium"
#: Where the screenshots go (ignored by git, like the other browser tests'); the copies in
#: docs/img were taken from here.
IMAGES = ROOT / "build" / "screenshots"
PASSWORD = "browser test password"
DESK = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@dataclass
class Site:
    url: str
    org: str
    agent: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("widget")
    port = free_port()
    settings = Settings(
        data_dir=data,
        port=port,
        checkpoint_interval_seconds=0,
        anchor_every_seconds=0,
        automation_poll_seconds=0,
        sla_poll_seconds=0,
        automation_sweep_seconds=0,
        login_rate_per_minute=1000,
    )
    db = open_database(settings, migrate=True)
    with db.writer() as session:
        org = do_create_organization(session, "widgetshop", "Widget Shop")
        do_create_user(
            session,
            org.id,
            role=Role.AGENT,
            display_name="Dana Agent",
            email="dana@widgetshop.example",
            password=PASSWORD,
        )
        for spec in kb.read_path(ROOT / "data" / "kb"):
            do_save_article(session, None, org.id, spec)
    with serving(settings, db, port=port) as url:
        yield Site(url, "widgetshop", "dana@widgetshop.example")
    db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    if not (ROOT / "src" / "proofdesk" / "web" / "static" / "vendor" / "htmx.min.js").exists():
        unavailable("the web UI's front-end packages are not built (make web)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def shop_url(site: Site) -> str:
    """The shop's own page with the widget's one tag, on another origin (``localhost``)."""
    html = (
        "<!doctype html><html><head><title>Widget Shop</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>'
        "<h1>Widget Shop</h1>"
        f'<script src="{site.url}/static/widget.js" data-organization="{site.org}" async>'
        "</script></body></html>"
    ).encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://localhost:{server.server_address[1]}/"


def watch_errors(page: Any) -> list[str]:
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: found.append(str(e)))
    return found


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    """Whether a bounding box lies within another (a pixel of rounding allowed)."""
    return (
        inner["x"] >= outer["x"] - 1
        and inner["y"] >= outer["y"] - 1
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 1
    )


def ask(chat: Any, text: str, answers: int) -> None:
    chat.locator("#w-text").fill(text)
    chat.locator("#w-send").click()
    chat.locator(".bubble.assistant").nth(answers - 1).wait_for(timeout=60_000)


def sign_in(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/login")
    page.fill("#organization", site.org)
    page.fill("#email", site.agent)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_a_visitor_chats_without_an_account_and_a_person_takes_over(
    site: Site, browser: Any
) -> None:
    context = browser.new_context(locale="zh-CN", viewport=DESK)
    shop = context.new_page()
    errors = watch_errors(shop)
    shop.goto(shop_url(site))
    shop.click("#proofdesk-widget-button")
    frame = shop.locator("#proofdesk-widget")
    chat = shop.frame_locator("#proofdesk-widget")
    # No account asked for: the chat is there at once.
    chat.locator("#w-text").wait_for()
    assert chat.locator("#widget-login").is_hidden()
    ask(chat, "how long does identity verification take?", 1)
    # An English conversation in a Chinese browser: English buttons.
    buttons = chat.locator(".bubble.assistant .feedback button")
    assert buttons.all_inner_texts() == ["Helpful", "Not helpful"]
    # Knowledge text is rendered, not shown as Markdown; its source is named by its title.
    answer = chat.locator(".bubble.assistant .body").first
    assert "**" not in answer.inner_text() and "](" not in answer.inner_text()
    assert answer.locator("p").count() >= 2
    assert "Source: " in answer.inner_text() and "(en)" not in answer.inner_text()
    ask(chat, "how are trading fees calculated?", 2)
    ask(chat, "when are staking rewards paid?", 3)
    box = frame.bounding_box()
    for part in ("#widget-form", "#w-text", "#w-send", "#w-close"):
        assert inside(chat.locator(part).bounding_box(), box), part
    # The log scrolls inside the frame; the page of the frame does not.
    assert chat.locator("#widget-log").evaluate("e => e.scrollHeight > e.clientHeight")
    assert chat.locator("body").evaluate("() => document.scrollingElement.scrollTop") == 0
    # Three answers nobody confirmed: a person takes over, once the visitor says how to reach her.
    chat.locator("#widget-contact").wait_for()
    assert inside(chat.locator("#widget-contact").bounding_box(), box)
    chat.locator("#w-contact").fill("not-an-address")
    chat.locator("#widget-contact button").click()
    assert "e-mail address or a wallet address" in chat.locator("#widget-error").inner_text()
    chat.locator("#w-contact").fill("visitor@shop.example")
    chat.locator("#widget-contact button").click()
    chat.locator(".bubble.assistant", has_text="#").last.wait_for()
    assert chat.locator("#widget-contact").is_hidden()

    # The agent sees the request with who did what, and answers.
    agent_context = browser.new_context(locale="en-US", viewport=DESK)
    agent = agent_context.new_page()
    agent_errors = watch_errors(agent)
    sign_in(agent, site)
    agent.goto(f"{site.url}/agent?view=all")
    agent.click("text=how long does identity verification take?")
    ticket_url = agent.url
    assert "Intent: " in agent.locator(".msg.note").first.inner_text()
    assert '"confidence"' not in agent.locator("#timeline").inner_text()
    agent.select_option("#status", "pending")
    agent.click("form[action$='/status'] button[type=submit]")
    agent.wait_for_load_state("networkidle")
    timeline = agent.locator("#timeline")
    assert "Dana Agent changed the status from New to Waiting for you" in timeline.inner_text()
    agent.fill("#reply", "We are checking your verification now.")
    agent.click("form[action$='/reply'] button[type=submit]")
    agent.wait_for_load_state("networkidle")
    reply = chat.locator(".bubble.support").first
    reply.wait_for(timeout=15_000)
    assert "We are checking" in reply.inner_text()
    assert reply.locator(".who").inner_text() == "Dana"  # the alias, not "Support"

    # The visitor answers: the request reopens, and the agent's side form follows live.
    chat.locator("#w-text").fill("It is still not done.")
    chat.locator("#w-send").click()
    agent.locator("#agent-form h2 .status-open").wait_for(timeout=15_000)
    assert agent.locator("#status").input_value() == "open"

    # Close and reopen from the shop's launcher.
    chat.locator("#w-close").click()
    frame.wait_for(state="hidden")
    shop.click("#proofdesk-widget-button")
    frame.wait_for(state="visible")
    assert errors == [], errors
    assert agent_errors == [], agent_errors

    # A form left open without the live refresh (no JavaScript) goes stale: refused, shown.
    still = browser.new_context(locale="en-US", viewport=DESK, java_script_enabled=False)
    old = still.new_page()
    sign_in(old, site)
    old.goto(ticket_url)
    agent.select_option("#prop-priority", "high")
    agent.click("form[action$='/properties'] button[type=submit]")
    agent.wait_for_load_state("networkidle")
    old.select_option("#status", "solved")
    old.click("form[action$='/status'] button[type=submit]")
    notice = old.locator(".notice.stale")
    notice.wait_for()
    assert "nothing was saved" in notice.inner_text()
    assert "Dana Agent set the priority to High" in notice.inner_text()
    assert old.locator("#status").input_value() == "open"  # the form shows the ticket as it is
    notice.scroll_into_view_if_needed()
    IMAGES.mkdir(parents=True, exist_ok=True)
    old.screenshot(path=str(IMAGES / "console-stale-form.png"))
    for ctx in (still, agent_context, context):
        ctx.close()


def test_on_a_phone_the_widget_is_the_whole_screen(site: Site, browser: Any) -> None:
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    shop = context.new_page()
    errors = watch_errors(shop)
    shop.goto(shop_url(site))
    shop.click("#proofdesk-widget-button")
    frame = shop.locator("#proofdesk-widget")
    chat = shop.frame_locator("#proofdesk-widget")
    chat.locator("#w-text").wait_for()
    box = frame.bounding_box()
    assert (round(box["x"]), round(box["y"])) == (0, 0)
    assert (round(box["width"]), round(box["height"])) == (PHONE["width"], PHONE["height"])
    assert shop.locator("#proofdesk-widget-button").is_hidden()  # the chat covers it
    ask(chat, "质押收益什么时候发放？", 1)
    assert chat.locator(".bubble.assistant .feedback button").all_inner_texts() == [
        "有帮助",
        "没有帮助",
    ]
    ask(chat, "提现一直在处理中怎么办", 2)
    for part in ("#widget-form", "#w-send", "#w-human", "#w-close"):
        assert inside(chat.locator(part).bounding_box(), box), part
    IMAGES.mkdir(parents=True, exist_ok=True)
    IMAGES.mkdir(parents=True, exist_ok=True)
    shop.screenshot(path=str(IMAGES / "widget-phone.png"))
    chat.locator("#w-close").click()
    frame.wait_for(state="hidden")
    assert shop.locator("#proofdesk-widget-button").is_visible()
    assert errors == [], errors
    context.close()
