"""The assistant learns from the community: ask → answer → accept → promote to the knowledge
base → the assistant answers the same question in the other language from the new article,
with the answer's author credited; a draft promotion stays out of customers' answers."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from proofdesk.store.db import Database
from proofdesk.store.models import AssistantExample, KbArticle, KbRevision, TicketEvent
from tests.support.assistant import load_kb, say
from tests.support.community import API, answer, ask
from tests.support.tenants import Tenant

PROMOTION = {
    "slug": "change-nickname",
    "intent": "change_nickname",
    "other_title": "如何修改个人资料上的昵称",
    "other_body": "打开「设置 → 个人资料」，点击昵称旁边的铅笔图标，输入新昵称后保存。每 30 天可以修改一次。",
    "other_questions": ["怎么修改昵称", "昵称在哪里改", "如何更改显示的用户名"],
}


def accepted_question(client: TestClient, tenant: Tenant) -> tuple[str, str]:
    question = ask(
        client,
        tenant.agent2,
        title="How do I change the nickname on my profile?",
        body="I want another display name on my profile page.",
        tags=["profile"],
        locale="en",
    )
    reply = answer(
        client,
        tenant.agent,
        question["id"],
        "Open Settings → Profile, click the pencil next to your nickname, type the new one and "
        "save. You can change it once every 30 days.",
    )
    accepted = client.put(
        f"{API}/questions/{question['id']}/accepted",
        json={"answer_id": reply["id"]},
        headers=tenant.agent2.headers,
    )
    assert accepted.status_code == 200, accepted.text
    return question["id"], reply["id"]


def test_a_promoted_answer_is_answered_from_in_the_other_language(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    load_kb(db, tenant)
    qid, answer_id = accepted_question(client, tenant)
    # Agents do not write the knowledge base; supervisors and admins do.
    refused = client.post(
        f"{API}/answers/{answer_id}/promote", json=PROMOTION, headers=tenant.agent.headers
    )
    assert refused.status_code == 403
    promoted = client.post(
        f"{API}/answers/{answer_id}/promote",
        json={**PROMOTION, "publish": True},
        headers=tenant.supervisor.headers,
    )
    assert promoted.status_code == 201, promoted.text
    assert sorted(a["locale"] for a in promoted.json()) == ["en", "zh-CN"]

    with db.reader() as session:
        rows = session.scalars(
            select(KbArticle).where(
                KbArticle.organization_id == tenant.org_id, KbArticle.slug == "change-nickname"
            )
        ).all()
        # The answer's author ("agent") is credited in both languages, through KB revisions.
        assert {r.locale: ("agent" in r.body) for r in rows} == {"en": True, "zh-CN": True}
        assert "由 agent 在社区中解答" in next(r.body for r in rows if r.locale == "zh-CN")
        revisions = session.scalars(
            select(KbRevision).where(KbRevision.article_id.in_([r.id for r in rows]))
        ).all()
        assert len(revisions) == 2
        learned = session.scalars(
            select(AssistantExample.label).where(AssistantExample.organization_id == tenant.org_id)
        ).all()
        assert "change_nickname" in learned
        event = session.scalars(
            select(TicketEvent).where(
                TicketEvent.ticket_id == qid, TicketEvent.type == "answer.promoted"
            )
        ).one()
        assert json.loads(event.payload)["author_id"] == tenant.agent.user_id

    reply = say(client, tenant, "我想修改我的昵称，在哪里改？")
    assert (reply["kind"], reply["intent"]) == ("answer", "change_nickname"), reply
    assert reply["sources"][0]["slug"] == "change-nickname"
    assert reply["sources"][0]["locale"] == "zh-CN"
    assert "铅笔" in reply["text"]

    # Someone about to ask the same thing is shown the answered question and the article.
    similar = client.get(
        f"{API}/similar",
        params={"organization": tenant.slug, "text": "How can I change my profile nickname?"},
    )
    assert similar.status_code == 200, similar.text
    assert [q["id"] for q in similar.json()["questions"]] == [qid]
    assert {
        "slug": "change-nickname",
        "locale": "en",
        "title": "How do I change the nickname on my profile?",
    } in similar.json()["articles"]


def test_a_draft_promotion_is_for_agents_only(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    _, answer_id = accepted_question(client, tenant)
    promoted = client.post(
        f"{API}/answers/{answer_id}/promote", json=PROMOTION, headers=tenant.admin.headers
    )
    assert promoted.status_code == 201, promoted.text
    assert {a["audience"] for a in promoted.json()} == {"agents"}
    again = client.post(
        f"{API}/answers/{answer_id}/promote",
        json={**PROMOTION, "slug": "Bad Slug"},
        headers=tenant.admin.headers,
    )
    assert again.status_code == 422
