"""Who did what, over HTTP: the console's timeline has an activity line with the actor's name
for status, assignment, priority, tags and a reply that moves the status; replies and notes
carry their author's name for agents, and the agent's alias (else first name) for customers —
never "Support" for everyone, and no activity lines on the customer's page; a side form filled
in on an older version of the ticket changes nothing and shows what changed since; the live
refresh serves the side form with the latest version."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from proofdesk.actions.accounts import do_create_user
from proofdesk.domain.roles import Role
from proofdesk.store.db import Database
from tests.support.tenants import Tenant, make_tenant, new_ticket
from tests.support.web import PASSWORD, csrf_of, sign_in

API = "/api/v1"


@pytest.fixture
def shop(db: Database, client: TestClient) -> Tenant:
    """Named people: agent "Wei Zhang", agent2 "Mia Chen" (alias "Mimi"), a customer "Ann
    Lee" with a password."""
    tenant = make_tenant(db, password=PASSWORD)
    with db.writer() as session:
        ann = do_create_user(
            session,
            tenant.org_id,
            role=Role.CUSTOMER,
            display_name="Ann Lee",
            email=f"ann@{tenant.slug}.example",
            password=PASSWORD,
        )
    tenant.members["ann"] = tenant.members["customer"].__class__(
        ann.id, Role.CUSTOMER, "", f"ann@{tenant.slug}.example"
    )
    for member, patch in (
        (tenant.agent, {"display_name": "Wei Zhang"}),
        (tenant.agent2, {"display_name": "Mia Chen", "agent_alias": "Mimi"}),
    ):
        r = client.patch(f"{API}/users/{member.user_id}", json=patch, headers=tenant.admin.headers)
        assert r.status_code == 200, r.text
    return tenant


def version_of(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found is not None
    return found.group(1)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_every_change_has_an_activity_line_with_its_actors_name(
    client: TestClient, shop: Tenant
) -> None:
    ticket = new_ticket(client, shop.agent, requester_id=shop.ann.user_id, subject="Fees")
    tid = ticket["id"]
    agent = sign_in(client, shop.slug, shop.agent.email)
    page = agent.get(f"/agent/tickets/{tid}").text
    token, version = csrf_of(page), version_of(page)
    r = agent.post(
        f"/agent/tickets/{tid}/properties",
        data={
            "csrf_token": token,
            "version": version,
            "priority": "high",
            "team_id": shop.team_id,
            "assignee_id": shop.agent2.user_id,
            "tags": "vip refund",
        },
    )
    assert r.status_code == 303, r.text
    page = agent.get(f"/agent/tickets/{tid}").text
    r = agent.post(
        f"/agent/tickets/{tid}/status",
        data={"csrf_token": token, "version": version_of(page), "status": "pending"},
    )
    assert r.status_code == 303, r.text
    for body, visibility in (("Checking the fee table.", "internal"), ("Fees are 0.1%.", "public")):
        client.post(
            f"{API}/tickets/{tid}/messages",
            json={"body": body, "visibility": visibility},
            headers=shop.agent2.headers,
        )
    seen = text_of(agent.get(f"/agent/tickets/{tid}").text)
    for line in (
        "Wei Zhang opened the request",
        "Wei Zhang set the priority to High",
        "Wei Zhang assigned the request to Mia Chen (team Tier 1)",
        "Wei Zhang added the tags refund, vip",
        "Wei Zhang changed the status from New to Waiting for you",
    ):
        assert line in seen, line
    # Agents see the authors' full names on notes and replies.
    assert seen.count("Mia Chen") >= 3
    assert re.search(r"Internal note — customers never see this · Mia Chen", seen)
    # The timeline's live refresh shows the same.
    assert "Wei Zhang added the tags" in agent.get(f"/agent/tickets/{tid}/timeline").text
    # The customer sees the alias, never "Support", no colleague's full name, no activity.
    ann = sign_in(client, shop.slug, shop.ann.email)
    theirs = text_of(ann.get(f"/requests/{tid}").text)
    assert "Mimi" in theirs and "Fees are 0.1%." in theirs
    assert "Mia Chen" not in theirs and "Support" not in theirs
    assert "Checking the fee table." not in theirs and "assigned the request" not in theirs


def test_the_alias_defaults_to_the_first_name_and_only_staff_have_one(
    client: TestClient, shop: Tenant
) -> None:
    no = client.patch(
        f"{API}/users/{shop.customer.user_id}",
        json={"agent_alias": "Boss"},
        headers=shop.admin.headers,
    )
    assert no.status_code == 422
    # "Wei Zhang" has no alias: customers see "Wei".
    with_password = sign_in(client, shop.slug, shop.ann.email)
    own = new_ticket(client, shop.agent, requester_id=shop.ann.user_id)
    client.post(
        f"{API}/tickets/{own['id']}/messages", json={"body": "Hi Ann."}, headers=shop.agent.headers
    )
    page = text_of(with_password.get(f"/requests/{own['id']}").text)
    assert "Wei ·" in page and "Wei Zhang" not in page


def test_a_stale_side_form_changes_nothing_and_shows_what_changed(
    client: TestClient, shop: Tenant
) -> None:
    ticket = new_ticket(client, shop.agent, requester_id=shop.ann.user_id, subject="Stale")
    tid = ticket["id"]
    agent = sign_in(client, shop.slug, shop.agent.email)
    page = agent.get(f"/agent/tickets/{tid}").text
    token = csrf_of(page)
    r = agent.post(
        f"/agent/tickets/{tid}/status",
        data={"csrf_token": token, "version": version_of(page), "status": "pending"},
    )
    assert r.status_code == 303
    page = agent.get(f"/agent/tickets/{tid}").text
    old = version_of(page)
    # Meanwhile the customer answers, which reopens the request.
    ann = sign_in(client, shop.slug, shop.ann.email)
    theirs = ann.get(f"/requests/{tid}").text
    r = ann.post(
        f"/requests/{tid}/reply", data={"csrf_token": csrf_of(theirs), "body": "Still missing!"}
    )
    assert r.status_code == 303
    events = len(client.get(f"{API}/tickets/{tid}/events", headers=shop.admin.headers).json())
    for url, form in (
        (f"/agent/tickets/{tid}/status", {"status": "solved"}),
        (f"/agent/tickets/{tid}/properties", {"priority": "low", "tags": ""}),
        (f"/agent/tickets/{tid}/reply", {"body": "Done.", "status": "solved"}),
    ):
        stale = agent.post(url, data={"csrf_token": token, "version": old, **form})
        assert stale.status_code == 409, (url, stale.text[:300])
        shown = text_of(stale.text)
        assert "This request changed while you had it open; nothing was saved." in shown
        assert "Ann Lee replied and set the status to Open" in shown
        assert version_of(stale.text) != old  # the form is refreshed
    state = client.get(f"{API}/tickets/{tid}", headers=shop.admin.headers).json()
    assert state["status"] == "open" and state["priority"] == "normal"
    after = client.get(f"{API}/tickets/{tid}/events", headers=shop.admin.headers).json()
    assert len(after) == events
    # The live refresh's side form carries the latest version and the menu follows the badge.
    form = agent.get(f"/agent/tickets/{tid}/form").text
    assert version_of(form) == version_of(stale.text)
    assert '<option value="open" selected>' in form
    # A reply without a status change is not held up by a stale version.
    ok = agent.post(
        f"/agent/tickets/{tid}/reply", data={"csrf_token": token, "version": old, "body": "Hi"}
    )
    assert ok.status_code == 303
