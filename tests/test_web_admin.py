"""The admin pages over HTTP: only admins, every change through the API's actions, CSRF on each
form, the token shown once, the knowledge base edited in both languages side by side."""

from __future__ import annotations

import time

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from proofdesk.actions.accounts import do_create_user
from proofdesk.assistant import kb
from proofdesk.domain.roles import Role
from proofdesk.identity import mfa
from proofdesk.store.db import Database
from proofdesk.store.models import KbRevision, Organization, Team, User
from tests.conftest import Tenant
from tests.test_assistant import load_kb
from tests.test_web import PASSWORD, browser, csrf_of, sign_in


def admin_browser(client: TestClient, db: Database, tenant: Tenant) -> TestClient:
    email = f"root@{tenant.slug}.example"
    with db.writer() as session:
        user = do_create_user(
            session,
            tenant.org_id,
            role=Role.ADMIN,
            display_name="管理员",
            email=email,
            password=PASSWORD,
        )
        assert db.keyring is not None
        secret, _, _ = mfa.start_enrolment(user, db.keyring)
        mfa.enable(session, user, db.keyring, pyotp.TOTP(secret).now())
    web = browser(client)
    # The enrolment used this step's code; the next step's is a fresh one.
    nxt = pyotp.TOTP(secret).at(time.time() + 30)
    r = web.post(
        "/login",
        data={"organization": tenant.slug, "email": email, "password": PASSWORD, "totp_code": nxt},
    )
    assert r.status_code == 303, r.text
    return web


def test_only_admins_reach_the_admin_pages(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    with db.writer() as session:
        do_create_user(
            session,
            tenant.org_id,
            role=Role.AGENT,
            display_name="a",
            email=f"a@{tenant.slug}.example",
            password=PASSWORD,
        )
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
