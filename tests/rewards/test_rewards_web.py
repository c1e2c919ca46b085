"""The rewards pages: a customer's points with the rule of each and the claim button's call,
in both languages, and staff's rewards ledger."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from proofdesk import i18n
from proofdesk.actions import rewards as reward_actions
from proofdesk.actions.accounts import do_create_user
from proofdesk.canonical import utc_now
from proofdesk.domain.roles import Role
from proofdesk.rewards.engine import Basis
from proofdesk.rewards.policy import Reason
from proofdesk.store.db import Database
from tests.support.rewards import seasoned
from tests.support.tenants import Member, Tenant, make_tenant
from tests.support.web import PASSWORD, new_agent, sign_in


def test_a_customer_sees_points_and_the_rule_and_staff_the_ledger(
    client: TestClient, db: Database
) -> None:
    tenant: Tenant = make_tenant(db)
    email = f"earner@{tenant.slug}.example"
    with db.writer() as session:
        user = do_create_user(
            session,
            tenant.org_id,
            role=Role.CUSTOMER,
            display_name="Earner",
            email=email,
            password=PASSWORD,
        )
    earner = Member(user.id, Role.CUSTOMER, "", email)
    seasoned(db, earner)
    with db.writer() as session:
        for n, at in ((0, utc_now() - timedelta(days=9)), (1, utc_now())):
            basis = Basis(Reason.VERIFIED_FEEDBACK, f"ticket:w{n}", user.id, tenant.agent.user_id)
            assert reward_actions.do_grant(session, tenant.org_id, basis, at=at).grant

    web = sign_in(client, tenant.slug, email)
    page = web.get("/rewards")
    assert page.status_code == 200, page.text
    assert 'id="points-pending">10<' in page.text
    assert 'id="points-vested">10<' in page.text
    assert "points.verified_feedback" in page.text and "Verified feedback" in page.text
    assert reward_actions.active_policy_hash(db, tenant.org_id) in page.text
    web.cookies.set(i18n.LANG_COOKIE, "zh-CN")
    chinese = web.get("/rewards")
    web.cookies.delete(i18n.LANG_COOKIE)
    assert "我的奖励" in chinese.text and "经核实的反馈" in chinese.text

    new_agent(db, tenant, f"ledger@{tenant.slug}.example")
    agent = sign_in(client, tenant.slug, f"ledger@{tenant.slug}.example")
    assert agent.get("/rewards").headers["location"] == "/agent/rewards"
    ledger = agent.get("/agent/rewards")
    assert ledger.status_code == 200, ledger.text
    assert ledger.text.count("points.verified_feedback") == 2
    assert web.get("/agent/rewards").status_code in (403, 404)
