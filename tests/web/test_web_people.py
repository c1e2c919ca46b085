"""Search and people in the web UI over HTTP: the console's search page, the customer page and
its notes, the portal's paged and filtered "my requests", and pages for unknown addresses.
The same journeys in a real browser are in test_web_browser_desk.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from proofdesk import i18n
from proofdesk.access import Actor
from proofdesk.actions import tickets as actions
from proofdesk.actions.accounts import do_create_user
from proofdesk.actions.erase import do_erase_customer
from proofdesk.canonical import utc_now
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import EventType, Kind, Status
from proofdesk.store.db import Database
from proofdesk.store.models import CustomerNote, Ticket, TicketEvent, User
from proofdesk.store.projections import check_projections
from tests.support.tenants import Member, Tenant, actor_of, make_tenant
from tests.support.web import PASSWORD, csrf_of, sign_in


@pytest.fixture
def shop(db: Database) -> Tenant:
    """A tenant whose agent and customer sign in with a password; the customer has 35
    requests (the last ten solved)."""
    tenant = make_tenant(db, password=PASSWORD)
    with db.writer() as session:
        user = do_create_user(
            session,
            tenant.org_id,
            role=Role.CUSTOMER,
            display_name="王小明",
            email=f"many@{tenant.slug}.example",
            password=PASSWORD,
        )
        tenant.members["many"] = Member(user.id, Role.CUSTOMER, "", user.email or "")
        customer = Actor(user.id, tenant.org_id, Role.CUSTOMER)
        agent = actor_of(tenant.agent, tenant)
        start = utc_now() - timedelta(days=2)
        for i in range(35):
            state = actions.do_create_ticket(
                session,
                customer,
                actions.NewTicket(
                    kind=Kind.QUESTION, subject=f"请求 {i:02d}", body=f"第 {i} 次：提现没到账"
                ),
                at=start + timedelta(minutes=i),
            )
            if i >= 25:
                row = session.get(Ticket, state.id)
                assert row is not None
                actions.do_change_status(
                    session, agent, row, Status.SOLVED, at=start + timedelta(minutes=i, seconds=30)
                )
    return tenant


def numbers(html: str) -> list[str]:
    return re.findall(r"<td>(\d+)</td>", html)


def test_my_requests_are_paged_and_filtered(client: TestClient, shop: Tenant) -> None:
    web = sign_in(client, shop.slug, shop.many.email)
    first = web.get("/requests")
    assert first.status_code == 200
    assert len(numbers(first.text)) == 20
    assert "请求 34" in first.text and "请求 14" not in first.text  # newest first
    nxt = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert nxt is not None
    second = web.get(nxt.group(1).replace("&amp;", "&"))
    assert len(numbers(second.text)) == 15 and 'rel="next"' not in second.text
    assert set(numbers(first.text)).isdisjoint(numbers(second.text))
    solved = web.get("/requests", params={"status": "solved"})
    assert len(numbers(solved.text)) == 10 and 'rel="next"' not in solved.text
    assert len(numbers(web.get("/requests", params={"status": "closed"}).text)) == 0
    # Nonsense is the first page of everything, never an error.
    assert len(numbers(web.get("/requests", params={"status": "x", "after": "~"}).text)) == 20


def test_the_customer_page(client: TestClient, shop: Tenant, db: Database) -> None:
    agent = sign_in(client, shop.slug, shop.agent.email)
    page = agent.get(f"/agent/customers/{shop.many.user_id}")
    assert page.status_code == 200, page.text
    assert "王小明" in page.text and len(numbers(page.text)) == 20
    assert ">35<" in page.text  # the count of their requests
    nxt = re.search(r'href="([^"]+)" rel="next"', page.text)
    assert nxt is not None
    assert len(numbers(agent.get(nxt.group(1).replace("&amp;", "&")).text)) == 15
    solved = agent.get(f"/agent/customers/{shop.many.user_id}", params={"status": "solved"})
    assert len(numbers(solved.text)) == 10
    # A note: with the CSRF token only, logged as the customer's stream's event.
    url = f"/agent/customers/{shop.many.user_id}/notes"
    assert agent.post(url, data={"body": "prefers e-mail"}).status_code == 403
    done = agent.post(
        url, data={"body": "prefers e-mail 偏好邮件", "csrf_token": csrf_of(page.text)}
    )
    assert done.status_code == 303
    assert "prefers e-mail 偏好邮件" in agent.get(f"/agent/customers/{shop.many.user_id}").text
    empty = agent.post(url, data={"body": "  ", "csrf_token": csrf_of(page.text)})
    assert empty.status_code == 422 and "text/html" in empty.headers["content-type"]
    with db.reader() as session:
        event = session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == shop.many.user_id)
        ).one()
        assert event.type == EventType.CUSTOMER_NOTED.value
        assert "prefers" not in event.payload  # the text stays off the log
    # The ticket page links to the customer page.
    with db.reader() as session:
        ticket_id = session.scalars(
            select(Ticket.id).where(Ticket.requester_id == shop.many.user_id)
        ).first()
    assert f"/agent/customers/{shop.many.user_id}" in agent.get(f"/agent/tickets/{ticket_id}").text
    # Nobody else reaches it: the customer, another tenant's staff, a staff id.
    customer = sign_in(client, shop.slug, shop.many.email)
    assert customer.get(f"/agent/customers/{shop.many.user_id}").status_code == 403
    other = make_tenant(db, password=PASSWORD)
    stranger = sign_in(client, other.slug, other.agent.email)
    assert stranger.get(f"/agent/customers/{shop.many.user_id}").status_code == 404
    assert agent.get(f"/agent/customers/{shop.agent2.user_id}").status_code == 404
    # Erasing the customer deletes the notes; the log and the projections still agree.
    with db.writer() as session:
        user = session.get(User, shop.many.user_id)
        assert user is not None
        do_erase_customer(session, actor_of(shop.admin, shop), user)
    with db.reader() as session:
        assert (
            session.scalars(
                select(CustomerNote).where(CustomerNote.customer_id == shop.many.user_id)
            ).all()
            == []
        )
    assert check_projections(db) == []


def test_the_console_search_page(client: TestClient, shop: Tenant) -> None:
    agent = sign_in(client, shop.slug, shop.agent.email)
    home = agent.get("/agent")
    assert 'action="/agent/search"' in home.text  # the box in the header
    found = agent.get("/agent/search", params={"q": "提现"})
    assert found.status_code == 200 and len(numbers(found.text)) == 20
    assert 'rel="next"' in found.text
    one = agent.get("/agent/search", params={"q": "请求 07"})
    assert numbers(one.text) and "请求 07" in one.text and "请求 08" not in one.text
    assert "王小明" in agent.get("/agent/search", params={"q": "王小明"}).text
    none = agent.get("/agent/search", params={"q": "nothing-like-this"})
    assert "nothing-like-this" in none.text and not numbers(none.text)
    customer = sign_in(client, shop.slug, shop.many.email)
    assert customer.get("/agent/search", params={"q": "提现"}).status_code == 403


@pytest.mark.parametrize(("language", "title"), [("en", "Page not found"), ("zh-CN", "页面不存在")])
def test_unknown_console_addresses_answer_a_page(
    client: TestClient, shop: Tenant, language: str, title: str
) -> None:
    agent = sign_in(client, shop.slug, shop.agent.email)
    agent.cookies.set(i18n.LANG_COOKIE, language)
    for path in ("/agent/no-such-page", "/admin/nothing/here", "/requests/a/b"):
        r = agent.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")
        assert title in r.text and f'lang="{language}"' in r.text
    api = agent.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
