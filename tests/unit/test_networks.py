"""The network registry's identifier rules (``domain.networks``), with the published vectors
of BIP 173/350 (bech32/bech32m), EIP-55 and well-known base58 addresses as data."""

from __future__ import annotations

import base64
import binascii

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proofdesk.domain import networks
from proofdesk.domain.entities import extract
from proofdesk.errors import InvalidInput

TRON = networks.network("tron")
BITCOIN = networks.network("bitcoin")
SOLANA = networks.network("solana")
TON = networks.network("ton")
USDT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"

VALID = [
    (TRON, USDT),
    (BITCOIN, "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"),  # BIP 173, v0
    (BITCOIN, "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"),  # BIP 350, v1
    (BITCOIN, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),  # P2PKH
    (BITCOIN, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),  # P2SH
    (SOLANA, "11111111111111111111111111111111"),  # the system program
    (SOLANA, "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"),
    (TON, "0:" + "ab" * 32),
    (None, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),  # EIP-55
]
INVALID = [
    (TRON, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u"),  # last character changed
    (TRON, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),  # a Bitcoin address
    # BIP 350: a v1 program with a bech32 (not bech32m) checksum.
    (BITCOIN, "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd"),
    (BITCOIN, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"),  # checksum broken
    (BITCOIN, USDT),
    (SOLANA, "1111111111111111111111111111111"),  # 31 bytes
    (TON, "1:" + "ab" * 32),
    (None, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"),  # EIP-55 broken
    (None, USDT),
]


@pytest.mark.parametrize(("net", "text"), VALID)
def test_valid_addresses_are_accepted(net: networks.Network | None, text: str) -> None:
    stored = networks.address(net, text)
    assert stored.lower() == text.lower()


@pytest.mark.parametrize(("net", "text"), INVALID)
def test_invalid_addresses_are_refused_with_the_field(
    net: networks.Network | None, text: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        networks.address(net, text)
    assert caught.value.details["field"] == "wallet_address"


def _ton_friendly(account: bytes) -> str:
    body = bytes([0x11, 0x00]) + account
    crc = binascii.crc_hqx(body, 0).to_bytes(2, "big")
    return base64.urlsafe_b64encode(body + crc).decode()


@given(st.binary(min_size=32, max_size=32), st.integers(0, 47))
def test_a_ton_address_checks_and_any_changed_character_fails(account: bytes, at: int) -> None:
    text = _ton_friendly(account)
    assert networks.address(TON, text) == text
    swapped = "A" if text[at] != "A" else "B"
    changed = text[:at] + swapped + text[at + 1 :]
    with pytest.raises(InvalidInput):
        networks.address(TON, changed)


@given(st.binary(min_size=20, max_size=20), st.integers(1, 33))
def test_tron_addresses_round_trip_and_a_changed_character_fails(raw: bytes, at: int) -> None:
    text = networks.tron_hex_to_base58("41" + raw.hex())
    assert text.startswith("T") and networks.address(TRON, text) == text
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    other = alphabet[(alphabet.index(text[at]) + 1) % len(alphabet)]
    with pytest.raises(InvalidInput):
        networks.address(TRON, text[:at] + other + text[at + 1 :])


@given(st.binary(min_size=32, max_size=32))
def test_transaction_ids_by_family(raw: bytes) -> None:
    digits = raw.hex()
    assert networks.tx_id(TRON, digits.upper()) == digits
    assert networks.tx_id(TRON, "0x" + digits) == digits  # pasted with 0x: accepted without
    assert networks.tx_id(BITCOIN, digits) == digits
    assert networks.tx_id(None, "0x" + digits) == "0x" + digits
    with pytest.raises(InvalidInput) as caught:
        networks.tx_id(None, digits)  # EVM wants 0x; a bare one needs its network named
    assert caught.value.code == "network_required"


def test_a_wrong_shape_names_the_network_and_its_rule() -> None:
    with pytest.raises(InvalidInput) as caught:
        networks.tx_id(TRON, "abc")
    assert "Tron" in caught.value.message and "64 hex" in caught.value.message
    with pytest.raises(InvalidInput) as unknown:
        networks.network("atlantis")
    assert unknown.value.details["field"] == "network" and "tron" in unknown.value.message


def test_evm_networks_carry_their_chain_id_and_the_others_none() -> None:
    assert networks.network("bsc").chain_id == 56
    assert networks.by_chain_id(1) == networks.network("ethereum")
    assert TRON.chain_id is None and BITCOIN.chain_id is None
    assert {n.family for n in networks.NETWORKS} == set(networks.Family)


def test_the_assistant_recognises_addresses_by_the_same_rules() -> None:
    """``domain.entities`` asks the registry: what it accepts, the forms accept."""
    found = {
        e.text: e for e in extract(f"USDT 发到 {USDT}，或者 TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u")
    }
    assert found[USDT].valid and found[USDT].kind == "tron_address"
    broken = found["TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u"]
    assert not broken.valid and "checksum" in (broken.problem or "")
    bech = extract("to bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd please")
    assert bech[0].kind == "btc_address" and not bech[0].valid


def test_every_network_a_customer_names_is_found_in_the_registry() -> None:
    from proofdesk.domain.entities import NETWORKS as MENTIONS

    found = {name: networks.by_mention(name) for name in set(MENTIONS.values())}
    unknown = {name for name, net in found.items() if net is None}
    assert unknown == {"BEP2", "Lightning"}  # networks we have no look-up for
    assert found["TRC20"] is networks.network("tron")
    assert found["BEP20"] is networks.network("bsc")
    assert found["Arbitrum"] is networks.network("arbitrum")
