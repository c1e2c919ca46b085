"""The networks a crypto help desk meets, and the rules of their identifiers.

One registry (:data:`NETWORKS`) names every network by a stable key (``tron``, ``bitcoin``,
``ethereum``…) with its family. The family decides what a transaction id and an address look
like, and this module is the one place that knows it: forms, ticket fields, the API, the
assistant's entity extraction (``domain.entities``) and the transaction look-ups all ask here.

- EVM (Ethereum, BNB Smart Chain, Polygon, Arbitrum, …): ``0x`` + 64 hex digits for a
  transaction, ``0x`` + 40 for an address, EIP-55 checked when mixed case; the EIP-155 chain id
  is kept beside the name.
- Tron: 64 hex digits (no ``0x``) for a transaction id; base58check addresses ``T…`` whose
  21-byte payload starts with the version byte 0x41.
- Bitcoin: 64 hex digits for a txid; base58check P2PKH/P2SH (version 0x00/0x05) and bech32
  (BIP 173, witness v0) or bech32m (BIP 350, v1+) addresses.
- Solana: base58 signatures (64 bytes) and addresses (32-byte public keys).
- TON: 64 hex digits for a transaction hash; raw ``wc:hex64`` or user-friendly 48-character
  base64(url) addresses whose CRC-16/XMODEM checks.

Pure: no I/O; base58 and bech32 by ``embit``, EIP-55 by ``eth_utils``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from enum import StrEnum

from embit import base58, bech32
from eth_utils.address import is_checksum_address

from proofdesk.errors import InvalidInput


class Family(StrEnum):
    EVM = "evm"
    TRON = "tron"
    BITCOIN = "bitcoin"
    SOLANA = "solana"
    TON = "ton"


@dataclass(frozen=True, slots=True)
class Network:
    key: str
    name: str
    family: Family
    #: The native coin's symbol.
    coin: str
    #: EIP-155 chain id, for EVM networks only.
    chain_id: int | None = None
    #: The token standard customers name for it (``TRC20``, ``ERC20``, ``BEP20``).
    token_standard: str | None = None


NETWORKS: tuple[Network, ...] = (
    Network("ethereum", "Ethereum", Family.EVM, "ETH", 1, "ERC20"),
    Network("bsc", "BNB Smart Chain", Family.EVM, "BNB", 56, "BEP20"),
    Network("tron", "Tron", Family.TRON, "TRX", None, "TRC20"),
    Network("bitcoin", "Bitcoin", Family.BITCOIN, "BTC"),
    Network("polygon", "Polygon", Family.EVM, "POL", 137),
    Network("arbitrum", "Arbitrum One", Family.EVM, "ETH", 42161),
    Network("optimism", "OP Mainnet", Family.EVM, "ETH", 10),
    Network("base", "Base", Family.EVM, "ETH", 8453),
    Network("avalanche", "Avalanche C-Chain", Family.EVM, "AVAX", 43114),
    Network("solana", "Solana", Family.SOLANA, "SOL"),
    Network("ton", "TON", Family.TON, "TON"),
)
_BY_KEY = {n.key: n for n in NETWORKS}
_BY_CHAIN_ID = {n.chain_id: n for n in NETWORKS if n.chain_id is not None}

#: Known token contracts (network key, contract address) → (symbol, decimals): facts as data.
TOKENS: dict[tuple[str, str], tuple[str, int]] = {
    ("tron", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"): ("USDT", 6),
    ("tron", "TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8"): ("USDC", 6),
}

TRON_VERSION = 0x41
BITCOIN_P2PKH, BITCOIN_P2SH = 0x00, 0x05
BITCOIN_HRPS = ("bc", "tb")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_EVM_TX = re.compile(r"^0x[0-9a-fA-F]{64}$")
_EVM_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_BASE58 = re.compile(r"^[1-9A-HJ-NP-Za-km-z]+$")
_TON_RAW = re.compile(r"^(?:0|-1):[0-9a-fA-F]{64}$")
_TON_FRIENDLY = re.compile(r"^[A-Za-z0-9_\-+/]{48}$")


def network(key: str) -> Network:
    """The network named ``key``, or a clear refusal listing the known ones."""
    found = _BY_KEY.get(key.strip().lower())
    if found is None:
        known = ", ".join(n.key for n in NETWORKS)
        raise InvalidInput(f"unknown network {key!r} (known: {known})", field="network")
    return found


def by_mention(name: str) -> Network | None:
    """The network a customer's word for it names (``domain.entities``' canonical names: a key,
    a name or a token standard such as ``TRC20``), or None (``Lightning``, ``BEP2``)."""
    wanted = name.strip().lower()
    for net in NETWORKS:
        if wanted in (net.key, net.name.lower(), (net.token_standard or "").lower()):
            return net
        if wanted == net.name.split()[0].lower():  # "Arbitrum" for "Arbitrum One"
            return net
    return None


def by_chain_id(chain_id: int) -> Network | None:
    return _BY_CHAIN_ID.get(chain_id)


def tron_address_problem(text: str) -> str | None:
    """Base58check with a 21-byte payload starting 0x41."""
    payload = _base58check(text)
    if payload is None:
        return "the base58 checksum does not match: a character was changed or mistyped"
    if len(payload) != 21 or payload[0] != TRON_VERSION:
        return "not a Tron address (T followed by 33 base58 characters)"
    return None


def bitcoin_base58_problem(text: str) -> str | None:
    payload = _base58check(text)
    if payload is None:
        return "the base58 checksum does not match: a character was changed or mistyped"
    if len(payload) != 21 or payload[0] not in (BITCOIN_P2PKH, BITCOIN_P2SH):
        return "not a Bitcoin address"
    return None


def bech32_problem(text: str) -> str | None:
    """BIP 173/350: ``embit.bech32.decode`` checks the checksum, the witness version's constant
    (bech32 for v0, bech32m for v1+) and the program length."""
    hrp = text[:2].lower()
    if hrp not in BITCOIN_HRPS:
        return "not a Bitcoin address"
    try:
        version, program = bech32.decode(hrp, text)
    except (ValueError, TypeError, IndexError):
        version, program = None, None
    if version is None or program is None:
        return "the bech32 checksum does not match (or the address is malformed)"
    return None


def bitcoin_address_problem(text: str) -> str | None:
    if text[:3].lower() in ("bc1", "tb1"):
        return bech32_problem(text)
    return bitcoin_base58_problem(text)


def evm_address_problem(text: str) -> str | None:
    if not _EVM_ADDRESS.match(text):
        return "not an EVM address (0x followed by 40 hex digits)"
    digits = text[2:]
    if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(text):
        return "the address's mixed case is not its EIP-55 checksum (a typo?)"
    return None


def solana_problem(text: str, size: int) -> str | None:
    if not _BASE58.match(text):
        return "not base58 text"
    try:
        raw = base58.decode(text)
    except (ValueError, KeyError, IndexError):
        return "not base58 text"
    if len(raw) != size:
        return f"not {size} bytes once decoded (a character missing or extra?)"
    return None


def ton_address_problem(text: str) -> str | None:
    """Raw ``workchain:hex`` or the 36-byte user-friendly form: flag, workchain, 32-byte
    account, CRC-16/XMODEM of the first 34 bytes (``binascii.crc_hqx`` with 0 is XMODEM)."""
    if _TON_RAW.match(text):
        return None
    if not _TON_FRIENDLY.match(text):
        return "not a TON address"
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (ValueError, binascii.Error):
        return "not a TON address"
    if len(raw) != 36 or binascii.crc_hqx(raw[:34], 0) != int.from_bytes(raw[34:], "big"):
        return "the TON address checksum does not match: a character was changed or mistyped"
    return None


def _base58check(text: str) -> bytes | None:
    if not _BASE58.match(text):
        return None
    try:
        payload: bytes = base58.decode_check(text)
    except (ValueError, KeyError, IndexError):
        return None
    return payload


_TX_SHAPES = {
    Family.EVM: "0x followed by 64 hex digits",
    Family.TRON: "64 hex digits, no 0x",
    Family.BITCOIN: "64 hex digits",
    Family.SOLANA: "a base58 signature of 87 or 88 characters",
    Family.TON: "64 hex digits",
}


def tx_id(net: Network | None, value: str) -> str:
    """A transaction id in its stored form on ``net`` (None: an EVM chain, as before networks
    had names). Hex ids are stored lower case; a Tron or Bitcoin id pasted with ``0x`` is
    accepted without it."""
    text = value.strip()
    family = Family.EVM if net is None else net.family
    if family is Family.EVM:
        if _EVM_TX.match(text):
            return text.lower()
    elif family is Family.SOLANA:
        if solana_problem(text, 64) is None:
            return text
    else:
        bare = text[2:] if text[:2].lower() == "0x" else text
        if _HEX64.match(bare):
            return bare.lower()
    if net is None and _HEX64.match(text):
        raise InvalidInput(
            "64 hex digits without 0x is a Tron, Bitcoin or TON transaction id: choose its network",
            field="network",
            code="network_required",
        )
    name = "an EVM chain" if net is None else net.name
    raise InvalidInput(
        f"not a transaction id on {name} ({_TX_SHAPES[family]})",
        field="tx_hash",
        network=None if net is None else net.key,
    )


def address(net: Network | None, value: str) -> str:
    """A wallet address in its stored form on ``net`` (None: EVM). EVM addresses are stored
    lower case; bech32 lower case; base58 and TON as written (case is part of them)."""
    text = value.strip()
    family = Family.EVM if net is None else net.family
    if family is Family.EVM:
        problem = evm_address_problem(text)
    elif family is Family.TRON:
        problem = tron_address_problem(text)
    elif family is Family.BITCOIN:
        problem = bitcoin_address_problem(text)
    elif family is Family.SOLANA:
        problem = solana_problem(text, 32)
    else:
        problem = ton_address_problem(text)
    if problem is not None:
        name = "an EVM chain" if net is None else net.name
        raise InvalidInput(f"{problem} ({name})", field="wallet_address")
    if family is Family.EVM or (family is Family.BITCOIN and text[:3].lower() in ("bc1", "tb1")):
        return text.lower()
    return text


def tron_hex_to_base58(hex_address: str) -> str:
    """A Tron address as the HTTP API writes it (``41`` + 40 hex) in its base58check form."""
    raw = bytes.fromhex(hex_address)
    encoded: str = base58.encode_check(raw)
    return encoded
