"""The embedded development chain: py-evm in process, its state in a SQLite file.

This is a DEVELOPMENT chain. It has no other nodes, no consensus and no value; its accounts
are the well-known development accounts of the "test … junk" mnemonic (the same ones anvil and
Hardhat start with), whose keys are public. It exists so that ``make run`` and the tests can
anchor, pay and verify without a network. Anchors on it prove only what the operator's own
file says; point ``PROOFDESK_CHAIN_RPC_URL`` at a real chain for anchors worth publishing.

Persistence goes through py-evm's own database interface: :class:`SqliteKV` is a
``BaseDB`` (the key/value store every py-evm chain sits on) backed by one SQLite table. Every
JSON-RPC request to the chain runs inside one SQLite ``BEGIN IMMEDIATE`` transaction, which
serialises requests across threads and processes and commits or rolls back the state each
request left, so a block is either wholly on disk or not at all. Before each request the chain
object is rebuilt from the stored canonical head if another process moved it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth.db.backends.base import BaseDB
from eth.db.chain import ChainDB
from eth.vm.forks.prague import PragueVM
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.backends.pyevm.main import (
    generate_genesis_state_for_keys,
    get_default_genesis_params,
)
from eth_tester.exceptions import TransactionFailed
from eth_typing import BlockNumber
from eth_utils.exceptions import ValidationError
from eth_utils.toolz import assoc  # type: ignore[attr-defined]
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider
from web3.types import RPCEndpoint, RPCResponse

from proofdesk.chain.base import SigningChain
from proofdesk.errors import ConfigError

#: The public development mnemonic; its first accounts are funded at genesis.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNTS = 10
#: eth-tester's chain id, which web3's tester provider reports.
DEV_CHAIN_ID = 131277322940537

Account.enable_unaudited_hdwallet_features()


def dev_accounts(count: int = DEV_ACCOUNTS) -> list[LocalAccount]:
    """The development accounts (public keys: for development chains only)."""
    return [
        Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}")
        for i in range(count)
    ]


class SqliteKV(BaseDB):
    """A py-evm key/value database in one SQLite table; transactions are the caller's."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        """Open (or, with ``create``, make) the chain file. Without ``create`` a file that is
        not an embedded chain is refused before anything is written to it."""
        self.path = path
        if not create and not path.is_file():
            raise ConfigError(f"no embedded chain at {path}", key="embedded_chain")
        try:
            self.conn = sqlite3.connect(
                f"file:{path}{'' if create else '?mode=rw'}",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                timeout=30.0,
            )
            if not create:
                found = self.conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kv'"
                ).fetchone()
                if found is None:
                    raise sqlite3.DatabaseError("no kv table")
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID"
            )
        except sqlite3.DatabaseError as exc:
            raise ConfigError(
                f"{path} is not an embedded chain file ({exc})", key="embedded_chain"
            ) from None

    def __getitem__(self, key: bytes) -> bytes:
        row = self.conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return bytes(row[0])

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.conn.execute("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", (key, value))

    def __delitem__(self, key: bytes) -> None:
        cursor = self.conn.execute("DELETE FROM kv WHERE k = ?", (key,))
        if cursor.rowcount == 0:
            raise KeyError(key)

    def _exists(self, key: bytes) -> bool:
        return self.conn.execute("SELECT 1 FROM kv WHERE k = ?", (key,)).fetchone() is not None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


class _DevChain(MiningChain):
    """Post-merge (Prague) rules with a constant gas limit, as eth-tester's own test chain."""

    chain_id = DEV_CHAIN_ID
    vm_configuration = ((BlockNumber(0), PragueVM),)

    def create_header_from_parent(self, parent_header: Any, **header_params: Any) -> Any:
        return super().create_header_from_parent(
            parent_header, **assoc(header_params, "gas_limit", parent_header.gas_limit)
        )

    def get_transaction_builder(self) -> Any:
        return super().get_vm().get_transaction_builder()


class _PersistentBackend(PyEVMBackend):  # type: ignore[misc]  # eth-tester is untyped
    """eth-tester's py-evm backend on a :class:`SqliteKV` instead of memory."""

    def __init__(self, kv: SqliteKV) -> None:
        self._db = AtomicDB(kv)
        keys = [self._key_from(a) for a in dev_accounts(DEV_ACCOUNTS)]
        super().__init__(genesis_state=generate_genesis_state_for_keys(keys))

    def reset_to_genesis(
        self,
        genesis_params: Any = None,
        genesis_state: Any = None,
        num_accounts: Any = None,
        vm_configuration: Any = None,
        mnemonic: Any = None,
        hd_path: Any = None,
    ) -> None:
        self.account_keys = tuple(self._key_from(a) for a in dev_accounts(DEV_ACCOUNTS))
        if self.stored_head() is None:
            self.chain = _DevChain.from_genesis(
                self._db, get_default_genesis_params(), genesis_state
            )
        else:
            self.chain = _DevChain(self._db)

    @staticmethod
    def _key_from(account: LocalAccount) -> Any:
        from eth_keys.main import KeyAPI

        return KeyAPI().PrivateKey(bytes(account.key))

    def stored_head(self) -> bytes | None:
        try:
            return bytes(ChainDB(self._db).get_canonical_head().hash)
        except Exception:
            return None

    def freshen_pending(self) -> None:
        """Give an empty pending block the wall-clock time, so that a block's timestamp is
        when its first transaction arrived (not when the previous block was mined)."""
        chain: Any = self.chain
        now = int(time.time())
        if chain.header.gas_used == 0 and chain.header.timestamp < now:
            chain.header = chain.header.copy(timestamp=now)

    def reload_if_moved(self) -> None:
        """Rebuild the chain object when another process extended the stored chain."""
        head = self.stored_head()
        if head is not None and head != bytes(self.chain.get_canonical_head().hash):
            self.chain = _DevChain(self._db)


class _LockedProvider(EthereumTesterProvider):
    """Runs every request in one SQLite transaction (and one thread at a time)."""

    def __init__(self, kv: SqliteKV, backend: _PersistentBackend) -> None:
        self._kv = kv
        self._backend = backend
        self._lock = threading.RLock()
        super().__init__(EthereumTester(backend=backend, auto_mine_transactions=True))

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        with self._lock, self._kv.transaction():
            self._backend.reload_if_moved()
            self._backend.freshen_pending()
            try:
                return super().make_request(method, params)
            except TransactionFailed as exc:
                # What a JSON-RPC node answers for a reverting call (EIP-1474 code 3).
                return RPCResponse(
                    jsonrpc="2.0", id=0, error={"code": 3, "message": str(exc.args[0])}
                )
            except ValidationError as exc:
                # An invalid transaction (nonce, funds, gas): a node's "invalid input".
                return RPCResponse(jsonrpc="2.0", id=0, error={"code": -32000, "message": str(exc)})


class EmbeddedChain(SigningChain):
    """The in-process development chain, persisted in ``<data_dir>/chain/evm.sqlite3``."""

    kind = "embedded"
    development = True

    def __init__(
        self,
        path: Path,
        *,
        confirmations: int = 1,
        gas_cap: int = 5_000_000,
        create: bool = True,
    ) -> None:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._kv = SqliteKV(path, create=create)
        with self._kv.transaction():
            self._backend = _PersistentBackend(self._kv)
        self._provider = _LockedProvider(self._kv, self._backend)
        self._tester: Any = self._provider.ethereum_tester
        self.accounts = dev_accounts()
        super().__init__(
            Web3(self._provider), self.accounts[0], confirmations=confirmations, gas_cap=gas_cap
        )

    def describe(self) -> str:
        # No file path: this text is shown by the public /api/v1/chain.
        return f"embedded development chain {self.chain_id}"

    def mine(self, blocks: int = 1) -> None:
        """Mine empty blocks (development only: adds confirmations)."""
        self._provider.make_request(RPCEndpoint("evm_mine"), [blocks])

    def advance_time(self, seconds: int) -> None:
        """Move the chain's clock forward and mine a block (development only)."""
        with self._provider._lock, self._kv.transaction():
            self._backend.reload_if_moved()
            latest = self._backend.chain.get_canonical_head()
            self._tester.time_travel(int(latest.timestamp) + seconds)

    def close(self) -> None:
        self._kv.close()
