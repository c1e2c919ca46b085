"""The web UI over HTTP (no browser): signing in, the customer portal, the agent console, CSRF,
escaping and the security headers (the catalog's completeness is in test_i18n.py). The journeys
in a real browser are in test_web_browser.py."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from proofdesk import i18n
from proofdesk.actions.accounts import do_create_user
from proofdesk.app.factory import create_app
from proofdesk.canonical import format_time, utc_now
from proofdesk.domain.roles import Role
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import Organization, Payout, Wallet
from proofdesk.store.models import Presence as PresenceRow
from tests.support.tenants import Tenant, make_tenant, new_ticket
from tests.support.web import PASSWORD, browser, csrf_of, new_agent, sign_in, staff_browser

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def shop(db: Database) -> Tenant:
    """A tenant whose customer, second customer and agent have passwords."""
    tenant = make_tenant(db, password=PASSWORD)
    with db.writer() as session:
        for name, role in (("webcustomer", Role.CUSTOMER), ("webother", Role.CUSTOMER)):
            user = do_create_user(
                session,
                tenant.org_id,
                role=role,
                display_name=f"{name} 客户",
                email=f"{name}@{tenant.slug}.example",
                password=PASSWORD,
            )
            tenant.members[name] = tenant.members["customer"].__class__(
                user.id, role, "", f"{name}@{tenant.slug}.example"
            )
    return tenant


def test_signing_in_and_the_security_headers(client: TestClient, shop: Tenant) -> None:
    web = browser(client)
    assert web.get("/").headers["location"] == "/login"
    page = web.get("/login")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" not in client.get("/api/v1/health").headers
    wrong = web.post(
        "/login",
        data={"organization": shop.slug, "email": shop.webcustomer.email, "password": "nope"},
    )
    assert wrong.status_code == 401 and "Wrong organization, e-mail or password." in wrong.text
    forged = web.post(
        "/login",
        data={"organization": shop.slug, "email": shop.webcustomer.email, "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert forged.status_code == 403 and "pd_session" not in forged.headers.get("set-cookie", "")
    own = web.post(
        "/login",
        data={"organization": shop.slug, "email": shop.webcustomer.email, "password": PASSWORD},
        headers={"Origin": "http://testserver"},
    )
    assert own.status_code == 303
    signed = sign_in(client, shop.slug, shop.webcustomer.email)
    assert signed.get("/").headers["location"] == "/requests"
    assert signed.get("/agent").status_code == 403  # customers never reach the console
    agent = sign_in(client, shop.slug, shop.agent.email)
    assert agent.get("/").headers["location"] == "/agent"
    html = signed.get("/requests").text
    out = signed.post("/logout", data={"csrf_token": csrf_of(html)})
    assert out.headers["location"] == "/login"
    assert signed.get("/requests").headers["location"] == "/login?next=/requests"


def test_a_request_from_the_portal_is_escaped_and_needs_the_csrf_token(
    client: TestClient, shop: Tenant
) -> None:
    web = sign_in(client, shop.slug, shop.webcustomer.email)
    form = web.get("/requests/new").text
    data = {
        "kind": "transaction_problem",
        "subject": f"{HOSTILE} 提币",
        "body": "没到账 " + HOSTILE,
    }
    refused = web.post("/requests/new", data=data)
    assert refused.status_code == 403
    assert HOSTILE not in web.get("/requests").text  # nothing was created
    created = web.post(
        "/requests/new", data={**data, "csrf_token": csrf_of(form), "network": "ethereum"}
    )
    assert created.status_code == 303
    page = web.get(created.headers["location"]).text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert" in page
    assert "Download receipt" in page and "/receipt" in page
    bad = web.post(
        "/requests/new", data={**data, "csrf_token": csrf_of(form), "network": "atlantis"}
    )
    assert bad.status_code == 422 and "atlantis" in bad.text


def test_customers_see_their_own_requests_and_never_internal_notes(
    client: TestClient, shop: Tenant
) -> None:
    owner = sign_in(client, shop.slug, shop.webcustomer.email)
    created = owner.post(
        "/requests/new",
        data={
            "csrf_token": csrf_of(owner.get("/requests/new").text),
            "kind": "question",
            "subject": "Withdrawal pending",
            "body": "Since this morning.",
        },
    )
    ticket_id = created.headers["location"].rsplit("/", 1)[1]
    note = f"compliance flag {uuid.uuid4().hex}"
    r = client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        json={"body": note, "visibility": "internal"},
        headers=shop.agent.headers,
    )
    assert r.status_code == 201, r.text
    for path in (f"/requests/{ticket_id}", f"/requests/{ticket_id}/timeline"):
        page = owner.get(path)
        assert page.status_code == 200 and "Since this morning." in page.text
        assert note not in page.text
    other = sign_in(client, shop.slug, shop.webother.email)
    assert other.get(f"/requests/{ticket_id}").status_code == 404
    assert other.get(f"/requests/{ticket_id}/timeline").status_code == 404
    assert other.get(f"/requests/{ticket_id}/live").status_code == 404
    agent = sign_in(client, shop.slug, shop.agent.email)
    staff_view = agent.get(f"/agent/tickets/{ticket_id}").text
    assert note in staff_view and "Internal note — customers never see this" in staff_view
    assert owner.get(f"/agent/tickets/{ticket_id}").status_code == 403


def test_the_agent_console_replies_notes_and_solves_and_the_customer_rates(
    client: TestClient, shop: Tenant
) -> None:
    customer = sign_in(client, shop.slug, shop.webcustomer.email)
    form = customer.get("/requests/new").text
    created = customer.post(
        "/requests/new",
        data={
            "csrf_token": csrf_of(form),
            "kind": "question",
            "subject": "KYC 审核多久",
            "body": "实名认证提交三天了",
        },
    )
    ticket_path = created.headers["location"]
    ticket_id = ticket_path.rsplit("/", 1)[1]
    agent = sign_in(client, shop.slug, shop.agent.email)
    queue = agent.get("/agent?view=unassigned").text
    assert "KYC 审核多久" in queue
    page = agent.get(f"/agent/tickets/{ticket_id}").text
    token = csrf_of(page)
    secret_note = f"check id {uuid.uuid4().hex}"
    for body, visibility, status in (
        (secret_note, "internal", ""),
        ("一般 1–3 个工作日完成审核。", "public", "solved"),
    ):
        r = agent.post(
            f"/agent/tickets/{ticket_id}/reply",
            data={"csrf_token": token, "body": body, "visibility": visibility, "status": status},
        )
        assert r.status_code == 303, r.text
    seen = customer.get(ticket_path).text
    assert "一般 1–3 个工作日完成审核。" in seen and secret_note not in seen
    assert "How satisfied are you with the solution?" in seen
    rated = customer.post(
        f"{ticket_path}/rating", data={"csrf_token": csrf_of(seen), "score": "5", "comment": "快"}
    )
    assert rated.status_code == 303
    assert "You rated this 5 of 5." in customer.get(ticket_path).text
    junk = customer.post(f"{ticket_path}/rating", data={"csrf_token": csrf_of(seen), "score": "9"})
    assert junk.status_code == 422


def test_the_language_follows_the_switch_then_the_browser(client: TestClient, shop: Tenant) -> None:
    web = browser(client)
    web.headers["accept-language"] = "zh-CN,zh;q=0.9,en;q=0.5"
    page = web.get("/login")
    assert page.headers["content-language"] == "zh-CN" and "登录" in page.text
    switched = web.get("/lang/en?back=/login")
    assert switched.headers["location"] == "/login"
    assert web.get("/login").headers["content-language"] == "en"
    assert web.get("/lang/en?back=https://evil.example").headers["location"] == "/"
    assert i18n.negotiate("fr-FR, de;q=0.5") == "en"
    assert i18n.negotiate("zh-TW;q=0.8, en;q=0.9") == "en"
    assert i18n.negotiate("zh;q=1.0, en;q=0.1") == "zh-CN"
    assert i18n.negotiate("q=;;,,") == "en"


def test_a_supervisor_enrols_a_second_factor_then_sees_the_dashboard(
    client: TestClient, db: Database, shop: Tenant
) -> None:

    email = f"boss@{shop.slug}.example"
    with db.writer() as session:
        do_create_user(
            session,
            shop.org_id,
            role=Role.SUPERVISOR,
            display_name="主管",
            email=email,
            password=PASSWORD,
        )
    boss = browser(client)
    first = boss.post(
        "/login", data={"organization": shop.slug, "email": email, "password": PASSWORD}
    )
    assert first.headers["location"] == "/mfa/setup?next=/agent"
    # Until the factor is on, every page leads to its set-up.
    assert boss.get("/agent/dashboard").headers["location"] == "/mfa/setup?next=/agent/dashboard"
    # Signing out works before the factor is on, too.
    leaving = browser(client)
    leaving.post("/login", data={"organization": shop.slug, "email": email, "password": PASSWORD})
    gone = leaving.post("/logout", data={"csrf_token": csrf_of(leaving.get("/mfa/setup").text)})
    assert gone.headers["location"] == "/login"
    assert leaving.get("/mfa/setup").headers["location"] == "/login?next=/mfa/setup"
    setup = boss.get("/mfa/setup?next=/agent/dashboard")
    assert setup.status_code == 200 and 'src="data:image/svg+xml;base64,' in setup.text
    secret = re.search(r"<code>([A-Z2-7]{32})</code>", setup.text)
    assert secret is not None
    # Reloading the page after scanning keeps the same secret.
    assert secret.group(1) in boss.get("/mfa/setup?next=/agent/dashboard").text
    wrong = boss.post("/mfa/setup", data={"csrf_token": csrf_of(setup.text), "code": "000000"})
    assert wrong.status_code in (401, 422)
    done = boss.post(
        "/mfa/setup",
        data={
            "csrf_token": csrf_of(setup.text),
            "code": pyotp.TOTP(secret.group(1)).now(),
            "next": "/agent/dashboard",
        },
    )
    assert done.status_code == 200 and done.text.count("<li><code>") >= 8  # recovery codes
    page = boss.get("/agent/dashboard?start=2026-01-01&end=2026-01-07")
    assert page.status_code == 200
    assert 'data-chart="data-channel"' in page.text and 'type="application/json"' in page.text
    assert 'src="/static/vendor/uPlot.iife.min.js"' in page.text
    csv = boss.get("/agent/dashboard.csv?chart=summary&start=2026-01-01&end=2026-01-07")
    assert csv.status_code == 200 and csv.content.startswith("\ufeff".encode())
    assert boss.get("/agent/dashboard?start=yesterday").status_code == 422
    agent = sign_in(client, shop.slug, shop.agent.email)
    assert agent.get("/agent/dashboard").status_code == 403
    assert "/agent/dashboard" not in agent.get("/agent").text  # no link for agents


def test_the_widget_page_is_the_one_page_other_sites_may_frame(
    client: TestClient, shop: Tenant
) -> None:
    page = client.get(f"/widget?org={shop.slug}&lang=zh-CN")
    assert page.status_code == 200 and "转人工" in page.text
    assert "frame-ancestors *" in page.headers["content-security-policy"]
    assert "x-frame-options" not in page.headers
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/widget?org=nobody-here").status_code == 404
    assert "frame-ancestors 'none'" in client.get("/login").headers["content-security-policy"]
    script = client.get("/static/widget.js")
    assert script.status_code == 200 and "proofdesk-widget" in script.text


def test_widget_origins_are_checked() -> None:
    from pydantic import ValidationError

    from proofdesk.settings import Settings
    from proofdesk.web.security import widget_headers

    assert Settings(widget_origins=("https://shop.example",)).widget_origins == (
        "https://shop.example",
    )
    for bad in ("shop.example", "https://a.example; script-src *"):
        with pytest.raises(ValidationError):
            Settings(widget_origins=(bad,))
    policy = dict(widget_headers(("https://shop.example",)))[b"content-security-policy"]
    assert b"frame-ancestors https://shop.example" in policy


def test_bulk_actions_and_macros_in_the_console(client: TestClient, shop: Tenant) -> None:
    agent = sign_in(client, shop.slug, shop.agent.email)
    customer = sign_in(client, shop.slug, shop.webcustomer.email)
    ids = []
    for subject in ("bulk one", "bulk two"):
        made = customer.post(
            "/requests/new",
            data={
                "csrf_token": csrf_of(customer.get("/requests/new").text),
                "kind": "question",
                "subject": subject,
                "body": "?",
            },
        )
        ids.append(made.headers["location"].rsplit("/", 1)[1])
    queue = agent.get("/agent?view=unassigned").text
    assert "Keyboard shortcuts" in queue and 'form="bulk"' in queue
    token = csrf_of(queue)
    other = make_tenant_ticket(client)
    refused = agent.post(
        "/agent/bulk",
        data={"csrf_token": token, "action": "solved", "ticket_ids": [ids[0], other]},
    )
    assert refused.status_code == 404  # another organization's ticket: nothing changes
    assert "Solved" not in customer.get(f"/requests/{ids[0]}").text.split("<ol", 1)[0]
    mine = agent.post(
        "/agent/bulk", data={"csrf_token": token, "action": "assign_me", "ticket_ids": ids}
    )
    assert mine.status_code == 303
    mine_view = agent.get("/agent?view=mine").text
    assert "bulk one" in mine_view and "bulk two" in mine_view
    solved = agent.post(
        "/agent/bulk", data={"csrf_token": token, "action": "solved", "ticket_ids": ids}
    )
    assert solved.status_code == 303
    assert "bulk one" not in agent.get("/agent?view=mine").text
    assert (
        agent.post("/agent/bulk", data={"csrf_token": token, "action": "delete"}).status_code == 422
    )

    macro = client.post(
        "/api/v1/macros",
        json={
            "name": f"m-{uuid.uuid4().hex[:6]}",
            "title": {"en": "Ask for ID", "zh-CN": "请求证件"},
            "actions": [
                {
                    "type": "request_information",
                    "ask": {"en": "Send your ID.", "zh-CN": "请上传证件。"},
                }
            ],
        },
        headers=shop.supervisor.headers,
    )
    assert macro.status_code == 201, macro.text
    fresh = (
        customer.post(
            "/requests/new",
            data={
                "csrf_token": csrf_of(customer.get("/requests/new").text),
                "kind": "question",
                "subject": "macro me",
                "body": "?",
            },
        )
        .headers["location"]
        .rsplit("/", 1)[1]
    )
    page = agent.get(f"/agent/tickets/{fresh}").text
    assert "Ask for ID" in page
    applied = agent.post(
        f"/agent/tickets/{fresh}/macro",
        data={"csrf_token": csrf_of(page), "macro_id": str(macro.json()["id"])},
    )
    assert applied.status_code == 303
    assert "Send your ID." in customer.get(f"/requests/{fresh}").text


def make_tenant_ticket(client: TestClient) -> str:
    """A ticket of another organization."""
    from tests.support.tenants import new_ticket

    db = client.app.state.services.db  # type: ignore[attr-defined]
    other = make_tenant(db)
    return str(new_ticket(client, other.customer)["id"])


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00"
    b"\x00IEND\xaeB`\x82"
)


def test_replies_carry_files_both_ways(client: TestClient, shop: Tenant) -> None:
    customer = sign_in(client, shop.slug, shop.webcustomer.email)
    form = customer.get("/requests/new").text
    made = customer.post(
        "/requests/new",
        data={"csrf_token": csrf_of(form), "kind": "question", "subject": "receipt", "body": "see"},
        files=[("files", ("转账截图.png", PNG, "image/png"))],
    )
    assert made.status_code == 303, made.text
    path = made.headers["location"]
    page = customer.get(path).text
    assert "转账截图.png" in page
    link = re.search(r'href="(/api/v1/attachments/[^"]+)"', page)
    assert link is not None and customer.get(link.group(1)).content == PNG
    replied = customer.post(
        f"{path}/reply",
        data={"csrf_token": csrf_of(page), "body": "and the log"},
        files=[("files", ("log.txt", b"withdrawal id 42\n", "text/plain"))],
    )
    assert replied.status_code == 303
    secret = customer.post(
        f"{path}/reply",
        data={"csrf_token": csrf_of(page), "body": "my backup"},
        files=[
            (
                "files",
                (
                    "seed.txt",
                    (
                        b"legal winner thank year wave sausage worth useful legal "
                        b"winner thank yellow"
                    ),
                    "text/plain",
                ),
            )
        ],
    )
    assert secret.status_code == 422
    assert "新钱包" in secret.text and "new wallet" in secret.text  # the bilingual reason
    assert "my backup" not in customer.get(path).text  # nothing was added
    agent = sign_in(client, shop.slug, shop.agent.email)
    ticket_id = path.rsplit("/", 1)[1]
    staff_page = agent.get(f"/agent/tickets/{ticket_id}").text
    assert "log.txt" in staff_page and "转账截图.png" in staff_page
    noted = agent.post(
        f"/agent/tickets/{ticket_id}/reply",
        data={
            "csrf_token": csrf_of(staff_page),
            "body": "internal evidence",
            "visibility": "internal",
        },
        files=[("files", ("chain.txt", b"tx confirmed\n", "text/plain"))],
    )
    assert noted.status_code == 303
    assert "chain.txt" not in customer.get(path).text  # a note's file stays with the note
    too_many = customer.post(
        f"{path}/reply",
        data={"csrf_token": csrf_of(page), "body": "many"},
        files=[("files", (f"f{i}.txt", b"x\n", "text/plain")) for i in range(6)],
    )
    assert too_many.status_code == 422


def test_the_queue_has_team_views_filters_and_an_order_by_breach(
    client: TestClient, shop: Tenant
) -> None:
    """A view per team, filters by kind/priority/channel kept across views and the live
    refresh, and "closest to breach first" in any view."""
    team = client.post(
        "/api/v1/teams", json={"name": "链上问题组"}, headers=shop.admin.headers
    ).json()
    client.put(
        f"/api/v1/teams/{team['id']}/members/{shop.agent.user_id}", headers=shop.admin.headers
    )
    customer = sign_in(client, shop.slug, shop.webcustomer.email)
    ids = {}
    for subject, kind in (("filter question", "question"), ("filter refund", "refund_request")):
        made = customer.post(
            "/requests/new",
            data={
                "csrf_token": csrf_of(customer.get("/requests/new").text),
                "kind": kind,
                "subject": subject,
                "body": "?",
                "order_id": "ORD-1" if kind == "refund_request" else "",
            },
        )
        assert made.status_code == 303, made.text
        ids[subject] = made.headers["location"].rsplit("/", 1)[1]
    routed = client.put(
        f"/api/v1/tickets/{ids['filter refund']}/assignment",
        json={"team_id": team["id"], "assignee_id": None},
        headers=shop.admin.headers,
    )
    assert routed.status_code == 200, routed.text
    agent = sign_in(client, shop.slug, shop.agent.email)
    queue = agent.get("/agent?view=all").text
    assert "Team 链上问题组" in queue and f"view=team-{team['id']}" in queue
    team_view = agent.get(f"/agent?view=team-{team['id']}").text
    assert "filter refund" in team_view and "filter question" not in team_view
    refunds = agent.get("/agent?view=all&kind=refund_request&sort=due").text
    assert "filter refund" in refunds and "filter question" not in refunds
    assert 'hx-get="/agent?view=all&amp;kind=refund_request&amp;sort=due"' in refunds
    assert "view=mine&amp;kind=refund_request&amp;sort=due" in refunds  # tabs keep the filters
    assert '<option value="due" selected>' in refunds
    odd = agent.get("/agent?view=team-nope&kind=<script>&sort=sideways")
    assert odd.status_code == 200 and "<script>" not in odd.text.split("<main", 1)[1]


def test_the_agent_sets_priority_team_assignee_and_tags_in_one_form(
    client: TestClient, shop: Tenant
) -> None:
    team = client.post("/api/v1/teams", json={"name": "VIP"}, headers=shop.admin.headers).json()
    client.put(
        f"/api/v1/teams/{team['id']}/members/{shop.agent.user_id}", headers=shop.admin.headers
    )
    ticket = new_ticket(client, shop.customer, subject="Properties")
    agent = sign_in(client, shop.slug, shop.agent.email)
    page = agent.get(f"/agent/tickets/{ticket['id']}").text
    token = csrf_of(page)
    assert 'id="prop-assignee"' in page and "(me)" in page
    url = f"/agent/tickets/{ticket['id']}/properties"
    chosen = {
        "csrf_token": token,
        "priority": "high",
        "team_id": team["id"],
        "assignee_id": shop.agent.user_id,
    }
    saved = agent.post(url, data={**chosen, "tags": "vip, 链上  refund"})
    assert saved.status_code == 303
    state = client.get(f"/api/v1/tickets/{ticket['id']}", headers=shop.admin.headers).json()
    assert (state["priority"], state["team_id"], state["assignee_id"]) == (
        "high",
        team["id"],
        shop.agent.user_id,
    )
    assert sorted(state["tags"]) == ["refund", "vip", "链上"]
    events = client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=shop.admin.headers)
    count = len(events.json())
    again = agent.post(url, data={**chosen, "tags": "refund vip 链上"})
    assert again.status_code == 303  # nothing changed, nothing logged
    events = client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=shop.admin.headers)
    assert len(events.json()) == count
    # All or none: a bad assignee refuses the whole form, the priority stays.
    refused = agent.post(
        url,
        data={"csrf_token": token, "priority": "low", "assignee_id": "nobody", "tags": ""},
    )
    assert refused.status_code == 422
    state = client.get(f"/api/v1/tickets/{ticket['id']}", headers=shop.admin.headers).json()
    assert state["priority"] == "high" and sorted(state["tags"]) == ["refund", "vip", "链上"]
    same = agent.post(
        f"/agent/tickets/{ticket['id']}/status",
        data={"csrf_token": token, "status": state["status"]},
    )
    assert same.status_code == 303  # the current status again: nothing to do, no error


def test_presence_is_shared_by_every_server_process(
    client: TestClient, shop: Tenant, settings: Settings, db: Database
) -> None:
    """Two app instances on one database (as `serve --workers 2` runs): an agent typing on one
    is seen by an agent on the other; a closed page or silence removes her."""
    ticket = new_ticket(client, shop.customer, subject="Presence")
    with TestClient(
        create_app(settings, db), raise_server_exceptions=False, follow_redirects=False
    ) as second_process:
        dana = sign_in(client, shop.slug, shop.agent.email)
        new_agent(db, shop, f"wu@{shop.slug}.example", "Wu 吴")
        wu = sign_in(second_process, shop.slug, f"wu@{shop.slug}.example")
        page = dana.get(f"/agent/tickets/{ticket['id']}")
        typed = dana.post(
            f"/agent/tickets/{ticket['id']}/typing", headers={"X-CSRF-Token": csrf_of(page.text)}
        )
        assert typed.status_code == 204
        seen = wu.get(f"/agent/tickets/{ticket['id']}/presence").text
        assert "agent is replying to this ticket." in seen
        registry = client.app.state.services.presence  # type: ignore[attr-defined]
        user_id = shop.agent.user_id
        registry.leave(ticket["id"], user_id)
        assert "agent is" not in wu.get(f"/agent/tickets/{ticket['id']}/presence").text
        registry.typing(ticket["id"], user_id, "Dana")
        assert "Dana is replying" in wu.get(f"/agent/tickets/{ticket['id']}/presence").text
        with db.writer() as session:  # silence: her page stopped refreshing long ago
            session.execute(
                update(PresenceRow)
                .where(PresenceRow.user_id == user_id)
                .values(seen_at=utc_now() - timedelta(minutes=5))
            )
        assert "Dana" not in wu.get(f"/agent/tickets/{ticket['id']}/presence").text


def held_payout(db: Database, tenant: Tenant, ticket_id: str, recipient: str | None) -> int:
    """A payout a contract decided and held for a person (as the automation records it)."""
    with db.writer() as session:
        org = session.get(Organization, tenant.org_id)
        assert org is not None
        org.merchant_address = "0x" + "11" * 20
        row = Payout(
            organization_id=tenant.org_id,
            ticket_id=ticket_id,
            decision_seq=0,
            claim_id="0x" + uuid.uuid4().hex * 2,
            kind="escrow",
            customer_id=tenant.customer.user_id,
            recipient=recipient,
            amount="2.5",
            amount_units=str(25 * 10**17),
            status="held",
            hold_reason="above the per-claim limit of 2",
            recorded=True,
            created_at=format_time(utc_now()),
            updated_at=format_time(utc_now()),
        )
        session.add(row)
        session.flush()
        return row.id


def test_a_supervisor_approves_or_rejects_held_payouts(
    client: TestClient, shop: Tenant, db: Database
) -> None:
    ticket = new_ticket(client, shop.customer, kind="refund_request", subject="Refund please")
    wallet = "0x" + uuid.uuid4().hex[:8] * 5
    with db.writer() as session:
        session.add(
            Wallet(
                organization_id=shop.org_id,
                user_id=shop.customer.user_id,
                address=wallet,
                created_at=utc_now(),
                verified_at=utc_now(),
            )
        )
    no_wallet = held_payout(db, shop, ticket["id"], None)
    to_reject = held_payout(db, shop, ticket["id"], wallet)
    agent = sign_in(client, shop.slug, shop.agent.email)
    assert agent.get("/agent/payouts").status_code == 403  # supervisors and admins only
    boss = staff_browser(client, db, shop, Role.SUPERVISOR, f"sup@{shop.slug}.example")
    page = boss.get("/agent/payouts")
    assert page.status_code == 200 and "Refund please" in page.text
    assert "above the per-claim limit of 2" in page.text and wallet in page.text
    token = csrf_of(page.text)
    assert (
        boss.post(f"/agent/payouts/{no_wallet}/approve", data={"csrf_token": token}).status_code
        == 422
    )
    stranger = "0x" + "22" * 20
    refused = boss.post(
        f"/agent/payouts/{no_wallet}/approve", data={"csrf_token": token, "recipient": stranger}
    )
    assert refused.status_code == 422  # only a wallet the customer verified
    approved = boss.post(
        f"/agent/payouts/{no_wallet}/approve", data={"csrf_token": token, "recipient": wallet}
    )
    assert approved.status_code == 303
    assert (
        boss.post(f"/agent/payouts/{to_reject}/reject", data={"csrf_token": token}).status_code
        == 422
    )
    rejected = boss.post(
        f"/agent/payouts/{to_reject}/reject",
        data={"csrf_token": token, "reason": "duplicate claim"},
    )
    assert rejected.status_code == 303
    listed = {
        p["id"]: p
        for p in client.get(
            f"/api/v1/tickets/{ticket['id']}/payouts", headers=shop.admin.headers
        ).json()
    }
    assert (listed[no_wallet]["status"], listed[no_wallet]["recipient"]) == ("queued", wallet)
    assert (listed[to_reject]["status"], listed[to_reject]["hold_reason"]) == (
        "rejected",
        "duplicate claim",
    )
    assert "Refund please" not in boss.get("/agent/payouts").text  # nothing held any more
    assert "duplicate claim" in boss.get("/agent/payouts?status=all").text
    assert (
        boss.post(f"/agent/payouts/{to_reject}/steal", data={"csrf_token": token}).status_code
        == 404
    )
    huge = boss.post(
        "/agent/payouts/99999999999999999999/reject", data={"csrf_token": token, "reason": "x"}
    )
    assert huge.status_code == 404  # beyond the id column's range: not found, no 500
    other = make_tenant(db)
    foreign = held_payout(db, other, new_ticket(client, other.customer)["id"], None)
    assert (
        boss.post(
            f"/agent/payouts/{foreign}/reject", data={"csrf_token": token, "reason": "x"}
        ).status_code
        == 404
    )
