"""Checking a receipt's anchor against the chain itself (``proofdesk verify --rpc``).

The offline part (the receipt's checkpoint extends the anchored tree) is in
:mod:`proofdesk.verify.receipt`; this part asks a node: is there, in the named transaction, an
``Anchored`` event of exactly this log, size and root, emitted by a contract whose code is
ProofDesk's ``CheckpointAnchor`` (so that it refused to go backwards), and how deep is it?
"""

from __future__ import annotations

from typing import Any

from hexbytes import HexBytes
from web3 import Web3

from proofdesk.chain import contracts
from proofdesk.chain.anchoring import ANCHOR_CONTRACT, ANCHORED_TOPIC, log_id
from proofdesk.chain.base import Chain, ChainError


def check_anchor(chain: Chain, anchor: dict[str, Any], origin: str) -> list[tuple[str, bool, str]]:
    """Findings as ``(item, ok, detail)``, in the order checked."""
    found: list[tuple[str, bool, str]] = []
    try:
        size = int(anchor["tree_size"])
        root = bytes.fromhex(str(anchor["root"]))
        address = Web3.to_checksum_address(str(anchor["contract"]))
        tx_hash = str(anchor["tx_hash"])
        chain_id = int(anchor["chain_id"])
    except (KeyError, TypeError, ValueError) as exc:
        return [("chain anchor", False, f"malformed anchor: {exc!r}")]
    if chain.chain_id != chain_id:
        return [("chain anchor", False, f"the node serves chain {chain.chain_id}, not {chain_id}")]
    try:
        code = chain.code_at(address)
        expected = bytes.fromhex(
            contracts.load(ANCHOR_CONTRACT).runtime_bytecode.removeprefix("0x")
        )
        if code == expected:
            found.append(("anchor contract", True, f"{address} runs ProofDesk's CheckpointAnchor"))
        elif not code:
            return [("anchor contract", False, f"no contract at {address} on this chain")]
        else:
            found.append(
                (
                    "anchor contract",
                    False,
                    f"the code at {address} is not ProofDesk's CheckpointAnchor",
                )
            )
        receipt = chain.receipt(tx_hash)
        if receipt is None:
            found.append(("chain anchor", False, f"transaction {tx_hash} is not on this chain"))
            return found
        if receipt["status"] != 1:
            found.append(("chain anchor", False, f"transaction {tx_hash} reverted"))
            return found
        want = [ANCHORED_TOPIC, "0x" + log_id(origin).hex(), "0x" + root.hex()]
        for entry in receipt["logs"]:
            topics = [HexBytes(t).to_0x_hex() for t in entry["topics"]]
            data = bytes(entry["data"])
            if (
                entry["address"] == address
                and topics == want
                and int.from_bytes(data[:32], "big") == size
            ):
                block = int(receipt["blockNumber"])
                depth = chain.head() - block + 1
                detail = (
                    f"Anchored({origin}, size {size}) in block {block} of chain {chain_id}, "
                    f"{depth} confirmation{'s' if depth != 1 else ''}"
                )
                if anchor.get("block_number") not in (None, block):
                    detail += f" (the receipt said block {anchor['block_number']}: reorganised)"
                found.append(("chain anchor", True, detail))
                return found
        found.append(
            (
                "chain anchor",
                False,
                f"transaction {tx_hash} has no Anchored event of this checkpoint",
            )
        )
    except ChainError as exc:
        found.append(("chain anchor", False, exc.message))
    return found
