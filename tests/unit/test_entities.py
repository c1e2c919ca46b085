"""Crypto entities in Chinese, English and mixed text: each type valid and checksum-broken."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proofdesk.domain.entities import Entity, extract

# Public vectors: EIP-55, the Bitcoin genesis address, BIP-13, BIP-173, BIP-350, USDT on Tron.
VALID = [
    ("evm_address", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
    ("evm_address", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"),
    ("evm_address", "0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb"),  # one case: no checksum
    ("evm_tx", "0x" + "5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"),
    ("btc_address", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
    ("btc_address", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
    ("btc_address", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
    ("btc_address", "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297"),
    ("tron_address", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
]
BROKEN = [
    ("evm_address", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "EIP-55"),
    ("btc_address", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "base58 checksum"),
    ("btc_address", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "bech32"),
    # A v1 program with a bech32 (not bech32m) checksum: BIP-350 says invalid.
    (
        "btc_address",
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",
        "bech32",
    ),
    ("tron_address", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u", "base58 checksum"),
]


def only(text: str) -> Entity:
    found = extract(text)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(("kind", "text"), VALID)
def test_valid_entities_alone_and_inside_chinese(kind: str, text: str) -> None:
    for wrapped in (text, f"我的地址是{text}，请查一下", f"sent to {text}."):
        entity = only(wrapped)
        assert (entity.kind, entity.valid) == (kind, True), entity
        assert wrapped[entity.start : entity.end] == text


@pytest.mark.parametrize(("kind", "text", "problem"), BROKEN)
def test_checksum_broken_entities_say_why(kind: str, text: str, problem: str) -> None:
    entity = only(f"地址 {text} 对吗")
    assert (entity.kind, entity.valid) == (kind, False)
    assert entity.problem is not None and problem in entity.problem


def test_mixed_text_amounts_networks_orders_and_txids() -> None:
    text = (
        "我的USDT提币TRC20还没到账，金额 1,250.5 USDT，订单号：ORD-20261122 "
        "另外 0.3个ETH 走 ERC-20，txid " + "ab" * 32 + " on 以太坊"
    )
    found = [(e.kind, e.value, e.detail) for e in extract(text)]
    assert ("network", "TRC20", None) in found
    assert ("amount", "1250.5", "USDT") in found
    assert ("amount", "0.3", "ETH") in found
    assert ("order_id", "ORD-20261122", None) in found
    assert ("network", "ERC20", None) in found
    assert ("btc_txid", "ab" * 32, "bitcoin") in found
    assert ("network", "Ethereum", None) in found


def test_no_false_entities_in_plain_prose() -> None:
    for text in (
        "How long does KYC take? 实名认证需要多久？",
        "There is a ton of base knowledge here, order soon.",
        "Withdrawal pending for 3 hours.",
    ):
        assert [e for e in extract(text) if e.kind != "amount"] == [], text


@given(st.text(max_size=300))
def test_extraction_never_fails_and_spans_are_exact(text: str) -> None:
    for entity in extract(text):
        assert text[entity.start : entity.end] == entity.text
