"""The request inbox contract on chain: what a filing looks like, the call a wallet sends, and
reading the final ``Filed`` events of a block range.

A filing is final once its block is ``confirmations`` deep (the same depth anchors wait for).
Nothing here writes to the database: :mod:`proofdesk.workers.inbox` decides what a filing does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import BlockNotFound

from proofdesk.canonical import format_time
from proofdesk.chain.base import Chain, ChainError, contract
from proofdesk.chain.deployments import deployed
from proofdesk.store.db import Database

INBOX_CONTRACT = "RequestInbox"

#: Filed(bytes32 indexed organization, address indexed sender, bytes32, bytes, uint256).
FILED_TOPIC = "0x" + keccak(text="Filed(bytes32,address,bytes32,bytes,uint256)").hex()

#: The longest pointer the contract takes.
MAX_POINTER = 256

#: Blocks read by one ``eth_getLogs``: public nodes refuse much wider ranges.
MAX_RANGE = 2_000


def organization_key(organization_id: str) -> str:
    """The contract's name of an organization: keccak256 of its ProofDesk id, 0x-hex."""
    return "0x" + keccak(text=organization_id).hex()


@dataclass(frozen=True)
class Filing:
    """One final ``Filed`` event."""

    chain_id: int
    contract: str
    tx_hash: str
    log_index: int
    block_number: int
    block_hash: str
    block_time: str
    sender: str  # lower-case hex, as wallets are stored
    organization_key: str
    commitment: str
    pointer: str
    number: int

    def evidence(self) -> dict[str, Any]:
        """The ``chain.filed`` event's payload: enough to find the log again on any node."""
        return {
            "chain_id": self.chain_id,
            "contract": self.contract,
            "tx_hash": self.tx_hash,
            "log_index": self.log_index,
            "block_number": self.block_number,
            "block_hash": self.block_hash,
            "block_time": self.block_time,
            "sender": self.sender,
            "commitment": self.commitment,
            "number": self.number,
        }


def inbox_address(db: Database, chain: Chain, configured: str | None = None) -> str | None:
    """The request inbox this deployment reads: the configured one, else the one it deployed."""
    if configured:
        return Web3.to_checksum_address(configured)
    with db.reader() as session:
        row = deployed(session, chain.chain_id, INBOX_CONTRACT)
    return row.address if row else None


def deployed_at(db: Database, chain: Chain, address: str) -> int:
    """The block to start reading at: the recorded deployment's block, else 0."""
    with db.reader() as session:
        row = deployed(session, chain.chain_id, INBOX_CONTRACT)
    if row is not None and row.address.lower() == address.lower() and row.block_number:
        return int(row.block_number)
    return 0


def file_call(
    chain: Chain, address: str, organization_id: str, commitment: str, pointer: bytes = b""
) -> dict[str, Any]:
    """The transaction a wallet sends to file (``to``, ``data``), with its gas estimate and the
    cost at today's fee (None where the node does not say)."""
    if len(pointer) > MAX_POINTER:
        raise ValueError(f"the pointer is longer than {MAX_POINTER} bytes")
    inbox = contract(chain, INBOX_CONTRACT, address)
    fn = inbox.functions.file(
        HexBytes(organization_key(organization_id)), HexBytes(commitment), pointer
    )
    data = fn._encode_transaction_data()
    call: dict[str, Any] = {"to": address, "data": data, "gas": None, "cost_wei": None}
    try:
        gas = chain.call(lambda: fn.estimate_gas())
        price = chain.call(lambda: chain.w3.eth.gas_price)
    except ChainError:
        return call
    call["gas"] = int(gas)
    call["cost_wei"] = int(gas) * int(price)
    return call


def final_head(chain: Chain) -> int:
    """The newest block whose events are final (may be -1 on a new chain)."""
    return chain.head() - max(chain.confirmations, 1) + 1


def read_filings(chain: Chain, address: str, first: int, last: int) -> list[Filing]:
    """The ``Filed`` events of blocks ``first``..``last`` (inclusive), in chain order."""
    if last < first:
        return []
    inbox = contract(chain, INBOX_CONTRACT, address)
    logs = chain.logs(
        {
            "address": Web3.to_checksum_address(address),
            "fromBlock": first,
            "toBlock": last,
            "topics": [FILED_TOPIC],
        }
    )
    times: dict[int, str] = {}
    out = []
    for entry in sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"])):
        if entry.get("removed"):
            continue
        event = inbox.events.Filed().process_log(entry)
        number = int(entry["blockNumber"])
        if number not in times:
            stamp = int(chain.block(number)["timestamp"])
            times[number] = format_time(datetime.fromtimestamp(stamp, UTC))
        args = event["args"]
        out.append(
            Filing(
                chain_id=chain.chain_id,
                contract=Web3.to_checksum_address(address),
                tx_hash=HexBytes(entry["transactionHash"]).to_0x_hex(),
                log_index=int(entry["logIndex"]),
                block_number=number,
                block_hash=HexBytes(entry["blockHash"]).to_0x_hex(),
                block_time=times[number],
                sender=str(args["sender"]).lower(),
                organization_key=HexBytes(args["organization"]).to_0x_hex(),
                commitment=HexBytes(args["commitment"]).to_0x_hex(),
                pointer=HexBytes(args["pointer"]).to_0x_hex(),
                number=int(args["number"]),
            )
        )
    return out


def still_canonical(chain: Chain, block_number: int, block_hash: str) -> bool:
    """Whether block ``block_number`` of the chain is still the block ``block_hash`` (False
    when the node has no such block any more: the chain was cut back below it)."""

    def fetch() -> Any:
        try:
            return chain.w3.eth.get_block(block_number)
        except BlockNotFound:
            return None

    block = chain.call(fetch)
    return block is not None and HexBytes(block["hash"]).to_0x_hex().lower() == block_hash.lower()
