"""Bitcoin transactions through an Esplora-compatible HTTP API (Blockstream's esplora,
mempool.space, electrs' HTTP server).

- ``GET /tx/:txid``: the transaction (404 when unknown) with ``vin[].prevout`` and ``vout[]``
  (``scriptpubkey_address``, ``value`` in satoshis) and ``status`` (``confirmed``,
  ``block_height``, ``block_time``).
- ``GET /blocks/tip/height``: the height of the best block, as plain text.

Bitcoin has no failed transactions: a transaction is pending (in the mempool) or in a block.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from proofdesk.chain.base import ChainUnavailable
from proofdesk.chain.lookups.base import HttpApi
from proofdesk.domain.networks import Network

SATOSHI = Decimal(10**8)
#: The depth exchanges commonly wait for on Bitcoin.
DEFAULT_CONFIRMATIONS = 6


class EsploraLookup:
    def __init__(
        self, api: HttpApi, network: Network, confirmations: int = DEFAULT_CONFIRMATIONS
    ) -> None:
        self.api = api
        self.network = network
        self.confirmations = confirmations

    def transaction(self, tx_id: str) -> dict[str, Any]:
        try:
            return self._transaction(tx_id)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            raise ChainUnavailable(
                "the Bitcoin API answered in an unexpected shape", network=self.network.key
            ) from None

    def _transaction(self, tx_id: str) -> dict[str, Any]:
        tx = self.api.get_json(f"/tx/{tx_id}")
        if tx is None:
            return {"found": False}
        inputs = [v.get("prevout") or {} for v in tx["vin"]]
        outputs = tx["vout"]
        first_out = outputs[0] if outputs else {}
        out: dict[str, Any] = {
            "found": True,
            "from": str(inputs[0].get("scriptpubkey_address", "")) if inputs else "",
            "to": str(first_out.get("scriptpubkey_address", "")),
            "value": str(Decimal(int(first_out.get("value", 0))) / SATOSHI),
            "token_transfers": 0,
        }
        status = tx["status"]
        if not status.get("confirmed"):
            out.update(status="pending", confirmations=0)
            return out
        tip = self.api.get("/blocks/tip/height")
        if tip is None:
            raise ChainUnavailable("the Bitcoin API has no tip height", network=self.network.key)
        head = int(tip.decode().strip())
        out.update(
            status="success",
            confirmations=max(0, head - int(status["block_height"]) + 1),
            block_time=datetime.fromtimestamp(int(status["block_time"]), UTC),
        )
        return out
