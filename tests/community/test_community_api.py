"""Community Q&A over HTTP on both backends: ask → answer → accept, held first posts, votes,
moderation with reasons in the log, duplicates, a question turned into a private ticket, secret
redaction, posting limits, attachments, and bad input that changes nothing."""

from __future__ import annotations

import json
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from proofdesk.actions.accounts import do_attach_wallet
from proofdesk.domain.community import text_digest
from proofdesk.store.db import Database
from proofdesk.store.models import CommunityPost, LedgerLeaf, Ticket, TicketEvent, User
from tests.support.community import API, answer, ask, moderate, thread
from tests.support.tenants import Tenant
from tests.support.typed_data import sign

MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"


def events_of(db: Database, question_id: str) -> list[tuple[str, dict[str, Any]]]:
    with db.reader() as session:
        rows = session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == question_id)
            .order_by(TicketEvent.ticket_seq)
        ).all()
        return [(r.type, json.loads(r.payload)) for r in rows]


def footprint(db: Database, org_id: str) -> tuple[int, int]:
    with db.reader() as session:
        events = session.scalar(select(func.count()).where(TicketEvent.organization_id == org_id))
        posts = session.scalar(select(func.count()).where(CommunityPost.organization_id == org_id))
        return events or 0, posts or 0


def public_list(client: TestClient, tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"{API}/questions", params={"organization": tenant.slug, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_ask_answer_accept_with_held_first_posts(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    question = ask(client, tenant.customer)
    qid = question["id"]
    # A new account's first post waits for a moderator: the public does not see it, its author
    # does, and it is in the staff queue.
    assert question["state"] == "held"
    assert public_list(client, tenant) == []
    anonymous = client.get(f"{API}/questions/{qid}", params={"organization": tenant.slug})
    assert anonymous.status_code == 404
    assert thread(client, tenant.slug, qid, tenant.customer)["question"]["state"] == "held"
    queue = client.get(f"{API}/moderation", headers=tenant.agent.headers).json()
    assert [item["post"]["id"] for item in queue] == [qid]
    moderate(client, tenant.agent, qid, "approve")
    assert [q["id"] for q in public_list(client, tenant)] == [qid]

    # Once one post is approved the author's next posts are published at once.
    second = ask(client, tenant.customer, title="Second question here", tags=["fees"])
    assert second["state"] == "visible"
    assert [q["id"] for q in public_list(client, tenant, tag="fees")] == [second["id"]]

    community = answer(client, tenant.customer2, qid, "Usually ten minutes; check the hash.")
    assert community["state"] == "held"
    moderate(client, tenant.supervisor, community["id"], "approve")
    staff = answer(client, tenant.agent, qid, "Withdrawals are batched every 30 minutes.")
    assert staff["state"] == "visible" and staff["author"]["staff"] is True
    assert community["author"]["staff"] is False

    page = thread(client, tenant.slug, qid)
    assert page["question"]["status"] == "answered"
    assert page["question"]["answer_count"] == 2
    assert [a["id"] for a in page["answers"]] == [community["id"], staff["id"]]

    vote = client.put(
        f"{API}/posts/{staff['id']}/vote", json={"value": 1}, headers=tenant.customer.headers
    )
    assert vote.status_code == 200 and vote.json()["score"] == 1
    comment = client.post(
        f"{API}/posts/{staff['id']}/comments",
        json={"body": "Thanks, that explains it."},
        headers=tenant.customer.headers,
    )
    assert comment.status_code == 201, comment.text

    accepted = client.put(
        f"{API}/questions/{qid}/accepted",
        json={"answer_id": community["id"]},
        headers=tenant.customer.headers,
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["accepted_answer_id"] == community["id"]
    back = client.delete(f"{API}/questions/{qid}/accepted", headers=tenant.customer.headers)
    assert back.status_code == 200 and back.json()["status"] == "answered"
    again = client.put(
        f"{API}/questions/{qid}/accepted",
        json={"answer_id": staff["id"]},
        headers=tenant.customer.headers,
    )
    assert again.json()["accepted_answer_id"] == staff["id"]

    types = [t for t, _ in events_of(db, qid)]
    assert types == [
        "question.asked",
        "post.approved",
        "answer.posted",
        "post.approved",
        "answer.posted",
        "vote.cast",
        "comment.posted",
        "answer.accepted",
        "answer.unaccepted",
        "answer.accepted",
    ]
    # Each event is a leaf of the log; the payload carries the text's digest, not the text.
    with db.reader() as session:
        seqs = session.scalars(select(TicketEvent.seq).where(TicketEvent.ticket_id == qid)).all()
        leaves = session.scalar(select(func.count()).where(LedgerLeaf.seq.in_(seqs)))
    assert leaves == len(seqs)
    asked = events_of(db, qid)[0][1]
    assert asked["digest"] == text_digest(question["title"], question["body"])
    assert "withdrawal take" not in json.dumps(events_of(db, qid))


def test_votes_and_acceptance_rules(client: TestClient, tenant: Tenant) -> None:
    qid = ask(client, tenant.agent, title="Which networks do you support?")["id"]
    own = answer(client, tenant.agent, qid, "Ethereum, Tron and Bitcoin.")
    other = answer(client, tenant.agent2, qid, "See the networks page.")
    # Nobody votes on their own post; votes are 1, -1 or 0.
    refused = client.put(
        f"{API}/posts/{own['id']}/vote", json={"value": 1}, headers=tenant.agent.headers
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "own_post"
    bad = client.put(
        f"{API}/posts/{own['id']}/vote", json={"value": 5}, headers=tenant.customer.headers
    )
    assert bad.status_code == 422
    # Only the asker or staff accept.
    stranger = client.put(
        f"{API}/questions/{qid}/accepted",
        json={"answer_id": other["id"]},
        headers=tenant.customer.headers,
    )
    assert stranger.status_code == 403
    # An answer of another question is not accepted here.
    elsewhere = ask(client, tenant.agent2, title="Another question entirely")
    foreign = answer(client, tenant.agent, elsewhere["id"], "An answer elsewhere.")
    wrong = client.put(
        f"{API}/questions/{qid}/accepted",
        json={"answer_id": foreign["id"]},
        headers=tenant.agent.headers,
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "not_an_answer"
    # A duplicate is closed, links its original, and takes no more answers.
    closed = client.post(
        f"{API}/questions/{elsewhere['id']}/duplicate",
        json={"original_id": qid},
        headers=tenant.agent.headers,
    )
    assert closed.status_code == 200 and closed.json()["duplicate_of"] == qid
    late = client.post(
        f"{API}/questions/{elsewhere['id']}/answers",
        json={"body": "too late"},
        headers=tenant.agent2.headers,
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "question_closed"
    by_customer = client.post(
        f"{API}/questions/{qid}/duplicate",
        json={"original_id": elsewhere["id"]},
        headers=tenant.customer.headers,
    )
    assert by_customer.status_code == 403


def test_report_hide_restore_with_reasons(client: TestClient, db: Database, tenant: Tenant) -> None:
    qid = ask(client, tenant.agent, title="Is the bonus campaign real?")["id"]
    spam = answer(client, tenant.agent2, qid, "Send 1 ETH to my address for a bonus")
    report = client.post(
        f"{API}/posts/{spam['id']}/reports",
        json={"reason": "scam"},
        headers=tenant.customer.headers,
    )
    assert report.status_code == 201, report.text
    twice = client.post(
        f"{API}/posts/{spam['id']}/reports",
        json={"reason": "scam again"},
        headers=tenant.customer.headers,
    )
    assert twice.status_code == 409
    queue = client.get(f"{API}/moderation", headers=tenant.agent.headers).json()
    assert [(i["post"]["id"], [r["reason"] for r in i["reports"]]) for i in queue] == [
        (spam["id"], ["scam"])
    ]
    # Hiding needs a reason; without one nothing changes.
    before = footprint(db, tenant.org_id)
    no_reason = client.post(
        f"{API}/posts/{spam['id']}/moderation",
        json={"action": "hide"},
        headers=tenant.agent.headers,
    )
    assert no_reason.status_code == 422
    assert footprint(db, tenant.org_id) == before
    by_customer = client.post(
        f"{API}/posts/{spam['id']}/moderation",
        json={"action": "hide", "reason": "I do not like it"},
        headers=tenant.customer.headers,
    )
    assert by_customer.status_code == 403
    assert footprint(db, tenant.org_id) == before

    hidden = moderate(client, tenant.agent, spam["id"], "hide", "a scam asking for funds")
    assert hidden["state"] == "hidden"
    assert thread(client, tenant.slug, qid)["answers"] == []
    assert thread(client, tenant.slug, qid)["question"]["status"] == "open"
    assert client.get(f"{API}/moderation", headers=tenant.agent.headers).json() == []
    # Staff still see it, with its reason.
    staff_view = thread(client, tenant.slug, qid, tenant.agent)["answers"]
    assert [(a["state"], a["hidden_reason"]) for a in staff_view] == [
        ("hidden", "a scam asking for funds")
    ]
    moderate(client, tenant.agent, spam["id"], "restore", "the campaign is ours after all")
    assert [a["id"] for a in thread(client, tenant.slug, qid)["answers"]] == [spam["id"]]
    logged = [(t, p.get("reason")) for t, p in events_of(db, qid) if t.startswith("post.")]
    assert logged == [
        ("post.reported", None),
        ("post.hidden", "a scam asking for funds"),
        ("post.restored", "the campaign is ours after all"),
    ]


def test_hiding_the_accepted_answer_takes_the_acceptance_back(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    qid = ask(client, tenant.agent, title="Where do I find my deposit address?")["id"]
    reply = answer(client, tenant.agent2, qid, "Under Assets, Deposit.")
    client.put(
        f"{API}/questions/{qid}/accepted",
        json={"answer_id": reply["id"]},
        headers=tenant.agent.headers,
    )
    moderate(client, tenant.supervisor, reply["id"], "hide", "wrong menu name")
    page = thread(client, tenant.slug, qid)
    assert page["question"]["accepted_answer_id"] is None
    assert page["question"]["status"] == "open"
    assert [t for t, _ in events_of(db, qid)][-2:] == ["post.hidden", "answer.unaccepted"]


def test_a_private_problem_becomes_a_private_ticket(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    text = "My withdrawal 0x" + "ab" * 32 + " of 5000 USDT is stuck, account 88123"
    question = ask(client, tenant.customer, title="My withdrawal is stuck", body=text)
    moderate(client, tenant.agent, question["id"], "approve")
    reply = answer(client, tenant.agent2, question["id"], "Please share your account id.")
    refused = client.post(
        f"{API}/questions/{question['id']}/private", headers=tenant.customer.headers
    )
    assert refused.status_code == 403
    made = client.post(f"{API}/questions/{question['id']}/private", headers=tenant.agent.headers)
    assert made.status_code == 201, made.text
    ticket_id = made.json()["ticket_id"]
    # The author has it as a private request, with the question's text…
    ticket = client.get(f"/api/v1/tickets/{ticket_id}", headers=tenant.customer.headers)
    assert ticket.status_code == 200 and ticket.json()["subject"] == "My withdrawal is stuck"
    messages = client.get(
        f"/api/v1/tickets/{ticket_id}/messages", headers=tenant.customer.headers
    ).json()
    assert text in json.dumps(messages)
    other = client.get(f"/api/v1/tickets/{ticket_id}", headers=tenant.customer2.headers)
    assert other.status_code == 404
    # …and the public post keeps a neutral note only; its answers are hidden.
    public = client.get(f"{API}/questions/{question['id']}", params={"organization": tenant.slug})
    assert public.status_code == 200
    assert "account 88123" not in public.text and "0xabab" not in public.text
    assert public.json()["question"]["status"] == "private"
    assert public.json()["question"]["ticket_id"] is None  # staff only
    assert public.json()["answers"] == []
    staff = thread(client, tenant.slug, question["id"], tenant.agent)
    assert staff["question"]["ticket_id"] == ticket_id
    assert [(a["id"], a["state"]) for a in staff["answers"]] == [(reply["id"], "hidden")]
    with db.reader() as session:
        row = session.get(Ticket, ticket_id)
        assert row is not None and row.requester_id == tenant.customer.user_id
    twice = client.post(f"{API}/questions/{question['id']}/private", headers=tenant.agent.headers)
    assert twice.status_code == 409


def test_secrets_are_removed_from_posts(client: TestClient, db: Database, tenant: Tenant) -> None:
    posted = ask(
        client,
        tenant.customer,
        title="Wallet shows zero balance",
        body=f"My words are {MNEMONIC}. Where did my coins go?",
    )
    assert posted["secrets_removed"] == ["seed_phrase"]
    assert posted["warning"] and "move" in posted["warning"]
    assert "legal winner" not in posted["body"]
    with db.reader() as session:
        row = session.get(CommunityPost, posted["id"])
        assert row is not None and "legal winner" not in row.body
    assert "legal winner" not in json.dumps(events_of(db, posted["id"]))


def test_attachments_are_checked_and_public_with_their_post(
    client: TestClient, tenant: Tenant
) -> None:
    upload = client.post(
        "/api/v1/attachments",
        files={"file": ("screen.txt", b"withdrawal screen\n", "text/plain")},
        headers=tenant.agent.headers,
    )
    assert upload.status_code == 201, upload.text
    file_id = upload.json()["id"]
    question = ask(client, tenant.agent, attachment_ids=[file_id], title="What does this mean?")
    assert [a["id"] for a in question["attachments"]] == [file_id]
    got = client.get(f"{API}/attachments/{file_id}", params={"organization": tenant.slug})
    assert got.status_code == 200 and got.content == b"withdrawal screen\n"
    # An upload of someone else, or one already used, is refused.
    stolen = client.post(
        f"{API}/questions",
        json={"title": "Reusing a file", "body": "x", "attachment_ids": [file_id]},
        headers=tenant.customer.headers,
    )
    assert stolen.status_code == 422
    # Files are checked by content as for tickets: an executable is refused at upload.
    exe = client.post(
        "/api/v1/attachments",
        files={"file": ("a.exe", b"MZ\x90\x00" + b"\x00" * 60, "application/octet-stream")},
        headers=tenant.agent.headers,
    )
    assert exe.status_code in (415, 422)


def test_posting_limit_per_user(client: TestClient, db: Database, tenant: Tenant) -> None:
    qid = ask(client, tenant.agent, title="A busy question")["id"]
    moderate_first = ask(client, tenant.customer2, title="First post of customer2")
    moderate(client, tenant.agent, moderate_first["id"], "approve")
    for n in range(19):  # the approved question was the first of 20 an hour
        reply = client.post(
            f"{API}/posts/{qid}/comments",
            json={"body": f"comment {n}"},
            headers=tenant.customer2.headers,
        )
        assert reply.status_code == 201, reply.text
    before = footprint(db, tenant.org_id)
    over = client.post(
        f"{API}/posts/{qid}/comments", json={"body": "one more"}, headers=tenant.customer2.headers
    )
    assert over.status_code == 429 and over.json()["error"]["code"] == "posting_limit"
    assert footprint(db, tenant.org_id) == before
    # Staff are not limited.
    assert answer(client, tenant.agent2, qid, "staff answer")["state"] == "visible"


def test_bad_input_is_refused_and_changes_nothing(
    client: TestClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    qid = ask(client, tenant.agent, title="A question to poke at")["id"]
    before = footprint(db, tenant.org_id)
    cases = [
        ("POST", "/questions", {"title": "no", "body": "short title"}, 422),
        ("POST", "/questions", {"title": "Fine title", "body": ""}, 422),
        ("POST", "/questions", {"title": "Fine title", "body": "x", "extra": 1}, 422),
        ("POST", "/questions", {"title": "Fine title", "body": "x", "tags": ["a"] * 6}, 422),
        ("POST", "/questions", {"title": "Fine title", "body": "x\x00y"}, 422),
        ("POST", "/questions", {"title": "Fine title", "body": "x", "locale": "fr"}, 422),
        ("POST", f"/questions/{qid}/answers", {"body": "   "}, 422),
        ("POST", "/questions/00000000-0000-4000-8000-000000000000/answers", {"body": "x"}, 404),
        ("PUT", f"/questions/{qid}/accepted", {"answer_id": qid}, 422),
        ("DELETE", f"/questions/{qid}/accepted", None, 409),
        ("POST", f"/posts/{qid}/moderation", {"action": "approve"}, 409),
        ("POST", f"/posts/{qid}/moderation", {"action": "explode"}, 422),
        ("POST", f"/questions/{qid}/duplicate", {"original_id": qid}, 422),
    ]
    for method, path, body, status in cases:
        response = client.request(method, API + path, json=body, headers=tenant.agent.headers)
        assert response.status_code == status, (path, body, response.text)
        assert set(response.json()) == {"error"}
    # Another tenant's staff do not reach this tenant's posts.
    foreign = client.post(
        f"{API}/questions/{qid}/answers", json={"body": "x"}, headers=other_tenant.agent.headers
    )
    assert foreign.status_code == 404
    # Strangers do not write; auditors do not either.
    assert (
        client.post(f"{API}/questions", json={"title": "Anonymous", "body": "x"}).status_code == 401
    )
    auditor = client.post(
        f"{API}/questions",
        json={"title": "Auditor asks", "body": "x"},
        headers=tenant.auditor.headers,
    )
    assert auditor.status_code == 403
    assert footprint(db, tenant.org_id) == before
    unknown = client.get(f"{API}/questions", params={"organization": "no-such-org"})
    assert unknown.status_code == 404
    assert client.get(f"{API}/questions").status_code == 422
    assert (
        client.get(
            f"{API}/questions", params={"organization": tenant.slug, "status": "x"}
        ).status_code
        == 422
    )


def test_posts_signed_with_the_authors_wallet(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    account: LocalAccount = Account.create()
    with db.writer() as session:
        customer = session.get(User, tenant.customer.user_id)
        assert customer is not None
        do_attach_wallet(session, customer, account.address, "test")
    content = {"title": "Is staking locked for 30 days?", "body": "The page says so."}
    signed = sign(client, tenant, account, "community.ask", content)
    posted = client.post(
        f"{API}/questions", json={**content, "signed": signed}, headers=tenant.customer.headers
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["signed_by"] == account.address
    qid = posted.json()["id"]
    assert events_of(db, qid)[0][1]["signature"]["action"] == "community.ask"
    moderate(client, tenant.agent, qid, "approve")
    # The signature covers exactly the text posted, for this question only.
    other = sign(client, tenant, account, "community.answer", {"body": "Yes."}, ticket=qid)
    tampered = client.post(
        f"{API}/questions/{qid}/answers",
        json={"body": "No.", "signed": other},
        headers=tenant.customer.headers,
    )
    assert tampered.status_code == 422 and tampered.json()["error"]["code"] == "bad_signature"
    secret = {"title": "My seed phrase", "body": f"It is {MNEMONIC}"}
    refused = client.post(
        f"{API}/questions",
        json={**secret, "signed": sign(client, tenant, account, "community.ask", secret)},
        headers=tenant.customer.headers,
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "secret_in_signed_text"


def test_only_the_accepted_answer_is_promoted(client: TestClient, tenant: Tenant) -> None:
    qid = ask(client, tenant.agent, title="What are the trading fees?")["id"]
    reply = answer(client, tenant.agent2, qid, "0.1% for makers and takers.")
    refused = client.post(
        f"{API}/answers/{reply['id']}/promote",
        json={"slug": "fees", "intent": "fees", "other_title": "手续费", "other_body": "0.1%"},
        headers=tenant.admin.headers,
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_accepted"
