"""Where the facts of a decision come from: providers behind one :class:`FactProvider` protocol.

Each provider owns the facts under its root names (``ticket``, ``customer``, ``order``,
``withdrawal``, ``chain``, ``now``, ``sla``) and publishes their types in :data:`CATALOG`; a contract may
declare only catalogued facts, with the catalogued type, or facts under ``claim.`` — what a
person states about a claim (an agent who inspected a device, say), supplied with the decision
request and logged with the supplier's id. A contract is checked against the catalog when it is
published, so a typo is an error then, not a silent "unknown" later.

A provider answers with the values it knows and, for each fact it cannot give, the reason (no
order linked, the order is another customer's, the chain does not answer…). The engine turns a
fact it needs and lacks into "needs human", naming it; nothing here raises for a missing fact.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from proofdesk.canonical import maybe_stored_utc, parse_time, stored_utc
from proofdesk.chain.base import Chain, ChainError
from proofdesk.chain.lookups import NotConfigured, lookup_for
from proofdesk.chain.lookups.evm import LOCAL, EvmLookup
from proofdesk.domain.tickets import Event, EventType, TicketState
from proofdesk.settings import Settings
from proofdesk.store.models import Order, User, Wallet

#: The root of facts a person supplies with a decision request.
SUPPLIED_ROOT = "claim"

WEI = Decimal(10) ** 18


@dataclass(frozen=True)
class FactContext:
    session: Session
    ticket: TicketState
    now: datetime
    #: The configured chain, None when there is none to ask.
    chain: Chain | None = None
    #: The event being handled (unsealed), for ``message.*`` facts.
    event: Event | None = None
    #: For the look-up endpoints of networks other than the configured chain; None: none.
    settings: Settings | None = None


@dataclass
class Gathered:
    """What the providers found for the facts a contract declares."""

    values: dict[str, Any] = field(default_factory=dict)
    #: The provider (or ``staff:<user id>``) each known value came from.
    sources: dict[str, str] = field(default_factory=dict)
    #: Why each fact that is not known is not.
    unknown: dict[str, str] = field(default_factory=dict)


class FactProvider(Protocol):
    """A source of facts. ``provide`` is asked only for catalogued names under ``roots`` and
    returns ``(values, unknown reasons)``; it never raises for a fact it cannot give."""

    name: str
    #: Fact name → type, as contracts declare them.
    facts: Mapping[str, str]

    def provide(
        self, ctx: FactContext, wanted: set[str]
    ) -> tuple[dict[str, Any], dict[str, str]]: ...


def _pick(every: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    return {k: v for k, v in every.items() if k in wanted}


def _unknown(wanted: set[str], reason: str) -> tuple[dict[str, Any], dict[str, str]]:
    return {}, dict.fromkeys(wanted, reason)


class TicketFacts:
    name = "ticket"
    facts: Mapping[str, str] = {
        "ticket.created_at": "timestamp",
        "ticket.updated_at": "timestamp",
        "ticket.kind": "string",
        "ticket.priority": "string",
        "ticket.channel": "string",
        "ticket.status": "string",
        "ticket.message_count": "int",
        "ticket.has_tx_hash": "bool",
    }

    def provide(self, ctx: FactContext, wanted: set[str]) -> tuple[dict[str, Any], dict[str, str]]:
        t = ctx.ticket
        every = {
            "ticket.created_at": parse_time(t.created_at),
            "ticket.updated_at": parse_time(t.updated_at),
            "ticket.kind": t.kind.value,
            "ticket.priority": t.priority.value,
            "ticket.channel": t.channel.value,
            "ticket.status": t.status.value,
            "ticket.message_count": t.message_count,
            "ticket.has_tx_hash": t.tx_hash is not None,
        }
        return _pick(every, wanted), {}


class CustomerFacts:
    name = "customer"
    facts: Mapping[str, str] = {
        "customer.tier": "string",
        "customer.created_at": "timestamp",
        "customer.account_age_days": "int",
        "customer.wallets": "int",
        "customer.verified_wallets": "int",
    }

    def provide(self, ctx: FactContext, wanted: set[str]) -> tuple[dict[str, Any], dict[str, str]]:
        user = ctx.session.get(User, ctx.ticket.requester_id)
        if user is None or user.organization_id != ctx.ticket.organization_id:
            return _unknown(wanted, "the requester's account is gone")
        created = stored_utc(user.created_at)
        counts = ctx.session.execute(
            select(func.count(Wallet.id), func.count(Wallet.verified_at)).where(
                Wallet.user_id == user.id
            )
        ).one()
        every = {
            "customer.tier": user.tier or "standard",
            "customer.created_at": created,
            "customer.account_age_days": max(0, (ctx.now - created).days),
            "customer.wallets": int(counts[0]),
            "customer.verified_wallets": int(counts[1]),
        }
        return _pick(every, wanted), {}


def linked_order(ctx: FactContext) -> tuple[Order | None, str]:
    """The ticket's order, if it is the requester's own; else None and why not."""
    if ctx.ticket.order_id is None:
        return None, "no order is linked to the ticket"
    order = ctx.session.scalars(
        select(Order).where(
            Order.organization_id == ctx.ticket.organization_id,
            Order.external_id == ctx.ticket.order_id,
        )
    ).first()
    if order is None:
        return None, f"order {ctx.ticket.order_id} is not known (not synced yet?)"
    if order.customer_id != ctx.ticket.requester_id:
        # A claim on someone else's order is never decided automatically.
        return None, f"order {ctx.ticket.order_id} belongs to another customer"
    if order.source not in ("api", "webhook"):
        # Typed in by an agent: a person checks it against the shop before money moves.
        return None, f"order {ctx.ticket.order_id} was recorded by staff, not synced by the shop"
    return order, ""


def transaction_facts(chain: Chain, tx_hash: str) -> dict[str, Any]:
    """What the configured EVM chain says of a transaction (``chain.lookups.evm``): ``found``
    and, when found, ``status`` (pending, success, failed), ``confirmations``, ``from``,
    ``to``, ``value`` and once mined ``block_time`` and ``token_transfers``."""
    return EvmLookup(chain, LOCAL).transaction(tx_hash)


class OrderFacts:
    """Orders a shop or exchange synced (``/api/v1/orders`` or the signed webhook)."""

    name = "order"
    facts: Mapping[str, str] = {
        "order.kind": "string",
        "order.status": "string",
        "order.amount": "decimal",
        "order.currency": "string",
        "order.created_at": "timestamp",
        "order.paid_at": "timestamp",
        "order.delivered_at": "timestamp",
        "order.paid_on_chain": "bool",
        "withdrawal.requested_at": "timestamp",
        "withdrawal.status": "string",
        "withdrawal.amount": "decimal",
        "withdrawal.currency": "string",
        "withdrawal.broadcast": "bool",
    }

    def provide(self, ctx: FactContext, wanted: set[str]) -> tuple[dict[str, Any], dict[str, str]]:
        order, why = linked_order(ctx)
        if order is None:
            return _unknown(wanted, why)
        values: dict[str, Any] = {}
        unknown: dict[str, str] = {}
        if order.kind == "withdrawal":
            fields: dict[str, Any] = {
                "withdrawal.requested_at": maybe_stored_utc(order.created_at),
                "withdrawal.status": order.status,
                "withdrawal.amount": order.amount,
                "withdrawal.currency": order.currency,
                "withdrawal.broadcast": order.tx_hash is not None,
            }
        else:
            fields = {
                "order.kind": order.kind,
                "order.status": order.status,
                "order.amount": order.amount,
                "order.currency": order.currency,
                "order.created_at": maybe_stored_utc(order.created_at),
                "order.paid_at": maybe_stored_utc(order.paid_at),
                "order.delivered_at": maybe_stored_utc(order.delivered_at),
            }
        for name in wanted:
            if name == "order.paid_on_chain" and order.kind != "withdrawal":
                paid, reason = self._paid_on_chain(ctx, order)
                if paid is None:
                    unknown[name] = reason
                else:
                    values[name] = paid
            elif fields.get(name) is not None:
                values[name] = fields[name]
            elif name in fields:
                unknown[name] = f"order {order.external_id} has no {name.split('.')[1]}"
            else:
                unknown[name] = f"order {order.external_id} is a {order.kind}"
        return values, unknown

    def _paid_on_chain(self, ctx: FactContext, order: Order) -> tuple[bool | None, str]:
        """True when the order's payment transaction succeeded on the configured chain."""
        if order.tx_hash is None:
            return False, ""
        if ctx.chain is None:
            return None, "no chain is configured to check the payment"
        if order.chain_id is not None and order.chain_id != ctx.chain.chain_id:
            return None, f"the payment is on chain {order.chain_id}, which is not configured"
        try:
            found = transaction_facts(ctx.chain, order.tx_hash)
        except ChainError as exc:
            return None, f"the chain could not be asked: {exc.message}"
        return bool(found.get("found") and found.get("status") == "success"), ""


class ChainFacts:
    """The ticket's transaction (or its linked order's) as the configured chain sees it."""

    name = "chain"
    facts: Mapping[str, str] = {
        "chain.tx.found": "bool",
        "chain.tx.status": "string",
        "chain.tx.confirmations": "int",
        "chain.tx.from": "string",
        "chain.tx.to": "string",
        "chain.tx.value": "decimal",
        "chain.tx.token_transfers": "int",
        "chain.tx.block_time": "timestamp",
    }

    def provide(self, ctx: FactContext, wanted: set[str]) -> tuple[dict[str, Any], dict[str, str]]:
        tx_hash, chain_id = ctx.ticket.tx_hash, ctx.ticket.chain_id
        network = ctx.ticket.network
        if tx_hash is None:
            order, _ = linked_order(ctx)
            if order is not None and order.tx_hash is not None:
                tx_hash, chain_id, network = order.tx_hash, order.chain_id, None
        if tx_hash is None:
            found: dict[str, Any] = {"found": False}
        else:
            try:
                lookup = lookup_for(ctx.settings, ctx.chain, network, chain_id)
                found = lookup.transaction(tx_hash)
            except NotConfigured as exc:
                return _unknown(wanted, exc.message)
            except ChainError as exc:
                return _unknown(wanted, f"the chain could not be asked: {exc.message}")
        values: dict[str, Any] = {}
        unknown: dict[str, str] = {}
        for name in wanted:
            key = name.removeprefix("chain.tx.")
            if key in found:
                values[name] = found[key]
            else:
                unknown[name] = (
                    "no transaction hash is linked" if tx_hash is None else "not on chain"
                )
        return values, unknown


class MessageFacts:
    """The message an automation rule was triggered by."""

    name = "message"
    facts: Mapping[str, str] = {
        "message.body": "string",
        "message.author_role": "string",
        "message.visibility": "string",
        "message.from_customer": "bool",
    }

    def provide(self, ctx: FactContext, wanted: set[str]) -> tuple[dict[str, Any], dict[str, str]]:
        event = ctx.event
        if event is None or event.type is not EventType.MESSAGE_ADDED:
            return _unknown(wanted, "not triggered by a message")
        p = event.payload
        every = {
            "message.body": str(p.get("body", "")),
            "message.author_role": str(p.get("author_role", "")),
            "message.visibility": str(p.get("visibility", "")),
            "message.from_customer": p.get("author_id") == ctx.ticket.requester_id,
        }
        return _pick(every, wanted), {}


class TimeFacts:
    name = "time"
    facts: Mapping[str, str] = {"now": "timestamp"}

    def provide(self, ctx: FactContext, wanted: set[str]) -> tuple[dict[str, Any], dict[str, str]]:
        return {"now": ctx.now} if "now" in wanted else {}, {}


class SlaFacts:
    """Clock minutes of the ticket's SLA targets so far, paused while it waits on the customer
    or a third party (``sla.timers``, on a 24/7 calendar: a contract states its promise in
    minutes of the clock). A target not yet met counts up to now."""

    name = "sla"
    facts: Mapping[str, str] = {
        "sla.first_response_minutes": "int",
        "sla.resolution_minutes": "int",
        "sla.first_response_met": "bool",
    }

    def provide(self, ctx: FactContext, wanted: set[str]) -> tuple[dict[str, Any], dict[str, str]]:
        from proofdesk.sla.calendar import BusinessCalendar
        from proofdesk.sla.timers import Policy, sla_events, timer
        from proofdesk.store.models import TicketEvent

        rows = ctx.session.execute(
            select(
                TicketEvent.type, TicketEvent.occurred_at, TicketEvent.actor_id, TicketEvent.payload
            )
            .where(TicketEvent.ticket_id == ctx.ticket.id)
            .order_by(TicketEvent.seq)
        ).all()
        events = sla_events(
            [(t, at, actor, json.loads(p)) for t, at, actor, p in rows], ctx.ticket.requester_id
        )
        always = BusinessCalendar.always_open()
        policy = Policy(first_response_minutes=1, resolution_minutes=1)
        first = timer(always, policy, events, "first_response", ctx.now)
        resolution = timer(always, policy, events, "resolution", ctx.now)
        assert first is not None
        assert resolution is not None
        every = {
            "sla.first_response_minutes": int(first.elapsed_seconds // 60),
            "sla.resolution_minutes": int(resolution.elapsed_seconds // 60),
            "sla.first_response_met": first.state in ("met", "met_late"),
        }
        return _pick(every, wanted), {}


PROVIDERS: tuple[FactProvider, ...] = (
    TicketFacts(),
    CustomerFacts(),
    OrderFacts(),
    ChainFacts(),
    TimeFacts(),
    SlaFacts(),
    MessageFacts(),
)
#: Every fact a provider gives, with its type.
CATALOG: dict[str, str] = {name: kind for p in PROVIDERS for name, kind in p.facts.items()}
_OWNER: dict[str, FactProvider] = {name: p for p in PROVIDERS for name in p.facts}


def is_supplied(name: str) -> bool:
    return name.split(".")[0] == SUPPLIED_ROOT


def check_declared(facts: Mapping[str, str]) -> list[tuple[str, str]]:
    """(fact, problem) for each declared fact no provider gives with that type."""
    problems = []
    for name, kind in facts.items():
        if is_supplied(name):
            continue
        known = CATALOG.get(name)
        if known is None:
            problems.append((name, f"no provider gives {name!r}; see docs/contracts.md"))
        elif known != kind:
            problems.append((name, f"{name!r} is a {known}, not a {kind}"))
    return problems


def gather(
    ctx: FactContext,
    declared: Mapping[str, str],
    supplied: Mapping[str, Any] | None = None,
    supplied_by: str | None = None,
) -> Gathered:
    """Ask each provider once for the declared facts it owns; ``supplied`` fills ``claim.*``."""
    out = Gathered()
    by_provider: dict[str, tuple[FactProvider, set[str]]] = {}
    for name in declared:
        if is_supplied(name):
            if supplied and name in supplied:
                out.values[name] = supplied[name]
                out.sources[name] = f"staff:{supplied_by}"
            else:
                out.unknown[name] = "a person has not stated it yet"
            continue
        provider = _OWNER.get(name)
        if provider is None:
            out.unknown[name] = "no provider gives it"
            continue
        by_provider.setdefault(provider.name, (provider, set()))[1].add(name)
    for provider, wanted in by_provider.values():
        values, unknown = provider.provide(ctx, wanted)
        for name, value in values.items():
            out.values[name] = value
            out.sources[name] = provider.name
        out.unknown.update(unknown)
    return out
