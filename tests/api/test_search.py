"""The one search (``access.search_tickets`` over ``search_terms``): Chinese and English text,
identifiers matched exactly, and access — a customer finds only their own tickets and never
by an internal note, another tenant finds nothing; a property over random tickets checks the
results against the tickets the actor may read. Through the API's ``q`` on both databases."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proofdesk.access import TicketFilter, search_tickets
from proofdesk.actions import tickets as actions
from proofdesk.actions.rebuild import do_rebuild_all
from proofdesk.canonical import utc_now
from proofdesk.domain.tickets import Kind, Visibility
from proofdesk.store.db import Database
from proofdesk.store.models import Ticket, Wallet
from proofdesk.store.projections import check_projections
from tests.support.tenants import Member, Tenant, actor_of, new_ticket

TX = "0x" + "ab" * 32
OTHER_TX = "0x" + "ab" * 31 + "ac"
WALLET = "0x" + "12" * 20


def found(client: TestClient, who: Member, q: str) -> set[str]:
    r = client.get("/api/v1/tickets", headers=who.headers, params={"q": q, "limit": 200})
    assert r.status_code == 200, r.text
    return {t["id"] for t in r.json()["items"]}


def note(client: TestClient, who: Member, ticket_id: object, body: str, internal: bool) -> None:
    r = client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        headers=who.headers,
        json={"body": body, "visibility": "internal" if internal else "public"},
    )
    assert r.status_code == 201, r.text


def test_chinese_and_english_words(client: TestClient, tenant: Tenant) -> None:
    a = tenant.agent
    cn = new_ticket(
        client, tenant.customer, subject="提现问题", body="我的提现没到账，已经三个小时"
    )
    en = new_ticket(client, tenant.customer, subject="Deposit", body="My withdrawals are stuck")
    assert found(client, a, "提现") == {cn["id"]}
    assert found(client, a, "到账") == {cn["id"]}  # inside a run of Chinese without spaces
    assert found(client, a, "提现没到账") == {cn["id"]}
    assert found(client, a, "提") == {cn["id"]}  # one character: the words it begins
    assert found(client, a, "充值") == set()
    assert found(client, a, "withdrawal") == {en["id"]}  # a word finds the words it begins
    assert found(client, a, "WITHDRAWALS stuck") == {en["id"]}  # all words, any case
    assert found(client, a, "withdrawals gone") == set()
    assert found(client, a, f"#{cn['number']}") == {cn["id"]}
    # The customer finds their own by public text too.
    assert found(client, tenant.customer, "提现") == {cn["id"]}


def test_identifiers_match_exactly(client: TestClient, tenant: Tenant, db: Database) -> None:
    a = tenant.agent
    tx = new_ticket(
        client, tenant.customer, kind="transaction_problem", subject="Stuck", tx_hash=TX
    )
    other = new_ticket(
        client, tenant.customer, kind="transaction_problem", subject="Stuck", tx_hash=OTHER_TX
    )
    order = new_ticket(
        client, tenant.customer, kind="refund_request", subject="Refund", order_id="ORD-1042"
    )
    new_ticket(
        client, tenant.customer, kind="refund_request", subject="Refund", order_id="ORD-10420"
    )
    in_text = new_ticket(
        client, tenant.customer, subject="Wallet", body=f"sent from {WALLET.upper()[2:]} ok"
    )
    assert found(client, a, TX) == {tx["id"]}
    assert found(client, a, TX.upper().replace("0X", "0x")) == {tx["id"]}
    assert found(client, a, OTHER_TX) == {other["id"]}
    assert found(client, a, TX[:40]) == set()  # a hash's beginning is not the hash
    assert found(client, a, "ORD-1042") == {order["id"]}
    assert found(client, a, "ord-1042") == {order["id"]}
    assert found(client, a, WALLET[2:]) == {in_text["id"]}  # any case, in a message
    # A wallet linked to the customer finds the customer's tickets.
    with db.writer() as session:
        session.add(
            Wallet(
                organization_id=tenant.org_id,
                user_id=tenant.customer2.user_id,
                address=WALLET,
                created_at=utc_now(),
            )
        )
    theirs = new_ticket(client, a, requester_id=tenant.customer2.user_id, subject="Hello")
    assert theirs["id"] in found(client, a, WALLET)


def test_customer_name_and_email_for_staff(client: TestClient, tenant: Tenant) -> None:
    t = new_ticket(client, tenant.agent, requester_id=tenant.customer2.user_id, subject="Hi")
    assert t["id"] in found(client, tenant.agent, "customer2")
    assert t["id"] in found(client, tenant.agent, tenant.customer2.email)
    assert t["id"] in found(client, tenant.auditor, tenant.customer2.email)  # read-only, fine
    assert found(client, tenant.customer, tenant.customer2.email) == set()


def test_access(client: TestClient, tenant: Tenant, other_tenant: Tenant) -> None:
    theirs = new_ticket(
        client, tenant.customer2, kind="transaction_problem", subject="Mine", tx_hash=TX
    )
    mine = new_ticket(client, tenant.customer, subject="Mine too")
    note(client, tenant.agent, mine["id"], "escalate: suspected phishing 钓鱼", internal=True)
    note(client, tenant.agent, mine["id"], "we are looking into it", internal=False)
    # Another customer's transaction hash finds nothing for this customer.
    assert found(client, tenant.customer, TX) == set()
    assert found(client, tenant.customer2, TX) == {theirs["id"]}
    assert found(client, tenant.agent, TX) == {theirs["id"]}
    # Internal notes: staff find by them, customers never.
    assert found(client, tenant.agent, "phishing") == {mine["id"]}
    assert found(client, tenant.agent, "钓鱼") == {mine["id"]}
    assert found(client, tenant.customer, "phishing") == set()
    assert found(client, tenant.customer, "钓鱼") == set()
    assert found(client, tenant.customer, "looking") == {mine["id"]}
    # Another tenant finds nothing, staff or customer, by words, hash or number.
    for who in (other_tenant.agent, other_tenant.admin, other_tenant.customer):
        for q in ("Mine", TX, "phishing", f"#{mine['number']}"):
            assert found(client, who, q) == set()


def test_rebuild_keeps_the_index_and_erasure_scrubs_it(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    t = new_ticket(client, tenant.customer, subject="提现没到账", body="unique-marker-3141")
    note(client, tenant.agent, t["id"], "internalword", internal=True)
    assert check_projections(db) == []
    do_rebuild_all(db)
    assert found(client, tenant.agent, "unique-marker-3141") == {t["id"]}
    assert found(client, tenant.agent, "到账") == {t["id"]}
    assert found(client, tenant.customer, "internalword") == set()
    assert check_projections(db) == []


# --- the property: results are exactly the tickets the actor may read that hold the word


CJK = ["提现", "到账", "钓鱼", "冻结"]
LATIN = ["withdrawal", "deposit", "kyc", "ord-77", TX]
WORDS = CJK + LATIN


@dataclass
class Made:
    requester: str
    public: set[str] = field(default_factory=set)
    internal: set[str] = field(default_factory=set)


def _text(words: list[str]) -> str:
    chinese = "".join(w for w in words if w in CJK)  # written without spaces
    return " ".join([chinese, *(w for w in words if w not in CJK)]).strip() or "hello"


ticket_specs = st.lists(
    st.tuples(
        st.sampled_from(["customer", "customer2"]),
        st.lists(st.sampled_from(WORDS), max_size=3),  # the first message, public
        st.lists(st.sampled_from(WORDS), max_size=3),  # an internal note
    ),
    min_size=1,
    max_size=4,
)


def test_results_are_the_readable_tickets_holding_the_word(
    db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    made: dict[str, Made] = {}
    agent = actor_of(tenant.agent, tenant)

    @settings(
        max_examples=15,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(specs=ticket_specs, word=st.sampled_from(WORDS))
    def check(specs: list[tuple[str, list[str], list[str]]], word: str) -> None:
        with db.writer() as session:
            for requester, public, internal in specs:
                customer = tenant.members[requester]
                state = actions.do_create_ticket(
                    session,
                    actor_of(customer, tenant),
                    actions.NewTicket(kind=Kind.QUESTION, subject="s", body=_text(public)),
                )
                row = session.get(Ticket, state.id)
                assert row is not None
                if internal:
                    actions.do_add_message(
                        session, agent, row, body=_text(internal), visibility=Visibility.INTERNAL
                    )
                made[state.id] = Made(customer.user_id, set(public), set(internal))
        readers = [
            (tenant.agent, tenant),
            (tenant.auditor, tenant),
            (tenant.customer, tenant),
            (tenant.customer2, tenant),
            (other_tenant.agent, other_tenant),
        ]
        for member, org in readers:
            actor = actor_of(member, org)
            with db.reader() as session:
                got = set(
                    session.scalars(
                        search_tickets(actor, TicketFilter(text=word)).with_only_columns(Ticket.id)
                    )
                )
            want = {
                tid
                for tid, m in made.items()
                if org is tenant
                and (actor.is_staff or m.requester == actor.user_id)
                and (word in m.public or (actor.is_staff and word in m.internal))
            }
            assert got == want, (member.role, word)

    check()
