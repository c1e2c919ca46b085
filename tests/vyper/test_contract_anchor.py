"""CheckpointAnchor on both chains: what it records, what it emits, every revert."""

from __future__ import annotations

from typing import Any

from eth_utils.crypto import keccak

from proofdesk.chain.anchoring import ANCHORED_TOPIC
from tests.support.vyper_calls import ALICE, BOB, OWNER, ZERO, events, fresh, reverts, send

ROOT_A = bytes(range(32))
ROOT_B = bytes(range(1, 33))


def test_anchor_records_the_size_and_emits_a_findable_event(chain: Any) -> None:
    anchor = fresh(chain, "CheckpointAnchor")
    receipt = send(chain, anchor.functions.anchor("example.com/log", 10, ROOT_A))
    assert receipt["status"] == 1
    log_id = keccak(text="example.com/log")
    assert anchor.functions.last_size(log_id).call() == 10
    [event] = events(anchor, "Anchored", receipt)
    assert event == {"log_id": log_id, "root": ROOT_A, "size": 10, "origin": "example.com/log"}
    # Findable by origin and by root with one eth_getLogs query.
    found = chain.w3.eth.get_logs(
        {
            "address": anchor.address,
            "fromBlock": 0,
            "toBlock": "latest",
            "topics": [ANCHORED_TOPIC, None, "0x" + ROOT_A.hex()],
        }
    )
    assert [bytes(x["topics"][1]) for x in found] == [log_id]
    # One storage slot per log: later anchors of the same log cost far less than 50,000 gas.
    later = send(chain, anchor.functions.anchor("example.com/log", 11, ROOT_B))
    assert later["gasUsed"] < 40_000


def test_sizes_only_grow_per_origin(chain: Any) -> None:
    anchor = fresh(chain, "CheckpointAnchor")
    send(chain, anchor.functions.anchor("a", 5, ROOT_A))
    reverts(chain, anchor.functions.anchor("a", 5, ROOT_A), "size not above last anchor")
    reverts(chain, anchor.functions.anchor("a", 5, ROOT_B), "size not above last anchor")
    reverts(chain, anchor.functions.anchor("a", 4, ROOT_B), "size not above last anchor")
    reverts(chain, anchor.functions.anchor("b", 0, ROOT_B), "size not above last anchor")
    send(chain, anchor.functions.anchor("b", 1, ROOT_B))  # another log starts at its own 0
    reverts(chain, anchor.functions.anchor("", 9, ROOT_B), "empty origin")
    reverts(chain, anchor.functions.anchor("x" * 129, 9, ROOT_B), None)  # above String[128]


def test_only_writers_anchor_and_only_the_owner_chooses_them(chain: Any) -> None:
    anchor = fresh(chain, "CheckpointAnchor")
    assert anchor.functions.owner().call() == OWNER.address
    assert anchor.functions.writers(OWNER.address).call()
    reverts(chain, anchor.functions.anchor("o", 1, ROOT_A), "not a writer", by=ALICE)
    reverts(chain, anchor.functions.set_writer(ALICE.address, True), "not the owner", by=ALICE)
    reverts(chain, anchor.functions.set_writer(ZERO, True), "zero address")
    receipt = send(chain, anchor.functions.set_writer(ALICE.address, True))
    assert events(anchor, "WriterChanged", receipt) == [{"writer": ALICE.address, "allowed": True}]
    send(chain, anchor.functions.anchor("o", 1, ROOT_A), by=ALICE)
    send(chain, anchor.functions.set_writer(ALICE.address, False))
    reverts(chain, anchor.functions.anchor("o", 2, ROOT_A), "not a writer", by=ALICE)


def test_ownership_moves_once_and_never_to_zero(chain: Any) -> None:
    anchor = fresh(chain, "CheckpointAnchor")
    reverts(chain, anchor.functions.transfer_ownership(BOB.address), "not the owner", by=BOB)
    reverts(chain, anchor.functions.transfer_ownership(ZERO), "zero address")
    receipt = send(chain, anchor.functions.transfer_ownership(BOB.address))
    assert events(anchor, "OwnershipTransferred", receipt) == [
        {"previous": OWNER.address, "owner": BOB.address}
    ]
    reverts(chain, anchor.functions.set_writer(ALICE.address, True), "not the owner")
    send(chain, anchor.functions.set_writer(ALICE.address, True), by=BOB)
