"""Customer satisfaction: the requester rates a solved request (1-5, a comment), the rating is
an event of the ticket's stream (its comment sealed like a message), and the assistant's
analytics compare the satisfaction of automatic answers with people's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from proofdesk.ledger.sealing import SEALED
from proofdesk.store.db import Database
from proofdesk.store.models import TicketEvent
from tests.support.assistant import load_kb, say
from tests.support.tenants import Tenant, new_ticket

API = "/api/v1"
SEED = "abandon ability able about above absent absorb abstract absurd abuse access accident"


def solved(client: TestClient, tenant: Tenant) -> str:
    ticket_id = str(new_ticket(client, tenant.customer)["id"])
    done = client.post(
        f"{API}/tickets/{ticket_id}/status", json={"status": "solved"}, headers=tenant.agent.headers
    )
    assert done.status_code == 200, done.text
    return ticket_id


def rate(client: TestClient, tenant: Tenant, ticket_id: str, **body: Any) -> Any:
    return client.post(
        f"{API}/tickets/{ticket_id}/rating", json=body, headers=tenant.customer.headers
    )


def test_the_requester_rates_a_solved_request(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    ticket_id = solved(client, tenant)
    first = rate(client, tenant, ticket_id, score=2, comment="慢了一点，但解决了")
    assert first.status_code == 200, first.text
    assert first.json()["rating"] == 2 and first.json()["rated_at"]
    again = rate(client, tenant, ticket_id, score=5)
    assert again.json()["rating"] == 5  # a later rating replaces the earlier
    seen = client.get(f"{API}/tickets/{ticket_id}", headers=tenant.agent.headers).json()
    assert seen["rating"] == 5
    events = client.get(f"{API}/tickets/{ticket_id}/events", headers=tenant.agent.headers).json()
    rated = [e for e in events if e["type"] == "ticket.rated"]
    assert [e["payload"]["score"] for e in rated] == [2, 5]
    assert rated[0]["payload"]["comment"] == "慢了一点，但解决了"
    with db.reader() as session:
        stored = session.scalars(
            select(TicketEvent.payload).where(
                TicketEvent.ticket_id == ticket_id, TicketEvent.type == "ticket.rated"
            )
        ).all()
    # In the stream (and so in the log's commitment) the comment is sealed, the score is not.
    first_payload = json.loads(stored[0])
    assert first_payload["score"] == 2 and set(first_payload["comment"]) == {SEALED}


def test_a_secret_in_a_comment_is_removed_and_the_customer_warned(
    client: TestClient, tenant: Tenant
) -> None:
    ticket_id = solved(client, tenant)
    response = rate(client, tenant, ticket_id, score=1, comment=f"my words are {SEED} 谢谢")
    assert response.status_code == 200, response.text
    events = client.get(f"{API}/tickets/{ticket_id}/events", headers=tenant.agent.headers).json()
    comment = next(e for e in events if e["type"] == "ticket.rated")["payload"]["comment"]
    assert "abandon" not in comment and "谢谢" in comment
    messages = client.get(
        f"{API}/tickets/{ticket_id}/messages", headers=tenant.customer.headers
    ).json()
    assert messages[-1]["author_role"] == "automation"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"score": 0}, 422, "validation_error"),
        ({"score": 6}, 422, "validation_error"),
        ({"score": "5"}, 422, "validation_error"),
        ({"score": 4.5}, 422, "validation_error"),
        ({"score": 4, "comment": "x" * 2001}, 422, "validation_error"),
        ({"score": 4, "extra": 1}, 422, "validation_error"),
    ],
)
def test_bad_ratings_are_refused_and_change_nothing(
    client: TestClient, tenant: Tenant, body: dict[str, Any], status: int, code: str
) -> None:
    ticket_id = solved(client, tenant)
    response = rate(client, tenant, ticket_id, **body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    after = client.get(f"{API}/tickets/{ticket_id}", headers=tenant.customer.headers).json()
    assert after["rating"] is None


def test_only_a_solved_request_of_ones_own_is_rated(client: TestClient, tenant: Tenant) -> None:
    open_id = str(new_ticket(client, tenant.customer)["id"])
    early = rate(client, tenant, open_id, score=5)
    assert (early.status_code, early.json()["error"]["code"]) == (409, "not_solved")
    ticket_id = solved(client, tenant)
    staff = client.post(
        f"{API}/tickets/{ticket_id}/rating", json={"score": 5}, headers=tenant.agent.headers
    )
    assert (staff.status_code, staff.json()["error"]["code"]) == (403, "not_a_customer")
    other = client.post(
        f"{API}/tickets/{ticket_id}/rating", json={"score": 5}, headers=tenant.customer2.headers
    )
    assert other.status_code == 404
    closed = client.post(
        f"{API}/tickets/{ticket_id}/status", json={"status": "closed"}, headers=tenant.agent.headers
    )
    assert closed.status_code == 200
    late = rate(client, tenant, ticket_id, score=5)
    assert (late.status_code, late.json()["error"]["code"]) == (409, "ticket_closed")


def test_csat_of_automatic_answers_and_of_people(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    load_kb(db, tenant)
    liked = say(client, tenant, "how long does KYC verification take")
    disliked = say(client, tenant, "质押收益什么时候发放")
    for turn, helpful in ((liked, True), (disliked, False)):
        assert turn["kind"] == "answer"
        client.post(
            f"{API}/assistant/turns/{turn['turn_id']}/feedback",
            json={"helpful": helpful},
            headers=tenant.customer.headers,
        )
    # The "no" handed the conversation to a person, who solved it; the customer rated it 4.
    handed = client.get(
        f"{API}/tickets", params={"tag": "assistant-handoff"}, headers=tenant.agent.headers
    ).json()["items"]
    assert len(handed) == 1
    handoff_id = handed[0]["id"]
    client.post(
        f"{API}/tickets/{handoff_id}/status",
        json={"status": "solved"},
        headers=tenant.agent.headers,
    )
    assert rate(client, tenant, handoff_id, score=4).status_code == 200
    assert rate(client, tenant, solved(client, tenant), score=2).status_code == 200
    csat = client.get(f"{API}/analytics/assistant", headers=tenant.supervisor.headers).json()[
        "csat"
    ]
    assert csat["automatic"] == {"responses": 2, "satisfied_rate": 0.5}
    assert csat["human"] == {"responses": 2, "satisfied_rate": 0.5, "mean": 3.0}
    assert csat["human_after_handoff"] == {"responses": 1, "satisfied_rate": 1.0, "mean": 4.0}
