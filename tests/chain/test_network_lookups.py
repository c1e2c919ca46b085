"""Transaction look-ups on Tron and Bitcoin (``chain.lookups``) against loopback servers that
speak the documented TronGrid and Esplora HTTP APIs (``tests/support/network_apis.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from proofdesk.chain.base import ChainUnavailable
from proofdesk.chain.lookups import NotConfigured, lookup_for
from proofdesk.domain.networks import tron_hex_to_base58
from proofdesk.settings import Settings
from tests.support.network_apis import EsploraApi, TronApi, serving

SENDER = tron_hex_to_base58("41" + "11" * 20)
RECIPIENT = tron_hex_to_base58("41" + "22" * 20)
TXID = "ab" * 32


@pytest.fixture
def tron() -> Iterator[TronApi]:
    api = TronApi(head=1000)
    with serving(api):
        yield api


@pytest.fixture
def esplora() -> Iterator[EsploraApi]:
    api = EsploraApi(tip=870_010)
    with serving(api):
        yield api


def _settings(tmp_path: Path, **endpoints: str) -> Settings:
    return Settings(
        data_dir=tmp_path, network_endpoints={k: SecretStr(v) for k, v in endpoints.items()}
    )


def test_a_usdt_transfer_on_tron_is_found_with_its_token_and_depth(
    tron: TronApi, tmp_path: Path
) -> None:
    tron.add_usdt_transfer(TXID, SENDER, RECIPIENT, 125_500_000, block=990)
    lookup = lookup_for(_settings(tmp_path, tron=tron.url), None, "tron")
    facts = lookup.transaction(TXID)
    assert facts["found"] and facts["status"] == "success"
    assert facts["confirmations"] == 11 and lookup.confirmations == 19
    assert facts["from"] == SENDER and facts["token"] == "USDT"
    assert facts["token_value"] == "125.5" and facts["token_to"] == RECIPIENT
    assert facts["block_time"].year == 2025


def test_tron_pending_unknown_and_failed(tron: TronApi, tmp_path: Path) -> None:
    lookup = lookup_for(_settings(tmp_path, tron=tron.url), None, "tron")
    assert lookup.transaction("cd" * 32) == {"found": False}
    tron.add_usdt_transfer(TXID, SENDER, RECIPIENT, 1, block=None)
    assert lookup.transaction(TXID)["status"] == "pending"
    tron.add_usdt_transfer(TXID, SENDER, RECIPIENT, 1, block=999)
    tron.infos[TXID]["receipt"]["result"] = "OUT_OF_ENERGY"
    tron.infos[TXID]["result"] = "FAILED"
    failed = lookup.transaction(TXID)
    assert failed["status"] == "failed" and "token" not in failed


def test_a_bitcoin_payment_through_esplora(esplora: EsploraApi, tmp_path: Path) -> None:
    sender, recipient = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
    esplora.add_payment(TXID, sender, recipient, 2_500_000, height=870_000)
    lookup = lookup_for(_settings(tmp_path, bitcoin=esplora.url), None, "bitcoin")
    facts = lookup.transaction(TXID)
    assert facts["status"] == "success" and facts["confirmations"] == 11
    assert facts["from"] == sender and facts["to"] == recipient and facts["value"] == "0.025"
    esplora.add_payment(TXID, sender, recipient, 1, height=None)
    assert lookup.transaction(TXID)["status"] == "pending"
    assert lookup.transaction("cd" * 32) == {"found": False}
    assert "/blocks/tip/height" in esplora.requests


def test_no_endpoint_means_not_configured_and_nothing_is_asked(tmp_path: Path) -> None:
    for key in ("tron", "bitcoin", "solana"):
        with pytest.raises(NotConfigured) as caught:
            lookup_for(_settings(tmp_path), None, key)
        assert "configured" in caught.value.message
    with pytest.raises(NotConfigured):
        lookup_for(None, None, "tron")
    with pytest.raises(NotConfigured, match="configured"):
        lookup_for(_settings(tmp_path), None, "ethereum")


def test_an_endpoint_that_does_not_answer_is_unavailable_without_its_url(
    tmp_path: Path,
) -> None:
    api = TronApi()
    with serving(api) as url:
        pass  # the server is gone: its port refuses
    lookup = lookup_for(_settings(tmp_path, tron=url + "/?key=s3cret"), None, "tron")
    with pytest.raises(ChainUnavailable) as caught:
        lookup.transaction(TXID)
    assert "s3cret" not in str(caught.value.as_dict()) and "Tron" in caught.value.message


def test_an_answer_in_an_unexpected_shape_is_unavailable(tron: TronApi, tmp_path: Path) -> None:
    tron.transactions[TXID] = {"txID": TXID, "raw_data": {"contract": []}}
    lookup = lookup_for(_settings(tmp_path, tron=tron.url), None, "tron")
    with pytest.raises(ChainUnavailable, match="unexpected shape"):
        lookup.transaction(TXID)


def test_endpoints_must_be_http_urls(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="http"):
        _settings(tmp_path, tron="file:///etc/passwd")
