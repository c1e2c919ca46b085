"""Sign-In with Ethereum through the API: the happy path, every attack with its own code and
no session, one nonce raced by two requests, linking wallets, and a contract wallet."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from vyper.compiler import compile_code

from proofdesk.actions import siwe
from proofdesk.identity.siwe import SiweMessage, SiweRejected, parse
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import Session, SiweNonce, User, Wallet
from tests.support import paths
from tests.support.tenants import Tenant

API = "/api/v1"
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def nonce_for(client: TestClient, tenant: Tenant) -> dict[str, Any]:
    response = client.post(f"{API}/auth/siwe/nonce", json={"organization": tenant.slug})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def message_for(client: TestClient, tenant: Tenant, address: str, **changes: Any) -> SiweMessage:
    offer = nonce_for(client, tenant)
    message = SiweMessage(
        domain=offer["domain"],
        address=address,
        statement=offer["statement"],
        uri=offer["uri"],
        version="1",
        chain_id=offer["chain_ids"][0],
        nonce=offer["nonce"],
        issued_at=stamp(datetime.now(UTC)),
    )
    return replace(message, **changes)


def signed(account: LocalAccount, text: str) -> str:
    return "0x" + bytes(account.sign_message(encode_defunct(text=text)).signature).hex()


def sessions(db: Database) -> int:
    with db.reader() as session:
        return int(session.scalar(select(func.count()).select_from(Session)) or 0)


def sign_in(client: TestClient, text: str, signature: str) -> Any:
    return client.post(f"{API}/auth/siwe/verify", json={"message": text, "signature": signature})


def test_first_sign_in_creates_the_customer_and_later_ones_find_it(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    wallet = Account.create()
    text = message_for(client, tenant, wallet.address).text()
    first = sign_in(client, text, signed(wallet, text))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["user"]["role"] == "customer"
    assert body["user"]["display_name"] == f"{wallet.address[:6]}…{wallet.address[-4:]}"
    assert (
        "HttpOnly" in first.headers["set-cookie"] and "SameSite=lax" in first.headers["set-cookie"]
    )
    me = client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json()["id"] == body["user"]["id"]
    with db.reader() as session:
        [row] = session.scalars(select(Wallet).where(Wallet.user_id == body["user"]["id"])).all()
        assert row.address == wallet.address.lower()  # stored in the form compared
    text = message_for(client, tenant, wallet.address).text()
    again = sign_in(client, text, signed(wallet, text))
    assert again.json()["user"]["id"] == body["user"]["id"]
    # The customer can open tickets like any other.
    ticket = client.post(
        f"{API}/tickets",
        json={"kind": "question", "subject": "USDT 未到账", "body": "TRC20"},
        headers={"Authorization": f"Bearer {body['token']}"},
    )
    assert ticket.status_code == 201


ATTACKS = {
    "wrong domain": (lambda m: replace(m, domain="evil.example"), "wrong_domain"),
    "wrong scheme": (lambda m: replace(m, scheme="https"), "wrong_domain"),
    "wrong uri": (lambda m: replace(m, uri="https://evil.example/"), "wrong_uri"),
    "unlisted chain": (lambda m: replace(m, chain_id=56), "wrong_chain"),
    "expired": (
        lambda m: replace(m, expiration_time=stamp(datetime.now(UTC) - timedelta(minutes=5))),
        "expired",
    ),
    "issued long ago": (
        lambda m: replace(m, issued_at=stamp(datetime.now(UTC) - timedelta(hours=2))),
        "expired",
    ),
    "issued in the future": (
        lambda m: replace(m, issued_at=stamp(datetime.now(UTC) + timedelta(hours=1))),
        "not_yet_valid",
    ),
    "not before later": (
        lambda m: replace(m, not_before=stamp(datetime.now(UTC) + timedelta(hours=1))),
        "not_yet_valid",
    ),
    "unknown nonce": (lambda m: replace(m, nonce="NeverIssued123"), "nonce_unknown"),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attacks_are_refused_with_their_code_and_no_session(
    client: TestClient, tenant: Tenant, db: Database, attack: str
) -> None:
    change, code = ATTACKS[attack]
    wallet = Account.create()
    message = change(message_for(client, tenant, wallet.address))
    text = message.text()
    before = sessions(db)
    response = sign_in(client, text, signed(wallet, text))
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == code
    assert sessions(db) == before


def test_signature_attacks(client: TestClient, tenant: Tenant, db: Database) -> None:
    wallet, other = Account.create(), Account.create()
    text = message_for(client, tenant, wallet.address).text()
    good = signed(wallet, text)
    raw = bytes.fromhex(good[2:])
    high_s = (
        raw[:32]
        + (N - int.from_bytes(raw[32:64], "big")).to_bytes(32, "big")
        + bytes([55 - raw[64]])
    )
    before = sessions(db)
    cases = {
        "another key": (text, signed(other, text), "wrong_signer"),
        "tampered message": (text.replace("Sign in", "Sign on"), good, "wrong_signer"),
        "malformed": (text, good[:-4], "bad_signature"),
        "high s": (text, "0x" + high_s.hex(), "bad_signature"),
    }
    for name, (body, signature, code) in cases.items():
        response = sign_in(client, body, signature)
        assert response.status_code == 401, name
        assert response.json()["error"]["code"] == code, name
    malformed = sign_in(client, text.replace("Version: 1", "Version: 2"), good)
    assert malformed.status_code == 422
    assert malformed.json()["error"]["code"] == "siwe_malformed"
    assert sessions(db) == before
    # None of this burnt the nonce: the real signature still works, once.
    assert sign_in(client, text, good).status_code == 200
    reused = sign_in(client, text, good)
    assert (reused.status_code, reused.json()["error"]["code"]) == (401, "nonce_used")


def test_an_expired_nonce_is_refused(client: TestClient, tenant: Tenant, db: Database) -> None:
    wallet = Account.create()
    message = message_for(client, tenant, wallet.address)
    with db.writer() as session:
        session.execute(
            update(SiweNonce)
            .where(SiweNonce.nonce == message.nonce)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    response = sign_in(client, message.text(), signed(wallet, message.text()))
    assert response.json()["error"]["code"] == "nonce_expired"


def test_one_nonce_raced_by_two_requests_signs_in_once(
    client: TestClient, tenant: Tenant, db: Database, settings: Settings
) -> None:
    wallet = Account.create()
    text = message_for(client, tenant, wallet.address).text()
    signature = signed(wallet, text)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        checked = siwe.check(settings, text, signature, lambda: None)
        start.wait()
        try:
            with db.writer() as session:
                siwe.do_sign_in_with_ethereum(session, siwe.do_consume_nonce(session, checked))
            outcomes.append("signed in")
        except SiweRejected as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["nonce_used", "signed in"]
    with db.reader() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(Wallet)
                .where(Wallet.address == wallet.address.lower())
            )
            == 1
        )


def test_linking_further_wallets(client: TestClient, tenant: Tenant) -> None:
    first, second = Account.create(), Account.create()
    text = message_for(client, tenant, first.address).text()
    token = sign_in(client, text, signed(first, text)).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    text = message_for(client, tenant, second.address).text()
    linked = client.post(
        f"{API}/auth/siwe/link",
        json={"message": text, "signature": signed(second, text)},
        headers=headers,
    )
    assert linked.status_code == 201, linked.text
    assert linked.json()["address"] == second.address
    # Signing in with the second wallet finds the same customer.
    text = message_for(client, tenant, second.address).text()
    assert (
        sign_in(client, text, signed(second, text)).json()["user"]["id"]
        == client.get(f"{API}/auth/me", headers=headers).json()["id"]
    )
    # A wallet of another customer cannot be taken over, and staff link none by signature.
    other = Account.create()
    text = message_for(client, tenant, other.address).text()
    sign_in(client, text, signed(other, text))
    text = message_for(client, tenant, other.address).text()
    taken = client.post(
        f"{API}/auth/siwe/link",
        json={"message": text, "signature": signed(other, text)},
        headers=headers,
    )
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "wallet_taken")
    text = message_for(client, tenant, Account.create().address).text()
    staff = client.post(
        f"{API}/auth/siwe/link",
        json={"message": text, "signature": signed(Account.create(), text)},
        headers=tenant.agent.headers,
    )
    assert staff.status_code == 401  # the signature is checked before the role
    fresh = Account.create()
    text = message_for(client, tenant, fresh.address).text()
    staff = client.post(
        f"{API}/auth/siwe/link",
        json={"message": text, "signature": signed(fresh, text)},
        headers=tenant.agent.headers,
    )
    assert (staff.status_code, staff.json()["error"]["code"]) == (403, "not_a_customer")


def test_a_nonce_of_another_organization_does_not_link(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    first, second = Account.create(), Account.create()
    text = message_for(client, tenant, first.address).text()
    token = sign_in(client, text, signed(first, text)).json()["token"]
    text = message_for(client, other_tenant, second.address).text()
    response = client.post(
        f"{API}/auth/siwe/link",
        json={"message": text, "signature": signed(second, text)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (response.status_code, response.json()["error"]["code"]) == (401, "nonce_unknown")


def test_nonce_for_an_unknown_organization(client: TestClient) -> None:
    response = client.post(f"{API}/auth/siwe/nonce", json={"organization": "nope-nope"})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "no_such_organization")


def test_a_contract_wallet_signs_in_by_eip1271(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    owner = Account.create()
    chain = client.app.state.services.anchoring.anchorer().chain  # type: ignore[attr-defined]
    source = (paths.TEST_CONTRACTS / "SmartWallet.vy").read_text()
    out = compile_code(source, output_formats=["abi", "bytecode"])
    factory = chain.w3.eth.contract(abi=out["abi"], bytecode=out["bytecode"])
    with chain.sending:
        tx = chain.prepare({"data": factory.constructor(owner.address).data_in_transaction})
        chain.broadcast(tx)
    address = chain.wait(tx.tx_hash)["contractAddress"]
    text = message_for(client, tenant, address).text()
    response = sign_in(client, text, signed(owner, text))
    assert response.status_code == 200, response.text
    with db.reader() as session:
        user = session.get(User, response.json()["user"]["id"])
        assert user is not None and user.role == "customer"
    text = message_for(client, tenant, address).text()
    stranger = sign_in(client, text, signed(Account.create(), text))
    assert stranger.json()["error"]["code"] == "wrong_signer"


def test_a_wallet_customer_links_an_email(client: TestClient, tenant: Tenant) -> None:
    wallet = Account.create()
    text = message_for(client, tenant, wallet.address).text()
    token = sign_in(client, text, signed(wallet, text)).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    linked = client.put(
        f"{API}/auth/me/email", json={"email": "Holder@Example.com"}, headers=headers
    )
    assert (linked.status_code, linked.json()["email"]) == (200, "holder@example.com")
    taken = client.put(
        f"{API}/auth/me/email", json={"email": tenant.customer2.email}, headers=headers
    )
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "email_taken")
    bad = client.put(f"{API}/auth/me/email", json={"email": "not an address"}, headers=headers)
    assert bad.status_code == 422


def test_the_nonce_can_come_with_the_message_to_sign(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    """A page without an EIP-55 implementation asks for the whole message: it names the
    checksummed address, this deployment, the wallet's chain, and signs the customer in."""
    wallet = Account.create()
    response = client.post(
        f"{API}/auth/siwe/nonce",
        json={"organization": tenant.slug, "address": wallet.address.lower(), "chain_id": 1},
    )
    assert response.status_code == 200, response.text
    offer = response.json()
    parsed = parse(offer["message"])
    assert parsed.address == wallet.address  # checksummed, though asked in lower case
    assert (parsed.domain, parsed.uri, parsed.chain_id) == (offer["domain"], offer["uri"], 1)
    assert parsed.nonce == offer["nonce"] and parsed.expiration_time is not None
    answer = sign_in(client, offer["message"], signed(wallet, offer["message"]))
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"address": "0x" + "g" * 40}, "invalid_input"),
        ({"address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"}, "invalid_input"),  # bad EIP-55
        ({"address": "0x" + "1" * 40, "chain_id": 56}, "wrong_chain"),
    ],
)
def test_a_message_is_not_prepared_for_a_bad_address_or_chain(
    client: TestClient, tenant: Tenant, db: Database, extra: dict[str, Any], code: str
) -> None:
    with db.reader() as session:
        before = session.scalar(select(func.count()).select_from(SiweNonce))
    response = client.post(f"{API}/auth/siwe/nonce", json={"organization": tenant.slug, **extra})
    assert (response.status_code, response.json()["error"]["code"]) == (422, code)
    with db.reader() as session:
        assert session.scalar(select(func.count()).select_from(SiweNonce)) == before
