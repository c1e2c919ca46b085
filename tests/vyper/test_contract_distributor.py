"""RewardDistributor on both chains: publishing epochs, claims with proofs from
``proofdesk.rewards.merkle``, the claimed bitmap, expiry and every revert path."""

from __future__ import annotations

from typing import Any

import pytest

from proofdesk.chain.base import TxReverted, deploy
from proofdesk.rewards import merkle
from tests.support.vyper_calls import (
    ACCOUNTS,
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

CAP = 10**30
DAY = 86_400


def setup(chain: Any, funded: int = 10_000) -> tuple[Any, Any]:
    token = fresh(chain, "RewardToken", "ProofDesk Reward", "PDR", CAP, DAY)
    distributor = fresh(chain, "RewardDistributor", token.address)
    if funded:
        send(chain, token.functions.mint(distributor.address, funded))
    return token, distributor


def tree(amounts: dict[str, int]) -> tuple[list[merkle.Leaf], bytes, int]:
    leaves = merkle.leaves(amounts)
    return leaves, merkle.root(leaves), sum(leaf.amount for leaf in leaves)


def claim_call(distributor: Any, epoch: int, leaves: list[merkle.Leaf], leaf: merkle.Leaf) -> Any:
    proof = merkle.proof(leaves, leaf.index)
    return distributor.functions.claim(epoch, leaf.index, leaf.account, leaf.amount, proof)


def by_account(leaves: list[merkle.Leaf], account: str) -> merkle.Leaf:
    return next(leaf for leaf in leaves if leaf.account == account)


def test_publish_and_claim_each_leaf_once(chain: Any) -> None:
    token, distributor = setup(chain)
    amounts = {ALICE.address: 100, BOB.address: 250, CAROL.address: 7}
    leaves, root, total = tree(amounts)
    receipt = send(chain, distributor.functions.publish(0, root, total))
    assert events(distributor, "EpochPublished", receipt) == [
        {"epoch": 0, "root": root, "total": total}
    ]
    assert distributor.functions.epochs().call() == 1
    assert distributor.functions.reserved().call() == total
    for leaf in leaves:
        assert distributor.functions.verify(
            0, leaf.index, leaf.account, leaf.amount, merkle.proof(leaves, leaf.index)
        ).call()
        assert not distributor.functions.is_claimed(0, leaf.index).call()
    alice = by_account(leaves, ALICE.address)
    # Anyone may send the claim; the tokens go to the leaf's account.
    receipt = send(chain, claim_call(distributor, 0, leaves, alice), by=MALLORY)
    assert events(distributor, "Claimed", receipt) == [
        {"epoch": 0, "index": alice.index, "account": ALICE.address, "amount": 100}
    ]
    assert token.functions.balanceOf(ALICE.address).call() == 100
    assert token.functions.balanceOf(MALLORY.address).call() == 0
    assert distributor.functions.is_claimed(0, alice.index).call()
    reverts(chain, claim_call(distributor, 0, leaves, alice), "already claimed")
    for leaf in leaves:
        if leaf.account != ALICE.address:
            send(chain, claim_call(distributor, 0, leaves, leaf), by=BOB)
    assert token.functions.balanceOf(BOB.address).call() == 250
    assert distributor.functions.claimed_total(0).call() == total
    assert distributor.functions.reserved().call() == 0


def test_wrong_proofs_are_refused(chain: Any) -> None:
    _, distributor = setup(chain)
    leaves, root, total = tree({ALICE.address: 100, BOB.address: 250, CAROL.address: 7})
    send(chain, distributor.functions.publish(0, root, total))
    alice = by_account(leaves, ALICE.address)
    proof = merkle.proof(leaves, alice.index)
    claim = distributor.functions.claim
    reverts(chain, claim(0, alice.index, ALICE.address, 101, proof), "invalid proof")
    reverts(chain, claim(0, alice.index, MALLORY.address, 100, proof), "invalid proof")
    reverts(chain, claim(0, alice.index + 1, ALICE.address, 100, proof), "invalid proof")
    reverts(chain, claim(0, alice.index, ALICE.address, 100, proof[:-1]), "invalid proof")
    reverts(chain, claim(0, alice.index, ALICE.address, 100, []), "invalid proof")
    # Bob's proof does not prove Alice's leaf.
    bob = by_account(leaves, BOB.address)
    reverts(
        chain,
        claim(0, alice.index, ALICE.address, 100, merkle.proof(leaves, bob.index)),
        "invalid proof",
    )
    # An inner node is not a leaf: (index, account, amount) must hash to a real leaf.
    reverts(chain, claim(1, 0, ALICE.address, 100, proof), "unknown epoch")


def test_publishing_rules(chain: Any) -> None:
    token, distributor = setup(chain, funded=300)
    _, root, total = tree({ALICE.address: 100, BOB.address: 200})
    publish = distributor.functions.publish
    reverts(chain, publish(0, root, total), "not the owner", by=MALLORY)
    reverts(chain, publish(1, root, total), "epoch out of order")
    reverts(chain, publish(0, b"\x00" * 32, total), "empty root")
    reverts(chain, publish(0, root, 0), "empty epoch")
    reverts(chain, publish(0, root, 301), "not funded")
    send(chain, publish(0, root, total))
    reverts(chain, publish(0, root, total), "epoch out of order")
    # The next epoch needs funds on top of what epoch 0 still owes.
    _, root1, total1 = tree({CAROL.address: 50})
    reverts(chain, publish(1, root1, total1), "not funded")
    send(chain, token.functions.mint(distributor.address, 50))
    send(chain, publish(1, root1, total1))
    assert distributor.functions.roots(1).call() == root1
    reverts(chain, distributor.functions.claim(2, 0, CAROL.address, 50, []), "unknown epoch")


def test_claims_after_a_new_epoch_and_expiry(chain: Any) -> None:
    token, distributor = setup(chain)
    leaves0, root0, total0 = tree({ALICE.address: 100, BOB.address: 200})
    send(chain, distributor.functions.publish(0, root0, total0))
    leaves1, root1, total1 = tree({ALICE.address: 30, CAROL.address: 40})
    send(chain, distributor.functions.publish(1, root1, total1))
    # Each epoch has its own bitmap: Alice claims index i in both.
    send(chain, claim_call(distributor, 1, leaves1, by_account(leaves1, ALICE.address)))
    send(chain, claim_call(distributor, 0, leaves0, by_account(leaves0, ALICE.address)))
    assert token.functions.balanceOf(ALICE.address).call() == 130
    # A leaf of epoch 0 is no leaf of epoch 1.
    bob = by_account(leaves0, BOB.address)
    reverts(
        chain,
        distributor.functions.claim(
            1, bob.index, bob.account, bob.amount, merkle.proof(leaves0, bob.index)
        ),
        None,
    )
    reverts(chain, distributor.functions.expire(0), "not the owner", by=MALLORY)
    reverts(chain, distributor.functions.expire(2), "unknown epoch")
    receipt = send(chain, distributor.functions.expire(0))
    assert events(distributor, "EpochExpired", receipt) == [{"epoch": 0, "unclaimed": 200}]
    reverts(chain, distributor.functions.expire(0), "epoch expired")
    reverts(chain, claim_call(distributor, 0, leaves0, bob), "epoch expired")
    assert distributor.functions.reserved().call() == 40
    # Epoch 1 is unaffected.
    send(chain, claim_call(distributor, 1, leaves1, by_account(leaves1, CAROL.address)))
    assert token.functions.balanceOf(CAROL.address).call() == 40


def test_withdraw_only_the_surplus_and_owner_rules(chain: Any) -> None:
    token, distributor = setup(chain, funded=500)
    leaves, root, total = tree({ALICE.address: 100, BOB.address: 200})
    send(chain, distributor.functions.publish(0, root, total))
    withdraw = distributor.functions.withdraw
    reverts(chain, withdraw(OWNER.address, 1), "not the owner", by=MALLORY)
    reverts(chain, withdraw(ZERO, 1), "zero address")
    reverts(chain, withdraw(OWNER.address, 201), "reserved for claims")
    send(chain, withdraw(OWNER.address, 200))
    assert token.functions.balanceOf(OWNER.address).call() == 200
    reverts(chain, withdraw(OWNER.address, 1), "reserved for claims")
    reverts(chain, distributor.functions.transfer_owner(ZERO), "zero address")
    reverts(chain, distributor.functions.transfer_owner(BOB.address), "not the owner", by=BOB)
    send(chain, distributor.functions.transfer_owner(BOB.address))
    assert distributor.functions.owner().call() == BOB.address
    reverts(chain, distributor.functions.expire(0), "not the owner")
    # Every leaf can still be claimed after the surplus left.
    for leaf in leaves:
        send(chain, claim_call(distributor, 0, leaves, leaf))
    assert token.functions.balanceOf(distributor.address).call() == 0


def test_a_large_tree(chain: Any) -> None:
    _, distributor = setup(chain, funded=10**9)
    amounts = {account.address: 1000 + i for i, account in enumerate(ACCOUNTS)}
    leaves, root, total = tree(amounts)
    assert len(leaves) >= 5
    send(chain, distributor.functions.publish(0, root, total))
    for leaf in leaves[::2]:
        send(chain, claim_call(distributor, 0, leaves, leaf))
        assert distributor.functions.is_claimed(0, leaf.index).call()
    for leaf in leaves[1::2]:
        assert not distributor.functions.is_claimed(0, leaf.index).call()


def test_zero_token_refused(chain: Any) -> None:
    with pytest.raises(TxReverted, match="zero address"):
        deploy(chain, "RewardDistributor", (ZERO,))
