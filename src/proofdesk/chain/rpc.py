"""Any EVM chain behind a JSON-RPC endpoint (a node of one's own, a provider, anvil).

Transactions are signed here with the deployment's key (from an encrypted keystore file or a
secret in the environment) and sent raw, so the node never holds the key. The node's answers
go through :meth:`SigningChain._call`: connection failures are retried with exponential
backoff, then reported as :class:`ChainUnavailable`.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3

from proofdesk.chain.base import SigningChain
from proofdesk.errors import ConfigError


def public_host(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def load_account(*, key: str | None, keystore: Path | None, password: str | None) -> LocalAccount:
    """The signing account from a hex private key, or from a keystore file and its password.
    Errors name the setting, never the secret."""
    if key:
        try:
            account: LocalAccount = Account.from_key(key.strip())
        except (ValueError, TypeError):
            raise ConfigError(
                "setting 'chain_key' (PROOFDESK_CHAIN_KEY) is not a 32-byte hex private key",
                key="chain_key",
            ) from None
        return account
    if keystore is None:
        raise ConfigError(
            "an RPC chain needs a signing key: set PROOFDESK_CHAIN_KEYSTORE (with "
            "PROOFDESK_CHAIN_KEYSTORE_PASSWORD) or PROOFDESK_CHAIN_KEY",
            key="chain_keystore",
        )
    try:
        data = json.loads(keystore.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"setting 'chain_keystore': cannot read {keystore}: {exc}", key="chain_keystore"
        ) from None
    try:
        secret = Account.decrypt(data, password or "")
    except (ValueError, KeyError, TypeError):
        raise ConfigError(
            f"setting 'chain_keystore': {keystore} does not open with the configured password",
            key="chain_keystore_password",
        ) from None
    decrypted: LocalAccount = Account.from_key(secret)
    return decrypted


class RpcChain(SigningChain):
    """A chain reached over HTTP JSON-RPC."""

    kind = "rpc"
    development = False

    def __init__(
        self,
        url: str,
        account: LocalAccount,
        *,
        expected_chain_id: int | None = None,
        confirmations: int = 2,
        gas_cap: int = 2_000_000,
        max_fee_per_gas: int | None = None,
        timeout: float = 10.0,
        retries: int = 4,
        backoff: float = 0.25,
    ) -> None:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise ConfigError(
                f"{public_host(url)} is not an http:// or https:// URL", key="chain_rpc_url"
            )
        self.url = url
        provider = HTTPProvider(
            url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
        )
        super().__init__(
            Web3(provider),
            account,
            confirmations=confirmations,
            gas_cap=gas_cap,
            max_fee_per_gas=max_fee_per_gas,
            retries=retries,
            backoff=backoff,
        )
        if expected_chain_id is not None and self.chain_id != expected_chain_id:
            raise ConfigError(
                f"{url} serves chain {self.chain_id}, not the configured chain "
                f"{expected_chain_id} (PROOFDESK_CHAIN_ID)",
                key="chain_id",
            )
        self.development = self.chain_id == 31337

    def describe(self) -> str:
        """The chain and the node's host; never the URL's path, query or user info, which
        often carry a provider's API key."""
        return f"chain {getattr(self, 'chain_id', '(unknown id)')} at {public_host(self.url)}"
