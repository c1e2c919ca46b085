"""Who may call what: every endpoint × role × tenant, as one table.

Rows of :data:`EXPECTED` are endpoints (method, path template and a variant); columns are the
roles of the tenant that owns the objects (``own``) and the same roles in another tenant
(``other``). The objects a row touches belong to the owning tenant's ``customer``: ``customer``
reaches their own ticket, profile, token and upload, ``customer2`` asks for someone else's.
A cell is the status code expected. :data:`CALLS` says how to build each row's request.

Every cell also checks what the status alone does not show:

* a refusal has the error shape, and a refused write changes nothing;
* refusing someone else's object looks exactly like asking for an id that does not exist
  (same status, code and message), so ids reveal nothing;
* nothing the caller may not see appears anywhere in the response: the other tenant's ids, the
  other customer's ticket, internal notes and their attachments.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select

from proofdesk.actions import community
from proofdesk.actions.chain_requests import do_prepare_chain_request
from proofdesk.actions.contracts import do_activate, do_publish
from proofdesk.actions.kb import do_save_article as kb_save
from proofdesk.actions.macros import do_create_macro
from proofdesk.actions.sessions import do_issue_api_token
from proofdesk.actions.sla import do_create_policy
from proofdesk.actions.tickets import NewTicket, do_change_status, do_create_ticket
from proofdesk.actions.transfers import do_consent_transfer, do_make_agreement
from proofdesk.actions.webhooks import UrlPolicy
from proofdesk.assistant.conversation import Models, take_turn
from proofdesk.assistant.kb import read_path as kb_read
from proofdesk.canonical import format_time, utc_now
from proofdesk.domain.roles import Scope
from proofdesk.domain.tickets import Kind, Status
from proofdesk.rewards.policy import DEFAULT_SOURCE
from proofdesk.store.db import Database
from proofdesk.store.models import (
    ApiToken,
    Attachment,
    Order,
    Organization,
    Payout,
    Team,
    TeamMember,
    Ticket,
    TicketEvent,
    TransferAgreement,
    User,
    Wallet,
    WebhookDelivery,
    WebhookEndpoint,
)
from proofdesk.verify.transfer import public_key_text
from tests.support.paths import ROOT
from tests.support.tenants import Member, Tenant, actor_of, make_tenant, new_ticket
from tests.support.webhooks import subscribe, unsubscribe

API = "/api/v1"
KB_DIR = ROOT / "data" / "kb"
ROLES = ("admin", "supervisor", "agent", "auditor", "customer", "customer2")
TENANTS = ("own", "other")

# fmt: off
EXPECTED: dict[str, tuple[str, str]] = {
    #                                          own tenant                 other tenant
    #                                          adm sup agt aud cus cu2    adm sup agt aud cus cu2
    "GET /tickets":                          ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    "POST /tickets":                         ("201 201 201 403 201 201", "422 422 422 403 201 201"),
    "GET /tickets/-/counts":                 ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    "GET /tickets/{id}":                     ("200 200 200 200 200 404", "404 404 404 404 404 404"),
    "PATCH /tickets/{id}":                   ("200 200 200 403 403 404", "404 404 404 404 404 404"),
    "POST /tickets/{id}/status (solved)":    ("200 200 200 403 200 404", "404 404 404 404 404 404"),
    "POST /tickets/{id}/status (on_hold)":   ("200 200 200 403 403 404", "404 404 404 404 404 404"),
    "PUT /tickets/{id}/assignment":          ("200 200 200 403 403 404", "404 404 404 404 404 404"),
    "POST /tickets/{id}/tags":               ("200 200 200 403 403 404", "404 404 404 404 404 404"),
    "POST /tickets/{id}/rating":             ("403 403 403 403 200 404", "404 404 404 404 404 404"),
    "POST /tickets/{id}/merge":              ("200 200 200 403 403 404", "404 404 404 404 404 404"),
    "GET /tickets/{id}/messages":            ("200 200 200 200 200 404", "404 404 404 404 404 404"),
    "GET /tickets/{id}/changes":             ("200 200 200 200 200 404", "404 404 404 404 404 404"),
    "GET /tickets/{id}/receipt":             ("200 200 200 200 200 404", "404 404 404 404 404 404"),
    "POST /tickets/{id}/messages (reply)":   ("201 201 201 403 201 404", "404 404 404 404 404 404"),
    "POST /tickets/{id}/messages (note)":    ("201 201 201 403 403 404", "404 404 404 404 404 404"),
    "GET /tickets/{id}/events":              ("200 200 200 200 403 403", "404 404 404 404 403 403"),
    "GET /users":                            ("200 200 200 200 403 403", "200 200 200 200 403 403"),
    "POST /users (customer)":                ("201 201 201 403 403 403", "201 201 201 403 403 403"),
    "POST /users (agent)":                   ("201 403 403 403 403 403", "201 403 403 403 403 403"),
    "GET /users/{user}":                     ("200 200 200 200 200 404", "404 404 404 404 404 404"),
    "PATCH /users/{user}":                   ("200 200 200 403 200 404", "404 404 404 404 404 404"),
    "PATCH /users/{user} (staff)":           ("200 403 403 403 404 404", "404 404 404 404 404 404"),
    "PATCH /users/{user} (role)":            ("200 403 403 403 404 404", "404 404 404 404 404 404"),
    "POST /users/{user}/wallets":            ("201 201 201 403 403 404", "404 404 404 404 404 404"),
    "POST /users/{user}/orders":             ("201 201 201 403 403 404", "404 404 404 404 404 404"),
    "GET /teams":                            ("200 200 200 200 403 403", "200 200 200 200 403 403"),
    "POST /teams":                           ("201 201 403 403 403 403", "201 201 403 403 403 403"),
    "PUT /teams/{team}/members/{user}":      ("200 200 403 403 403 403", "404 404 404 404 403 403"),
    "DELETE /teams/{team}/members/{user}":   ("200 200 403 403 403 403", "404 404 404 404 403 403"),
    "GET /organization":                     ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    "GET /auth/me":                          ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    "GET /auth/tokens":                      ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    "POST /auth/tokens":                     ("201 201 201 201 201 201", "201 201 201 201 201 201"),
    "DELETE /auth/tokens/{token}":           ("204 204 204 204 204 404", "404 404 404 404 404 404"),
    "POST /auth/logout/all":                 ("204 204 204 204 204 204", "204 204 204 204 204 204"),
    "PUT /auth/me/email":                    ("403 403 403 403 200 200", "403 403 403 403 200 200"),
    "POST /auth/mfa/totp/setup":             ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    # A wrong code is refused for everyone; the working flows are in test_staff_mfa.py.
    "POST /auth/mfa/totp/enable":            ("422 422 422 422 422 422", "422 422 422 422 422 422"),
    "POST /auth/mfa/recovery-codes":         ("422 422 422 422 422 422", "422 422 422 422 422 422"),
    "POST /auth/mfa/totp/disable":           ("403 403 422 422 422 422", "403 403 422 422 422 422"),
    "PUT /organization/mfa":                 ("200 403 403 403 403 403", "200 403 403 403 403 403"),
    "POST /contracts":                       ("201 403 403 403 403 403", "201 403 403 403 403 403"),
    "POST /contracts/{hash}/activate":       ("200 403 403 403 403 403", "404 403 403 403 403 403"),
    "POST /tickets/{id}/decisions":          ("201 201 201 403 403 404", "404 404 404 404 404 404"),
    "POST /tickets/{id}/decisions/dry-run":  ("200 403 403 403 403 403", "404 403 403 403 403 403"),
    # Integrations (admin tokens) sync a shop's orders; another tenant's cannot name this
    # tenant's customer.
    "PUT /orders/{order}":                   ("200 403 403 403 403 403", "422 403 403 403 403 403"),
    "POST /organization/webhook-secret":     ("201 403 403 403 403 403", "201 403 403 403 403 403"),
    "PUT /organization/escrow":              ("200 403 403 403 403 403", "200 403 403 403 403 403"),
    "GET /tickets/{id}/payouts":             ("200 200 200 200 200 404", "404 404 404 404 404 404"),
    "GET /payouts":                          ("200 200 403 403 403 403", "200 200 403 403 403 403"),
    "POST /rewards/policies":                ("201 403 403 403 403 403", "201 403 403 403 403 403"),
    "GET /rewards/points":                   ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    "GET /rewards/ledger":                   ("200 200 200 200 403 403", "200 200 200 200 403 403"),
    # Nothing has vested in the matrix's world: refused for that, after the scope check.
    "POST /rewards/epochs":                  ("422 403 403 403 403 403", "422 403 403 403 403 403"),
    "POST /rewards/epochs/0/publish":      ("404 403 403 403 403 403", "404 403 403 403 403 403"),
    "POST /payouts/{payout}/approve":        ("200 200 403 403 403 403", "404 404 403 403 403 403"),
    "POST /payouts/{payout}/reject":         ("200 200 403 403 403 403", "404 404 403 403 403 403"),
    "POST /payouts/{payout}/retry":          ("200 200 403 403 403 403", "404 404 403 403 403 403"),
    "GET /sla/policies":                     ("200 200 200 200 403 403", "200 200 200 200 403 403"),
    "POST /sla/policies":                    ("201 403 403 403 403 403", "201 403 403 403 403 403"),
    "PUT /sla/policies/{policy}":            ("200 403 403 403 403 403", "404 403 403 403 403 403"),
    "DELETE /sla/policies/{policy}":         ("204 403 403 403 403 403", "404 403 403 403 403 403"),
    "GET /tickets/{id}/sla":                 ("200 200 200 200 200 404", "404 404 404 404 404 404"),
    "GET /macros":                           ("200 200 200 200 403 403", "200 200 200 200 403 403"),
    "POST /chain-requests":                  ("403 403 403 403 201 201", "403 403 403 403 201 201"),
    "GET /chain-requests/{id}":              ("404 404 404 404 200 404", "404 404 404 404 404 404"),
    # The assistant talks with customers; a conversation is its customer's alone.
    "POST /assistant/messages":              ("403 403 403 403 200 200", "403 403 403 403 200 200"),
    "POST /assistant/turns/{turn}/feedback": ("403 403 403 403 204 404", "403 403 403 403 404 404"),
    "GET /kb/articles":                      ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    "GET /tickets/{id}/assist":              ("200 200 200 200 403 403", "404 404 404 404 403 403"),
    "GET /analytics/assistant":              ("200 200 403 403 403 403", "200 200 403 403 403 403"),
    "GET /analytics/top-issues":             ("200 200 403 403 403 403", "200 200 403 403 403 403"),
    "GET /analytics/helpdesk":               ("200 200 403 403 403 403", "200 200 403 403 403 403"),
    "GET /analytics/helpdesk.csv":           ("200 200 403 403 403 403", "200 200 403 403 403 403"),
    "PUT /kb/articles":                      ("200 200 403 403 403 403", "200 200 403 403 403 403"),
    "POST /macros":                          ("201 201 403 403 403 403", "201 201 403 403 403 403"),
    # An agent may delete their own personal macros: another tenant's is not found.
    "DELETE /macros/{macro}":                ("204 204 403 403 403 403", "404 404 404 403 403 403"),
    "POST /tickets/{id}/macros/{macro}":     ("200 200 200 403 403 404", "404 404 404 404 404 404"),
    # Signed in, a malformed message is refused by everyone; who may link is in test_siwe.py.
    "POST /auth/siwe/link":                  ("422 422 422 422 422 422", "422 422 422 422 422 422"),
    "POST /auth/logout":                     ("204 204 204 204 204 204", "204 204 204 204 204 204"),
    "POST /attachments":                     ("201 201 201 403 201 201", "201 201 201 403 201 201"),
    "GET /attachments/{file}":               ("200 200 200 200 200 404", "404 404 404 404 404 404"),
    "GET /attachments/{file} (note)":        ("200 200 200 200 404 404", "404 404 404 404 404 404"),
    # Outbound webhooks are an admin's integration (docs/webhooks.md).
    "GET /webhooks/endpoints":               ("200 403 403 403 403 403", "200 403 403 403 403 403"),
    "POST /webhooks/endpoints":              ("201 403 403 403 403 403", "201 403 403 403 403 403"),
    "GET /webhooks/endpoints/{endpoint}":    ("200 403 403 403 403 403", "404 403 403 403 403 403"),
    "PATCH /webhooks/endpoints/{endpoint}":  ("200 403 403 403 403 403", "404 403 403 403 403 403"),
    "DELETE /webhooks/endpoints/{endpoint}": ("204 403 403 403 403 403", "404 403 403 403 403 403"),
    "POST /webhooks/endpoints/{endpoint}/rotate-secret":
                                             ("200 403 403 403 403 403", "404 403 403 403 403 403"),
    "GET /webhooks/endpoints/{endpoint}/deliveries":
                                             ("200 403 403 403 403 403", "404 403 403 403 403 403"),
    "GET /webhooks/endpoints/{endpoint}/deliveries/{delivery}":
                                             ("200 403 403 403 403 403", "404 403 403 403 403 403"),
    "POST /webhooks/endpoints/{endpoint}/deliveries/{delivery}/redeliver":
                                             ("200 403 403 403 403 403", "404 403 403 403 403 403"),
    # Transfers (docs/consortium.md): agreements are an admin's; customers consent on their
    # own tickets; staff send, list and update.
    "GET /transfers/agreements":             ("200 403 403 403 403 403", "200 403 403 403 403 403"),
    "POST /transfers/agreements":            ("201 403 403 403 403 403", "201 403 403 403 403 403"),
    "PATCH /transfers/agreements/{agreement}":
                                             ("200 403 403 403 403 403", "404 403 403 403 403 403"),
    "GET /transfers/partners":               ("200 200 200 200 403 403", "200 200 200 200 403 403"),
    "POST /tickets/{id}/transfer-consents":  ("201 201 201 403 201 404", "404 404 404 404 404 404"),
    "GET /tickets/{id}/transfers":           ("200 200 200 200 403 404", "404 404 404 404 404 404"),
    "POST /tickets/{id}/transfers":          ("200 200 200 403 403 403", "404 404 404 403 403 403"),
    "POST /tickets/{id}/transfers/{transfer}/updates":
                                             ("202 202 202 403 403 404", "404 404 404 404 404 404"),
    # Community Q&A (docs/community.md): the posts are public, so refusing one need not look
    # like its absence (PUBLIC_OBJECTS below); another tenant's staff still find nothing.
    "GET /community/moderation":             ("200 200 200 200 403 403", "200 200 200 200 403 403"),
    "POST /community/questions":             ("201 201 201 403 201 201", "201 201 201 403 201 201"),
    "POST /community/questions/{question}/answers":
                                             ("201 201 201 403 201 201", "404 404 404 404 404 404"),
    "POST /community/posts/{post}/comments": ("201 201 201 403 201 201", "404 404 404 404 404 404"),
    "PUT /community/posts/{post}/vote":      ("200 200 200 403 200 200", "404 404 404 404 404 404"),
    "PUT /community/questions/{question}/accepted":
                                             ("200 200 200 403 200 403", "404 404 404 404 404 404"),
    "DELETE /community/questions/{question}/accepted":
                                             ("200 200 200 403 200 403", "404 404 404 404 404 404"),
    "POST /community/questions/{question}/duplicate":
                                             ("200 200 200 403 403 403", "404 404 404 404 404 404"),
    "POST /community/posts/{post}/reports":  ("201 201 201 403 201 201", "404 404 404 404 404 404"),
    "POST /community/posts/{post}/moderation":
                                             ("200 200 200 403 403 403", "404 404 404 404 404 404"),
    "POST /community/answers/{answer}/promote":
                                             ("201 201 403 403 403 403", "404 404 404 404 404 404"),
    "POST /community/questions/{question}/private":
                                             ("201 201 201 403 403 403", "404 404 404 404 404 404"),
}
# fmt: on
# POST /tickets by another tenant's staff names this tenant's customer as requester in the body:
# that is 422 "no such requester", exactly as for an id that does not exist (checked below).


@dataclass
class World:
    """Two tenants; ``home`` owns every object the matrix asks for."""

    db: Database
    home: Tenant
    away: Tenant
    marker: str  # in the subject of every ticket of home.customer
    note: str  # text of the internal note on `ticket`
    ticket: str  # home.customer's: a public attachment, an agent's reply, an internal note
    public_file: str
    public_filename: str
    note_file: str  # attached to the internal note
    note_filename: str


def upload(client: TestClient, member: Member, filename: str) -> str:
    files = {"file": (filename, b"proof of payment\n", "text/plain")}
    response = client.post(f"{API}/attachments", files=files, headers=member.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture(scope="module")
def world(client: TestClient, db: Database) -> World:
    home, away = make_tenant(db), make_tenant(db)
    tag = uuid.uuid4().hex[:10]
    public_filename, note_filename = f"receipt-{tag}.txt", f"internal-{tag}.txt"
    public_file = upload(client, home.customer, public_filename)
    ticket = new_ticket(
        client, home.customer, subject=f"Withdrawal {tag}-subject", attachment_ids=[public_file]
    )
    tid = ticket["id"]
    note_file = upload(client, home.agent, note_filename)
    note = f"{tag}-note: customer flagged by compliance"
    for body in (
        {"body": note, "visibility": "internal", "attachment_ids": [note_file]},
        {"body": "We are checking the chain."},
    ):
        r = client.post(f"{API}/tickets/{tid}/messages", json=body, headers=home.agent.headers)
        assert r.status_code == 201, r.text
    return World(
        db=db,
        home=home,
        away=away,
        marker=f"{tag}-subject",
        note=note,
        ticket=str(tid),
        public_file=public_file,
        public_filename=public_filename,
        note_file=note_file,
        note_filename=note_filename,
    )


# --- how each row builds its request ---------------------------------------------------------

Ids = dict[str, str]


def fresh_ticket(world: World) -> str:
    """A new ticket of home.customer, for rows that change it (cheaper than going through HTTP)."""
    spec = NewTicket(kind=Kind.QUESTION, subject=f"Refund {world.marker}", body="Please refund.")
    with world.db.writer() as session:
        return do_create_ticket(session, actor_of(world.home.customer, world.home), spec).id


def payout_of(status: str) -> Callable[[World, str], Ids]:
    """A payout of ``status`` on a fresh ticket of home, ready to approve, reject or retry."""

    def setup(world: World, role: str) -> Ids:
        tid = fresh_ticket(world)
        wallet = "0x" + secrets.token_hex(20)
        with world.db.writer() as session:
            org = session.get(Organization, world.home.org_id)
            assert org is not None
            org.merchant_address = "0x" + "11" * 20
            session.add(
                Wallet(
                    organization_id=world.home.org_id,
                    user_id=world.home.customer.user_id,
                    address=wallet,
                    created_at=utc_now(),
                    verified_at=utc_now(),
                )
            )
            row = Payout(
                organization_id=world.home.org_id,
                ticket_id=tid,
                decision_seq=0,
                claim_id="0x" + secrets.token_hex(32),
                kind="escrow",
                customer_id=world.home.customer.user_id,
                recipient=wallet,
                amount="0.1",
                amount_units=str(10**17),
                status=status,
                recorded=True,
                created_at=format_time(utc_now()),
                updated_at=format_time(utc_now()),
            )
            session.add(row)
            session.flush()
            return {"id": tid, "payout": str(row.id)}

    return setup


def sla_policy(world: World, role: str) -> Ids:
    admin = actor_of(world.home.admin, world.home)
    with world.db.writer() as session:
        row = do_create_policy(
            session,
            admin,
            {
                "name": f"p-{unique()}",
                "position": 1,
                "first_response_minutes": 60,
                "warn_before_minutes": 10,
            },
        )
        return {"policy": str(row.id)}


def a_macro(world: World, role: str) -> Ids:
    supervisor = actor_of(world.home.supervisor, world.home)
    with world.db.writer() as session:
        row = do_create_macro(
            session,
            supervisor,
            f"m-{unique()}",
            {"en": "Tag", "zh-CN": "标记"},
            [{"type": "add_tags", "tags": ["macro"]}],
        )
        return {"macro": str(row.id)}


def ticket_and_macro(world: World, role: str) -> Ids:
    return {"id": fresh_ticket(world), **a_macro(world, role)}


def knowledge(world: World, role: str) -> Ids:
    for tenant in (world.home, world.away):
        with world.db.writer() as session:
            for spec in kb_read(KB_DIR):
                kb_save(session, None, tenant.org_id, spec)
    return {}


def an_answer(world: World, role: str) -> Ids:
    knowledge(world, role)
    result = take_turn(
        world.db,
        Models(),
        actor_of(world.home.customer, world.home),
        # A question the knowledge base alone answers (the open-set assistant hands off
        # what its cross-validation is unsure of, "KYC 审核要多久" among them).
        "How long does KYC verification take?",
    )
    assert result.turn.kind == "answer"
    return {"turn": str(result.turn.id)}


def new_order(world: World, role: str) -> Ids:
    return {"order": f"M-{unique()}", "customer": world.home.customer.user_id}


def fresh_team_with_agent2(world: World) -> str:
    with world.db.writer() as session:
        team = Team(
            organization_id=world.home.org_id, name=f"Tier 2 {unique()}", created_at=utc_now()
        )
        session.add(team)
        session.flush()
        session.add(TeamMember(team_id=team.id, user_id=world.home.agent2.user_id))
        return team.id


def fresh_token(world: World, role: str) -> str:
    """A token to revoke: the caller's own, except customer2 who tries the customer's."""
    owner = world.home.members["customer" if role == "customer2" else role]
    with world.db.writer() as session:
        user = session.get(User, owner.user_id)
        assert user is not None
        row, _ = do_issue_api_token(session, user, "to revoke", frozenset({Scope.TICKETS_READ}))
        return row.id


def no_ids(world: World, role: str) -> Ids:
    return {}


def shared_ticket(world: World, role: str) -> Ids:
    return {"id": world.ticket}


def new_ticket_id(world: World, role: str) -> Ids:
    return {"id": fresh_ticket(world)}


def solved_ticket_id(world: World, role: str) -> Ids:
    ticket_id = fresh_ticket(world)
    with world.db.writer() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        do_change_status(session, actor_of(world.home.agent, world.home), ticket, Status.SOLVED)
    return {"id": ticket_id}


def reward_policy() -> str:
    """A reward policy of its own name, so that each publication is a new one."""
    return DEFAULT_SOURCE.replace("name: default", f"name: p{unique()}")


def contract_source() -> str:
    """A small valid contract with a name of its own (applies to every kind)."""
    return f"""apiVersion: proofdesk/v1
kind: ServiceContract
metadata:
  name: matrix-{unique()}
  version: 1
  title: {{en: Matrix, zh-CN: 矩阵}}
spec:
  appliesTo: [question, complaint, warranty_claim, refund_request, transaction_problem]
  facts: {{customer.tier: string}}
  rules:
    - id: vip
      when: customer.tier == "vip"
      decision: valid
      reason: {{en: VIP, zh-CN: 贵宾}}
  otherwise: {{decision: needs_human, reason: {{en: Someone looks, zh-CN: 人工处理}}}}
"""


def published_contract(world: World, role: str) -> Ids:
    admin = actor_of(world.home.admin, world.home)
    with world.db.writer() as session:
        row, _ = do_publish(session, admin, contract_source())
        do_activate(session, admin, row.contract_hash)
        return {"hash": row.contract_hash}


def ticket_and_contract(world: World, role: str) -> Ids:
    return {"id": fresh_ticket(world), **published_contract(world, role)}


def customer_draft(world: World, role: str) -> Ids:
    """A request the owning tenant's customer prepared to file on chain."""
    with world.db.writer() as session:
        draft = do_prepare_chain_request(
            session, actor_of(world.home.customer, world.home), Kind.QUESTION, "On chain", unique()
        )
        return {"id": draft.id}


def two_tickets(world: World, role: str) -> Ids:
    return {"id": fresh_ticket(world), "into": fresh_ticket(world)}


def ticket_and_agent(world: World, role: str) -> Ids:
    return {
        "id": fresh_ticket(world),
        "agent": world.home.agent.user_id,
        "team": world.home.team_id,
    }


def requester(world: World, role: str) -> Ids:
    return {"requester": world.home.customer.user_id}


def the_customer(world: World, role: str) -> Ids:
    return {"user": world.home.customer.user_id}


def agent2(world: World, role: str) -> Ids:
    return {"user": world.home.agent2.user_id}


def team_and_agent2(world: World, role: str) -> Ids:
    return {"team": world.home.team_id, "user": world.home.agent2.user_id}


def new_team_and_agent2(world: World, role: str) -> Ids:
    return {"team": fresh_team_with_agent2(world), "user": world.home.agent2.user_id}


def new_token(world: World, role: str) -> Ids:
    return {"token": fresh_token(world, role)}


def public_file(world: World, role: str) -> Ids:
    return {"file": world.public_file}


def note_file(world: World, role: str) -> Ids:
    return {"file": world.note_file}


def no_endpoints(world: World, role: str) -> Ids:
    """Home without webhook endpoints (an organization may have only so many)."""
    with world.db.reader() as session:
        ids = session.scalars(
            select(WebhookEndpoint.id).where(WebhookEndpoint.organization_id == world.home.org_id)
        ).all()
    for endpoint_id in ids:
        unsubscribe(world.db, world.home, endpoint_id)
    return {}


def an_endpoint(world: World, role: str) -> Ids:
    """A webhook endpoint of home, subscribed to new tickets (and no other)."""
    no_endpoints(world, role)
    endpoint_id, _ = subscribe(world.db, world.home, "http://127.0.0.1:9/hook", ["ticket.created"])
    return {"endpoint": endpoint_id}


def a_delivery(world: World, role: str) -> Ids:
    """An endpoint of home and the delivery a new ticket queued for it."""
    ids = an_endpoint(world, role)
    fresh_ticket(world)
    with world.db.reader() as session:
        delivery = session.scalars(
            select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == ids["endpoint"])
        ).first()
    assert delivery is not None
    return {**ids, "delivery": delivery}


def an_agreement(world: World, role: str) -> Ids:
    """An active transfer agreement of home with a partner nobody listens for."""
    admin = actor_of(world.home.admin, world.home)
    key = public_key_text(Ed25519PrivateKey.generate())
    with world.db.writer() as session:
        row = do_make_agreement(
            session,
            admin,
            UrlPolicy(allow_private=True),
            name="Partner",
            peer_url="http://127.0.0.1:9/api/v1",
            peer_organization=f"partner-{unique()}",
            peer_key=key,
        )
        return {"agreement": row.id}


def ticket_and_agreement(world: World, role: str) -> Ids:
    return {"id": fresh_ticket(world), **an_agreement(world, role)}


def a_sent_transfer(world: World, role: str) -> Ids:
    """A ticket of home that went to a partner already (so sending it again sends nothing)."""
    ids = ticket_and_agreement(world, role)
    with world.db.writer() as session:
        ticket = session.get(Ticket, ids["id"])
        agreement = session.get(TransferAgreement, ids["agreement"])
        assert ticket is not None and agreement is not None
        admin = actor_of(world.home.admin, world.home)
        row = do_consent_transfer(session, admin, ticket, agreement, ["subject"])
        row.status = "sent"
        return {**ids, "transfer": row.transfer_id}


def community_question(world: World, role: str) -> Ids:
    """A published question of home's agent2 (no role of the matrix wrote it)."""
    with world.db.writer() as session:
        posted = community.do_ask(
            session,
            actor_of(world.home.agent2, world.home),
            community.CommunityLimits(),
            title="How do I change my payout wallet?",
            body="I moved to a new wallet.",
        )
        return {"question": posted.post.id, "post": posted.post.id}


def customer_question_with_answer(world: World, role: str, *, accepted: bool = False) -> Ids:
    """A question of home's customer (approved by an agent) with an answer of agent2."""
    agent = actor_of(world.home.agent, world.home)
    with world.db.writer() as session:
        question = community.do_ask(
            session,
            actor_of(world.home.customer, world.home),
            community.CommunityLimits(posts_per_hour=10**6, hold_days=0),
            title="Why is my deposit not credited?",
            body="It has six confirmations.",
        ).post
        reply = community.do_answer(
            session,
            actor_of(world.home.agent2, world.home),
            community.CommunityLimits(),
            question,
            body="Deposits need twelve confirmations.",
        ).post
        if accepted:
            community.do_accept(session, agent, question, reply)
        return {"question": question.id, "answer": reply.id}


def accepted_answer(world: World, role: str) -> Ids:
    return customer_question_with_answer(world, role, accepted=True)


def two_questions(world: World, role: str) -> Ids:
    first, second = community_question(world, role), community_question(world, role)
    return {"question": first["question"], "original": second["question"]}


def promotion(ids: Ids, role: str) -> dict[str, Any]:
    return {
        "json": {
            "slug": f"deposit-{unique()}",
            "intent": "deposit_confirmations",
            "other_title": "充值为什么没有到账",
            "other_body": "充值需要十二个确认。",
        }
    }


def unique() -> str:
    return uuid.uuid4().hex[:12]


def open_ticket(ids: Ids, role: str) -> dict[str, Any]:
    body = {"kind": "question", "subject": "Opened in the matrix", "body": "Where is my refund?"}
    if role not in ("customer", "customer2"):
        body["requester_id"] = ids["requester"]
    return {"json": body}


def json_body(value: dict[str, Any] | Callable[[Ids], dict[str, Any]]) -> Callable[..., Any]:
    def payload(ids: Ids, role: str) -> dict[str, Any]:
        return {"json": value(ids) if callable(value) else value}

    return payload


def nothing(ids: Ids, role: str) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Call:
    setup: Callable[[World, str], Ids] = no_ids
    payload: Callable[[Ids, str], dict[str, Any]] = nothing


CALLS: dict[str, Call] = {
    "GET /tickets": Call(),
    "POST /tickets": Call(requester, open_ticket),
    "GET /tickets/-/counts": Call(),
    "GET /tickets/{id}": Call(shared_ticket),
    "PATCH /tickets/{id}": Call(new_ticket_id, json_body({"priority": "high"})),
    "POST /tickets/{id}/status (solved)": Call(new_ticket_id, json_body({"status": "solved"})),
    "POST /tickets/{id}/status (on_hold)": Call(new_ticket_id, json_body({"status": "on_hold"})),
    "PUT /tickets/{id}/assignment": Call(
        ticket_and_agent,
        json_body(lambda ids: {"assignee_id": ids["agent"], "team_id": ids["team"]}),
    ),
    "POST /tickets/{id}/tags": Call(new_ticket_id, json_body({"add": ["vip"]})),
    "POST /tickets/{id}/rating": Call(solved_ticket_id, json_body({"score": 4})),
    "POST /tickets/{id}/merge": Call(two_tickets, json_body(lambda ids: {"into": ids["into"]})),
    "GET /tickets/{id}/messages": Call(shared_ticket),
    "GET /tickets/{id}/changes": Call(shared_ticket),
    "GET /tickets/{id}/receipt": Call(shared_ticket),
    "POST /tickets/{id}/messages (reply)": Call(new_ticket_id, json_body({"body": "Any news?"})),
    "POST /tickets/{id}/messages (note)": Call(
        new_ticket_id, json_body({"body": "Escalate.", "visibility": "internal"})
    ),
    "GET /tickets/{id}/events": Call(shared_ticket),
    "GET /users": Call(),
    "POST /users (customer)": Call(
        payload=json_body(lambda _: {"display_name": "Ada", "email": f"{unique()}@example.com"})
    ),
    "POST /users (agent)": Call(
        payload=json_body(
            lambda _: {"display_name": "Bo", "email": f"{unique()}@example.com", "role": "agent"}
        )
    ),
    "GET /users/{user}": Call(the_customer),
    "PATCH /users/{user}": Call(the_customer, json_body({"display_name": "Customer One"})),
    "PATCH /users/{user} (staff)": Call(agent2, json_body({"display_name": "Agent Two"})),
    "PATCH /users/{user} (role)": Call(agent2, json_body({"role": "supervisor"})),
    "POST /users/{user}/wallets": Call(
        the_customer, json_body(lambda _: {"address": "0x" + secrets.token_hex(20)})
    ),
    "POST /users/{user}/orders": Call(
        the_customer,
        json_body(lambda _: {"external_id": unique(), "amount": "12.50", "currency": "USDT"}),
    ),
    "GET /teams": Call(),
    "POST /teams": Call(payload=json_body(lambda _: {"name": f"Escalations {unique()}"})),
    "PUT /teams/{team}/members/{user}": Call(team_and_agent2),
    "DELETE /teams/{team}/members/{user}": Call(new_team_and_agent2),
    "GET /organization": Call(),
    "GET /auth/me": Call(),
    "GET /auth/tokens": Call(),
    "POST /auth/tokens": Call(payload=json_body({"name": "ci", "scopes": ["tickets:read"]})),
    "DELETE /auth/tokens/{token}": Call(new_token),
    "POST /auth/logout/all": Call(),
    "PUT /auth/me/email": Call(payload=json_body(lambda ids: {"email": f"{unique()}@x.example"})),
    "POST /auth/mfa/totp/setup": Call(),
    "POST /auth/mfa/totp/enable": Call(payload=json_body({"code": "000000"})),
    "POST /auth/mfa/recovery-codes": Call(payload=json_body({"code": "000000"})),
    "POST /auth/mfa/totp/disable": Call(payload=json_body({"code": "000000"})),
    "POST /contracts": Call(payload=json_body(lambda ids: {"source": contract_source()})),
    "POST /contracts/{hash}/activate": Call(published_contract),
    "POST /tickets/{id}/decisions": Call(
        ticket_and_contract, json_body(lambda ids: {"contract_hash": ids["hash"], "facts": {}})
    ),
    "POST /tickets/{id}/decisions/dry-run": Call(
        new_ticket_id, json_body(lambda ids: {"source": contract_source()})
    ),
    "PUT /organization/mfa": Call(payload=json_body({"require_for_agents": False})),
    "PUT /orders/{order}": Call(
        new_order,
        json_body(
            lambda ids: {
                "customer_id": ids["customer"],
                "amount": "1.5",
                "currency": "ETH",
                "status": "paid",
            }
        ),
    ),
    "POST /organization/webhook-secret": Call(),
    "PUT /organization/escrow": Call(payload=json_body({"merchant_address": "0x" + "22" * 20})),
    "GET /tickets/{id}/payouts": Call(shared_ticket),
    "GET /sla/policies": Call(),
    "POST /sla/policies": Call(
        payload=json_body(lambda ids: {"name": f"p-{unique()}", "first_response_minutes": 60})
    ),
    "PUT /sla/policies/{policy}": Call(
        sla_policy, json_body(lambda ids: {"name": f"p-{unique()}", "resolution_minutes": 600})
    ),
    "DELETE /sla/policies/{policy}": Call(sla_policy),
    "GET /tickets/{id}/sla": Call(shared_ticket),
    "GET /macros": Call(),
    "POST /chain-requests": Call(
        payload=json_body({"kind": "question", "subject": "On chain", "body": "Deposit missing"})
    ),
    "GET /chain-requests/{id}": Call(customer_draft),
    "POST /assistant/messages": Call(knowledge, json_body({"text": "how long does KYC take"})),
    "POST /assistant/turns/{turn}/feedback": Call(an_answer, json_body({"helpful": True})),
    "GET /kb/articles": Call(),
    "GET /tickets/{id}/assist": Call(
        lambda world, role: {**knowledge(world, role), **shared_ticket(world, role)}
    ),
    "GET /analytics/assistant": Call(),
    "GET /analytics/top-issues": Call(knowledge),
    "GET /analytics/helpdesk": Call(),
    "GET /analytics/helpdesk.csv": Call(payload=lambda ids, role: {"params": {"chart": "summary"}}),
    "PUT /kb/articles": Call(
        payload=json_body(
            lambda ids: {
                "slug": f"a-{unique()}",
                "locale": "en",
                "title": "T",
                "body": "B",
                "intent": "matrix",
            }
        )
    ),
    "POST /macros": Call(
        payload=json_body(
            lambda ids: {
                "name": f"m-{unique()}",
                "title": {"en": "Tag", "zh-CN": "标记"},
                "actions": [{"type": "add_tags", "tags": ["macro"]}],
            }
        )
    ),
    "DELETE /macros/{macro}": Call(a_macro),
    "POST /tickets/{id}/macros/{macro}": Call(ticket_and_macro),
    "GET /payouts": Call(),
    "POST /rewards/policies": Call(payload=json_body(lambda _: {"source": reward_policy()})),
    "GET /rewards/points": Call(),
    "GET /rewards/ledger": Call(),
    "POST /rewards/epochs": Call(),
    "POST /rewards/epochs/0/publish": Call(),
    "POST /payouts/{payout}/approve": Call(payout_of("held"), json_body({})),
    "POST /payouts/{payout}/reject": Call(payout_of("held"), json_body({"reason": "duplicate"})),
    "POST /payouts/{payout}/retry": Call(payout_of("failed")),
    "POST /auth/siwe/link": Call(
        payload=json_body({"message": "not EIP-4361", "signature": "0x00"})
    ),
    "POST /auth/logout": Call(),
    "POST /attachments": Call(
        payload=lambda ids, role: {"files": {"file": ("tx.txt", b"0xabc\n", "text/plain")}}
    ),
    "GET /attachments/{file}": Call(public_file),
    "GET /attachments/{file} (note)": Call(note_file),
    "GET /webhooks/endpoints": Call(),
    "POST /webhooks/endpoints": Call(
        no_endpoints,
        payload=json_body({"url": "http://127.0.0.1:9/hook", "event_types": ["ticket.created"]}),
    ),
    "GET /webhooks/endpoints/{endpoint}": Call(an_endpoint),
    "PATCH /webhooks/endpoints/{endpoint}": Call(an_endpoint, json_body({"enabled": False})),
    "DELETE /webhooks/endpoints/{endpoint}": Call(an_endpoint),
    "POST /webhooks/endpoints/{endpoint}/rotate-secret": Call(an_endpoint),
    "GET /webhooks/endpoints/{endpoint}/deliveries": Call(a_delivery),
    "GET /webhooks/endpoints/{endpoint}/deliveries/{delivery}": Call(a_delivery),
    "POST /webhooks/endpoints/{endpoint}/deliveries/{delivery}/redeliver": Call(a_delivery),
    "GET /transfers/agreements": Call(),
    "POST /transfers/agreements": Call(
        payload=json_body(
            lambda ids: {
                "name": "Wallet provider",
                "peer_url": "http://127.0.0.1:9/api/v1",
                "peer_organization": f"partner-{unique()}",
            }
        )
    ),
    "PATCH /transfers/agreements/{agreement}": Call(an_agreement, json_body({"peer_key": None})),
    "GET /transfers/partners": Call(),
    "POST /tickets/{id}/transfer-consents": Call(
        ticket_and_agreement,
        json_body(lambda ids: {"agreement_id": ids["agreement"], "fields": ["subject"]}),
    ),
    "GET /tickets/{id}/transfers": Call(shared_ticket),
    "POST /tickets/{id}/transfers": Call(
        a_sent_transfer, json_body(lambda ids: {"transfer_id": ids["transfer"]})
    ),
    "POST /tickets/{id}/transfers/{transfer}/updates": Call(
        a_sent_transfer, json_body({"message": "Found it on our side."})
    ),
    "GET /community/moderation": Call(),
    "POST /community/questions": Call(
        payload=json_body({"title": "Asked in the matrix", "body": "How do fees work?"})
    ),
    "POST /community/questions/{question}/answers": Call(
        community_question, json_body({"body": "An answer from the matrix."})
    ),
    "POST /community/posts/{post}/comments": Call(
        community_question, json_body({"body": "A comment from the matrix."})
    ),
    "PUT /community/posts/{post}/vote": Call(community_question, json_body({"value": 1})),
    "PUT /community/questions/{question}/accepted": Call(
        customer_question_with_answer, json_body(lambda ids: {"answer_id": ids["answer"]})
    ),
    "DELETE /community/questions/{question}/accepted": Call(accepted_answer),
    "POST /community/questions/{question}/duplicate": Call(
        two_questions, json_body(lambda ids: {"original_id": ids["original"]})
    ),
    "POST /community/posts/{post}/reports": Call(
        community_question, json_body({"reason": "off topic"})
    ),
    "POST /community/posts/{post}/moderation": Call(
        community_question, json_body({"action": "hide", "reason": "off topic"})
    ),
    "POST /community/answers/{answer}/promote": Call(accepted_answer, promotion),
    "POST /community/questions/{question}/private": Call(community_question),
}


# --- the matrix --------------------------------------------------------------------------------


def method_and_path(label: str) -> tuple[str, str]:
    method, path = label.split()[:2]
    return method, path


def expected(label: str, role: str, tenant: str) -> int:
    row = EXPECTED[label][TENANTS.index(tenant)].split()
    return int(row[ROLES.index(role)])


def send(client: TestClient, label: str, ids: Ids, role: str, member: Member) -> Response:
    method, path = method_and_path(label)
    kwargs = CALLS[label].payload(ids, role)
    url = API + path.format(**ids)
    return client.request(method, url, headers=member.headers, **kwargs)


def footprint(db: Database, org_id: str) -> dict[str, int]:
    """Row counts of everything a write can change in one organization."""
    queries = {
        "events": select(func.count()).where(TicketEvent.organization_id == org_id),
        "users": select(func.count()).where(User.organization_id == org_id),
        "teams": select(func.count()).where(Team.organization_id == org_id),
        "members": select(func.count())
        .select_from(TeamMember)
        .join(Team, Team.id == TeamMember.team_id)
        .where(Team.organization_id == org_id),
        "wallets": select(func.count()).where(Wallet.organization_id == org_id),
        "orders": select(func.count()).where(Order.organization_id == org_id),
        "attachments": select(func.count()).where(Attachment.organization_id == org_id),
        "webhook endpoints": select(func.count()).where(WebhookEndpoint.organization_id == org_id),
        "enabled webhook endpoints": select(func.count()).where(
            WebhookEndpoint.organization_id == org_id, WebhookEndpoint.enabled.is_(True)
        ),
        "live tokens": select(func.count())
        .select_from(ApiToken)
        .join(User, User.id == ApiToken.user_id)
        .where(User.organization_id == org_id, ApiToken.revoked_at.is_(None)),
    }
    with db.reader() as session:
        return {name: session.scalar(query) or 0 for name, query in queries.items()}


def hidden_from(world: World, role: str, tenant: str) -> set[str]:
    """What must not appear in any response to this caller."""
    hidden: set[str] = set()
    if role in ("customer", "customer2"):
        hidden |= {world.note, world.note_filename}
    if role == "customer2" or tenant == "other":
        hidden |= {world.marker, world.ticket, world.public_filename, world.home.customer.email}
    if tenant == "other":
        hidden |= {world.home.org_id, world.home.slug, world.home.team_id}
    return hidden


def error_of(response: Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["details"], dict), error
    return error


#: Rows about objects anyone may read (community posts): a refusal of the role's duty there
#: need not look like a missing object, since the object is in plain view.
PUBLIC_OBJECTS = frozenset(label for label in EXPECTED if label.split()[1].startswith("/community"))


def cells() -> Iterator[Any]:
    for label in EXPECTED:
        for role in ROLES:
            for tenant in TENANTS:
                yield pytest.param(label, role, tenant, id=f"{label}-{role}-{tenant}")


@pytest.mark.parametrize(("label", "role", "tenant"), list(cells()))
def test_matrix(client: TestClient, world: World, label: str, role: str, tenant: str) -> None:
    want = expected(label, role, tenant)
    member = (world.home if tenant == "own" else world.away).members[role]
    ids = CALLS[label].setup(world, role)
    writes = method_and_path(label)[0] != "GET"
    # A refused write changes nothing; nothing another tenant does changes this one.
    must_not_change = writes and (want >= 400 or tenant == "other")
    before = footprint(world.db, world.home.org_id) if must_not_change else None

    response = send(client, label, ids, role, member)

    assert response.status_code == want, response.text
    asked = str(response.request.url) + response.request.content.decode(errors="replace")
    hidden = {text for text in hidden_from(world, role, tenant) if text not in asked}
    assert not {text for text in hidden if text in response.text}, response.text
    if must_not_change:
        assert footprint(world.db, world.home.org_id) == before
    if want < 400:
        return
    error = error_of(response)
    if want == 404:
        assert error["code"] == "not_found", error
    if want == 403:
        # (and the one refusal that is about the role's own duty, not access)
        assert error["code"] in (
            "forbidden",
            "missing_scope",
            "mfa_required_for_role",
            "not_a_customer",
        ), error
    public_403 = want == 403 and label in PUBLIC_OBJECTS and tenant == "own"
    if ids and (want != 403 or role == "customer2" or tenant == "other") and not public_403:
        # Someone else's object must look like no object at all.
        ghost = send(client, label, {k: str(uuid.uuid4()) for k in ids}, role, member)
        assert ghost.status_code == want, ghost.text
        ghost_error = error_of(ghost)
        assert (ghost_error["code"], ghost_error["message"]) == (error["code"], error["message"])


def test_matrix_covers_every_endpoint(client: TestClient) -> None:
    """A new endpoint fails here until it has a row in the matrix."""

    def shape(method: str, path: str) -> tuple[str, str]:
        # A row may name a number where the route has a parameter (no object needed to refuse).
        path = re.sub(r"/\d+(?=/|$)", "/{}", path.removeprefix(API))
        return method.upper(), re.sub(r"\{[^}]*\}", "{}", path)

    paths = client.get(f"{API}/openapi.json").json()["paths"]
    public = {("POST", "/auth/login"), ("GET", "/health")}
    public |= {("POST", "/auth/siwe/nonce"), ("POST", "/auth/siwe/verify")}
    public |= {("GET", "/auth/typed-data")}  # the EIP-712 domain: public by nature
    # Published contracts are the promise made to customers: public (docs/contracts.md).
    public |= {("GET", "/contracts"), ("GET", "/contracts/{}")}
    public |= {("GET", "/contracts/activations/receipt")}
    # The log is public by design: leaf records and proofs, no content (docs/ledger.md).
    public |= {("GET", f"/log/{p}") for p in ("checkpoint", "checkpoints/{}", "key", "entries")}
    public |= {("GET", "/log/proof/inclusion"), ("GET", "/log/proof/consistency")}
    # So are its anchors and the chain they are on (docs/chain.md).
    public |= {("GET", "/log/anchors"), ("GET", "/chain")}
    # Shops' order webhooks authenticate by their HMAC signature (docs/contracts.md).
    public |= {("POST", "/webhooks/orders")}
    # Telegram delivers updates with the bot's secret token, not a credential (docs/telegram.md).
    public |= {("POST", "/telegram/{}/webhook")}
    # The Ed25519 key that verifies outbound webhooks is public by nature (docs/webhooks.md).
    public |= {("GET", "/webhooks/signing-key")}
    # The log as C2SP tiles, and the witness (it authenticates logs by their signatures, and
    # its key is public): docs/consortium.md. The networks tickets may name: docs/networks.md.
    public |= {
        ("GET", "/log/tile/{}"),
        ("GET", "/witness/key"),
        ("POST", "/witness/add-checkpoint"),
    }
    public |= {("GET", "/networks")}
    # A reward policy and the epochs' roots are published for anyone to check (docs/rewards.md).
    public |= {("GET", "/rewards/policy"), ("GET", "/rewards/epochs")}
    # A partner's transfer bundles and updates authenticate by the agreement key's signature,
    # and our transfer key is public by nature (docs/consortium.md).
    public |= {("GET", "/transfers/key"), ("POST", "/transfers/inbound")}
    public |= {("POST", "/transfers/updates")}
    # Shop visitors chat without an account: the conversation's random id is the key
    # (docs/web.md, tests/web/test_widget_guests.py).
    public |= {
        ("POST", "/widget/messages"),
        ("POST", "/widget/turns/{}/feedback"),
        ("POST", "/widget/conversations/{}/contact"),
        ("GET", "/widget/conversations/{}/messages"),
        ("POST", "/widget/conversations/{}/messages"),
    }
    # The community is read by anyone (docs/community.md).
    public |= {("GET", "/community/questions"), ("GET", "/community/questions/{}")}
    public |= {("GET", "/community/similar"), ("GET", "/community/attachments/{}")}
    routes = {shape(method, path) for path, item in paths.items() for method in item}
    assert routes - {shape(*m) for m in public} == {
        shape(*method_and_path(label)) for label in EXPECTED
    }
    assert set(CALLS) == set(EXPECTED)


# --- internal notes, scopes, CSRF --------------------------------------------------------------


def test_internal_notes_never_reach_customers(client: TestClient, world: World) -> None:
    tid, customer, agent = world.ticket, world.home.customer, world.home.agent

    staff_view = client.get(f"{API}/tickets/{tid}/messages", headers=agent.headers)
    assert world.note in staff_view.text  # the note exists: the checks below mean something
    messages = client.get(f"{API}/tickets/{tid}/messages", headers=customer.headers)
    assert messages.status_code == 200
    assert {m["visibility"] for m in messages.json()} == {"public"}
    assert world.note not in messages.text
    assert world.note_filename not in messages.text

    ticket = client.get(f"{API}/tickets/{tid}", headers=customer.headers)
    assert ticket.status_code == 200
    assert world.note not in ticket.text

    def search(member: Member, text: str) -> list[str]:
        r = client.get(f"{API}/tickets", params={"q": text}, headers=member.headers)
        assert r.status_code == 200, r.text
        return [t["id"] for t in r.json()["items"]]

    assert search(agent, world.note) == [tid]
    assert search(customer, world.note) == []
    assert search(customer, world.note.split(":")[0]) == []
    assert search(customer, "checking the chain") == [tid]  # public replies are searchable

    events = client.get(f"{API}/tickets/{tid}/events", headers=customer.headers)
    assert events.status_code == 403
    assert error_of(events)["code"] == "forbidden"
    assert world.note not in events.text

    download = client.get(f"{API}/attachments/{world.note_file}", headers=customer.headers)
    assert download.status_code == 404


@pytest.fixture(scope="module")
def read_only(client: TestClient, world: World) -> Member:
    """The home admin, through a token that holds only ``tickets:read``."""
    admin = world.home.admin
    r = client.post(
        f"{API}/auth/tokens",
        json={"name": "dashboard", "scopes": ["tickets:read"]},
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    return Member(admin.user_id, admin.role, r.json()["token"], admin.email)


WRITES = [
    label
    for label in EXPECTED
    if method_and_path(label)[0] != "GET" and not label.split()[1].startswith("/auth/")
]


@pytest.mark.parametrize("label", WRITES)
def test_read_only_token_cannot_write(
    client: TestClient, world: World, read_only: Member, label: str
) -> None:
    ids = CALLS[label].setup(world, "admin")
    before = footprint(world.db, world.home.org_id)
    response = send(client, label, ids, "admin", read_only)
    assert response.status_code == 403, response.text
    assert error_of(response)["code"] == "missing_scope"
    assert footprint(world.db, world.home.org_id) == before


def test_read_only_token_reads_and_cannot_widen_itself(
    client: TestClient, world: World, read_only: Member
) -> None:
    r = client.get(f"{API}/tickets/{world.ticket}", headers=read_only.headers)
    assert r.status_code == 200, r.text
    r = client.post(
        f"{API}/auth/tokens",
        json={"name": "wider", "scopes": ["tickets:read", "tickets:write"]},
        headers=read_only.headers,
    )
    assert r.status_code == 403, r.text
    assert error_of(r)["code"] == "missing_scope"


PASSWORD = "correct horse battery"


def test_cookie_session_writes_need_the_csrf_header(client: TestClient, db: Database) -> None:
    tenant = make_tenant(db, password=PASSWORD)
    ticket = new_ticket(client, tenant.customer)
    browser = TestClient(client.app, raise_server_exceptions=False)  # a cookie jar of its own
    login = browser.post(
        f"{API}/auth/login",
        json={"organization": tenant.slug, "email": tenant.agent.email, "password": PASSWORD},
    )
    assert login.status_code == 200, login.text
    csrf = login.json()["csrf_token"]
    assert browser.cookies.get("pd_session") == login.json()["token"]

    me = browser.get(f"{API}/auth/me")  # reads need no CSRF header
    assert me.status_code == 200
    assert me.json()["id"] == tenant.agent.user_id

    url = f"{API}/tickets/{ticket['id']}/messages"
    before = footprint(db, tenant.org_id)
    for headers in ({}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": csrf[:-1] + "x"}):
        r = browser.post(url, json={"body": "Checking now."}, headers=headers)
        assert r.status_code == 403, r.text
        assert error_of(r)["code"] == "csrf_failed"
    r = browser.post(f"{API}/auth/logout")
    assert r.status_code == 403
    assert error_of(r)["code"] == "csrf_failed"
    assert footprint(db, tenant.org_id) == before

    r = browser.post(url, json={"body": "Checking now."}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    r = browser.post(f"{API}/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    browser.cookies.set("pd_session", login.json()["token"])  # the ended session stays ended
    r = browser.get(f"{API}/auth/me")
    assert r.status_code == 401
    assert error_of(r)["code"] == "bad_session"
