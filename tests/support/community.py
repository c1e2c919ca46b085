"""Community Q&A through the API: asking, answering and moderating as a test needs it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support.tenants import Member

API = "/api/v1/community"


def ask(client: TestClient, member: Member, **fields: Any) -> dict[str, Any]:
    body = {
        "title": "How long does a USDT withdrawal take?",
        "body": "I sent one an hour ago. Is that normal?",
        "tags": ["withdrawal"],
    }
    body.update(fields)
    response = client.post(f"{API}/questions", json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def answer(client: TestClient, member: Member, question_id: str, body: str) -> dict[str, Any]:
    response = client.post(
        f"{API}/questions/{question_id}/answers", json={"body": body}, headers=member.headers
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def moderate(
    client: TestClient, staff: Member, post_id: str, action: str, reason: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"action": action}
    if reason is not None:
        body["reason"] = reason
    response = client.post(f"{API}/posts/{post_id}/moderation", json=body, headers=staff.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def thread(
    client: TestClient, slug: str, question_id: str, member: Member | None = None
) -> dict[str, Any]:
    response = client.get(
        f"{API}/questions/{question_id}",
        params={"organization": slug},
        headers=member.headers if member else {},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
