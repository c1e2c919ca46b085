"""RequestInbox on both chains: what a filing emits, the per-sender numbering, every revert."""

from __future__ import annotations

from typing import Any

from eth_utils.crypto import keccak

from proofdesk.chain.inbox import FILED_TOPIC, organization_key
from tests.support.vyper_calls import ALICE, BOB, OWNER, ZERO, events, fresh, reverts, send

ORG = bytes.fromhex(organization_key("org-1")[2:])
COMMIT = keccak(b"a request")


def test_a_filing_emits_the_commitment_findable_by_organization_and_sender(chain: Any) -> None:
    inbox = fresh(chain, "RequestInbox")
    receipt = send(chain, inbox.functions.file(ORG, COMMIT, b"\x01\x02"), by=ALICE)
    assert receipt["status"] == 1
    [event] = events(inbox, "Filed", receipt)
    assert event == {
        "organization": ORG,
        "sender": ALICE.address,
        "commitment": COMMIT,
        "pointer": b"\x01\x02",
        "number": 0,
    }
    found = chain.w3.eth.get_logs(
        {
            "address": inbox.address,
            "fromBlock": 0,
            "toBlock": "latest",
            "topics": [FILED_TOPIC, "0x" + ORG.hex()],
        }
    )
    assert len(found) == 1 and found[0]["transactionHash"] == receipt["transactionHash"]
    # Filing is cheap: one counter slot and one event.
    assert receipt["gasUsed"] < 60_000


def test_each_sender_numbers_its_own_filings(chain: Any) -> None:
    inbox = fresh(chain, "RequestInbox")
    send(chain, inbox.functions.file(ORG, COMMIT, b""), by=ALICE)
    second = send(chain, inbox.functions.file(ORG, COMMIT, b""), by=ALICE)
    other = send(chain, inbox.functions.file(ORG, COMMIT, b""), by=BOB)
    assert events(inbox, "Filed", second)[0]["number"] == 1
    assert events(inbox, "Filed", other)[0]["number"] == 0
    assert inbox.functions.filed(ALICE.address).call() == 2


def test_every_refusal(chain: Any) -> None:
    inbox = fresh(chain, "RequestInbox")
    empty = b"\x00" * 32
    reverts(chain, inbox.functions.file(empty, COMMIT, b""), "empty organization", by=ALICE)
    reverts(chain, inbox.functions.file(ORG, empty, b""), "empty commitment", by=ALICE)
    reverts(chain, inbox.functions.file(ORG, COMMIT, b"x" * 257), None, by=ALICE)  # > Bytes[256]
    reverts(chain, inbox.functions.set_paused(True), "not the owner", by=ALICE)
    receipt = send(chain, inbox.functions.set_paused(True))
    assert events(inbox, "Paused", receipt) == [{"paused": True}]
    reverts(chain, inbox.functions.file(ORG, COMMIT, b""), "paused", by=ALICE)
    send(chain, inbox.functions.set_paused(False))
    send(chain, inbox.functions.file(ORG, COMMIT, b""), by=ALICE)
    reverts(chain, inbox.functions.transfer_ownership(BOB.address), "not the owner", by=ALICE)
    reverts(chain, inbox.functions.transfer_ownership(ZERO), "zero address")
    send(chain, inbox.functions.transfer_ownership(BOB.address))
    assert inbox.functions.owner().call() == BOB.address
    reverts(chain, inbox.functions.set_paused(True), "not the owner", by=OWNER)
