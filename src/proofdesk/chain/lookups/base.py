"""The one protocol of transaction look-ups, and the small HTTP client the adapters share.

Every adapter answers :meth:`TxLookup.transaction` with the same facts the EVM look-up always
gave (``facts.providers.transaction_facts``): ``found`` and, when found, ``status`` (pending,
success, failed), ``confirmations``, ``from``, ``to``, ``value`` (the native coin, decimal
text) and, once in a block, ``block_time`` and ``token_transfers``; a token transfer it can read
adds ``token``, ``token_value`` and ``token_to``. A look-up that cannot be made raises
:class:`~proofdesk.chain.base.ChainError` — the callers turn it into "unknown" with the reason.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Protocol

from proofdesk.chain.base import ChainError, ChainUnavailable
from proofdesk.domain.networks import Network

#: Answers larger than this are not a transaction (a misconfigured endpoint).
MAX_ANSWER = 2 * 1024 * 1024


class TxLookup(Protocol):
    network: Network
    #: Blocks (counting the transaction's own) before it counts as final.
    confirmations: int

    def transaction(self, tx_id: str) -> dict[str, Any]: ...


class NotConfigured(ChainError):
    """No endpoint is configured for the network: said plainly, nothing public is asked."""

    code = "network_not_configured"
    http_status = 409


class HttpApi:
    """GET/POST JSON against a configured base URL (standard library; loopback in tests).

    ``None`` for a 404 (the documented "not found" of Esplora); other failures are
    :class:`ChainUnavailable` naming the network, never the URL (it may hold a key)."""

    def __init__(self, base_url: str, network: Network, timeout: float) -> None:
        self._base = base_url.rstrip("/")
        self._network = network
        self._timeout = timeout

    def get(self, path: str) -> bytes | None:
        # The scheme is http(s), checked by the settings (``Settings._network_endpoints``).
        return self._send(urllib.request.Request(self._base + path, method="GET"))  # noqa: S310

    def post_json(self, path: str, body: dict[str, Any]) -> Any:
        data = json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 (http(s) only, as above)
            self._base + path,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        return _json(self._send(request), self._network)

    def get_json(self, path: str) -> Any:
        raw = self.get(path)
        return None if raw is None else _json(raw, self._network)

    def _send(self, request: urllib.request.Request) -> bytes | None:
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:  # noqa: S310
                raw: bytes = answer.read(MAX_ANSWER + 1)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise ChainUnavailable(
                f"the {self._network.name} API answered HTTP {exc.code}",
                network=self._network.key,
            ) from None
        except (urllib.error.URLError, OSError, ValueError):
            raise ChainUnavailable(
                f"the {self._network.name} API cannot be reached", network=self._network.key
            ) from None
        if len(raw) > MAX_ANSWER:
            raise ChainUnavailable(f"the {self._network.name} API answered too much")
        return raw


def _json(raw: bytes | None, network: Network) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise ChainUnavailable(f"the {network.name} API did not answer JSON") from None
