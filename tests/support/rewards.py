"""Customers who may earn rewards (an old enough account with a verified wallet), and solved
tickets that had a person's reply, for the reward suites."""

from __future__ import annotations

from datetime import timedelta

from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from proofdesk.actions.accounts import do_attach_wallet
from proofdesk.canonical import utc_now
from proofdesk.store.db import Database
from proofdesk.store.models import User
from tests.support.tenants import Member, Tenant, new_ticket

API = "/api/v1"
COMMENT = "The agent found the stuck withdrawal and explained the fee clearly, thank you."


def seasoned(db: Database, member: Member, *, days: int = 30, wallet: bool = True) -> LocalAccount:
    """Make ``member``'s account ``days`` old and give it a verified wallet; returns the wallet."""
    key = Account.create()
    with db.writer() as session:
        user = session.get(User, member.user_id)
        assert user is not None
        user.created_at = utc_now() - timedelta(days=days)
        if wallet:
            linked = do_attach_wallet(session, user, key.address, "main", proven=True)
            linked.verified_at = user.created_at + timedelta(days=1)
    return key


def solved_with_reply(client: TestClient, tenant: Tenant, *, reply: bool = True) -> str:
    ticket_id = str(new_ticket(client, tenant.customer)["id"])
    if reply:
        answered = client.post(
            f"{API}/tickets/{ticket_id}/messages",
            json={"body": "Your withdrawal is confirmed now."},
            headers=tenant.agent.headers,
        )
        assert answered.status_code == 201, answered.text
    done = client.post(
        f"{API}/tickets/{ticket_id}/status", json={"status": "solved"}, headers=tenant.agent.headers
    )
    assert done.status_code == 200, done.text
    return ticket_id


def rate(client: TestClient, tenant: Tenant, ticket_id: str, **body: object) -> None:
    rated = client.post(
        f"{API}/tickets/{ticket_id}/rating", json=body, headers=tenant.customer.headers
    )
    assert rated.status_code == 200, rated.text
