"""Loopback servers that speak the documented HTTP APIs of other networks' transaction
look-ups, for the adapters of ``proofdesk.chain.lookups`` (a public TronGrid or Esplora cannot
be reached from tests, nor should it be):

- :class:`TronApi`: ``POST /wallet/gettransactionbyid``, ``/wallet/gettransactioninfobyid``,
  ``/wallet/getnowblock`` (java-tron's HTTP API, ``visible`` addresses) and TronGrid's
  ``GET /v1/transactions/{id}/events``.
- :class:`EsploraApi`: ``GET /tx/:txid``, ``/tx/:txid/status`` and ``/blocks/tip/height``.

Each holds its transactions in plain dicts the test fills in, shaped as the documentation
shows them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.loopback import http_on_loopback

USDT_TRON = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"


@dataclass
class TronApi:
    head: int = 1000
    #: txid → the gettransactionbyid answer
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: txid → the gettransactioninfobyid answer (absent: not in a block yet)
    infos: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: txid → the /v1 events answer's ``data``
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    url: str = ""
    requests: list[str] = field(default_factory=list)

    def add_usdt_transfer(
        self, txid: str, sender: str, recipient: str, units: int, *, block: int | None
    ) -> None:
        """A TRC20 ``transfer`` of USDT, in a block (``block``) or still pending."""
        self.transactions[txid] = {
            "ret": [{"contractRet": "SUCCESS"}],
            "txID": txid,
            "raw_data": {
                "contract": [
                    {
                        "parameter": {
                            "value": {
                                "data": "a9059cbb" + "00" * 64,
                                "owner_address": sender,
                                "contract_address": USDT_TRON,
                            },
                            "type_url": "type.googleapis.com/protocol.TriggerSmartContract",
                        },
                        "type": "TriggerSmartContract",
                    }
                ],
                "timestamp": 1_760_000_000_000,
            },
        }
        if block is not None:
            self.infos[txid] = {
                "id": txid,
                "blockNumber": block,
                "blockTimeStamp": 1_760_000_003_000,
                "contract_address": USDT_TRON,
                "receipt": {"energy_usage_total": 14650, "result": "SUCCESS"},
                "log": [],
            }
            self.events[txid] = [
                {
                    "block_number": block,
                    "transaction_id": txid,
                    "contract_address": USDT_TRON,
                    "event_name": "Transfer",
                    "result": {"from": sender, "to": recipient, "value": str(units)},
                }
            ]

    def answer(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        self.requests.append(path)
        txid = str(body.get("value", ""))
        if method == "POST" and path == "/wallet/gettransactionbyid":
            return 200, self.transactions.get(txid, {})
        if method == "POST" and path == "/wallet/gettransactioninfobyid":
            return 200, self.infos.get(txid, {})
        if method == "POST" and path == "/wallet/getnowblock":
            return 200, {"blockID": "00" * 32, "block_header": {"raw_data": {"number": self.head}}}
        if method == "GET" and path.startswith("/v1/transactions/") and path.endswith("/events"):
            found = path.removeprefix("/v1/transactions/").removesuffix("/events")
            return 200, {"data": self.events.get(found, []), "success": True, "meta": {}}
        return 404, {"Error": "not found"}


@dataclass
class EsploraApi:
    tip: int = 870_000
    #: txid → the /tx/:txid answer
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    url: str = ""
    requests: list[str] = field(default_factory=list)

    def add_payment(
        self, txid: str, sender: str, recipient: str, sats: int, *, height: int | None
    ) -> None:
        status: dict[str, Any] = {"confirmed": False}
        if height is not None:
            status = {
                "confirmed": True,
                "block_height": height,
                "block_hash": "00" * 32,
                "block_time": 1_760_000_000,
            }
        self.transactions[txid] = {
            "txid": txid,
            "version": 2,
            "locktime": 0,
            "vin": [
                {
                    "txid": "11" * 32,
                    "vout": 0,
                    "prevout": {"scriptpubkey_address": sender, "value": sats + 1000},
                }
            ],
            "vout": [{"scriptpubkey_address": recipient, "value": sats}],
            "fee": 1000,
            "status": status,
        }

    def answer(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        self.requests.append(path)
        if path == "/blocks/tip/height":
            return 200, str(self.tip)
        if path.startswith("/tx/"):
            rest = path.removeprefix("/tx/")
            txid, _, tail = rest.partition("/")
            tx = self.transactions.get(txid)
            if tx is None:
                return 404, "Transaction not found"
            return 200, tx["status"] if tail == "status" else tx
        return 404, "not found"


def _handler(api: TronApi | EsploraApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else {}
            status, answer = api.answer(method, self.path, body)
            data = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
            self.send_response(status)
            kind = "text/plain" if isinstance(answer, str) else "application/json"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving(api: TronApi | EsploraApi) -> Iterator[str]:
    """Serve ``api`` on a free loopback port; yields (and sets ``api.url`` to) its base URL."""
    with http_on_loopback(_handler(api)) as server:
        api.url = server.url  # type: ignore[attr-defined]
        yield api.url
