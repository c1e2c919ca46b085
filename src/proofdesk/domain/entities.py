"""Crypto entities in customer text, in any mix of Chinese and English, with their checksums.

Found: EVM addresses (EIP-55 checked when mixed case) and transaction hashes, Bitcoin
addresses (base58check P2PKH/P2SH, bech32 segwit v0 and bech32m v1+) and
transaction ids, Tron addresses (base58check, version byte 0x41) — every check by the network
registry ``domain.networks``, amounts with a token symbol,
network names, and order ids. Each :class:`Entity` says whether it is valid and, if not, why —
"the checksum does not match" is an answer a customer needs before anything else.

Chinese text has no spaces: patterns are bounded by "not an ASCII letter or digit", never by
``\\b`` (which treats CJK characters as word characters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from proofdesk.domain import networks

#: A token is bounded by anything that is not an ASCII letter or digit (CJK text included).
_L, _R = r"(?<![A-Za-z0-9])", r"(?![A-Za-z0-9])"

EVM_ADDRESS = re.compile(_L + r"0x[0-9a-fA-F]{40}" + _R)
EVM_TX = re.compile(_L + r"0x[0-9a-fA-F]{64}" + _R)
HEX64 = re.compile(_L + r"[0-9a-fA-F]{64}" + _R)
BASE58 = re.compile(_L + r"[13T][1-9A-HJ-NP-Za-km-z]{25,34}" + _R)
BECH32 = re.compile(_L + r"(?:bc|tb|BC|TB)1[02-9ac-hj-np-zAC-HJ-NP-Z]{8,87}" + _R)
ORDER = re.compile(
    r"(?:(?:order|订单|订单号|order\s*(?:id|no\.?|number))\s*[#:：]?\s*)"
    r"([A-Za-z]{0,6}-?\d{4,20}|[A-Z]{2,6}-[A-Za-z0-9]{3,20})"
    r"|" + _L + r"([A-Z]{2,6}-\d{4,20})" + _R,
    re.IGNORECASE,
)

TOKENS = (
    "USDT",
    "USDC",
    "DAI",
    "BUSD",
    "FDUSD",
    "BTC",
    "ETH",
    "BNB",
    "TRX",
    "SOL",
    "XRP",
    "DOGE",
    "TON",
    "MATIC",
    "POL",
    "ARB",
    "OP",
    "AVAX",
    "LTC",
    "ADA",
    "DOT",
    "SHIB",
    "PEPE",
    "LINK",
    "UNI",
    "PDR",
)
_TOKEN = "|".join(TOKENS)
AMOUNT = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*(?:个|枚)?\s*(" + _TOKEN + r")" + _R,
    re.IGNORECASE,
)

#: Network names (and their Chinese names) → the canonical name.
NETWORKS = {
    "erc20": "ERC20",
    "erc-20": "ERC20",
    "ethereum": "Ethereum",
    "以太坊": "Ethereum",
    "trc20": "TRC20",
    "trc-20": "TRC20",
    "tron": "Tron",
    "波场": "Tron",
    "bep20": "BEP20",
    "bep-20": "BEP20",
    "bsc": "BEP20",
    "bnb smart chain": "BEP20",
    "币安智能链": "BEP20",
    "bep2": "BEP2",
    "solana": "Solana",
    "sol链": "Solana",
    "polygon": "Polygon",
    "arbitrum": "Arbitrum",
    "optimism": "Optimism",
    "base chain": "Base",
    "base network": "Base",
    "avalanche": "Avalanche",
    "avax-c": "Avalanche",
    "bitcoin": "Bitcoin",
    "比特币网络": "Bitcoin",
    "lightning": "Lightning",
    "闪电网络": "Lightning",
    "ton network": "TON",
    "toncoin": "TON",
}
_NETWORK = re.compile(
    "|".join(
        (_L + re.escape(name) + _R) if name.isascii() else re.escape(name)
        for name in sorted(NETWORKS, key=len, reverse=True)
    ),
    re.IGNORECASE,
)
#: Words near a bare 64-hex string that make it a transaction id rather than a key.
TX_CONTEXT = re.compile(r"txid|tx\s*id|tx\s*hash|hash|交易哈希|交易号|哈希|交易id|区块", re.I)


@dataclass(frozen=True)
class Entity:
    kind: str
    text: str
    start: int
    end: int
    #: The normalized value (lower-case address, decimal amount…).
    value: str
    valid: bool = True
    problem: str | None = None
    #: The chain or token it belongs to, when known (``bitcoin``, ``tron``, ``USDT``…).
    detail: str | None = None


def _evm_address(m: re.Match[str]) -> Entity:
    text = m.group(0)
    problem = networks.evm_address_problem(text)
    if problem is not None:
        problem = (
            "the EIP-55 checksum (upper and lower case letters) does not match: a letter was "
            "changed or mistyped"
        )
    return Entity("evm_address", text, m.start(), m.end(), text.lower(), problem is None, problem)


def _base58(m: re.Match[str]) -> Entity | None:
    """A ``T…`` Tron or ``1…``/``3…`` Bitcoin address, by the rules of ``domain.networks``."""
    text = m.group(0)
    tron = text.startswith("T")
    if tron and len(text) != 34:
        return None
    kind, detail = ("tron_address", "tron") if tron else ("btc_address", "bitcoin")
    problem = networks.tron_address_problem(text) if tron else networks.bitcoin_base58_problem(text)
    if problem is None:
        return Entity(kind, text, m.start(), m.end(), text, detail=detail)
    if "checksum" not in problem:
        return None  # base58 text that checks but is some other kind of thing
    return Entity(kind, text, m.start(), m.end(), text, False, problem)


def _bech32(m: re.Match[str]) -> Entity:
    text = m.group(0)
    problem = networks.bech32_problem(text)
    return Entity(
        "btc_address",
        text,
        m.start(),
        m.end(),
        text.lower(),
        problem is None,
        problem,
        detail="bitcoin",
    )


def _amount(m: re.Match[str]) -> Entity | None:
    try:
        value = Decimal(m.group(1).replace(",", ""))
    except InvalidOperation:
        return None
    symbol = m.group(2).upper()
    return Entity("amount", m.group(0), m.start(), m.end(), str(value), detail=symbol)


def extract(text: str) -> list[Entity]:
    """Every entity in ``text``, in order of position; overlaps resolved to the longest."""
    found: list[Entity] = []
    for m in EVM_TX.finditer(text):
        found.append(Entity("evm_tx", m.group(0), m.start(), m.end(), m.group(0).lower()))
    for m in EVM_ADDRESS.finditer(text):
        found.append(_evm_address(m))
    for m in HEX64.finditer(text):
        if text[max(0, m.start() - 2) : m.start()].lower() == "0x":
            continue
        found.append(
            Entity("btc_txid", m.group(0), m.start(), m.end(), m.group(0).lower(), detail="bitcoin")
        )
    for m in BASE58.finditer(text):
        entity = _base58(m)
        if entity is not None:
            found.append(entity)
    for m in BECH32.finditer(text):
        found.append(_bech32(m))
    for m in AMOUNT.finditer(text):
        amount = _amount(m)
        if amount is not None:
            found.append(amount)
    for m in _NETWORK.finditer(text):
        found.append(
            Entity("network", m.group(0), m.start(), m.end(), NETWORKS[m.group(0).lower()])
        )
    for m in ORDER.finditer(text):
        group = 1 if m.group(1) else 2
        found.append(
            Entity("order_id", m.group(group), m.start(group), m.end(group), m.group(group).upper())
        )
    return _without_overlaps(found)


def _without_overlaps(found: list[Entity]) -> list[Entity]:
    kept: list[Entity] = []
    for entity in sorted(found, key=lambda e: (e.start, -(e.end - e.start))):
        if kept and entity.start < kept[-1].end:
            continue
        kept.append(entity)
    return kept
