"""The assistant looks up transactions a customer mentions on the configured chain (embedded
and anvil) and says what the chain says, in Chinese and in English."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from proofdesk.assistant.lookup import answer_transactions, describe, look_up
from proofdesk.chain.base import SignedTx, TxReverted
from proofdesk.chain.embedded import dev_accounts
from tests.support.vyper_calls import fresh

WEI = 10**18


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
    report = look_up(chain, signed.tx_hash)
    assert report.state == "failed"
    assert "reverted" in describe(report, "en") and "回滚" in describe(report, "zh-CN")


def test_an_unknown_transaction_is_said_to_be_missing(chain: Any) -> None:
    report = look_up(chain, "0x" + "ab" * 32)
    assert report.state == "not_found"
    assert "cannot find" in describe(report, "en")
    assert "找不到" in describe(report, "zh-CN")
    assert answer_transactions("no hash here", chain) == []
