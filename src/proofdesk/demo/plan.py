"""The demo's plans: who the cast is and what each ticket is about and how it ends, all drawn
from the seeded random generator before anything is written.

:mod:`proofdesk.demo.play` creates the cast and plays every plan through the ``do_*`` actions;
nothing here touches the database, so the same seed draws the same demo.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from proofdesk.access import Actor
from proofdesk.demo.data import NETWORKS, OrderSort, Scenario, demo_data
from proofdesk.domain.tickets import Channel, Priority, Status

#: The (kind, status) of each sort of order.
ORDER_SORTS: dict[OrderSort, tuple[str, str]] = {
    "device": ("device", "delivered"),
    "shipped": ("device", "shipped"),
    "purchase": ("purchase", "paid"),
    "failed": ("purchase", "failed"),
}
#: One ticket in this many gets a duplicate from the same customer, which an agent merges.
DUPLICATE_EVERY = 40
#: Target statuses, dealt in shuffled passes of this list, so the first 20 tickets hold every
#: status.
STATUS_MIX = (
    [Status.NEW] * 2
    + [Status.OPEN] * 3
    + [Status.PENDING] * 3
    + [Status.ON_HOLD] * 2
    + [Status.SOLVED] * 4
    + [Status.CLOSED] * 6
)
#: How long ago (days) a ticket that ends in each status was opened.
AGE_DAYS = {
    Status.NEW: (0.02, 1.5),
    Status.OPEN: (0.3, 12.0),
    Status.PENDING: (0.5, 20.0),
    Status.ON_HOLD: (1.0, 25.0),
    Status.SOLVED: (1.0, 30.0),
    Status.CLOSED: (7.0, 45.0),
}
CHANNELS = (Channel.WEB, Channel.EMAIL, Channel.CHAT, Channel.API)
CHANNEL_WEIGHTS = (40, 25, 25, 10)
X = TypeVar("X")


@dataclass(frozen=True, slots=True)
class DrawnOrder:
    external_id: str
    kind: str  # "device" or "purchase"
    status: str
    amount: str
    currency: str
    description: str
    age_days: int


@dataclass(eq=False, slots=True)
class Customer:
    actor: Actor
    name: str
    email: str | None
    locale: str
    vip: bool
    wallets: list[str]
    orders: list[DrawnOrder]


@dataclass(frozen=True, slots=True)
class Staff:
    actor: Actor
    locale: str


@dataclass(slots=True)
class Cast:
    """Who is in the demo organization."""

    organization_id: str
    staff: dict[str, Staff] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)  # key -> team id
    members: dict[str, list[str]] = field(default_factory=dict)  # key -> agent keys
    customers: list[Customer] = field(default_factory=list)


def draw_address(rng: random.Random) -> str:
    return f"0x{rng.getrandbits(160):040x}"


def draw_tx_hash(rng: random.Random) -> str:
    return f"0x{rng.getrandbits(256):064x}"


def short_address(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


def orders_of(customer: Customer, sort: OrderSort) -> list[DrawnOrder]:
    """The customer's orders of the sort a scenario is about."""
    return [o for o in customer.orders if (o.kind, o.status) == ORDER_SORTS[sort]]


@dataclass(slots=True)
class Plan:
    scenario: Scenario
    status: Status  # where the ticket ends
    customer: Customer
    agent: str  # staff key
    channel: Channel
    priority: Priority
    opened_at: datetime
    values: dict[str, str]
    order_id: str | None = None
    wallet_address: str | None = None
    chain_id: int | None = None
    tx_hash: str | None = None
    duplicate: bool = False  # the customer opens a second ticket, which is merged into this one

    @property
    def tags(self) -> list[str]:
        return [*self.scenario.tags, *(["vip"] if self.customer.vip else [])]


def _deck(rng: random.Random, items: Sequence[X], count: int) -> list[X]:
    """``count`` draws in passes over ``items``, each pass shuffled: the first ``len(items)``
    draws hold every item once."""
    dealt: list[X] = []
    while len(dealt) < count:
        batch = list(items)
        rng.shuffle(batch)
        dealt.extend(batch)
    return dealt[:count]


def plan_tickets(rng: random.Random, cast: Cast, count: int, now: datetime) -> list[Plan]:
    duplicates = count // DUPLICATE_EVERY
    primaries = count - duplicates
    statuses = _deck(rng, STATUS_MIX, primaries)
    scenarios = _deck(rng, demo_data().scenarios, primaries)
    plans = [
        _plan(rng, cast, index, scenarios[index], statuses[index], now)
        for index in range(primaries)
    ]
    worked = [p for p in plans if p.status is not Status.NEW]  # an agent is there to merge
    for plan in rng.sample(worked, min(duplicates, len(worked))):
        plan.duplicate = True
    return plans


def _plan(
    rng: random.Random, cast: Cast, index: int, scenario: Scenario, status: Status, now: datetime
) -> Plan:
    customer = _requester(rng, cast, index, scenario)
    order = rng.choice(orders_of(customer, scenario.orders)) if scenario.orders else None
    chain = rng.choice(scenario.chains)
    known = customer.wallets and not scenario.new_wallet
    wallet = rng.choice(customer.wallets) if known else draw_address(rng)
    tx = draw_tx_hash(rng)
    values = draw_values(rng, scenario, chain, wallet, tx, order)
    values["subject"] = scenario.subject.say(customer.locale, values)
    plan = Plan(
        scenario=scenario,
        status=status,
        customer=customer,
        agent=rng.choice(cast.members[scenario.team]),
        channel=rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0],
        priority=_priority(rng, scenario.priority, customer.vip),
        opened_at=now - timedelta(days=_days_ago(rng, status, order)),
        values=values,
        order_id=order.external_id if order else None,
    )
    if "wallet" in scenario.links:
        plan.wallet_address = wallet
    if "tx" in scenario.links:
        plan.chain_id, plan.tx_hash = chain, tx
    return plan


def _days_ago(rng: random.Random, status: Status, order: DrawnOrder | None) -> float:
    """When the ticket was opened: recent if still new, older if long closed, and after the
    order it is about (a parcel is reported missing once it is ten days late)."""
    days = rng.uniform(*AGE_DAYS[status])
    if order is None:
        return days
    gap = 10.0 if order.status == "shipped" else rng.uniform(0.05, 1.0)
    return max(min(days, order.age_days - gap), 0.02)


def _requester(rng: random.Random, cast: Cast, index: int, scenario: Scenario) -> Customer:
    """Mostly anyone; every twelfth ticket the demo log-in's. Order scenarios need a customer
    with such an order (the demo customer has one of each)."""
    chosen = cast.customers[0] if index % 12 == 0 else rng.choice(cast.customers)
    if scenario.orders is None or orders_of(chosen, scenario.orders):
        return chosen
    return rng.choice([c for c in cast.customers if orders_of(c, scenario.orders)])


def _priority(rng: random.Random, base: Priority, vip: bool) -> Priority:
    levels = list(Priority)
    level = levels.index(base) + rng.choice((-1, 0, 0, 0, 1)) + (1 if vip else 0)
    return levels[max(0, min(level, len(levels) - 1))]


def _amount(rng: random.Random, asset: str) -> str:
    if asset == "ETH":
        return f"{rng.uniform(0.05, 4):.4f}"
    if asset == "BNB":
        return f"{rng.uniform(0.2, 15):.3f}"
    return f"{rng.uniform(20, 5000):.2f}"


def draw_values(
    rng: random.Random,
    scenario: Scenario,
    chain: int,
    wallet: str,
    tx: str,
    order: DrawnOrder | None,
) -> dict[str, str]:
    """Everything a scenario's texts may mention, drawn for one ticket."""
    asset = rng.choice(scenario.assets)
    return {
        "asset": asset,
        "amount": _amount(rng, asset),
        "network": NETWORKS[chain],
        "tx": tx,
        "short_tx": f"{tx[:10]}…",
        "wallet": wallet,
        "short_wallet": short_address(wallet),
        "hours": str(rng.randint(2, 30)),
        "confirmations": str(rng.randint(12, 96)),
        "days": str(rng.randint(3, 9)),
        "gas": f"{rng.uniform(0.0008, 0.006):.4f}",
        "fee": str(rng.choice((8, 12, 15, 20))),
        "token_id": str(rng.randint(1, 9999)),
        "api_prefix": f"{rng.getrandbits(24):06x}",
        "ip": str(rng.randint(2, 254)),
        "ref": str(rng.randint(100000, 999999)),
        "time": f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
        "xrp": str(rng.randint(50, 5000)),
        "order": order.external_id if order else "",
        "order_amount": f"{order.amount} {order.currency}" if order else "",
        "item": order.description if order else "",
        "months": str(max(1, order.age_days // 30)) if order else "1",
    }
