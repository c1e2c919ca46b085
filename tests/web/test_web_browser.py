"""The web UI in a real browser: Debian's Chromium driven by Playwright against the service on
a loopback port. A customer writes in Chinese, an agent in another browser sees it arrive
without reloading, replies and notes, the customer sees the reply arrive without reloading and
never the note, the agent solves it, the customer rates it. axe-core checks the pages; the
screenshots are saved under build/screenshots (both languages).

Chromium comes from Debian (``/usr/bin/chromium``): installed here when missing and possible
(root with apt-get), else the test is skipped with the reason — or fails under
PROOFDESK_REQUIRE_ALL=1.
"""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest

from proofdesk.actions.accounts import do_create_organization, do_create_user
from proofdesk.actions.kb import do_save_article
from proofdesk.actions.mfa import do_enable_mfa, do_start_enrolment
from proofdesk.app.local import free_port, serving
from proofdesk.app.services import open_database
from proofdesk.assistant import kb
from proofdesk.domain.roles import Role
from proofdesk.settings import Settings
from tests.support import paths
from tests.support.environment import unavailable

ROOT = paths.ROOT
CHROMIUM = "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "build" / "screenshots"
PASSWORD = "browser test password"
HOSTILE = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'


def chromium() -> str:
    if not Path(CHROMIUM).exists() and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "chromium", "fonts-noto-cjk"]
        # A fixed command of the test setup, as .ci/run does.
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:  # noqa: S603
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)  # noqa: S607
            subprocess.run(install, env=env, capture_output=True)  # noqa: S603
    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    if not (ROOT / "src" / "proofdesk" / "web" / "static" / "vendor" / "htmx.min.js").exists():
        unavailable("the web UI's front-end packages are not built (make web)")
    return CHROMIUM


@dataclass
class Site:
    url: str
    org: str
    customer: str
    agent: str
    #: Staff e-mail → their authenticator's secret.
    totp: dict[str, str]

    def code(self, email: str) -> str:
        """A second-factor code of the next time step: unused by the enrolment (this step's)."""
        return str(pyotp.TOTP(self.totp[email]).at(time.time() + 30))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("web")
    port = free_port()
    settings = Settings(
        data_dir=data,
        port=port,  # the base URL, which a wallet's sign-in message names
        checkpoint_interval_seconds=0.5,  # the verification panel shows a signed checkpoint
        anchor_every_seconds=0,
        automation_poll_seconds=0,
        sla_poll_seconds=0,
        automation_sweep_seconds=0,
        login_rate_per_minute=1000,
    )
    db = open_database(settings, migrate=True)
    with db.writer() as session:
        org = do_create_organization(session, "webshop", "Web Shop")
        for role, email, name, locale in (
            (Role.CUSTOMER, "li@webshop.example", "李雷", "zh-CN"),
            (Role.AGENT, "agent@webshop.example", "Dana Agent", "en"),
            (Role.AGENT, "agent2@webshop.example", "吴客服", "zh-CN"),
        ):
            user = do_create_user(
                session, org.id, role=role, display_name=name, email=email, password=PASSWORD
            )
            user.locale = locale
        for spec in kb.read_path(ROOT / "data" / "kb"):
            do_save_article(session, None, org.id, spec)
        assert db.keyring is not None
        totp = {}
        for role, email, name in (
            (Role.SUPERVISOR, "boss@webshop.example", "王主管"),
            (Role.ADMIN, "root@webshop.example", "Ada Admin"),
            (Role.SUPERVISOR, "lead@webshop.example", "Lee Lead"),
            (Role.ADMIN, "root2@webshop.example", "Root Two"),
        ):
            person = do_create_user(
                session, org.id, role=role, display_name=name, email=email, password=PASSWORD
            )
            totp[email], _, _ = do_start_enrolment(person, db.keyring)
            do_enable_mfa(session, person, db.keyring, pyotp.TOTP(totp[email]).now())
        # A supervisor who has not enrolled a second factor yet.
        do_create_user(
            session,
            org.id,
            role=Role.SUPERVISOR,
            display_name="New Lead",
            email="newlead@webshop.example",
            password=PASSWORD,
        )
    with serving(settings, db, port=port) as url:
        yield Site(
            url,
            "webshop",
            "li@webshop.example",
            "agent@webshop.example",
            totp,
        )
    db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


def sign_in(page: Any, site: Site, email: str, code: str = "") -> None:
    page.goto(f"{site.url}/login")
    page.fill("#organization", site.org)
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.fill("#totp_code", code)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core findings of the page as it is now."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))"
    )
    return list(found)


def platform_site(html: str) -> str:
    """A platform's own page on another origin (``localhost`` and a port of its own; loopback,
    so that the browser lets it reach the desk on 127.0.0.1). Served until the process ends."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

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


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_request_in_chinese_from_portal_to_agent_and_back_live(site: Site, browser: Any) -> None:
    if not AXE.exists():
        unavailable("axe-core is not installed (npm install)")
    customer_context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    agent_context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    customer, agent = customer_context.new_page(), agent_context.new_page()
    customer_errors, agent_errors = watch_errors(customer), watch_errors(agent)

    sign_in(agent, site, site.agent)
    agent.goto(f"{site.url}/agent?view=unassigned")
    agent.wait_for_selector("text=Agent console")
    shot(agent, "agent-queue-en")

    sign_in(customer, site, site.customer)
    assert "我的工单" in customer.content()
    assert axe_violations(customer) == []
    customer.goto(f"{site.url}/requests/new")
    customer.fill("#subject", "我的USDT提币TRC20还没到账")
    customer.fill("#body", "提币两个小时了还在处理中，请帮忙查一下。")
    # Suggestions from the knowledge base while typing.
    customer.wait_for_selector(".suggest summary", timeout=10_000)
    shot(customer, "portal-new-request-zh")
    assert axe_violations(customer) == []
    customer.click("form[action='/requests/new'] button[type=submit]")
    customer.wait_for_selector("#timeline")
    request_url = customer.url
    shot(customer, "portal-request-zh")

    # The agent's queue shows it without a reload (server-sent events).
    agent.wait_for_selector("text=我的USDT提币TRC20还没到账", timeout=10_000)
    assert agent.title() != "pwned"
    agent.click("text=我的USDT提币TRC20还没到账")
    agent.wait_for_selector("#reply")
    assert axe_violations(agent) == []
    assert "Suggested answers" in agent.inner_text("aside")  # the side panel loaded

    # A second agent opening the same ticket is told who is there, and who is replying.
    second_context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    second = second_context.new_page()
    sign_in(second, site, "agent2@webshop.example")
    second.goto(agent.url)
    second.wait_for_selector("text=Dana Agent 正在查看此工单。", timeout=10_000)
    agent.fill("#reply", "内部：已请链上团队核查")
    second.wait_for_selector("text=Dana Agent 正在回复此工单。", timeout=10_000)
    shot(second, "agent-ticket-presence-zh")
    second_context.close()
    agent.check("input[name=visibility][value=internal]")
    agent.click("form[action$='/reply'] button[type=submit]")
    agent.wait_for_selector("text=内部：已请链上团队核查")
    agent.fill("#reply", "您好，提币已广播，预计 10 分钟内到账。")
    agent.select_option("#reply-status", "solved")
    agent.click("form[action$='/reply'] button[type=submit]")
    agent.wait_for_selector("text=您好，提币已广播")
    shot(agent, "agent-ticket-en")

    # The customer's page shows the reply without a reload, never the note.
    customer.wait_for_selector("text=您好，提币已广播", timeout=10_000)
    assert customer.url == request_url
    assert "内部：已请链上团队核查" not in customer.content()
    assert customer.title() != "pwned"
    # The verification panel names the signed checkpoint once the signer has run (twice a
    # second here).
    for _ in range(40):
        customer.reload()
        if "已记录在日志" in customer.content():
            break
        time.sleep(0.25)
    assert "已记录在日志" in customer.content()
    customer.check("input[name=score][value='5']")
    customer.fill("#comment", "很快，谢谢")
    customer.click(".survey button[type=submit]")
    customer.wait_for_selector("text=您的评分：5 / 5。")
    shot(customer, "portal-rated-zh")
    assert axe_violations(customer) == []
    # The dashboard counts the request and its rating.
    lead_context = browser.new_context(locale="en-US")
    lead = lead_context.new_page()
    sign_in(lead, site, "lead@webshop.example", site.code("lead@webshop.example"))
    lead.goto(f"{site.url}/agent/dashboard")
    tiles = lead.locator(".tile")
    assert int(tiles.nth(0).locator(".value").inner_text()) >= 1  # tickets created
    csat = tiles.nth(4).inner_text()
    assert "100" in csat and int(csat.rsplit("\n", 1)[1].split()[0]) >= 1, csat
    lead_context.close()
    # Hostile text in a reply stays text on both sides.
    customer.fill("#reply", "还有一个问题 " + HOSTILE)
    customer.click("form[action$='/reply'] button[type=submit]")
    customer.wait_for_selector("text=还有一个问题")
    agent.wait_for_selector("text=还有一个问题", timeout=10_000)
    assert "onerror" in agent.inner_text("#timeline")  # shown as text, not run
    assert customer.title() != "pwned" and agent.title() != "pwned"
    assert customer_errors + agent_errors == [], customer_errors + agent_errors
    customer_context.close()
    agent_context.close()


def test_the_dashboard_draws_its_charts_in_both_languages(site: Site, browser: Any) -> None:
    if not AXE.exists():
        unavailable("axe-core is not installed (npm install)")
    first = browser.new_context()
    page = first.new_page()
    # The enrolment used this step's code; a code of the next step is a fresh one.
    sign_in(page, site, "boss@webshop.example", site.code("boss@webshop.example"))
    assert page.url.endswith("/agent"), page.url
    signed = first.storage_state()
    first.close()
    for locale, name in (("en-US", "dashboard-en"), ("zh-CN", "dashboard-zh")):
        context = browser.new_context(
            locale=locale, viewport={"width": 1280, "height": 900}, storage_state=signed
        )
        page = context.new_page()
        errors = watch_errors(page)
        language = "zh-CN" if locale == "zh-CN" else "en"  # the switch, over the user's own
        page.goto(f"{site.url}/lang/{language}?back=/agent/dashboard")
        page.wait_for_selector(".chart canvas", timeout=10_000)  # uPlot drew
        assert page.locator(".chart canvas").count() == 3
        assert axe_violations(page) == []
        shot(page, name)
        page.goto(f"{site.url}/agent/payouts?status=all")  # the supervisor's other page
        assert axe_violations(page) == []
        assert errors == [], errors
        context.close()


def test_the_admin_editors_for_sla_policies_and_contracts(site: Site, browser: Any) -> None:
    """The SLA policy form with its weekly calendar and the contract editor: labelled for
    assistive technology (axe), saved and checked in the browser, in Chinese."""
    if not AXE.exists():
        unavailable("axe-core is not installed (npm install)")
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, site, "root@webshop.example", site.code("root@webshop.example"))
    page.goto(f"{site.url}/lang/zh-CN?back=/admin/sla/new")  # her setting is English
    assert axe_violations(page) == []
    page.fill("#name", "工作日 VIP")
    page.fill("#first_response_minutes", "30")
    page.check("input[name=hours][value=business]")
    page.fill("#timezone", "Asia/Shanghai")
    for day in range(5):
        page.check(f"input[name=open_days][value='{day}']")
        page.locator("input[name=start]").nth(day).fill("09:00")
        page.locator("input[name=end]").nth(day).fill("18:00")
    page.click("form[action='/admin/sla/new'] button[type=submit]")
    page.wait_for_url("**/admin/sla/*?saved=1")
    assert page.locator("input[name=open_days]:checked").count() == 5
    shot(page, "admin-sla-zh")

    page.goto(f"{site.url}/admin/contracts/new")
    page.click("button[formaction='/admin/contracts/check']")
    page.wait_for_load_state("networkidle")
    assert "合约有效" in page.inner_text("main")
    assert axe_violations(page) == []
    shot(page, "admin-contract-zh")
    assert errors == [], errors
    context.close()


def test_the_chat_widget_on_a_platforms_site_hands_off_to_a_person(
    site: Site, browser: Any
) -> None:
    """A shop's page (another origin) adds the widget with one script tag; the customer signs
    in inside it, the assistant answers, she asks for a person, an agent replies in the
    console and the reply appears in the chat — script markup in it stays text."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    shop_page = context.new_page()
    errors = watch_errors(shop_page)
    host = (
        "<!doctype html><html><head><title>Crypto Shop</title></head><body>"
        "<h1>Crypto Shop</h1>"
        f'<script src="{site.url}/static/widget.js" data-organization="{site.org}" async>'
        "</script></body></html>"
    )
    shop_page.goto(platform_site(host))
    shop_page.click("#proofdesk-widget-button")
    chat = shop_page.frame_locator("#proofdesk-widget")
    chat.locator("#w-signin").click()  # visitors chat without an account; she has one
    chat.locator("#w-email").fill(site.customer)
    chat.locator("#w-password").fill(PASSWORD)
    chat.locator("#widget-login button[type=submit]").click()
    chat.locator("#w-text").fill("质押收益什么时候发放？")
    chat.locator("#widget-form button[type=submit]").click()
    chat.locator(".bubble.assistant").first.wait_for()
    assert "有帮助" in chat.locator(".bubble.assistant").first.inner_text()  # the two buttons
    chat.locator("#w-human").click()
    chat.locator(".bubble.assistant").nth(1).wait_for()
    handed = chat.locator(".bubble.assistant").nth(1).inner_text()
    assert "#" in handed and "人工客服" in handed
    shot(shop_page, "widget-zh")

    # An agent answers in the console; the reply appears in the chat (polled).
    agent_context = browser.new_context(locale="en-US")
    agent = agent_context.new_page()
    sign_in(agent, site, site.agent)
    agent.goto(f"{site.url}/agent?view=all")
    agent.click("text=质押收益什么时候发放")
    agent.fill("#reply", "质押收益每天发放。" + HOSTILE)
    agent.click("form[action$='/reply'] button[type=submit]")
    chat.locator(".bubble.support").first.wait_for(timeout=15_000)
    assert "质押收益每天发放" in chat.locator(".bubble.support").first.inner_text()
    assert shop_page.title() == "Crypto Shop"  # nothing ran
    assert errors == [], errors
    agent_context.close()
    context.close()


def test_the_console_answers_to_the_keyboard(site: Site, browser: Any) -> None:
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, site, site.agent)
    page.goto(f"{site.url}/agent?view=all")
    page.wait_for_selector("table.list tbody tr")
    page.keyboard.press("?")
    assert page.locator("#shortcuts").get_attribute("open") is not None
    page.keyboard.press("j")
    page.keyboard.press("x")
    assert page.locator("table.list tbody tr input[type=checkbox]").first.is_checked()
    page.keyboard.press("Enter")
    page.wait_for_url("**/agent/tickets/**")
    page.keyboard.press("i")
    assert page.evaluate("document.activeElement.id") == "reply"
    assert page.locator("input[name=visibility][value=internal]").is_checked()
    page.keyboard.type("typed, not a shortcut: j k x r s")
    assert "j k x r s" in page.input_value("#reply")
    assert axe_violations(page) == []
    assert errors == [], errors
    context.close()


#: An EIP-1193 provider, as a wallet extension injects it, whose keys live in the test (Python,
#: eth-account) behind two exposed functions; ``personal_sign`` may be told to refuse (4001).
WALLET = """
window.ethereum = {
  isTestWallet: true,
  request: async ({ method, params }) => {
    if (method === "eth_requestAccounts") return [await window.pdWalletAddress()];
    if (method === "eth_chainId") return "0x1";
    if (method === "personal_sign") {
      const signature = await window.pdWalletSign(params[0], params[1]);
      if (!signature) throw { code: 4001, message: "User rejected the request." };
      return signature;
    }
    throw { code: 4200, message: "unsupported " + method };
  },
};
"""


def test_a_customer_signs_in_with_the_wallet_in_her_browser(site: Site, browser: Any) -> None:
    """EIP-1193: the page asks the wallet for its account and chain, has the service prepare
    the EIP-4361 message, the wallet signs it, the service opens the session. A refusal in the
    wallet leaves her signed out with a message; a browser without a wallet shows no button."""
    from eth_account import Account
    from eth_account.messages import encode_defunct

    plain = browser.new_context(locale="en-US")
    page = plain.new_page()
    page.goto(f"{site.url}/login")
    assert page.locator("#wallet-sign-in").is_hidden()
    plain.close()

    account = Account.create()
    shown: list[str] = []
    refuse = [True]

    def sign(data: str, address: str) -> str | None:
        text = bytes.fromhex(data.removeprefix("0x")).decode()
        shown.append(text)
        assert address == account.address
        if refuse[0]:
            return None
        return "0x" + bytes(account.sign_message(encode_defunct(text=text)).signature).hex()

    context = browser.new_context(locale="zh-CN")
    context.expose_function("pdWalletAddress", lambda: account.address)
    context.expose_function("pdWalletSign", sign)
    context.add_init_script(WALLET)
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(f"{site.url}/login")
    page.click("#wallet-button")
    assert "组织" in page.inner_text("#wallet-status")  # the organization comes first
    page.fill("#organization", site.org)
    page.click("#wallet-button")
    page.wait_for_selector("#wallet-status:has-text('钱包未签名')")  # the refusal, said
    assert page.locator("#wallet-button").is_enabled()
    assert not any(c["name"] == "pd_session" for c in context.cookies())

    refuse[0] = False
    page.click("#wallet-button")
    page.wait_for_url("**/requests")
    text = shown[-1]
    assert text.startswith(f"{site.url.split('://')[1]} wants you to sign in")
    assert account.address in text and "Chain ID: 1" in text
    assert account.address[:6] in page.inner_text("header .who")
    assert axe_violations(page) == []
    assert errors == [], errors
    context.close()


#: Markup that would run script, were it ever treated as HTML: it sets a flag and the title.
INJECTED = (
    "<img src=x onerror=\"window.pwned=1;document.title='pwned'\">"
    '<script>window.pwned=1</script><svg onload="window.pwned=1"></svg>'
)


def inert(page: Any) -> None:
    assert page.evaluate("() => window.pwned") is None, page.url
    assert page.title() != "pwned", page.url


def test_script_in_every_text_field_stays_inert(site: Site, browser: Any) -> None:
    """Hostile markup typed into each free-text field — request subject and body, reply,
    tags, team, staff name, SLA policy, contract source, organization name — is shown as
    text on every page that shows it, to the customer, the agent and the admin. The check does
    not lean on the CSP alone: a blocked inline handler is a console error, and so would be
    the request for the injected image."""
    admin_context = browser.new_context(locale="en-US")
    admin = admin_context.new_page()
    logs = [watch_errors(admin)]
    sign_in(admin, site, "root2@webshop.example", site.code("root2@webshop.example"))
    admin.goto(f"{site.url}/admin")
    admin.fill("#team-name", "Team " + INJECTED)
    admin.click("form[action='/admin/teams'] button[type=submit]")
    admin.fill("#new-name", "Eve " + INJECTED)
    admin.fill("#new-email", "eve@webshop.example")
    admin.fill("#new-password", "a long enough password")
    admin.click("form[action='/admin/users'] button[type=submit]")
    inert(admin)
    assert "<script>" in admin.inner_text("main")  # shown, as text
    admin.goto(f"{site.url}/admin/sla/new")
    admin.fill("#name", "SLA " + INJECTED)
    admin.fill("#first_response_minutes", "60")
    admin.click("form[action='/admin/sla/new'] button[type=submit]")
    admin.wait_for_url("**/admin/sla/*?saved=1")
    inert(admin)
    admin.goto(f"{site.url}/admin/contracts/new")
    admin.fill("#source", "metadata: " + INJECTED)
    admin.click("button[formaction='/admin/contracts/check']")
    admin.wait_for_load_state("networkidle")
    inert(admin)
    assert "onerror" in admin.input_value("#source")  # the text comes back, in the editor

    customer_context = browser.new_context(locale="zh-CN")
    customer = customer_context.new_page()
    logs.append(watch_errors(customer))
    sign_in(customer, site, site.customer)
    customer.goto(f"{site.url}/requests/new")
    customer.fill("#subject", "注入 " + INJECTED)
    customer.fill("#body", "正文 " + INJECTED)
    customer.click("form[action='/requests/new'] button[type=submit]")
    customer.wait_for_selector("#timeline")
    request_url = customer.url
    inert(customer)
    customer.fill("#reply", "回复 " + INJECTED)
    customer.click("form[action$='/reply'] button[type=submit]")
    customer.wait_for_selector("text=回复")
    inert(customer)

    agent_context = browser.new_context(locale="en-US")
    agent = agent_context.new_page()
    logs.append(watch_errors(agent))
    sign_in(agent, site, site.agent)
    for view in ("all", "unassigned"):
        agent.goto(f"{site.url}/agent?view={view}")
        inert(agent)
    agent.click("text=注入")
    agent.wait_for_selector("#prop-tags")
    agent.fill("#prop-tags", "vip " + INJECTED)  # tags refuse markup: an error page, inert
    agent.click("form[action$='/properties'] button[type=submit]")
    agent.wait_for_load_state("networkidle")
    inert(agent)
    agent.go_back()
    agent.wait_for_selector("#reply")
    agent.wait_for_selector(".side")  # the side panel (customer, suggestions) loaded
    inert(agent)
    for page_url in (request_url, f"{site.url}/requests"):
        customer.goto(page_url)
        inert(customer)

    admin.goto(f"{site.url}/admin")
    inert(admin)
    admin.fill("#org-name", "Web Shop " + INJECTED)
    admin.click("form[action='/admin/organization/name'] button[type=submit]")
    inert(admin)
    admin.fill("#org-name", "Web Shop")  # as the other tests expect it
    admin.click("form[action='/admin/organization/name'] button[type=submit]")
    # Injected markup would show here even where the CSP stopped it: a refused inline handler
    # or script, or the request for the image "x". Only the two refusals asked for (422) may.
    unexpected = [e for log in logs for e in log if "status of 422" not in e]
    assert unexpected == [], unexpected
    for context in (admin_context, customer_context, agent_context):
        context.close()


#: An EIP-1193 wallet that sends transactions: its key lives in the test, behind exposed
#: functions; the chain id is the node's.
SENDING_WALLET = """
window.ethereum = {
  request: async ({ method, params }) => {
    if (method === "eth_requestAccounts") return [await window.pdWalletAddress()];
    if (method === "eth_chainId") return await window.pdWalletChain();
    if (method === "eth_sendTransaction") {
      const hash = await window.pdWalletSend(params[0]);
      if (!hash) throw { code: 4001, message: "User rejected the request." };
      return hash;
    }
    throw { code: 4200, message: "unsupported " + method };
  },
};
"""


def test_a_customer_files_her_request_on_chain_from_her_wallet(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The request page offers the filing beside the form, with its gas; the wallet sends the
    RequestInbox call to a real node (anvil, on loopback); the page follows the filing and
    lands on the request the worker opened, whose channel says "on chain"."""
    from datetime import UTC, datetime

    from web3 import Web3

    from proofdesk.chain import contracts
    from proofdesk.chain.deployments import deploy_contracts
    from proofdesk.chain.embedded import dev_accounts
    from proofdesk.store.models import Wallet
    from tests.support.chain import Anvil

    work = tmp_path_factory.mktemp("chain-site")
    node = Anvil(work, extra=("--block-time", "1")).start()  # a chain that moves on by itself
    try:
        owner, wallet = dev_accounts()[0], dev_accounts()[6]
        settings = Settings(
            data_dir=work / "data",
            chain_rpc_url=node.url,
            chain_key=owner.key.hex(),
            checkpoint_interval_seconds=0,
            anchor_every_seconds=3600,  # the chain workers run; anchoring waits
            anchor_every_leaves=1_000_000,
            chain_poll_seconds=0.2,
            automation_poll_seconds=0,
            sla_poll_seconds=0,
            automation_sweep_seconds=0,
            login_rate_per_minute=1000,
        )
        db = open_database(settings, migrate=True)
        deploy_contracts(db, node.chain(), contracts.NAMES)
        with db.writer() as session:
            org = do_create_organization(session, "chainshop", "Chain Shop")
            user = do_create_user(
                session,
                org.id,
                role=Role.CUSTOMER,
                display_name="Mei",
                email="mei@chainshop.example",
                password=PASSWORD,
            )
            user.locale = "zh-CN"
            session.add(
                Wallet(
                    organization_id=org.id,
                    user_id=user.id,
                    address=wallet.address.lower(),
                    created_at=datetime.now(UTC),
                    verified_at=datetime.now(UTC),
                )
            )
        w3 = Web3(Web3.HTTPProvider(node.url))
        sent: list[dict[str, Any]] = []
        refuse = [True]

        def send(tx: dict[str, Any]) -> str | None:
            sent.append(tx)
            if refuse[0]:
                return None
            assert tx["from"].lower() == wallet.address.lower()
            filled = {
                "to": Web3.to_checksum_address(tx["to"]),
                "data": tx["data"],
                "from": wallet.address,
                "nonce": w3.eth.get_transaction_count(wallet.address),
                "chainId": w3.eth.chain_id,
                "gas": 200_000,
                "maxFeePerGas": w3.eth.gas_price * 2,
                "maxPriorityFeePerGas": 1,
            }
            raw = wallet.sign_transaction(filled).raw_transaction
            return "0x" + bytes(w3.eth.send_raw_transaction(raw)).hex()

        with serving(settings, db) as url:
            context = browser.new_context(locale="zh-CN")
            context.expose_function("pdWalletAddress", lambda: wallet.address)
            context.expose_function("pdWalletChain", lambda: hex(w3.eth.chain_id))
            context.expose_function("pdWalletSend", send)
            context.add_init_script(SENDING_WALLET)
            page = context.new_page()
            errors = watch_errors(page)
            page.goto(f"{url}/login")
            page.fill("#organization", "chainshop")
            page.fill("#email", "mei@chainshop.example")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(f"{url}/requests/new")
            assert page.locator("#file-on-chain").is_visible()
            page.click("#chain-button")
            assert "主题" in page.inner_text("#chain-status")  # subject and body come first
            page.fill("#subject", "充值未到账")
            page.fill("#body", "我一小时前充值了 20 USDT，还没有到账。")
            page.click("#chain-button")
            page.wait_for_selector("#chain-status:has-text('钱包未发送')")  # refused in the wallet
            assert "gas" in page.inner_text("#chain-cost")
            assert axe_violations(page) == []
            shot(page, "file-on-chain-zh")
            refuse[0] = False
            page.click("#chain-button")
            page.wait_for_url("**/requests/*-*", timeout=30_000)
            assert "充值未到账" in page.inner_text("main")
            # The chain's record of when she asked, on her request's page.
            page.wait_for_selector("p.filed code.tx")
            assert "已由客户钱包在链上提交" in page.inner_text("p.filed")
            assert len(sent) == 2
            assert errors == [], errors
            context.close()
        db.dispose()
    finally:
        node.stop()


def test_the_second_factor_qr_code_draws(site: Site, browser: Any) -> None:
    """A new supervisor is sent to enrol an authenticator: the QR code is an image the browser
    draws (an SVG data URL needs its ``xmlns``), not a broken-image box."""
    for viewport in ({"width": 1280, "height": 900}, {"width": 390, "height": 844}):
        context = browser.new_context(viewport=viewport, locale="en")
        page = context.new_page()
        sign_in(page, site, "newlead@webshop.example")
        assert "/mfa/setup" in page.url
        image = page.locator("img").first
        image.wait_for()
        width = page.evaluate(
            "() => new Promise(done => { const img = document.querySelector('img');"
            " if (img.complete) done(img.naturalWidth);"
            " else { img.onload = () => done(img.naturalWidth); img.onerror = () => done(0); } })"
        )
        assert width > 100, "the QR code did not draw"
        shot(page, f"mfa-setup-{viewport['width']}")
        context.close()
