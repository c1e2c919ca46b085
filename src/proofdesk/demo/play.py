"""The bilingual demo exchange that ``proofdesk demo`` (and so ``make run``) seeds.

Everything is written through the same ``do_*`` actions as the API, so the demo's history is
real history: every ticket is a chain of events that ``proofdesk rebuild --check`` replays.
History is spread over the past weeks through the actions' ``at`` argument (the one importers
use). The content depends only on the seed; ids and timestamps differ from run to run.

The words live in ``demo/data/scenarios.json``: the teams, staff, customer names, products,
the phrases any ticket may use and the scenarios (a kind of request with its conversation).
Each text is written once in English and once in Simplified Chinese; a customer writes in
their own locale, agents answer in the customer's locale and write internal notes in their
own. :mod:`proofdesk.demo.data` reads and checks the file the first time it is needed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.access import Actor
from proofdesk.actions.accounts import (
    do_add_team_member,
    do_create_organization,
    do_create_team,
    do_create_user,
    do_link_wallet,
    do_record_order,
)
from proofdesk.actions.sla import do_create_policy
from proofdesk.actions.sla_timers import do_alert, read
from proofdesk.actions.tickets import (
    NewTicket,
    do_add_message,
    do_assign,
    do_change_status,
    do_change_tags,
    do_create_ticket,
    do_merge,
    do_rate,
    do_update_fields,
)
from proofdesk.canonical import parse_time, utc_now
from proofdesk.demo.care import create_demo_macros, publish_demo_rules
from proofdesk.demo.data import ZH, OrderSort, Text, demo_data
from proofdesk.demo.plan import (
    ORDER_SORTS,
    Cast,
    Customer,
    DrawnOrder,
    Plan,
    Staff,
    draw_address,
    plan_tickets,
    short_address,
)
from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import Channel, Priority, Status, Visibility
from proofdesk.errors import NotFound
from proofdesk.identity.credentials import hash_password
from proofdesk.settings import Settings
from proofdesk.sla.policies import OPEN, alert_key, alerts_of
from proofdesk.store.db import Database
from proofdesk.store.models import Organization, Ticket, User

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Exchange / 演示交易所"
STAFF_DOMAIN = "demo.example"
#: The customer log-in: (display name, e-mail, locale).
DEMO_CUSTOMER = ("Alex Chen", f"customer@{STAFF_DOMAIN}", "en")
#: Days before the seed ran that the exchange, its staff and teams were set up.
ACCOUNTS_AGE_DAYS = 1000
#: The oldest order a customer can have (inside a hardware wallet's warranty year).
MAX_ORDER_AGE_DAYS = 330


#: Minutes until the first agent reply, by priority.
FIRST_REPLY_MINUTES = {
    Priority.URGENT: (3, 30),
    Priority.HIGH: (10, 120),
    Priority.NORMAL: (30, 480),
    Priority.LOW: (60, 1200),
}
#: The share of solved requests their customer rates.
RATED_SHARE = 0.7
#: How old (days) an order of each sort can be.
ORDER_AGE_DAYS: dict[OrderSort, tuple[int, int]] = {
    "device": (15, MAX_ORDER_AGE_DAYS),
    "shipped": (14, 45),
    "purchase": (1, 45),
    "failed": (1, 45),
}


def seed_demo(
    db: Database, settings: Settings, *, seed: int = 7, tickets: int = 300, customers: int = 50
) -> str:
    """Seed the demo organization unless it exists; return what to print, with the log-ins
    either way.

    One transaction writes it all, so a run that fails or is interrupted leaves nothing behind
    and the next run starts from scratch. It holds the write lock for the few seconds that
    takes, which is why ``make run`` seeds before it serves.
    """
    rng, now = random.Random(seed), utc_now()
    with db.writer() as session:
        if session.scalars(select(Organization).where(Organization.slug == DEMO_SLUG)).first():
            exists = f"organization {DEMO_SLUG!r} exists; demo data left unchanged"
            return "\n".join([exists, *_logins(settings)])
        # argon2 is slow by design: hash once and share the hash between all demo log-ins.
        password_hash = hash_password(settings.demo_password.get_secret_value())
        cast = _create_people(session, rng, now, password_hash, max(customers, 1))
        # The promises hold from the start, so the history has its SLA warnings and breaches
        # (and "resolved within SLA" a figure); ratings draw from a generator of their own, so
        # the tickets are the same as without them.
        _create_sla_policies(session, cast.staff["admin"].actor)
        ratings = random.Random(seed + 1)
        for plan in sorted(plan_tickets(rng, cast, tickets, now), key=lambda p: p.opened_at):
            _play(_Run(session, cast, plan, rng, _Clock(plan.opened_at, now), ratings))
        create_demo_macros(session, cast.staff["supervisor"].actor)
        publish_demo_rules(session, cast.staff["admin"].actor)
    return _summary(settings, tickets, len(cast.customers))


#: The demo exchange's promises: VIPs around the clock, everyone else in Shanghai office hours.
DEMO_SLA = (
    {
        "name": "VIP",
        "position": 10,
        "tiers": ["vip"],
        "first_response_minutes": 2 * 60,
        "periodic_update_minutes": 24 * 60,
        "resolution_minutes": 3 * 24 * 60,
        "warn_before_minutes": 10,
        "escalate_to": "urgent",
        "calendar": None,
    },
    {
        "name": "Standard",
        "position": 100,
        "first_response_minutes": 4 * 60,
        "next_response_minutes": 2 * 9 * 60,
        "resolution_minutes": 3 * 9 * 60,
        "warn_before_minutes": 30,
        "escalate_to": "high",
        "calendar": {
            "timezone": "Asia/Shanghai",
            "country": "CN",
            "hours": [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}],
        },
    },
)


def _create_sla_policies(session: Session, admin: Actor) -> None:
    for policy in DEMO_SLA:
        do_create_policy(session, admin, dict(policy))


def _summary(settings: Settings, tickets: int, customers: int) -> str:
    counts = [(tickets, "ticket"), (customers, "customer"), (len(demo_data().teams), "team")]
    return "\n".join(
        [
            f"Seeded {DEMO_NAME} as organization {DEMO_SLUG!r}:",
            ", ".join(f"{n} {noun}{'' if n == 1 else 's'}" for n, noun in counts) + ".",
            *_logins(settings),
        ]
    )


def _logins(settings: Settings) -> list[str]:
    password = settings.demo_password.get_secret_value()
    people: list[tuple[str, str, str, str]] = [
        (m.role.value, f"{m.key}@{STAFF_DOMAIN}", m.name, m.locale) for m in demo_data().staff
    ]
    name, email, locale = DEMO_CUSTOMER
    people.append((Role.CUSTOMER.value, email, name, locale))
    return [
        f"Sign in with organization {DEMO_SLUG!r} and password {password!r}:",
        *(f"  {role:<10} {email:<26} {name} ({locale})" for role, email, name, locale in people),
    ]


# People: staff, teams and customers with their wallets and orders.


def _create_people(
    session: Session, rng: random.Random, now: datetime, password_hash: str, customers: int
) -> Cast:
    # The actions stamp accounts with the current time; the demo's history is older, so its
    # accounts are backdated (ticket history gets its times through the actions' ``at``).
    founded = now - timedelta(days=ACCOUNTS_AGE_DAYS)
    org = do_create_organization(session, DEMO_SLUG, DEMO_NAME)
    org.created_at = founded
    cast = Cast(org.id)
    for member in demo_data().staff:
        user = do_create_user(
            session,
            org.id,
            role=member.role,
            display_name=member.name,
            email=f"{member.key}@{STAFF_DOMAIN}",
            locale=member.locale,
        )
        user.password_hash, user.created_at = password_hash, founded
        cast.staff[member.key] = Staff(Actor(user.id, org.id, member.role), member.locale)
    _create_teams(session, cast, founded)
    taken: set[str] = set()
    order_numbers = _order_numbers(rng)
    for index in range(customers):
        spec = _customer_spec(rng, index, taken, order_numbers)
        login = password_hash if index == 0 else None
        cast.customers.append(_create_customer(session, rng, cast, now, spec, login))
    return cast


def _create_teams(session: Session, cast: Cast, founded: datetime) -> None:
    admin = cast.staff["admin"].actor
    for key, name in demo_data().teams.items():
        team = do_create_team(session, admin, name)
        team.created_at = founded
        cast.teams[key] = team.id
        cast.members[key] = []
        for member in demo_data().staff:
            if key in member.teams:
                user = session.get(User, cast.staff[member.key].actor.user_id)
                if user is None:
                    raise NotFound("demo staff user vanished", user=member.key)
                do_add_team_member(session, admin, team, user)
                if member.role is Role.AGENT:
                    cast.members[key].append(member.key)


@dataclass(frozen=True, slots=True)
class _CustomerSpec:
    name: str
    email: str | None
    locale: str
    vip: bool
    wallets: list[str]
    orders: list[DrawnOrder]


def _customer_spec(
    rng: random.Random, index: int, taken: set[str], order_numbers: Iterator[int]
) -> _CustomerSpec:
    """The first customer is the demo log-in, with an order of every sort; the rest are drawn."""
    if index == 0:
        orders = [_order(rng, next(order_numbers), sort) for sort in ORDER_SORTS]
        wallets = [draw_address(rng), draw_address(rng)]
        return _CustomerSpec(*DEMO_CUSTOMER, True, wallets, orders)
    locale = ZH if rng.random() < 0.55 else "en"
    wallets = [draw_address(rng) for _ in range(rng.choice((0, 0, 1, 1, 1, 2)))]
    name, address = _name_and_email(rng, locale, taken)
    email: str | None = address
    if rng.random() < 0.12:  # known only by a wallet, as many Web3 customers are
        wallets = wallets or [draw_address(rng)]
        name, email = short_address(wallets[0]), None
    sorts: list[OrderSort] = ["device", "device", "shipped", "purchase", "purchase", "failed"]
    drawn = rng.sample(sorts, rng.randint(1, 3)) if rng.random() < 0.6 else []
    orders = [_order(rng, next(order_numbers), sort) for sort in drawn]
    return _CustomerSpec(name, email, locale, rng.random() < 0.2, wallets, orders)


def _name_and_email(rng: random.Random, locale: str, taken: set[str]) -> tuple[str, str]:
    if locale == ZH:
        surname, surname_pinyin = rng.choice(list(demo_data().names.zh_surnames.items()))
        given, given_pinyin = rng.choice(list(demo_data().names.zh_given.items()))
        name, local = surname + given, f"{given_pinyin}.{surname_pinyin}"
    else:
        first, last = rng.choice(demo_data().names.en_first), rng.choice(demo_data().names.en_last)
        name, local = f"{first} {last}", f"{first}.{last}".lower()
    return name, _unique_email(rng, local, taken)


def _order_numbers(rng: random.Random) -> Iterator[int]:
    number = 10000
    while True:
        number += rng.randint(1, 40)
        yield number


def _unique_email(rng: random.Random, local: str, taken: set[str]) -> str:
    email = f"{local}@{rng.choice(demo_data().mail_domains)}"
    number = 2
    while email in taken:
        email = f"{local}{number}@{email.split('@')[1]}"
        number += 1
    taken.add(email)
    return email


def _create_customer(
    session: Session,
    rng: random.Random,
    cast: Cast,
    now: datetime,
    spec: _CustomerSpec,
    password_hash: str | None,
) -> Customer:
    user = do_create_user(
        session,
        cast.organization_id,
        role=Role.CUSTOMER,
        display_name=spec.name,
        email=spec.email,
        locale=spec.locale,
        tier="vip" if spec.vip else "standard",
    )
    user.password_hash = password_hash
    # A customer since before their oldest order.
    user.created_at = now - timedelta(days=rng.randint(MAX_ORDER_AGE_DAYS, ACCOUNTS_AGE_DAYS))
    admin = cast.staff["admin"].actor
    for number, address in enumerate(spec.wallets):
        wallet = do_link_wallet(session, admin, user, address, "trading" if number else "main")
        wallet.created_at = user.created_at
    for order in spec.orders:
        do_record_order(
            session,
            admin,
            user,
            external_id=order.external_id,
            amount=order.amount,
            currency=order.currency,
            status=order.status,
            description=order.description,
            created_at=now - timedelta(days=order.age_days),
        )
    actor = Actor(user.id, cast.organization_id, Role.CUSTOMER)
    return Customer(actor, spec.name, spec.email, spec.locale, spec.vip, spec.wallets, spec.orders)


def _order(rng: random.Random, number: int, sort: OrderSort) -> DrawnOrder:
    kind, status = ORDER_SORTS[sort]
    product = rng.choice(demo_data().devices if kind == "device" else demo_data().purchases)
    age = rng.randint(*ORDER_AGE_DAYS[sort])
    return DrawnOrder(
        f"ORD-{number}", kind, status, product.amount, product.currency, product.description, age
    )


# Playing a plan: the ticket's history, one action at a time.


class _Clock:
    """Strictly increasing moments from ``start``, kept below ``limit`` (now) by shrinking the
    steps of a history that would otherwise run into the future."""

    def __init__(self, start: datetime, limit: datetime) -> None:
        self.now = start
        self.limit = limit

    def after(self, rng: random.Random, low_minutes: float, high_minutes: float) -> datetime:
        step = timedelta(minutes=rng.uniform(low_minutes, high_minutes))
        room = (self.limit - self.now) / 2
        self.now += max(min(step, room), timedelta(microseconds=1))
        return self.now


@dataclass(slots=True)
class _Run:
    session: Session
    cast: Cast
    plan: Plan
    rng: random.Random
    clock: _Clock
    ratings: random.Random
    ticket_id: str = ""

    def at(self, low_minutes: float, high_minutes: float, *, sweep: bool = False) -> datetime:
        """The next moment of the history. With ``sweep`` (before a reply or a change of
        status, which stop the timers), the SLA alerts due by then are written first, as the
        SLA worker would have written them."""
        moment = self.clock.after(self.rng, low_minutes, high_minutes)
        if sweep and self.ticket_id:
            self.sweep(moment)
        return moment

    def sweep(self, until: datetime) -> None:
        """Write each SLA alert due before ``until`` at the instant it fell due (or just after
        the ticket's last event, if that came later)."""
        while (row := self.row()).status in OPEN:
            reading = read(self.session, row, until)
            due = [
                at
                for kind, t, at in alerts_of(reading.found)
                if at < until and alert_key(kind, t) not in reading.alerted
            ]
            if not due:
                return
            # Never before what the ticket's history holds already (the sweep runs late).
            after_last = parse_time(row.updated_at) + timedelta(microseconds=1)
            do_alert(self.session, row, max(min(due), after_last), notify=False)

    def row(self, ticket_id: str | None = None) -> Ticket:
        row = self.session.get(Ticket, ticket_id or self.ticket_id)
        if row is None:
            raise NotFound("demo ticket vanished", ticket_id=ticket_id or self.ticket_id)
        return row

    def staff(self, key: str) -> Staff:
        return self.cast.staff[key]

    @property
    def agent(self) -> Staff:
        return self.cast.staff[self.plan.agent]

    def text(self, text: Text, locale: str, **extra: str) -> str:
        return text.say(locale, {**self.plan.values, **extra})

    def open(self) -> None:
        plan, scenario = self.plan, self.plan.scenario
        spec = NewTicket(
            kind=scenario.kind,
            subject=plan.values["subject"],
            body=self.text(scenario.body, plan.customer.locale),
            channel=plan.channel,
            order_id=plan.order_id,
            wallet_address=plan.wallet_address,
            chain_id=plan.chain_id,
            tx_hash=plan.tx_hash,
        )
        # Every channel files the request as its customer's own message (an e-mail adapter
        # acts for the sender); staff fields come with triage.
        actor = plan.customer.actor
        self.ticket_id = do_create_ticket(self.session, actor, spec, at=self.clock.now).id

    def triage(self) -> None:
        """The supervisor sets what a customer could not, and assigns an agent of the team."""
        plan, supervisor = self.plan, self.staff("supervisor").actor
        fields = {"priority": plan.priority.value, "category": plan.scenario.category}
        at = self.at(2, 45)
        do_update_fields(self.session, supervisor, self.row(), fields, at=at)
        self.tags(supervisor, add=plan.tags)
        self.assign(self.agent.actor.user_id)

    def assign(self, user_id: str) -> None:
        at = self.at(1, 20)
        team_id = self.cast.teams[self.plan.scenario.team]
        actor = self.staff("supervisor").actor
        do_assign(self.session, actor, self.row(), assignee_id=user_id, team_id=team_id, at=at)

    def tags(self, actor: Actor, *, add: Sequence[str] = (), remove: Sequence[str] = ()) -> None:
        at = self.at(1, 10)
        do_change_tags(self.session, actor, self.row(), add=list(add), remove=list(remove), at=at)

    def reply(
        self, text: Text, status: Status | None = None, minutes: tuple[float, float] = (10, 240)
    ) -> None:
        """A public reply by the assigned agent, in the customer's language."""
        body = self.text(text, self.plan.customer.locale)
        at = self.at(*minutes, sweep=True)
        do_add_message(self.session, self.agent.actor, self.row(), body=body, status=status, at=at)

    def note(self, text: Text, staff: Staff | None = None, **extra: str) -> None:
        """An internal note, in its author's language."""
        author = staff or self.agent
        body = self.text(text, author.locale, **extra)
        at = self.at(3, 60)
        do_add_message(
            self.session, author.actor, self.row(), body=body, visibility=Visibility.INTERNAL, at=at
        )

    def customer_says(self, text: Text, minutes: tuple[float, float] = (20, 720)) -> None:
        customer = self.plan.customer
        body = self.text(text, customer.locale)
        at = self.at(*minutes)
        do_add_message(self.session, customer.actor, self.row(), body=body, at=at)

    def rate(self) -> None:
        """Most customers rate a solved request, mostly well (CSAT on the dashboard)."""
        if self.ratings.random() >= RATED_SHARE:
            return
        score = self.ratings.choices((5, 4, 3, 2, 1), weights=(55, 25, 10, 6, 4))[0]
        at = self.clock.after(self.ratings, 10, 600)
        do_rate(self.session, self.plan.customer.actor, self.row(), score=score, at=at)

    def set_status(self, actor: Actor, status: Status, minutes: tuple[float, float]) -> None:
        at = self.at(*minutes, sweep=True)
        do_change_status(self.session, actor, self.row(), status, at=at)

    def merge_duplicate(self) -> None:
        """The impatient customer asks again in chat; the agent merges it into this ticket."""
        plan, customer = self.plan, self.plan.customer
        spec = NewTicket(
            kind=plan.scenario.kind,
            subject=self.text(demo_data().phrases.duplicate_subject, customer.locale),
            body=self.text(demo_data().phrases.duplicate_body, customer.locale),
            channel=Channel.CHAT,
        )
        at = self.at(20, 240)
        duplicate = do_create_ticket(self.session, customer.actor, spec, at=at)
        at = self.at(5, 60)
        do_merge(self.session, self.agent.actor, self.row(duplicate.id), self.row(), at=at)
        self.note(demo_data().phrases.merged_note, number=str(duplicate.number))


def _play(run: _Run) -> None:
    """Write one ticket's history so that it ends in the planned status, through the
    transitions an agent and customer would really make."""
    target, scenario = run.plan.status, run.plan.scenario
    run.open()
    if target is Status.NEW:
        _leave_new(run)
        return
    run.triage()
    if run.plan.duplicate:
        run.merge_duplicate()
    _ask_for_details(run)
    if target is Status.PENDING and run.rng.random() < 0.6:
        return
    run.customer_says(scenario.info)
    run.tags(run.agent.actor, remove=["needs-info"])
    run.note(scenario.note)
    if target is Status.PENDING:
        run.reply(demo_data().phrases.more_info, Status.PENDING)
    elif target is Status.OPEN:
        _keep_open(run)
    elif target is Status.ON_HOLD:
        _put_on_hold(run)
    else:
        _solve(run)
        if target is Status.CLOSED:
            run.set_status(run.staff("supervisor").actor, Status.CLOSED, (2 * 1440, 5 * 1440))


def _leave_new(run: _Run) -> None:
    """Untouched, or triaged and looked at but not yet answered."""
    if run.rng.random() < 0.5:
        run.triage()
        if run.rng.random() < 0.4:
            run.note(demo_data().phrases.account_note)


def _ask_for_details(run: _Run) -> None:
    if run.plan.customer.vip:
        run.note(demo_data().phrases.vip_note, run.staff("supervisor"))
    elif run.rng.random() < 0.3:
        run.note(demo_data().phrases.account_note)
    run.reply(run.plan.scenario.ask, Status.PENDING, FIRST_REPLY_MINUTES[run.plan.priority])
    run.tags(run.agent.actor, add=["needs-info"])


def _keep_open(run: _Run) -> None:
    if run.rng.random() < 0.5:
        run.reply(demo_data().phrases.checking)
    if run.rng.random() < 0.4:
        run.customer_says(demo_data().phrases.chase, (120, 1440))


def _put_on_hold(run: _Run) -> None:
    if run.rng.random() < 0.4:
        supervisor = run.staff("supervisor")
        run.note(demo_data().phrases.escalated_note)
        run.assign(supervisor.actor.user_id)
        run.tags(supervisor.actor, add=["escalated"])
    run.reply(demo_data().phrases.hold, Status.ON_HOLD)
    if run.rng.random() < 0.3:
        run.customer_says(demo_data().phrases.chase, (240, 2880))


def _solve(run: _Run) -> None:
    """Solved by the agent, or confirmed by the customer; now and then reopened once."""
    resolve = run.plan.scenario.resolve
    if run.rng.random() < 0.25:
        run.reply(resolve, Status.PENDING, (60, 2880))
        run.customer_says(demo_data().phrases.confirm, (30, 1440))
        run.set_status(run.plan.customer.actor, Status.SOLVED, (1, 5))
    else:
        run.reply(resolve, Status.SOLVED, (60, 2880))
    run.rate()
    if run.rng.random() < 0.15:
        run.customer_says(demo_data().phrases.reopen, (60, 1440))
        if run.plan.priority in (Priority.LOW, Priority.NORMAL):  # a second try is more urgent
            at = run.at(5, 60)
            fields = {"priority": Priority.HIGH.value}
            do_update_fields(run.session, run.agent.actor, run.row(), fields, at=at)
        run.reply(demo_data().phrases.reopen_fix, Status.SOLVED, (60, 1440))
        run.rate()
