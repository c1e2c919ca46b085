"""Looking up the transactions a customer mentions, on whichever network they are on, and saying
what that network says, in the customer's language: not found, pending, confirmed with N
confirmations, or failed — with sender, recipient and value. The look-up is the one every
ticket's "on chain" box uses (``chain.lookups.lookup_for``): an ``0x…`` hash on the configured
EVM chain, a 64-hex id on Tron or Bitcoin when the message names the network (or only one of
the two has an endpoint configured). Nothing is asked of a network without an endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from proofdesk.chain.base import Chain, ChainError
from proofdesk.chain.lookups import NotConfigured, TxLookup, lookup_for
from proofdesk.domain.entities import Entity, extract
from proofdesk.domain.networks import Family, by_mention, network
from proofdesk.i18n import N_, translate
from proofdesk.settings import Settings


@dataclass(frozen=True)
class TxReport:
    tx_hash: str
    #: The network's name (``Tron``, ``Ethereum``; ``EVM`` for a development chain).
    network: str
    #: ``not_found``, ``pending``, ``confirmed`` (deep enough), ``confirming``, ``failed``,
    #: ``unavailable`` (the network did not answer) or ``not_configured`` (no endpoint here).
    state: str
    confirmations: int = 0
    required: int = 1
    sender: str | None = None
    recipient: str | None = None
    value: str | None = None
    block_time: datetime | None = None
    token_transfers: int = 0
    problem: str | None = None
    #: A token transfer the network's API could read (Tron's TRC20 USDT): symbol, amount, to.
    token: str | None = None
    token_value: str | None = None
    token_to: str | None = None


def look_up(lookup: TxLookup, tx_hash: str) -> TxReport:
    name = lookup.network.name
    try:
        facts: dict[str, Any] = lookup.transaction(tx_hash)
    except ChainError as exc:
        return TxReport(tx_hash, name, "unavailable", problem=exc.message)
    if not facts["found"]:
        return TxReport(tx_hash, name, "not_found", required=lookup.confirmations)
    status = facts["status"]
    confirmations = int(facts.get("confirmations", 0))
    if status == "success":
        state = "confirmed" if confirmations >= lookup.confirmations else "confirming"
    else:
        state = status  # pending or failed
    return TxReport(
        tx_hash,
        name,
        state,
        confirmations,
        lookup.confirmations,
        facts.get("from"),
        facts.get("to"),
        facts.get("value"),
        facts.get("block_time"),
        int(facts.get("token_transfers", 0)),
        token=facts.get("token"),
        token_value=facts.get("token_value"),
        token_to=facts.get("token_to"),
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
    "not_configured": N_(
        "This desk cannot check {chain} transactions itself; an agent will look at {tx}."
    ),
}
_TOKENS = N_(", with {n} token transfer(s)")
_TOKEN = N_(", carrying {amount} {token} to {recipient}")


def describe(report: TxReport, locale: str) -> str:
    """The report in plain words, in ``locale`` (zh-CN or en)."""
    tokens = translate(locale, _TOKENS, n=report.token_transfers) if report.token_transfers else ""
    if report.token is not None and report.token_value is not None:
        tokens = translate(
            locale,
            _TOKEN,
            amount=_coins(report.token_value),
            token=report.token,
            recipient=_short(report.token_to),
        )
    return translate(
        locale,
        _SAID[report.state],
        tx=_short(report.tx_hash),
        chain=report.network,
        sender=_short(report.sender),
        recipient=_short(report.recipient),
        value=_coins(report.value),
        confirmations=report.confirmations,
        required=report.required,
        tokens=tokens,
    )


def answer_transactions(
    text: str, chain: Chain | None, settings: Settings | None = None, limit: int = 3
) -> list[TxReport]:
    """Look up each transaction id in ``text`` (at most ``limit``) on its network."""
    entities = extract(text)
    named = [n for e in entities if e.kind == "network" and (n := by_mention(e.value))]
    evm = next((n.key for n in named if n.family is Family.EVM), None)
    other = next((n.key for n in named if n.family in (Family.TRON, Family.BITCOIN)), None)
    if other is None and settings is not None:
        # A bare 64-hex id: Tron or Bitcoin; asked only where exactly one of them is set up.
        configured = [key for key in ("tron", "bitcoin") if key in settings.network_endpoints]
        other = configured[0] if len(configured) == 1 else None
    reports: list[TxReport] = []
    for entity in _transaction_ids(entities):
        key = evm if entity.kind == "evm_tx" else other
        if entity.kind != "evm_tx" and key is None:
            continue  # a 64-hex string on no network we can name: not a guess worth making
        if entity.kind == "evm_tx" and chain is None:
            continue
        try:
            lookup = lookup_for(settings, chain, key)
        except NotConfigured:
            name = network(key).name if key is not None else "EVM"
            reports.append(TxReport(entity.value, name, "not_configured"))
            continue
        except ChainError as exc:
            reports.append(TxReport(entity.value, "EVM", "unavailable", problem=exc.message))
            continue
        reports.append(look_up(lookup, entity.value))
        if len(reports) == limit:
            break
    return reports[:limit]


def _transaction_ids(entities: list[Entity]) -> list[Entity]:
    seen: dict[str, Entity] = {}
    for entity in entities:
        if entity.kind in ("evm_tx", "btc_txid"):
            seen.setdefault(entity.value, entity)
    return list(seen.values())
