"""Tron transactions through a TronGrid-compatible HTTP API (a java-tron full node's HTTP
interface plus TronGrid's ``/v1`` event index).

- ``POST /wallet/gettransactionbyid`` ``{"value": txid, "visible": true}``: the transaction
  (``{}`` when unknown); ``ret[0].contractRet`` and ``raw_data.contract[0]`` (type and
  parameters, base58 addresses because of ``visible``).
- ``POST /wallet/gettransactioninfobyid``: its execution once in a block (``{}`` before):
  ``blockNumber``, ``blockTimeStamp`` (ms), ``receipt.result``, ``result: FAILED``.
- ``POST /wallet/getnowblock``: ``block_header.raw_data.number``, the head.
- ``GET /v1/transactions/{id}/events``: the TRC20 ``Transfer`` events (``data[]`` with
  ``event_name``, ``contract_address``, ``result.{from,to,value}``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from proofdesk.chain.base import ChainUnavailable
from proofdesk.chain.lookups.base import HttpApi
from proofdesk.domain.networks import TOKENS, Network, tron_hex_to_base58

SUN = Decimal(10**6)
#: A block is irreversible once 2/3 of the 27 super representatives built on it: 19 blocks.
SOLIDIFIED = 19


class TronLookup:
    def __init__(self, api: HttpApi, network: Network, confirmations: int = SOLIDIFIED) -> None:
        self.api = api
        self.network = network
        self.confirmations = confirmations

    def transaction(self, tx_id: str) -> dict[str, Any]:
        try:
            return self._transaction(tx_id)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            raise ChainUnavailable(
                "the Tron API answered in an unexpected shape", network=self.network.key
            ) from None

    def _transaction(self, tx_id: str) -> dict[str, Any]:
        body = {"value": tx_id, "visible": True}
        tx = self.api.post_json("/wallet/gettransactionbyid", body) or {}
        if not tx.get("txID"):
            return {"found": False}
        contract = tx["raw_data"]["contract"][0]
        params = contract["parameter"]["value"]
        out: dict[str, Any] = {
            "found": True,
            "from": _address(params.get("owner_address")),
            "to": _address(params.get("to_address") or params.get("contract_address")),
            "value": str(Decimal(int(params.get("amount", 0))) / SUN),
            "token_transfers": 0,
        }
        info = self.api.post_json("/wallet/gettransactioninfobyid", body) or {}
        if "blockNumber" not in info:
            out.update(status="pending", confirmations=0)
            return out
        now = self.api.post_json("/wallet/getnowblock", {})
        head = int(now["block_header"]["raw_data"]["number"])
        ret = (tx.get("ret") or [{}])[0].get("contractRet", "SUCCESS")
        receipt = (info.get("receipt") or {}).get("result", "SUCCESS")
        failed = info.get("result") == "FAILED" or ret != "SUCCESS" or receipt != "SUCCESS"
        out.update(
            status="failed" if failed else "success",
            confirmations=max(0, head - int(info["blockNumber"]) + 1),
            block_time=datetime.fromtimestamp(int(info["blockTimeStamp"]) / 1000, UTC),
        )
        if contract.get("type") == "TriggerSmartContract" and not failed:
            out.update(self._token_transfer(tx_id))
        return out

    def _token_transfer(self, tx_id: str) -> dict[str, Any]:
        """The first TRC20 ``Transfer`` of the transaction, in the token's units when the
        registry knows the token (USDT, USDC), else in raw units."""
        events = self.api.get_json(f"/v1/transactions/{tx_id}/events") or {}
        transfers = [e for e in events.get("data", []) if e.get("event_name") == "Transfer"]
        if not transfers:
            return {}
        first = transfers[0]
        contract = _address(first.get("contract_address"))
        symbol, decimals = TOKENS.get((self.network.key, contract), (contract, 0))
        raw = int(first["result"]["value"])
        return {
            "token_transfers": len(transfers),
            "token": symbol,
            "token_value": str(Decimal(raw) / Decimal(10**decimals)),
            "token_to": _address(first["result"].get("to")),
        }


def _address(value: Any) -> str:
    """Base58 as ``visible`` asks; a hex form (``41…`` or an EVM-style ``0x…`` in events)
    is converted."""
    text = str(value or "")
    if text.startswith("0x") and len(text) == 42:
        return tron_hex_to_base58("41" + text[2:])
    if text.startswith("41") and len(text) == 42:
        return tron_hex_to_base58(text)
    return text
