"""EVM transactions through the configured :class:`~proofdesk.chain.base.Chain` (embedded or
JSON-RPC): the adapter over ``facts.providers.transaction_facts``'s chain calls."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hexbytes import HexBytes

from proofdesk.chain.base import Chain
from proofdesk.domain.networks import Family, Network

WEI = Decimal(10**18)
#: keccak256("Transfer(address,address,uint256)"), the ERC-20 transfer event.
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"

#: The configured chain when its id is not one of the registry's (a development chain).
LOCAL = Network("local", "EVM", Family.EVM, "ETH")


class EvmLookup:
    def __init__(self, chain: Chain, network: Network) -> None:
        self.chain = chain
        self.network = network
        self.confirmations = chain.confirmations

    def transaction(self, tx_id: str) -> dict[str, Any]:
        chain = self.chain
        tx = chain.transaction(tx_id)
        if tx is None:
            return {"found": False}
        out: dict[str, Any] = {
            "found": True,
            "from": str(tx["from"]).lower(),
            "to": str(tx.get("to") or "").lower(),
            "value": str(Decimal(int(tx["value"])) / WEI),
        }
        receipt = chain.receipt(tx_id)
        if receipt is None:
            out.update(status="pending", confirmations=0)
            return out
        head = chain.head()
        block = chain.block(int(receipt["blockNumber"]))
        out.update(
            status="success" if receipt["status"] == 1 else "failed",
            confirmations=max(0, head - int(receipt["blockNumber"]) + 1),
            block_time=datetime.fromtimestamp(int(block["timestamp"]), UTC),
            token_transfers=sum(
                1
                for entry in receipt["logs"]
                if entry["topics"] and HexBytes(entry["topics"][0]).to_0x_hex() == TRANSFER_TOPIC
            ),
        )
        return out
