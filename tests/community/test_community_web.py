"""The community pages over HTTP (no browser): reading as a stranger, asking with a session
(held for review, approved from the moderation queue), answering, accepting, reporting, making
a question private, in both languages; forms without the CSRF token change nothing."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from proofdesk.actions.accounts import do_create_user
from proofdesk.domain.roles import Role
from proofdesk.store.db import Database
from proofdesk.store.models import CommunityPost, Ticket
from tests.support.tenants import Member, Tenant, make_tenant
from tests.support.web import PASSWORD, browser, csrf_of, sign_in


@pytest.fixture
def shop(db: Database) -> Tenant:
    """A tenant whose agent and a customer sign in with a password."""
    tenant = make_tenant(db, password=PASSWORD)
    with db.writer() as session:
        user = do_create_user(
            session,
            tenant.org_id,
            role=Role.CUSTOMER,
            display_name="小王",
            email=f"wang@{tenant.slug}.example",
            password=PASSWORD,
            locale="zh-CN",
        )
    tenant.members["wang"] = Member(user.id, Role.CUSTOMER, "", f"wang@{tenant.slug}.example")
    return tenant


def question_id_of(location: str) -> str:
    found = re.match(r"^/community/questions/([0-9a-f-]{36})", location)
    assert found is not None, location
    return found.group(1)


def test_ask_moderate_answer_accept_in_both_languages(
    client: TestClient, db: Database, shop: Tenant
) -> None:
    wang = sign_in(client, shop.slug, shop.wang.email)
    form = wang.get("/community/ask")
    assert form.status_code == 200 and "提问" in form.text
    posted = wang.post(
        "/community/ask",
        data={
            "csrf_token": csrf_of(form.text),
            "title": "提币要多久到账？",
            "body": "我一小时前提了 USDT。",
            "tags": "提币, withdrawal",
        },
    )
    assert posted.status_code == 303, posted.text
    qid = question_id_of(posted.headers["location"])
    own = wang.get(f"/community/questions/{qid}")
    assert own.status_code == 200 and "等待管理员审核" in own.text
    stranger = browser(client)
    assert stranger.get(f"/community/questions/{qid}?org={shop.slug}").status_code == 404

    agent = sign_in(client, shop.slug, shop.agent.email)
    queue = agent.get("/community/moderation")
    assert queue.status_code == 200 and "提币要多久到账？" in queue.text
    approved = agent.post(
        f"/community/posts/{qid}/moderate?back=moderation",
        data={"csrf_token": csrf_of(queue.text), "action": "approve"},
    )
    assert approved.status_code == 303
    page = stranger.get(
        f"/community/questions/{qid}?org={shop.slug}", headers={"accept-language": "en"}
    )
    assert page.status_code == 200 and "Sign in to answer" in page.text
    listing = stranger.get(f"/community?org={shop.slug}&tag=withdrawal")
    assert "提币要多久到账？" in listing.text

    staff_page = agent.get(f"/community/questions/{qid}")
    answered = agent.post(
        f"/community/questions/{qid}/answer",
        data={"csrf_token": csrf_of(staff_page.text), "body": "Usually within 30 minutes."},
    )
    assert answered.status_code == 303
    with db.reader() as session:
        answer_id = session.scalar(
            select(CommunityPost.id).where(
                CommunityPost.question_id == qid, CommunityPost.kind == "answer"
            )
        )
    page = wang.get(f"/community/questions/{qid}")
    assert "员工" in page.text and "采纳这个回答" in page.text
    accepted = wang.post(
        f"/community/questions/{qid}/accept",
        data={"csrf_token": csrf_of(page.text), "answer_id": answer_id},
    )
    assert accepted.status_code == 303
    with db.reader() as session:
        question = session.get(CommunityPost, qid)
        assert question is not None
        assert (question.status, question.accepted_answer_id) == ("accepted", answer_id)
    page = wang.get(f"/community/questions/{qid}")
    commented = wang.post(
        f"/community/posts/{answer_id}/comment",
        data={"csrf_token": csrf_of(page.text), "body": "谢谢，已经到账了"},
    )
    assert commented.status_code == 303
    assert "谢谢，已经到账了" in wang.get(f"/community/questions/{qid}").text
    english = stranger.get(
        f"/community/questions/{qid}?org={shop.slug}", headers={"accept-language": "en"}
    )
    assert "Accepted answer" in english.text


def test_forms_need_the_csrf_token_and_staff_make_questions_private(
    client: TestClient, db: Database, shop: Tenant
) -> None:
    wang = sign_in(client, shop.slug, shop.wang.email)
    form = wang.get("/community/ask")
    with db.reader() as session:
        before = session.scalar(select(func.count()).select_from(CommunityPost))
    forged = wang.post("/community/ask", data={"title": "No token here", "body": "x"})
    assert forged.status_code == 403
    with db.reader() as session:
        assert session.scalar(select(func.count()).select_from(CommunityPost)) == before
    posted = wang.post(
        "/community/ask",
        data={
            "csrf_token": csrf_of(form.text),
            "title": "我的提币 0xabc 卡住了",
            "body": "账户 556677 的提币三小时没到",
        },
    )
    qid = question_id_of(posted.headers["location"])
    refused = wang.post(
        f"/community/posts/{qid}/moderate",
        data={"csrf_token": csrf_of(form.text), "action": "private"},
    )
    assert refused.status_code == 403
    agent = sign_in(client, shop.slug, shop.agent.email)
    page = agent.get(f"/community/questions/{qid}")
    made = agent.post(
        f"/community/posts/{qid}/moderate",
        data={"csrf_token": csrf_of(page.text), "action": "private"},
    )
    assert made.status_code == 303
    with db.reader() as session:
        question = session.get(CommunityPost, qid)
        assert question is not None and question.ticket_id is not None
        ticket = session.get(Ticket, question.ticket_id)
        assert ticket is not None and ticket.requester_id == shop.wang.user_id
    mine = wang.get(f"/requests/{question.ticket_id}")
    assert mine.status_code == 200 and "556677" in mine.text
    public = wang.get(f"/community/questions/{qid}")
    assert "556677" not in public.text and "已转为私密请求" in public.text
    bad = agent.post(
        f"/community/posts/{qid}/moderate",
        data={"csrf_token": csrf_of(page.text), "action": "explode"},
    )
    assert bad.status_code == 422
