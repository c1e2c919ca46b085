"""WarrantyEscrow on both chains: bonds, agreed claims, decider payouts, timeouts, re-entrancy."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils.crypto import keccak
from vyper.compiler import compile_code

from proofdesk.chain.base import TxReverted, deploy
from tests.support import paths
from tests.support.chain import advance_time
from tests.support.vyper_calls import (
    ALICE,
    BOB,
    CAROL,
    MALLORY,
    OWNER,
    ZERO,
    events,
    fresh,
    reverts,
    send,
)

ETHER = 10**18
DAY = 86_400
DECIDER = CAROL  # the ProofDesk deployment's key
MERCHANT = ALICE
CUSTOMER = BOB
HERE = paths.TEST_CONTRACTS


def claim(n: int) -> bytes:
    return keccak(text=f"claim-{n}")


def escrow(chain: Any, bond: int = 0) -> Any:
    e = fresh(chain, "WarrantyEscrow", DECIDER.address)
    if bond:
        send(chain, e.functions.deposit(), by=MERCHANT, value=bond)
    return e


def balance(chain: Any, address: str) -> int:
    return int(chain.w3.eth.get_balance(address))


def test_the_decider_is_never_the_zero_address(chain: Any) -> None:
    with pytest.raises(TxReverted, match="zero address"):
        deploy(chain, "WarrantyEscrow", (ZERO,))


def test_deposit_and_withdraw_what_is_free(chain: Any) -> None:
    e = escrow(chain)
    reverts(chain, e.functions.deposit(), "nothing deposited", by=MERCHANT)
    receipt = send(chain, e.functions.deposit(), by=MERCHANT, value=3 * ETHER)
    assert events(e, "Deposited", receipt) == [
        {"merchant": MERCHANT.address, "amount": 3 * ETHER, "bond": 3 * ETHER}
    ]
    send(chain, e.functions.agree(claim(1), CUSTOMER.address, 2 * ETHER, DAY), by=MERCHANT)
    assert e.functions.available(MERCHANT.address).call() == ETHER
    reverts(chain, e.functions.withdraw(ETHER + 1), "bond committed", by=MERCHANT)
    reverts(chain, e.functions.withdraw(0), "nothing to withdraw", by=MERCHANT)
    reverts(chain, e.functions.withdraw(1), "bond committed", by=MALLORY)
    before = balance(chain, MERCHANT.address)
    receipt = send(chain, e.functions.withdraw(ETHER), by=MERCHANT)
    assert events(e, "Withdrawn", receipt) == [
        {"merchant": MERCHANT.address, "amount": ETHER, "bond": 2 * ETHER}
    ]
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert balance(chain, MERCHANT.address) == before + ETHER - fee


def test_agree_checks_every_term(chain: Any) -> None:
    e = escrow(chain, bond=ETHER)
    agree = e.functions.agree
    reverts(chain, agree(claim(1), ZERO, 1, DAY), "zero address", by=MERCHANT)
    reverts(chain, agree(claim(1), MERCHANT.address, 1, DAY), "customer is merchant", by=MERCHANT)
    reverts(chain, agree(claim(1), CUSTOMER.address, 0, DAY), "zero amount", by=MERCHANT)
    reverts(chain, agree(claim(1), CUSTOMER.address, 1, 366 * DAY), "timeout too long", by=MERCHANT)
    reverts(chain, agree(claim(1), CUSTOMER.address, ETHER + 1, DAY), "bond too small", by=MERCHANT)
    receipt = send(chain, agree(claim(1), CUSTOMER.address, ETHER, DAY), by=MERCHANT)
    [agreed] = events(e, "Agreed", receipt)
    assert agreed["amount"] == ETHER and agreed["customer"] == CUSTOMER.address
    reverts(chain, agree(claim(1), CUSTOMER.address, 1, DAY), "claim exists", by=MERCHANT)
    assert e.functions.committed(MERCHANT.address).call() == ETHER


def test_decider_pays_each_claim_once_up_to_the_bond(chain: Any) -> None:
    e = escrow(chain, bond=2 * ETHER)
    pay = e.functions.pay
    reverts(
        chain, pay(claim(1), MERCHANT.address, CUSTOMER.address, 1), "not the decider", by=MALLORY
    )
    reverts(chain, pay(claim(1), MERCHANT.address, ZERO, 1), "zero address", by=DECIDER)
    reverts(chain, pay(claim(1), MERCHANT.address, CUSTOMER.address, 0), "zero amount", by=DECIDER)
    reverts(
        chain,
        pay(claim(1), MERCHANT.address, CUSTOMER.address, 2 * ETHER + 1),
        "bond too small",
        by=DECIDER,
    )
    before = balance(chain, CUSTOMER.address)
    receipt = send(chain, pay(claim(1), MERCHANT.address, CUSTOMER.address, ETHER), by=DECIDER)
    assert events(e, "Paid", receipt) == [
        {
            "claim_id": claim(1),
            "merchant": MERCHANT.address,
            "customer": CUSTOMER.address,
            "amount": ETHER,
            "by": DECIDER.address,
        }
    ]
    assert balance(chain, CUSTOMER.address) == before + ETHER
    assert e.functions.bond(MERCHANT.address).call() == ETHER
    reverts(
        chain,
        pay(claim(1), MERCHANT.address, CUSTOMER.address, 1),
        "claim already paid",
        by=DECIDER,
    )
    # Free bond only: what the merchant promised to another claim is not the decider's to spend.
    send(chain, e.functions.agree(claim(2), MALLORY.address, ETHER // 2, DAY), by=MERCHANT)
    reverts(
        chain,
        pay(claim(3), MERCHANT.address, CUSTOMER.address, ETHER // 2 + 1),
        "bond too small",
        by=DECIDER,
    )


def test_decider_pays_an_agreed_claim_to_its_parties_only(chain: Any) -> None:
    e = escrow(chain, bond=ETHER)
    send(chain, e.functions.agree(claim(1), CUSTOMER.address, ETHER, DAY), by=MERCHANT)
    pay = e.functions.pay
    reverts(
        chain,
        pay(claim(1), MERCHANT.address, MALLORY.address, 1),
        "claim parties differ",
        by=DECIDER,
    )
    reverts(
        chain,
        pay(claim(1), MERCHANT.address, CUSTOMER.address, ETHER + 1),
        "above agreed amount",
        by=DECIDER,
    )
    send(chain, pay(claim(1), MERCHANT.address, CUSTOMER.address, ETHER // 4), by=DECIDER)
    # Paying settles the claim and releases its whole commitment.
    assert e.functions.committed(MERCHANT.address).call() == 0
    assert e.functions.bond(MERCHANT.address).call() == ETHER - ETHER // 4
    reverts(chain, e.functions.claim_after_timeout(claim(1)), "claim not open", by=CUSTOMER)


def test_merchant_pays_what_it_agreed(chain: Any) -> None:
    e = escrow(chain, bond=ETHER)
    send(chain, e.functions.agree(claim(1), CUSTOMER.address, ETHER, DAY), by=MERCHANT)
    reverts(chain, e.functions.merchant_pay(claim(1)), "not the merchant", by=MALLORY)
    reverts(chain, e.functions.merchant_pay(claim(9)), "claim not open", by=MERCHANT)
    before = balance(chain, CUSTOMER.address)
    send(chain, e.functions.merchant_pay(claim(1)), by=MERCHANT)
    assert balance(chain, CUSTOMER.address) == before + ETHER
    reverts(chain, e.functions.merchant_pay(claim(1)), "claim not open", by=MERCHANT)
    assert (
        e.functions.bond(MERCHANT.address).call(),
        e.functions.committed(MERCHANT.address).call(),
    ) == (0, 0)


def test_customer_takes_an_agreed_amount_after_the_timeout(chain: Any) -> None:
    e = escrow(chain, bond=ETHER)
    send(chain, e.functions.agree(claim(1), CUSTOMER.address, ETHER // 2, DAY), by=MERCHANT)
    reverts(chain, e.functions.claim_after_timeout(claim(1)), "deadline not reached", by=CUSTOMER)
    advance_time(chain, DAY + 1)
    reverts(chain, e.functions.claim_after_timeout(claim(1)), "not the customer", by=MALLORY)
    reverts(chain, e.functions.claim_after_timeout(claim(2)), "claim not open", by=CUSTOMER)
    before = balance(chain, CUSTOMER.address)
    receipt = send(chain, e.functions.claim_after_timeout(claim(1)), by=CUSTOMER)
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert balance(chain, CUSTOMER.address) == before + ETHER // 2 - fee
    assert [x["by"] for x in events(e, "Paid", receipt)] == [CUSTOMER.address]
    reverts(chain, e.functions.claim_after_timeout(claim(1)), "claim not open", by=CUSTOMER)


def test_decider_and_owner_are_replaceable_by_the_owner_only(chain: Any) -> None:
    e = escrow(chain)
    reverts(chain, e.functions.set_decider(MALLORY.address), "not the owner", by=MALLORY)
    reverts(chain, e.functions.set_decider(ZERO), "zero address")
    send(chain, e.functions.set_decider(BOB.address))
    assert e.functions.decider().call() == BOB.address
    reverts(chain, e.functions.transfer_ownership(ZERO), "zero address")
    reverts(chain, e.functions.transfer_ownership(MALLORY.address), "not the owner", by=MALLORY)
    send(chain, e.functions.transfer_ownership(ALICE.address))
    reverts(chain, e.functions.set_decider(OWNER.address), "not the owner")


def _deploy_test_double(chain: Any, name: str, *args: Any) -> Any:
    out = compile_code((HERE / f"{name}.vy").read_text(), output_formats=["abi", "bytecode"])
    factory = chain.w3.eth.contract(abi=out["abi"], bytecode=out["bytecode"])
    data = factory.constructor(*args).data_in_transaction
    with chain.sending:
        signed = chain.prepare({"data": data})
        chain.broadcast(signed)
    receipt = chain.wait(signed.tx_hash)
    return chain.w3.eth.contract(address=receipt["contractAddress"], abi=out["abi"])


def test_reentrant_customer_cannot_take_twice(chain: Any) -> None:
    e = escrow(chain, bond=ETHER)
    attacker = _deploy_test_double(chain, "Reenter", e.address)
    send(chain, e.functions.agree(claim(1), attacker.address, ETHER // 2, 0), by=MERCHANT)
    # Re-entering claim_after_timeout from the payment hook hits the lock: all of it reverts.
    reverts(chain, attacker.functions.claim(claim(1)), None)
    assert e.functions.committed(MERCHANT.address).call() == ETHER // 2
    assert e.functions.bond(MERCHANT.address).call() == ETHER
    assert balance(chain, e.address) == ETHER


def test_reentrant_merchant_cannot_withdraw_twice(chain: Any) -> None:
    e = escrow(chain)
    attacker = _deploy_test_double(chain, "Reenter", e.address)
    send(chain, attacker.functions.fund(), value=ETHER)
    send(chain, e.functions.deposit(), by=MERCHANT, value=ETHER)  # someone else's money
    reverts(chain, attacker.functions.withdraw(ETHER), None)
    assert balance(chain, e.address) == 2 * ETHER
    assert e.functions.bond(attacker.address).call() == ETHER


def test_smart_contract_wallets_are_paid_with_enough_gas(chain: Any) -> None:
    e = escrow(chain, bond=ETHER)
    wallet = _deploy_test_double(chain, "Wallet")
    send(chain, e.functions.pay(claim(1), MERCHANT.address, wallet.address, ETHER), by=DECIDER)
    assert wallet.functions.received().call() == ETHER
    assert wallet.functions.payments().call() == 1


@pytest.mark.parametrize("amount", [1, ETHER])
def test_a_payout_moves_exactly_the_amount(chain: Any, amount: int) -> None:
    e = escrow(chain, bond=ETHER)
    held = balance(chain, e.address)
    send(chain, e.functions.pay(claim(7), MERCHANT.address, CUSTOMER.address, amount), by=DECIDER)
    assert balance(chain, e.address) == held - amount
