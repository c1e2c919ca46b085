"""Looking up the EVM transactions a customer mentions on the configured chain, and saying what
the chain says, in the customer's language: not found, pending, confirmed with N
confirmations, or failed — with sender, recipient and value. The facts are the same ones service
contracts read (``contracts.facts.transaction_facts``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from proofdesk.chain.base import Chain, ChainError
from proofdesk.domain.entities import extract
from proofdesk.facts.providers import transaction_facts
from proofdesk.i18n import N_, translate


@dataclass(frozen=True)
class TxReport:
    tx_hash: str
    chain_id: int
    #: ``not_found``, ``pending``, ``confirmed`` (deep enough), ``confirming``, ``failed``,
    #: or ``unavailable`` (the chain did not answer).
    state: str
    confirmations: int = 0
    required: int = 1
    sender: str | None = None
    recipient: str | None = None
    value: str | None = None
    block_time: datetime | None = None
    token_transfers: int = 0
    problem: str | None = None


def look_up(chain: Chain, tx_hash: str) -> TxReport:
    try:
        facts: dict[str, Any] = transaction_facts(chain, tx_hash)
    except ChainError as exc:
        return TxReport(tx_hash, chain.chain_id, "unavailable", problem=exc.message)
    if not facts["found"]:
        return TxReport(tx_hash, chain.chain_id, "not_found", required=chain.confirmations)
    status = facts["status"]
    confirmations = int(facts.get("confirmations", 0))
    if status == "success":
        state = "confirmed" if confirmations >= chain.confirmations else "confirming"
    else:
        state = status  # pending or failed
    return TxReport(
        tx_hash,
        chain.chain_id,
        state,
        confirmations,
        chain.confirmations,
        facts.get("from"),
        facts.get("to"),
        facts.get("value"),
        facts.get("block_time"),
        int(facts.get("token_transfers", 0)),
    )


def _short(value: str | None) -> str:
    if not value:
        return "—"
    return f"{value[:8]}…{value[-6:]}" if len(value) > 20 else value


def _coins(value: str | None) -> str:
    if value is None:
        return "?"
    return format(Decimal(value).normalize(), "f")


#: What the chain says of a transaction, by ``TxReport.state`` (the catalog has the Chinese).
_SAID = {
    "not_found": N_(
        "I cannot find transaction {tx} on chain {chain}. Check that it was sent on this "
        "network; one sent moments ago may not have reached it yet."
    ),
    "pending": N_(
        "Transaction {tx} is waiting to be included in a block (pending). From {sender} to "
        "{recipient}, {value} in the native coin."
    ),
    "confirming": N_(
        "Transaction {tx} is in a block and has {confirmations} of the {required} "
        "confirmations we wait for. From {sender} to {recipient}, {value} in the native "
        "coin{tokens}."
    ),
    "confirmed": N_(
        "Transaction {tx} succeeded and is confirmed ({confirmations} confirmations). From "
        "{sender} to {recipient}, {value} in the native coin{tokens}."
    ),
    "failed": N_(
        "Transaction {tx} failed on chain: it was mined but reverted, so nothing was "
        "transferred (the network fee was still paid). From {sender} to {recipient}."
    ),
    "unavailable": N_(
        "I could not reach chain {chain} to check transaction {tx}; an agent will look at it."
    ),
}
_TOKENS = N_(", with {n} token transfer(s)")


def describe(report: TxReport, locale: str) -> str:
    """The report in plain words, in ``locale`` (zh-CN or en)."""
    tokens = translate(locale, _TOKENS, n=report.token_transfers) if report.token_transfers else ""
    return translate(
        locale,
        _SAID[report.state],
        tx=_short(report.tx_hash),
        chain=report.chain_id,
        sender=_short(report.sender),
        recipient=_short(report.recipient),
        value=_coins(report.value),
        confirmations=report.confirmations,
        required=report.required,
        tokens=tokens,
    )


def answer_transactions(text: str, chain: Chain, limit: int = 3) -> list[TxReport]:
    """Look up each EVM transaction hash in ``text`` (at most ``limit``)."""
    hashes = list(dict.fromkeys(e.value for e in extract(text) if e.kind == "evm_tx"))
    return [look_up(chain, tx_hash) for tx_hash in hashes[:limit]]
