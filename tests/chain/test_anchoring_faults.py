"""Anchoring against a real node (anvil, on loopback) while the node fails: it stops, loses its
state, drops or replaces the transaction, reverts it, reorganises. Afterwards every checkpoint
that should be anchored is anchored exactly once, and receipts verify against the chain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from proofdesk.chain.base import ChainError, ChainUnavailable, contract
from proofdesk.chain.deployments import deploy_contracts
from proofdesk.chain.embedded import dev_accounts
from proofdesk.chain.verify import check_anchor
from proofdesk.cli.main import app as cli
from proofdesk.ledger import checkpoints
from proofdesk.verify.receipt import verify_receipt
from tests.support.chain import Anvil, SmallLog, anchored_events

pytestmark = pytest.mark.server


@pytest.fixture
def node(tmp_path: Path) -> Any:
    anvil = Anvil(tmp_path).start()
    yield anvil
    anvil.stop()


@pytest.fixture
def log(tmp_path: Path) -> SmallLog:
    return SmallLog.create(tmp_path / "data")


def verified_on_chain(log: SmallLog, chain: Any) -> dict[str, Any]:
    receipt = log.receipt()
    report = verify_receipt(receipt)
    assert report.ok, report.failures
    findings = check_anchor(chain, receipt["anchor"], log.origin)
    assert all(ok for _, ok, _ in findings), findings
    return receipt


def test_node_down_mid_anchoring_then_back_with_its_state(
    node: Anvil, log: SmallLog, tmp_path: Path
) -> None:
    size = log.grow(2)
    chain = node.chain(retries=1)
    anchorer = log.anchorer(chain)
    address = anchorer.contract_address()
    assert address is not None
    signed = log.outbox_only(anchorer)  # in the outbox; the node goes away before broadcast
    node.stop()
    with pytest.raises(ChainUnavailable):
        anchorer.tick()
    [row] = log.anchors()
    assert row.status == "sent"  # nothing lost, nothing decided
    node.start()  # with the state it saved on the way down
    log.settle(anchorer)
    [row] = log.anchors()
    assert (row.status, row.tx_hash) == ("confirmed", signed.tx_hash)
    assert anchored_events(chain, address) == [(size, signed.tx_hash)]
    receipt = verified_on_chain(log, chain)
    # The same check from the command line, as a customer would run it.
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    key = checkpoints.signer_for(log.settings).verifier.encode()
    ok = CliRunner().invoke(cli, ["verify", str(path), "--key", key, "--rpc", node.url])
    assert ok.exit_code == 0, ok.output
    assert "VALID" in ok.output and "anchored at size" in ok.output
    node.stop()
    down = CliRunner().invoke(cli, ["verify", str(path), "--key", key, "--rpc", node.url])
    assert down.exit_code == 1 and "does not answer" in down.output, down.output


def test_node_restarted_without_state_needs_a_new_deployment(node: Anvil, log: SmallLog) -> None:
    log.grow(2)
    chain = node.chain()
    anchorer = log.anchorer(chain)
    log.settle(anchorer, force=True)
    node.stop()
    node.start(keep_state=False)  # a fresh chain: the contract and the anchor are gone
    anchorer.tick()  # the confirmed anchor is no longer in its block: resubmit...
    anchorer.tick()  # ...but there is no contract to send it to
    assert [r.status for r in log.anchors()] == ["lost"]
    with pytest.raises(ChainError, match="chain was reset"):
        anchorer.tick(force=True)
    assert "no contract code" in (anchorer.status().problem or "")
    deploy_contracts(log.db, chain, ("CheckpointAnchor",))
    size = log.grow(1)
    row = log.settle(anchorer, force=True)
    assert row.tree_size == size
    address = anchorer.contract_address()
    assert address is not None
    assert anchored_events(chain, address) == [(size, row.tx_hash)]
    verified_on_chain(log, chain)


def test_reorganisation_below_and_above_the_confirmation_depth(node: Anvil, log: SmallLog) -> None:
    size = log.grow(2)
    chain = node.chain(confirmations=3)
    anchorer = log.anchorer(chain)
    address = anchorer.contract_address()
    assert address is not None
    before = node.rpc("evm_snapshot")
    row = log.settle(anchorer, force=True, want=("mined",))  # 1 of 3 blocks
    assert node.rpc("evm_revert", before) is True  # a shallow reorg: the block is gone
    before = node.rpc("evm_snapshot")  # (a snapshot is used up by reverting to it)
    row = log.settle(anchorer, want=("mined",))  # not found, nonce free: the same bytes again
    tx_hash = confirm(node, log, anchorer).tx_hash
    # A reorg deeper than the confirmation depth: the anchor vanishes after it was final.
    assert node.rpc("evm_revert", before) is True
    anchorer.tick()  # noticed, and back to "sent"...
    log.settle(anchorer, want=("mined",))  # ...and resubmitted
    row = confirm(node, log, anchorer)
    assert row.tx_hash == tx_hash
    assert anchored_events(chain, address) == [(size, tx_hash)]
    assert len(log.anchors()) == 1
    verified_on_chain(log, chain)


def confirm(node: Anvil, log: SmallLog, anchorer: Any) -> Any:
    """Mine block after block until the newest anchor is confirmed (three deep): under load a
    resubmission can land a block later than the test expects, so the count is not fixed."""
    for _ in range(20):
        anchorer.tick()
        row = log.anchors()[-1]
        if row.status == "confirmed":
            return row
        node.rpc("evm_mine")
    raise AssertionError(f"anchor stuck at {row.status}")


def pending_anchor(node: Anvil, log: SmallLog) -> tuple[int, Any, Any, Any]:
    """An anchor broadcast to a node that does not mine until told to."""
    size = log.grow(2)
    chain = node.chain()
    anchorer = log.anchorer(chain)
    node.rpc("evm_setAutomine", False)
    row = anchorer.tick(force=True)
    assert row is not None and row.status == "sent"
    return size, chain, anchorer, row


def test_dropped_transaction_is_resubmitted(node: Anvil, log: SmallLog) -> None:
    size, chain, anchorer, row = pending_anchor(node, log)
    node.rpc("anvil_dropTransaction", row.tx_hash)
    assert chain.w3.eth.get_block("pending")["transactions"] == []
    anchorer.tick()  # nowhere to be found, nonce still free: broadcast again
    node.rpc("evm_mine")
    row = log.settle(anchorer)
    assert anchored_events(chain, anchorer.contract_address() or "") == [(size, row.tx_hash)]


def test_replaced_transaction_is_re_signed(node: Anvil, log: SmallLog) -> None:
    size, chain, anchorer, row = pending_anchor(node, log)
    # The operator's wallet sends something else with the same nonce and a higher fee.
    me = dev_accounts()[0]
    fees = {"maxFeePerGas": 200 * 10**9, "maxPriorityFeePerGas": 100 * 10**9, "type": 2}
    other = me.sign_transaction(
        {"to": me.address, "value": 0, "gas": 21_000, "nonce": row.nonce, "chainId": 31337} | fees
    )
    chain.w3.eth.send_raw_transaction(other.raw_transaction)
    node.rpc("evm_mine")
    failed = anchorer.tick()
    assert failed is not None and failed.status == "failed" and failed.error == "replaced"
    node.rpc("evm_setAutomine", True)
    row = log.settle(anchorer, force=True)
    assert row.nonce == failed.nonce + 1
    assert anchored_events(chain, anchorer.contract_address() or "") == [(size, row.tx_hash)]


def test_transaction_reverted_by_a_concurrent_writer_is_adopted(node: Anvil, log: SmallLog) -> None:
    size = log.grow(2)
    chain = node.chain()
    anchorer = log.anchorer(chain)
    address = anchorer.contract_address()
    assert address is not None
    second = dev_accounts()[1]  # another ProofDesk process with its own key
    anchor = contract(chain, "CheckpointAnchor", address)
    from proofdesk.chain.base import transact

    transact(chain, anchor.functions.set_writer(second.address, True))
    node.rpc("evm_setAutomine", False)
    row = anchorer.tick(force=True)
    assert row is not None and row.status == "sent"
    with log.db.reader() as session:
        cp = checkpoints.latest(session)
    assert cp is not None
    rival = chain.prepare(
        {
            "to": address,
            "data": anchor.functions.anchor(
                log.origin, cp.size, bytes(cp.root)
            )._encode_transaction_data(),
        },
        account=second,
    )
    # The rival's transaction is mined first; ours, sent again after it, reverts on chain.
    node.rpc("anvil_dropTransaction", row.tx_hash)
    chain.broadcast(rival)
    node.rpc("evm_mine")
    assert row.raw_tx is not None
    chain.w3.eth.send_raw_transaction(row.raw_tx)
    node.rpc("evm_mine")
    ours = chain.receipt(row.tx_hash)
    assert ours is not None and ours["status"] == 0
    row = log.settle(anchorer)
    assert row.tx_hash == rival.tx_hash
    assert anchored_events(chain, address) == [(size, rival.tx_hash)]
    node.rpc("evm_setAutomine", True)
    verified_on_chain(log, chain)
