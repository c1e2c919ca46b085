"""The admin pages over HTTP: only admins, every change through the API's actions, CSRF on each
form, the token shown once, the knowledge base edited in both languages side by side."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from proofdesk.actions.orders import SIGNATURE_HEADER, sign
from proofdesk.assistant import kb
from proofdesk.domain.roles import Role
from proofdesk.store.db import Database
from proofdesk.store.models import KbRevision, Organization, Team, TeamMember, TicketEvent, User
from tests.support.assistant import load_kb
from tests.support.rules import failed_order_ticket
from tests.support.tenants import Tenant, make_tenant, new_ticket
from tests.support.web import PASSWORD, browser, csrf_of, new_agent, sign_in, staff_browser


def admin_browser(client: TestClient, db: Database, tenant: Tenant) -> TestClient:
    return staff_browser(client, db, tenant, Role.ADMIN, f"root@{tenant.slug}.example")


def test_only_admins_reach_the_admin_pages(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    new_agent(db, tenant, f"a@{tenant.slug}.example")
    agent = sign_in(client, tenant.slug, f"a@{tenant.slug}.example")
    assert agent.get("/admin").status_code == 403
    assert browser(client).get("/admin").headers["location"] == "/login?next=/admin"


def test_an_admin_manages_staff_teams_tokens_and_settings(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    web = admin_browser(client, db, tenant)
    page = web.get("/admin")
    assert page.status_code == 200 and "Verifier key" in page.text
    token = csrf_of(page.text)
    assert web.post("/admin/teams", data={"name": "VIP desk"}).status_code == 403  # no CSRF
    assert (
        web.post("/admin/teams", data={"csrf_token": token, "name": "VIP desk"}).status_code == 303
    )
    added = web.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "role": "agent",
            "display_name": "新客服",
            "email": f"new@{tenant.slug}.example",
            "password": "a long first password",
        },
    )
    assert added.status_code == 303
    twice = web.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "role": "agent",
            "display_name": "x",
            "email": f"new@{tenant.slug}.example",
        },
    )
    assert twice.status_code in (409, 422) and "error" in twice.text
    customer = web.post(
        "/admin/users",
        data={"csrf_token": token, "role": "customer", "display_name": "c", "email": "c@x.example"},
    )
    assert customer.status_code == 422
    with db.reader() as session:
        team = session.scalars(
            select(Team).where(Team.organization_id == tenant.org_id, Team.name == "VIP desk")
        ).one()
        newcomer = session.scalars(
            select(User).where(User.email == f"new@{tenant.slug}.example")
        ).one()
    joined = web.post(
        f"/admin/teams/{team.id}/members", data={"csrf_token": token, "user_id": newcomer.id}
    )
    assert joined.status_code == 303 and "新客服" in web.get("/admin").text
    on = web.post("/admin/organization/mfa", data={"csrf_token": token, "require_for_agents": "on"})
    assert on.status_code == 303
    with db.reader() as session:
        org = session.get(Organization, tenant.org_id)
        assert org is not None and org.require_mfa_for_agents
    made = web.post(
        "/admin/tokens", data={"csrf_token": token, "name": "shop sync", "scopes": ["tickets:read"]}
    )
    assert made.status_code == 200
    shown = made.text.split("<p><code>", 1)[1].split("</code>", 1)[0]
    assert shown.startswith("pdk_")
    api = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {shown}"})
    assert api.status_code == 200
    assert shown not in web.get("/admin").text  # once
    assert web.post("/admin/tokens", data={"csrf_token": token, "name": "x"}).status_code == 422


def test_the_knowledge_base_side_by_side(client: TestClient, db: Database, tenant: Tenant) -> None:
    load_kb(db, tenant)
    web = admin_browser(client, db, tenant)
    page = web.get("/admin/kb/kyc")
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text and 'lang="en"' in page.text
    with db.reader() as session:
        before = session.scalar(select(func.count()).select_from(KbRevision))
    saved = web.post(
        "/admin/kb/kyc/zh-CN",
        data={
            "csrf_token": csrf_of(page.text),
            "title": "实名认证（KYC）说明",
            "body": "提交证件后一般 1–3 个工作日完成审核。",
            "questions": "实名认证要多久\nKYC 被拒怎么办",
            "intent": "kyc",
            "audience": "public",
        },
    )
    assert saved.status_code == 303
    with db.reader() as session:
        spec = next(
            kb.to_spec(r)
            for r in kb.articles(session, tenant.org_id)
            if r.slug == "kyc" and r.locale == "zh-CN"
        )
        after = session.scalar(select(func.count()).select_from(KbRevision))
    assert spec.title == "实名认证（KYC）说明" and spec.questions == [
        "实名认证要多久",
        "KYC 被拒怎么办",
    ]
    assert after == before + 1
    bad = web.post(
        "/admin/kb/kyc/fr",
        data={"csrf_token": csrf_of(page.text), "title": "t", "body": "b", "intent": "kyc"},
    )
    assert bad.status_code == 422
    assert web.get("/admin/kb/no-such-entry").status_code == 404


def test_the_knowledge_base_page_shows_how_often_the_assistant_answers(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    load_kb(db, tenant)
    web = admin_browser(client, db, tenant)
    assert 'id="assistant-estimate"' not in web.get("/admin/kb/kyc").text  # no model yet
    models = client.app.state.services.assistant  # type: ignore[attr-defined]
    estimate = models.of(db, tenant.org_id).open_set
    page = web.get("/admin/kb/kyc")
    assert 'id="assistant-estimate"' in page.text
    assert f"≈ {round(estimate.coverage * 100)}%" in page.text
    assert f"≈ {round(estimate.precision * 100)}%" in page.text


WEEKDAYS = {
    "open_days": ["0", "1", "2", "3", "4"],
    "start": ["09:00"] * 5 + ["", ""],
    "end": ["18:00"] * 5 + ["", ""],
    "start2": ["", "", "", "", "", "", ""],
    "end2": ["", "", "", "", "", "", ""],
}


def test_an_admin_writes_an_sla_policy_with_its_business_calendar(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    """The form becomes the policy the API would store (the API's schema checks it); a
    split shift and holidays survive a round trip; a bad time zone changes nothing and keeps
    what was typed; another tenant's policy is not found."""
    web = admin_browser(client, db, tenant)
    token = csrf_of(web.get("/admin/sla/new").text)
    form = {
        "csrf_token": token,
        "name": "VIP 工作日",
        "position": "5",
        "kinds": ["refund_request", "complaint"],
        "priorities": ["urgent"],
        "tiers": "vip, gold",
        "first_response_minutes": "60",
        "resolution_minutes": "480",
        "warn_before_minutes": "15",
        "escalate_to": "urgent",
        "hours": "business",
        "timezone": "Asia/Shanghai",
        **WEEKDAYS,
        "country": "cn",
        "closed_days": "2026-12-31\n2027-01-04",
    }
    form["start2"] = ["", "", "", "", "", "10:00", ""]
    form["end2"] = ["", "", "", "", "", "14:00", ""]
    form["open_days"] = [*WEEKDAYS["open_days"], "5"]  # Saturday: a short second window only
    form["start"] = ["09:00"] * 5 + ["", ""]
    saved = web.post("/admin/sla/new", data=form)
    assert saved.status_code == 303, saved.text
    policy = client.get("/api/v1/sla/policies", headers=tenant.admin.headers).json()
    mine = next(p for p in policy if p["name"] == "VIP 工作日")
    assert mine["kinds"] == ["refund_request", "complaint"] and mine["tiers"] == ["vip", "gold"]
    assert (mine["first_response_minutes"], mine["next_response_minutes"]) == (60, None)
    calendar = mine["calendar"]
    assert calendar["timezone"] == "Asia/Shanghai" and calendar["country"] == "CN"
    assert {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"} in calendar["hours"]
    assert {"days": [5], "start": "10:00", "end": "14:00"} in calendar["hours"]
    assert calendar["closed_days"] == ["2026-12-31", "2027-01-04"]
    page = web.get(saved.headers["location"])
    assert page.status_code == 200 and 'value="Asia/Shanghai"' in page.text
    assert page.text.count('value="10:00"') == 1 and "2027-01-04" in page.text

    before = client.get("/api/v1/sla/policies", headers=tenant.admin.headers).json()
    bad = web.post(
        f"/admin/sla/{mine['id']}", data={**form, "timezone": "Mars/Olympus", "name": "changed"}
    )
    assert bad.status_code == 422 and "Mars/Olympus" in bad.text and 'value="changed"' in bad.text
    for broken in ({"first_response_minutes": "soon"}, {"start": ["25:00"] * 5 + ["", ""]}):
        assert web.post(f"/admin/sla/{mine['id']}", data={**form, **broken}).status_code == 422
    no_day = web.post(f"/admin/sla/{mine['id']}", data={**form, "open_days": []})
    assert no_day.status_code == 422
    assert client.get("/api/v1/sla/policies", headers=tenant.admin.headers).json() == before

    around = web.post(
        f"/admin/sla/{mine['id']}", data={**form, "hours": "always", "name": "VIP 全天"}
    )
    assert around.status_code == 303
    again = client.get("/api/v1/sla/policies", headers=tenant.admin.headers).json()
    assert next(p for p in again if p["id"] == mine["id"])["calendar"] is None
    assert web.get("/admin/sla/999999").status_code == 404
    assert web.get("/admin/sla/abc").status_code == 404
    assert web.get("/admin/sla/99999999999999999999").status_code == 404  # beyond INTEGER
    assert web.post("/admin/sla/99999999999999999999", data=form).status_code == 404
    assert web.post("/admin/sla/abc", data=form).status_code == 404
    deleted = web.post(f"/admin/sla/{mine['id']}/delete", data={"csrf_token": token})
    assert deleted.status_code == 303
    gone = client.get("/api/v1/sla/policies", headers=tenant.admin.headers).json()
    assert all(p["id"] != mine["id"] for p in gone)


def test_an_admin_checks_dry_runs_publishes_and_activates_a_contract(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    web = admin_browser(client, db, tenant)
    page = web.get("/admin/contracts/new")
    assert page.status_code == 200 and "my-refunds" in page.text
    token = csrf_of(page.text)
    name = f"web-refunds-{tenant.slug}"
    source = page_source(page.text).replace("my-refunds", name)
    checked = web.post("/admin/contracts/check", data={"csrf_token": token, "source": source})
    assert checked.status_code == 200 and "sha256:" in checked.text
    broken = source.replace('order.status == "failed"', 'order.colour == "red"')
    refused = web.post("/admin/contracts/check", data={"csrf_token": token, "source": broken})
    assert refused.status_code == 422 and "undeclared fact" in refused.text
    assert "line " in refused.text and "order.colour" in refused.text  # the text is kept

    ticket = failed_order_ticket(client, tenant, amount="0.5")
    with db.reader() as session:
        events = session.scalar(select(func.count()).select_from(TicketEvent))
    run = web.post(
        "/admin/contracts/dry-run",
        data={
            "csrf_token": token,
            "source": source,
            "ticket": f"#{ticket['number']}",
            "facts": '{"claim.reason": "never arrived"}',
        },
    )
    assert run.status_code == 200, run.text
    assert "Dry run: valid" in run.text and "failed" in run.text and "order.status" in run.text
    for bad, code in (
        ({"ticket": "999999"}, 404),
        ({"ticket": "#99999999999"}, 404),  # beyond the number column's range
        ({"facts": "[1, 2]"}, 422),
        ({"facts": "{not json"}, 422),
        ({"facts": '{"order.status": "failed"}'}, 422),  # a provider's fact is not stated
    ):
        answer = web.post(
            "/admin/contracts/dry-run",
            data={"csrf_token": token, "source": source, "ticket": str(ticket["number"]), **bad},
        )
        assert answer.status_code == code, (bad, answer.text)
        assert name in answer.text  # the editor comes back with the source typed
    with db.reader() as session:
        assert session.scalar(select(func.count()).select_from(TicketEvent)) == events

    published = web.post("/admin/contracts/publish", data={"csrf_token": token, "source": source})
    assert published.status_code == 303
    digest = published.headers["location"].rsplit("/", 1)[1]
    shown = web.get(published.headers["location"])
    assert "not active" in shown.text and "Activate this version" in shown.text
    on = web.post(f"/admin/contracts/{digest}/activate", data={"csrf_token": token})
    assert on.status_code == 303
    listed = client.get("/api/v1/contracts", params={"organization": tenant.slug}).json()
    assert [c["active"] for c in listed if c["name"] == name] == [True]
    assert name in web.get("/admin").text
    assert web.get("/admin/contracts/sha256:nope").status_code == 404


def page_source(html: str) -> str:
    """The editor's textarea, unescaped."""
    import html as markup
    import re

    found = re.search(r'<textarea id="source"[^>]*>(.*?)</textarea>', html, re.S)
    assert found is not None
    return markup.unescape(found.group(1))


def agent_holding_a_ticket(
    client: TestClient, db: Database, tenant: Tenant, name: str
) -> tuple[str, TestClient, dict[str, Any]]:
    """A new agent of the tenant's team, signed in, assigned a new ticket: (id, browser,
    ticket). Their e-mail is ``<name>@<slug>.example``."""
    user_id = new_agent(db, tenant, f"{name.replace(' ', '')}@{tenant.slug}.example", name)
    client.put(f"/api/v1/teams/{tenant.team_id}/members/{user_id}", headers=tenant.admin.headers)
    held = new_ticket(client, tenant.customer, subject=f"Held by {name}")
    assigned = client.put(
        f"/api/v1/tickets/{held['id']}/assignment",
        json={"assignee_id": user_id},
        headers=tenant.admin.headers,
    )
    assert assigned.status_code == 200, assigned.text
    web = sign_in(client, tenant.slug, f"{name.replace(' ', '')}@{tenant.slug}.example")
    assert web.get("/agent").status_code == 200
    return user_id, web, held


def test_an_admin_deactivates_an_agent_whose_tickets_go_back_to_the_queue(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    web = admin_browser(client, db, tenant)
    leaver_id, agent_web, held = agent_holding_a_ticket(client, db, tenant, "Leaving Agent")
    page = web.get("/admin")
    token = csrf_of(page.text)
    assert "Deactivate Leaving Agent" in page.text
    off = web.post(f"/admin/users/{leaver_id}/active", data={"csrf_token": token, "active": "no"})
    assert off.status_code == 303
    assert agent_web.get("/agent").status_code == 303  # the session no longer signs anyone in
    ticket = client.get(f"/api/v1/tickets/{held['id']}", headers=tenant.admin.headers).json()
    assert ticket["assignee_id"] is None
    events = client.get(f"/api/v1/tickets/{held['id']}/events", headers=tenant.admin.headers).json()
    assert [e["type"] for e in events].count("assignment.changed") == 2
    assert "Reactivate Leaving Agent" in web.get("/admin").text
    on = web.post(f"/admin/users/{leaver_id}/active", data={"csrf_token": token, "active": "yes"})
    assert on.status_code == 303
    assert (
        sign_in(client, tenant.slug, f"LeavingAgent@{tenant.slug}.example")
        .get("/agent")
        .status_code
        == 200
    )
    # Not a customer, not another tenant's person, not oneself.
    customer = web.post(
        f"/admin/users/{tenant.customer.user_id}/active",
        data={"csrf_token": token, "active": "no"},
    )
    assert customer.status_code == 404
    with db.reader() as session:
        me = session.scalars(select(User).where(User.email == f"root@{tenant.slug}.example")).one()
    self_off = web.post(f"/admin/users/{me.id}/active", data={"csrf_token": token, "active": "no"})
    assert self_off.status_code == 422


def test_an_admin_changes_a_persons_role_and_it_takes_effect_at_once(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    web = admin_browser(client, db, tenant)
    token = csrf_of(web.get("/admin").text)
    mover_id, as_agent, held = agent_holding_a_ticket(client, db, tenant, "Mover")
    promoted = web.post(
        f"/admin/users/{mover_id}/role", data={"csrf_token": token, "role": "supervisor"}
    )
    assert promoted.status_code == 303
    assert as_agent.get("/agent").status_code == 303  # the old session is gone
    again = browser(client).post(
        "/login",
        data={
            "organization": tenant.slug,
            "email": f"Mover@{tenant.slug}.example",
            "password": PASSWORD,
        },
    )
    assert again.headers["location"].startswith("/mfa/setup")  # supervisors need a second factor
    audit = web.post(f"/admin/users/{mover_id}/role", data={"csrf_token": token, "role": "auditor"})
    assert audit.status_code == 303
    ticket = client.get(f"/api/v1/tickets/{held['id']}", headers=tenant.admin.headers).json()
    assert ticket["assignee_id"] is None  # an auditor holds no tickets
    with db.reader() as session:
        assert session.get(TeamMember, (tenant.team_id, mover_id)) is None
    for role, status in (("customer", 422), ("owner", 422)):
        bad = web.post(f"/admin/users/{mover_id}/role", data={"csrf_token": token, "role": role})
        assert bad.status_code == status
    with db.reader() as session:
        assert session.get(User, mover_id).role == "auditor"  # type: ignore[union-attr]
    customer = web.post(
        f"/admin/users/{tenant.customer.user_id}/role",
        data={"csrf_token": token, "role": "agent"},
    )
    assert customer.status_code == 404


def test_a_demoted_admins_token_loses_its_admin_powers(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    second = make_tenant(db)  # its admin's token has the admin scope
    before = client.put(
        "/api/v1/organization/mfa",
        json={"require_for_agents": False},
        headers=second.admin.headers,
    )
    assert before.status_code == 200
    with db.writer() as session:  # demoted (as do_set_role would, with its other effects)
        session.get(User, second.admin.user_id).role = Role.AGENT.value  # type: ignore[union-attr]
    after = client.put(
        "/api/v1/organization/mfa",
        json={"require_for_agents": False},
        headers=second.admin.headers,
    )
    assert (after.status_code, after.json()["error"]["code"]) == (403, "missing_scope")
    self_change = client.patch(
        f"/api/v1/users/{tenant.admin.user_id}",
        json={"role": "agent"},
        headers=tenant.admin.headers,
    )
    assert self_change.status_code == 422
    on_customer = client.patch(
        f"/api/v1/users/{tenant.customer.user_id}",
        json={"role": "agent"},
        headers=tenant.admin.headers,
    )
    assert on_customer.status_code == 422


def test_an_admin_sets_the_organizations_name_escrow_merchant_and_webhook_secret(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    web = admin_browser(client, db, tenant)
    token = csrf_of(web.get("/admin").text)
    renamed = web.post(
        "/admin/organization/name", data={"csrf_token": token, "name": " 链 上  商店 "}
    )
    assert renamed.status_code == 303
    shown = client.get("/api/v1/organization", headers=tenant.customer.headers).json()
    assert shown["name"] == "链 上 商店"
    assert web.post("/admin/organization/name", data={"csrf_token": token}).status_code == 422
    merchant = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    saved = web.post(
        "/admin/organization/escrow", data={"csrf_token": token, "merchant_address": merchant}
    )
    assert saved.status_code == 303
    typo = web.post(
        "/admin/organization/escrow",
        data={"csrf_token": token, "merchant_address": merchant[:-1] + "D"},  # bad EIP-55
    )
    assert typo.status_code == 422
    with db.reader() as session:
        org = session.get(Organization, tenant.org_id)
        assert org is not None and org.merchant_address == merchant.lower()
    issued = web.post("/admin/organization/webhook-secret", data={"csrf_token": token})
    assert issued.status_code == 200 and "shown once" in issued.text
    found = re.search(
        r"New order-webhook secret</h2>\s*<p>[^<]*</p>\s*<p><code>([^<]+)</code>", issued.text
    )
    assert found is not None
    secret = found.group(1)
    assert secret not in web.get("/admin").text  # shown once
    raw = json.dumps(
        {
            "external_id": "ORD-hook-1",
            "customer_id": tenant.customer.user_id,
            "amount": "1",
            "currency": "ETH",
            "status": "paid",
        }
    ).encode()
    hook = client.post(
        "/api/v1/webhooks/orders",
        params={"organization": tenant.slug},
        content=raw,
        headers={
            SIGNATURE_HEADER: sign(secret, raw, int(time.time())),
            "Content-Type": "application/json",
        },
    )
    assert hook.status_code == 200, hook.text


def test_the_sla_form_warns_of_a_calendar_it_cannot_show_whole(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    """Three windows on a Monday (possible with the API): the form says it shows two."""
    made = client.post(
        "/api/v1/sla/policies",
        json={
            "name": "three shifts",
            "first_response_minutes": 30,
            "calendar": {
                "timezone": "UTC",
                "hours": [
                    {"days": [0], "start": "00:00", "end": "06:00"},
                    {"days": [0], "start": "08:00", "end": "12:00"},
                    {"days": [0], "start": "14:00", "end": "20:00"},
                ],
            },
        },
        headers=tenant.admin.headers,
    )
    assert made.status_code == 201, made.text
    web = admin_browser(client, db, tenant)
    page = web.get(f"/admin/sla/{made.json()['id']}")
    assert "more than two opening windows" in page.text
    assert 'value="08:00"' in page.text and 'value="14:00"' not in page.text
