"""Small helpers for the contract suites (which run on the embedded chain and on anvil)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3.contract import Contract
from web3.logs import DISCARD

from proofdesk.chain.base import Chain, TxReverted, contract, deploy, transact
from proofdesk.chain.embedded import dev_accounts

ACCOUNTS = dev_accounts()
OWNER, ALICE, BOB, CAROL, MALLORY = ACCOUNTS[:5]
ZERO = "0x" + "00" * 20


def fresh(chain: Chain, name: str, *args: Any) -> Contract:
    address, _ = deploy(chain, name, args)
    return contract(chain, name, address)


def send(chain: Chain, call: Any, by: LocalAccount = OWNER, value: int = 0) -> Any:
    return transact(chain, call, account=by, value=value)


def reverts(
    chain: Chain, call: Any, reason: str | None, by: LocalAccount = OWNER, value: int = 0
) -> None:
    """The call reverts (with this reason, if given) and changes nothing."""
    head = chain.head()
    with pytest.raises(TxReverted) as caught:
        transact(chain, call, account=by, value=value)
    if reason is not None:
        assert reason in caught.value.reason, caught.value.reason
    assert chain.head() == head  # refused at estimation: nothing was mined


def events(c: Contract, name: str, receipt: Any) -> list[dict[str, Any]]:
    decoded = getattr(c.events, name)().process_receipt(receipt, errors=DISCARD)
    return [dict(e["args"]) for e in decoded]
