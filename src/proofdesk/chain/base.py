"""What ProofDesk needs from an EVM chain, and the one implementation of sending to it.

:class:`Chain` is the protocol the anchoring service, the CLI and the contract tests use. Both
backends — the embedded development chain (:mod:`.embedded`) and any JSON-RPC endpoint
(:mod:`.rpc`) — are :class:`SigningChain`: they differ only in the web3 provider underneath,
so every transaction on either is built the same way here: nonce, gas estimated and capped,
EIP-1559 fees (legacy gas price where the chain has no base fee), signed locally, broadcast as
raw bytes. Signing locally is what makes resubmission idempotent: the same signed bytes have
the same hash, so broadcasting them again after a crash or a node restart cannot pay twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import (
    ContractLogicError,
    TimeExhausted,
    TransactionNotFound,
    Web3Exception,
    Web3RPCError,
)
from web3.types import BlockData, FilterParams, LogReceipt, TxData, TxParams, TxReceipt

from proofdesk.chain import contracts
from proofdesk.errors import Error

T = TypeVar("T")

#: What the gas estimate is multiplied by before it becomes the transaction's gas limit.
GAS_MARGIN = 1.2


class ChainError(Error):
    """The chain refused or could not do what was asked; the message says which."""

    code = "chain_error"
    http_status = 502


class ChainUnavailable(ChainError):
    """The node did not answer (after retries)."""

    code = "chain_unavailable"
    http_status = 503


class TxReverted(ChainError):
    """The transaction would revert (found by estimation) or did (status 0 in its receipt)."""

    code = "tx_reverted"
    http_status = 409

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(f"transaction reverted: {reason}", reason=reason, **details)
        self.reason = reason


class GasCapExceeded(ChainError):
    code = "gas_cap_exceeded"
    http_status = 409


@dataclass(frozen=True)
class SignedTx:
    """A transaction ready to broadcast, kept (in the anchoring outbox) until it is mined."""

    tx_hash: str
    raw: bytes
    nonce: int
    sender: str
    gas: int


class Chain(Protocol):
    """An EVM chain ProofDesk can read and send transactions to."""

    #: ``embedded`` or ``rpc``.
    kind: str
    #: True for a chain that exists only for development (the embedded one).
    development: bool
    chain_id: int
    w3: Web3
    #: The account that signs ProofDesk's transactions (anchors, payouts).
    account: LocalAccount
    #: Blocks on top of a transaction's block before it counts as final.
    confirmations: int
    #: Held from signing to broadcasting.
    sending: threading.RLock

    def describe(self) -> str: ...

    def head(self) -> int: ...

    def prepare(
        self, tx: TxParams, *, account: LocalAccount | None = None, gas_cap: int | None = None
    ) -> SignedTx: ...

    def broadcast(self, signed: SignedTx) -> None: ...

    def receipt(self, tx_hash: str) -> TxReceipt | None: ...

    def transaction(self, tx_hash: str) -> TxData | None: ...

    def nonce(self, address: str, block: str = "latest") -> int: ...

    def wait(self, tx_hash: str, *, timeout: float = 30.0, poll: float = 0.05) -> TxReceipt: ...

    def code_at(self, address: str) -> bytes: ...

    def block(self, number: int) -> BlockData: ...

    def call(self, fn: Callable[[], T]) -> T: ...

    def logs(self, query: FilterParams) -> list[LogReceipt]: ...

    def close(self) -> None: ...


def _revert_reason(exc: ContractLogicError) -> str:
    message = str(exc.message or exc)
    for prefix in ("execution reverted: ", "execution reverted:"):
        if message.startswith(prefix):
            return message[len(prefix) :].strip()
    return message.strip() or "execution reverted"


class SigningChain:
    """Transaction building, signing and broadcasting over a web3 provider.

    Calls to the node go through :meth:`_call`, which retries connection failures with
    exponential backoff and turns what is left into :class:`ChainUnavailable`.
    """

    kind = "abstract"
    development = False

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        *,
        confirmations: int,
        gas_cap: int,
        max_fee_per_gas: int | None = None,
        retries: int = 4,
        backoff: float = 0.25,
    ) -> None:
        self.w3 = w3
        self.account = account
        self.confirmations = confirmations
        self.gas_cap = gas_cap
        self.max_fee_per_gas = max_fee_per_gas
        self.retries = retries
        self.backoff = backoff
        #: Held from signing to broadcasting, so that two senders in this process never sign
        #: with the same nonce.
        self.sending = threading.RLock()
        self.chain_id = self._call(lambda: int(self.w3.eth.chain_id))

    # -- node access ---------------------------------------------------------------------

    def _call(self, fn: Callable[[], T]) -> T:
        """Run one request to the node. Connection failures and timeouts are retried with
        exponential backoff, then :class:`ChainUnavailable`; an answer web3 cannot use (not
        JSON, wrong shape) is a :class:`ChainError`. A JSON-RPC error the node sent on purpose
        (``Web3RPCError``, a revert) is the caller's to interpret."""
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except (ContractLogicError, Web3RPCError):
                raise
            except (OSError, TimeExhausted) as exc:  # requests' errors are OSErrors
                if attempt == self.retries:
                    status = getattr(getattr(exc, "response", None), "status_code", None)
                    why = f"HTTP {status}" if status else type(exc).__name__
                    raise ChainUnavailable(f"{self.describe()} does not answer: {why}") from None
            except (Web3Exception, ValueError, KeyError, TypeError) as exc:
                raise ChainError(
                    f"{self.describe()} gave an answer that is not valid JSON-RPC: "
                    f"{type(exc).__name__}: {str(exc)[:200]}"
                ) from None
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (which asks the node something) with this chain's retries and errors."""
        return self._call(fn)

    def describe(self) -> str:
        return f"chain {getattr(self, 'chain_id', '(unknown id)')}"

    def head(self) -> int:
        return self._call(lambda: int(self.w3.eth.block_number))

    def nonce(self, address: str, block: str = "latest") -> int:
        checksum = Web3.to_checksum_address(address)
        return self._call(lambda: int(self.w3.eth.get_transaction_count(checksum, block)))  # type: ignore[arg-type]

    def receipt(self, tx_hash: str) -> TxReceipt | None:
        def fetch() -> TxReceipt | None:
            try:
                return self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                return None

        return self._call(fetch)

    def transaction(self, tx_hash: str) -> TxData | None:
        """The transaction (mined or pending), None when the node does not know it."""

        def fetch() -> TxData | None:
            try:
                return self.w3.eth.get_transaction(HexBytes(tx_hash))
            except TransactionNotFound:
                return None

        return self._call(fetch)

    def code_at(self, address: str) -> bytes:
        checksum = Web3.to_checksum_address(address)
        return bytes(self._call(lambda: self.w3.eth.get_code(checksum)))

    def block(self, number: int) -> BlockData:
        return self._call(lambda: self.w3.eth.get_block(number))

    def logs(self, query: FilterParams) -> list[LogReceipt]:
        return self._call(lambda: list(self.w3.eth.get_logs(query)))

    def close(self) -> None:
        """Release what the backend holds; the default holds nothing."""

    # -- sending -------------------------------------------------------------------------

    def _fees(self) -> dict[str, int]:
        block = self._call(lambda: self.w3.eth.get_block("latest"))
        base = block.get("baseFeePerGas")
        if base is None:
            price = self._call(lambda: int(self.w3.eth.gas_price))
            if self.max_fee_per_gas is not None:
                price = min(price, self.max_fee_per_gas)
            return {"gasPrice": price}
        try:
            tip = self._call(lambda: int(self.w3.eth.max_priority_fee))
        except (Web3RPCError, ValueError):
            tip = 1_000_000_000
        max_fee = 2 * int(base) + tip
        if self.max_fee_per_gas is not None:
            if int(base) > self.max_fee_per_gas:
                raise GasCapExceeded(
                    f"base fee {base} wei is above the configured fee cap {self.max_fee_per_gas}"
                )
            max_fee = min(max_fee, self.max_fee_per_gas)
            tip = min(tip, max_fee - int(base))
        return {"maxFeePerGas": max_fee, "maxPriorityFeePerGas": tip, "type": 2}

    def prepare(
        self, tx: TxParams, *, account: LocalAccount | None = None, gas_cap: int | None = None
    ) -> SignedTx:
        """Fill in nonce, gas and fees, and sign. Raises :class:`TxReverted` when the node's
        estimate says the call reverts, :class:`GasCapExceeded` above the cap."""
        signer = account or self.account
        sender = signer.address
        params: dict[str, Any] = dict(tx)
        params["from"] = sender
        params["chainId"] = self.chain_id
        params.setdefault("value", 0)
        try:
            estimate = self._call(lambda: int(self.w3.eth.estimate_gas(params)))  # type: ignore[arg-type]
        except ContractLogicError as exc:
            raise TxReverted(_revert_reason(exc)) from None
        except Web3RPCError as exc:
            raise ChainError(f"gas estimation failed: {exc.message or exc}") from None
        gas = int(estimate * GAS_MARGIN) + 1_000
        cap = gas_cap if gas_cap is not None else self.gas_cap
        if gas > cap:
            raise GasCapExceeded(f"the call needs about {estimate} gas, above the cap {cap}")
        params["gas"] = gas
        params.update(self._fees())
        nonce = self.nonce(sender, "pending")
        params["nonce"] = nonce
        params.pop("from")
        signed = signer.sign_transaction(params)
        return SignedTx(
            tx_hash=HexBytes(signed.hash).to_0x_hex(),
            raw=bytes(signed.raw_transaction),
            nonce=nonce,
            sender=sender,
            gas=gas,
        )

    def broadcast(self, signed: SignedTx) -> None:
        """Send signed bytes; sending bytes the node already has, or has mined, is not an error."""
        try:
            self._call(lambda: self.w3.eth.send_raw_transaction(signed.raw))
        except Web3RPCError as exc:
            text = str(exc.message or exc).lower()
            if "already known" in text or "already imported" in text or "known transaction" in text:
                return
            if ("nonce too low" in text or "nonce is too low" in text) and self.receipt(
                signed.tx_hash
            ) is not None:
                return
            raise ChainError(f"the node refused the transaction: {exc.message or exc}") from None
        except ValueError as exc:
            # eth-tester raises plain ValueErrors for invalid transactions.
            raise ChainError(f"the chain refused the transaction: {exc}") from None

    def wait(self, tx_hash: str, *, timeout: float = 30.0, poll: float = 0.05) -> TxReceipt:
        """Wait until the transaction is mined (not for confirmations); revert is an error."""
        deadline = time.monotonic() + timeout
        while True:
            receipt = self.receipt(tx_hash)
            if receipt is not None:
                if receipt["status"] != 1:
                    raise TxReverted("status 0 in receipt", tx_hash=tx_hash)
                return receipt
            if time.monotonic() > deadline:
                raise ChainError(f"transaction {tx_hash} was not mined within {timeout:.0f} s")
            time.sleep(poll)


def contract(chain: Chain, name: str, address: str) -> Contract:
    """A web3 contract object for one of ProofDesk's contracts at ``address``."""
    artifact = contracts.load(name)
    return chain.w3.eth.contract(address=Web3.to_checksum_address(address), abi=artifact.abi)


def transact(
    chain: Chain,
    call: ContractFunction,
    *,
    account: LocalAccount | None = None,
    value: int = 0,
    gas_cap: int | None = None,
) -> TxReceipt:
    """Send a contract call and wait until it is mined."""
    with chain.sending:
        signed = chain.prepare(_call_params(call, value), account=account, gas_cap=gas_cap)
        chain.broadcast(signed)
    return chain.wait(signed.tx_hash)


def _call_params(call: ContractFunction, value: int) -> TxParams:
    return {"to": call.address, "data": call._encode_transaction_data(), "value": value}  # type: ignore[typeddict-item]


def deploy(
    chain: Chain,
    name: str,
    args: Sequence[Any] = (),
    *,
    account: LocalAccount | None = None,
    gas_cap: int | None = None,
) -> tuple[str, TxReceipt]:
    """Deploy one of ProofDesk's contracts; returns its address and the deployment receipt."""
    artifact = contracts.load(name)
    factory = chain.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    data = factory.constructor(*args).data_in_transaction
    with chain.sending:
        signed = chain.prepare({"data": data}, account=account, gas_cap=gas_cap)
        chain.broadcast(signed)
    receipt = chain.wait(signed.tx_hash)
    address = receipt["contractAddress"]
    if address is None:
        raise ChainError(f"deployment of {name} produced no contract address")
    return str(address), receipt


__all__ = [
    "Chain",
    "ChainError",
    "ChainUnavailable",
    "ChecksumAddress",
    "GasCapExceeded",
    "SignedTx",
    "SigningChain",
    "TxReverted",
    "contract",
    "deploy",
    "transact",
]
