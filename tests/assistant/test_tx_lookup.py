"""The assistant looks up transactions a customer mentions — on the configured chain (embedded
and anvil), and on Tron and Bitcoin through loopback servers speaking TronGrid's and Esplora's
documented APIs — and says what the network says, in Chinese and in English."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from pydantic import SecretStr

from proofdesk.assistant.lookup import answer_transactions, describe, look_up
from proofdesk.chain.base import Chain, SignedTx, TxReverted
from proofdesk.chain.embedded import dev_accounts
from proofdesk.chain.lookups import TxLookup, lookup_for
from proofdesk.domain.networks import tron_hex_to_base58
from proofdesk.settings import Settings
from tests.support.network_apis import EsploraApi, TronApi, serving
from tests.support.vyper_calls import fresh

WEI = 10**18


def evm(chain: Chain) -> TxLookup:
    return lookup_for(None, chain, None)


def pay(chain: Any, value: int) -> str:
    sender, recipient = dev_accounts()[4], dev_accounts()[5]
    with chain.sending:
        signed = chain.prepare({"to": recipient.address, "value": value}, account=sender)
        chain.broadcast(signed)
    chain.wait(signed.tx_hash)
    return signed.tx_hash


def test_a_confirmed_payment_is_reported_with_its_parties_and_value(chain: Any) -> None:
    tx = pay(chain, WEI // 4)
    [report] = answer_transactions(f"我的提币 {tx} 还没到账", chain)
    assert report.state in ("confirmed", "confirming") and report.confirmations >= 1
    assert report.sender == dev_accounts()[4].address.lower()
    assert report.recipient == dev_accounts()[5].address.lower()
    assert report.value == "0.25"
    english, chinese = describe(report, "en"), describe(report, "zh-CN")
    assert "0.25" in english and "From 0x" in english
    assert "0.25" in chinese and ("确认" in chinese)


def test_a_reverted_transaction_is_reported_as_failed(chain: Any) -> None:
    escrow = fresh(chain, "WarrantyEscrow", chain.account.address)
    account = dev_accounts()[6]
    call = escrow.functions.withdraw(1)  # no bond: reverts
    raw = Account.sign_transaction(
        {
            "to": escrow.address,
            "data": call._encode_transaction_data(),
            "value": 0,
            "gas": 100_000,
            "gasPrice": 2 * 10**9,
            "nonce": chain.nonce(account.address, "pending"),
            "chainId": chain.chain_id,
        },
        account.key,
    )
    signed = SignedTx(raw.hash.to_0x_hex(), bytes(raw.raw_transaction), 0, account.address, 0)
    chain.broadcast(signed)
    with pytest.raises(TxReverted):  # mined, with status 0
        chain.wait(signed.tx_hash)
    report = look_up(evm(chain), signed.tx_hash)
    assert report.state == "failed"
    assert "reverted" in describe(report, "en") and "回滚" in describe(report, "zh-CN")


def test_an_unknown_transaction_is_said_to_be_missing(chain: Any) -> None:
    report = look_up(evm(chain), "0x" + "ab" * 32)
    assert report.state == "not_found"
    assert "cannot find" in describe(report, "en")
    assert "找不到" in describe(report, "zh-CN")
    assert answer_transactions("no hash here", chain) == []


SENDER = tron_hex_to_base58("41" + "11" * 20)
RECIPIENT = tron_hex_to_base58("41" + "22" * 20)
TXID = "ab" * 32


@pytest.fixture
def tron() -> Iterator[TronApi]:
    api = TronApi(head=1000)
    with serving(api):
        yield api


def _settings(tmp_path: Path, **endpoints: str) -> Settings:
    return Settings(
        data_dir=tmp_path, network_endpoints={k: SecretStr(v) for k, v in endpoints.items()}
    )


def test_a_usdt_transfer_on_tron_is_reported_with_its_token(tron: TronApi, tmp_path: Path) -> None:
    tron.add_usdt_transfer(TXID, SENDER, RECIPIENT, 125_500_000, block=990)
    settings = _settings(tmp_path, tron=tron.url)
    [report] = answer_transactions(f"我的 USDT TRC20 提币 {TXID} 还没到账", None, settings)
    assert report.network == "Tron" and report.state == "confirming"
    assert report.token == "USDT" and report.token_value == "125.5"
    chinese, english = describe(report, "zh-CN"), describe(report, "en")
    assert "125.5 USDT" in chinese and "确认" in chinese
    assert "carrying 125.5 USDT to" in english
    assert any("gettransactionbyid" in path for path in tron.requests)


def test_a_bare_64_hex_id_is_asked_only_where_one_network_can_answer(
    tron: TronApi, tmp_path: Path
) -> None:
    tron.add_usdt_transfer(TXID, SENDER, RECIPIENT, 1_000_000, block=900)
    [report] = answer_transactions(
        f"withdrawal {TXID} missing", None, _settings(tmp_path, tron=tron.url)
    )
    assert report.state == "confirmed" and report.network == "Tron"
    esplora = EsploraApi(tip=1)
    with serving(esplora):
        both = _settings(tmp_path, tron=tron.url, bitcoin=esplora.url)
        assert answer_transactions(f"withdrawal {TXID} missing", None, both) == []
        [named] = answer_transactions(f"bitcoin payment {TXID}", None, both)
    assert named.network == "Bitcoin" and named.state == "not_found"
    assert answer_transactions(f"withdrawal {TXID} missing", None, _settings(tmp_path)) == []


def test_a_network_without_an_endpoint_is_said_plainly_and_nothing_is_asked(
    tmp_path: Path,
) -> None:
    [report] = answer_transactions(f"Tron transfer {TXID} not received", None, _settings(tmp_path))
    assert report.state == "not_configured" and report.network == "Tron"
    assert "cannot check Tron transactions" in describe(report, "en")
    assert "无法自行查询 Tron" in describe(report, "zh-CN")


def test_an_evm_hash_on_a_network_other_than_the_configured_chain(
    chain: Any, tmp_path: Path
) -> None:
    if chain.chain_id == 56:
        pytest.skip("the configured chain is BNB Smart Chain itself")
    tx = "0x" + "cd" * 32
    [report] = answer_transactions(f"BSC transfer {tx}", chain, _settings(tmp_path))
    assert report.state == "not_configured" and report.network == "BNB Smart Chain"
