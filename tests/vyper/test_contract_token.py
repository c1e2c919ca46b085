"""RewardToken on both chains: ERC-20 behaviour (EIP-20), minting rights and the period cap."""

from __future__ import annotations

from typing import Any

import pytest

from proofdesk.chain.base import TxReverted, deploy
from tests.support.chain import advance_time
from tests.support.vyper_calls import ALICE, BOB, CAROL, OWNER, ZERO, events, fresh, reverts, send

DAY = 86_400
CAP = 1_000 * 10**18
MAX = 2**256 - 1


def token(chain: Any, cap: int = CAP, period: int = DAY) -> Any:
    return fresh(chain, "RewardToken", "ProofDesk Reward", "PDR", cap, period)


def test_metadata_and_empty_supply(chain: Any) -> None:
    t = token(chain)
    assert t.functions.name().call() == "ProofDesk Reward"
    assert t.functions.symbol().call() == "PDR"
    assert t.functions.decimals().call() == 18
    assert t.functions.totalSupply().call() == 0
    assert t.functions.balanceOf(OWNER.address).call() == 0
    with pytest.raises(TxReverted, match="zero period"):
        deploy(chain, "RewardToken", ("n", "s", CAP, 0))


def test_mint_is_a_transfer_from_zero_within_the_cap(chain: Any) -> None:
    t = token(chain, cap=100)
    receipt = send(chain, t.functions.mint(ALICE.address, 60))
    assert events(t, "Transfer", receipt) == [
        {"sender": ZERO, "receiver": ALICE.address, "value": 60}
    ]
    assert t.functions.totalSupply().call() == 60
    assert t.functions.balanceOf(ALICE.address).call() == 60
    reverts(chain, t.functions.mint(ALICE.address, 41), "period mint cap exceeded")
    send(chain, t.functions.mint(BOB.address, 40))
    reverts(chain, t.functions.mint(BOB.address, 1), "period mint cap exceeded")
    advance_time(chain, DAY)
    send(chain, t.functions.mint(BOB.address, 100))  # a new period, a new allowance
    assert t.functions.totalSupply().call() == 200
    reverts(chain, t.functions.mint(ZERO, 1), "mint to zero address")
    reverts(chain, t.functions.mint(ALICE.address, 1), "not a minter", by=ALICE)


def test_minters_and_cap_are_the_admins(chain: Any) -> None:
    t = token(chain, cap=100)
    reverts(chain, t.functions.set_minter(ALICE.address, True), "not the admin", by=ALICE)
    reverts(chain, t.functions.set_minter(ZERO, True), "zero address")
    receipt = send(chain, t.functions.set_minter(ALICE.address, True))
    assert events(t, "MinterChanged", receipt) == [{"minter": ALICE.address, "allowed": True}]
    send(chain, t.functions.mint(ALICE.address, 100), by=ALICE)
    # Raising the cap does not forget what this period already minted.
    reverts(chain, t.functions.set_mint_cap(150, DAY), "not the admin", by=ALICE)
    reverts(chain, t.functions.set_mint_cap(150, 0), "zero period")
    send(chain, t.functions.set_mint_cap(150, DAY))
    reverts(chain, t.functions.mint(ALICE.address, 51), "period mint cap exceeded", by=ALICE)
    send(chain, t.functions.mint(ALICE.address, 50), by=ALICE)
    send(chain, t.functions.set_minter(ALICE.address, False))
    reverts(chain, t.functions.mint(ALICE.address, 1), "not a minter", by=ALICE)
    reverts(chain, t.functions.transfer_admin(ZERO), "zero address")
    reverts(chain, t.functions.transfer_admin(BOB.address), "not the admin", by=BOB)
    send(chain, t.functions.transfer_admin(BOB.address))
    assert t.functions.admin().call() == BOB.address
    reverts(chain, t.functions.set_minter(CAROL.address, True), "not the admin")


def test_transfer(chain: Any) -> None:
    t = token(chain)
    send(chain, t.functions.mint(ALICE.address, 10))
    receipt = send(chain, t.functions.transfer(BOB.address, 4), by=ALICE)
    assert events(t, "Transfer", receipt) == [
        {"sender": ALICE.address, "receiver": BOB.address, "value": 4}
    ]
    assert t.functions.balanceOf(ALICE.address).call() == 6
    assert t.functions.balanceOf(BOB.address).call() == 4
    # EIP-20: a transfer of 0 is a normal transfer with its event.
    receipt = send(chain, t.functions.transfer(BOB.address, 0), by=CAROL)
    assert len(events(t, "Transfer", receipt)) == 1
    reverts(chain, t.functions.transfer(BOB.address, 7), "insufficient balance", by=ALICE)
    reverts(chain, t.functions.transfer(ZERO, 1), "transfer to zero address", by=ALICE)
    assert t.functions.totalSupply().call() == 10


def test_approve_and_transfer_from(chain: Any) -> None:
    t = token(chain)
    send(chain, t.functions.mint(ALICE.address, 10))
    receipt = send(chain, t.functions.approve(BOB.address, 5), by=ALICE)
    assert events(t, "Approval", receipt) == [
        {"owner": ALICE.address, "spender": BOB.address, "value": 5}
    ]
    assert t.functions.allowance(ALICE.address, BOB.address).call() == 5
    reverts(chain, t.functions.approve(ZERO, 5), "approve to zero address", by=ALICE)
    reverts(
        chain,
        t.functions.transferFrom(ALICE.address, CAROL.address, 6),
        "insufficient allowance",
        by=BOB,
    )
    receipt = send(chain, t.functions.transferFrom(ALICE.address, CAROL.address, 3), by=BOB)
    assert events(t, "Transfer", receipt) == [
        {"sender": ALICE.address, "receiver": CAROL.address, "value": 3}
    ]
    assert t.functions.allowance(ALICE.address, BOB.address).call() == 2
    assert t.functions.balanceOf(CAROL.address).call() == 3
    reverts(
        chain, t.functions.transferFrom(ALICE.address, ZERO, 1), "transfer to zero address", by=BOB
    )
    # Approving replaces the allowance; an unlimited one is never spent.
    send(chain, t.functions.approve(BOB.address, MAX), by=ALICE)
    send(chain, t.functions.transferFrom(ALICE.address, BOB.address, 7), by=BOB)
    assert t.functions.allowance(ALICE.address, BOB.address).call() == MAX
    reverts(
        chain,
        t.functions.transferFrom(ALICE.address, BOB.address, 1),
        "insufficient balance",
        by=BOB,
    )
