"""The demo's words, read from ``demo/data/scenarios.json`` and checked, on first use.

The file holds the teams, staff, customer names, products, the phrases any ticket may use and
the scenarios (a kind of request with its conversation), each text in English and Simplified
Chinese. It is read when the demo is first seeded, not when the module is imported, so that
importing the command line (which names the demo) costs nothing.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from proofdesk.domain.roles import Role
from proofdesk.domain.tickets import Kind, Priority
from proofdesk.errors import Error

ZH = "zh-CN"
#: Token standard shown to customers for each chain id.
NETWORKS = {1: "ERC20", 56: "BEP20", 137: "Polygon", 42161: "Arbitrum"}
#: Every placeholder a text may use: the values drawn for each ticket (:func:`proofdesk.demo.plan.draw_values`), the
#: ticket's ``subject`` and a merged duplicate's ``number``.
PLACEHOLDERS = frozenset(
    {"asset", "amount", "network", "tx", "short_tx", "wallet", "short_wallet", "hours"}
    | {"confirmations", "days", "gas", "fee", "token_id", "api_prefix", "ip", "ref", "time"}
    | {"xrp", "order", "order_amount", "item", "months", "subject", "number"}
)
HAN = re.compile(r"[\u4e00-\u9fff]")

#: The sorts of order a scenario can be about (see ``proofdesk.demo.plan.ORDER_SORTS``).
OrderSort = Literal["device", "shipped", "purchase", "failed"]


class DemoDataError(Error):
    """``demo/data/scenarios.json`` cannot be read or does not match :class:`DemoData`."""

    code = "demo_data_invalid"
    http_status = 500


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """One text in English and in Simplified Chinese, with ``{placeholder}`` fields."""

    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Text:
        if HAN.search(self.en) or not HAN.search(self.zh):
            raise ValueError("'en' must have no Chinese characters and 'zh' must have some")
        for half in (self.en, self.zh):
            names = {name for _, name, _, _ in string.Formatter().parse(half) if name is not None}
            if unknown := names - PLACEHOLDERS:
                raise ValueError(f"unknown placeholders {sorted(unknown)} in {half!r}")
        return self

    def say(self, locale: str, values: Mapping[str, str]) -> str:
        """The text in ``locale``, placeholders filled."""
        return (self.zh if locale == ZH else self.en).format_map(values)


class Scenario(_Strict):
    """A kind of request, with the conversation it typically leads to."""

    key: str
    kind: Kind
    team: str
    category: str
    tags: tuple[str, ...]
    priority: Priority
    subject: Text
    body: Text
    ask: Text  # the agent's first reply, asking for what is missing
    info: Text  # the customer's answer
    note: Text  # an internal note: what the agent found
    resolve: Text  # the agent's reply that solves it
    links: frozenset[Literal["tx", "wallet"]] = frozenset()  # ticket fields to fill
    new_wallet: bool = False  # about an address the customer has not linked (yet)
    orders: OrderSort | None = None  # the sort of order it is about
    assets: tuple[str, ...] = Field(("USDT", "USDC", "ETH"), min_length=1)
    chains: tuple[int, ...] = Field((1, 56, 137, 42161), min_length=1)

    @field_validator("chains")
    @classmethod
    def _known_chains(cls, chains: tuple[int, ...]) -> tuple[int, ...]:
        if unknown := set(chains) - set(NETWORKS):
            raise ValueError(f"unknown chain ids {sorted(unknown)}; known: {sorted(NETWORKS)}")
        return chains


class StaffMember(_Strict):
    key: str  # the e-mail's local part
    role: Role
    name: str
    locale: Literal["en", "zh-CN"]
    teams: tuple[str, ...] = ()


class Product(_Strict):
    description: str
    amount: str = Field(pattern=r"^\d+\.\d+$")
    currency: str


class Names(_Strict):
    """What customers are called: Chinese surnames and given names map to their pinyin."""

    zh_surnames: dict[str, str] = Field(min_length=1)
    zh_given: dict[str, str] = Field(min_length=1)
    en_first: tuple[str, ...] = Field(min_length=1)
    en_last: tuple[str, ...] = Field(min_length=1)


class Phrases(_Strict):
    """Replies and notes that fit any scenario."""

    hold: Text
    more_info: Text
    checking: Text
    chase: Text
    confirm: Text
    reopen: Text
    reopen_fix: Text
    duplicate_subject: Text
    duplicate_body: Text
    merged_note: Text
    vip_note: Text
    account_note: Text
    escalated_note: Text


class DemoData(_Strict):
    teams: dict[str, str] = Field(min_length=1)  # key -> display name
    staff: tuple[StaffMember, ...]
    names: Names
    mail_domains: tuple[str, ...] = Field(min_length=1)
    devices: tuple[Product, ...] = Field(min_length=1)
    purchases: tuple[Product, ...] = Field(min_length=1)
    phrases: Phrases
    scenarios: tuple[Scenario, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> DemoData:
        problems = [
            f"staff {m.key!r}: unknown team {team!r}"
            for m in self.staff
            for team in m.teams
            if team not in self.teams
        ]
        agents = {team for m in self.staff if m.role is Role.AGENT for team in m.teams}
        problems += [
            f"scenario {s.key!r}: no agent in team {s.team!r}"
            for s in self.scenarios
            if s.team not in agents
        ]
        staff = {m.key: m for m in self.staff}
        for key, role in (("admin", Role.ADMIN), ("supervisor", Role.SUPERVISOR)):
            if key not in staff or staff[key].role is not role:
                problems.append(f"staff needs {key!r} with role {role.value!r}")
        if "supervisor" in staff and not set(self.teams) <= set(staff["supervisor"].teams):
            problems.append("the supervisor must be in every team")
        if len(staff) < len(self.staff) or len({s.key for s in self.scenarios}) < len(
            self.scenarios
        ):
            problems.append("staff and scenario keys must be unique")
        if problems:
            raise ValueError("; ".join(problems))
        return self


DATA_FILE = files("proofdesk.demo") / "data" / "scenarios.json"


def load_data(source: Traversable = DATA_FILE) -> DemoData:
    """The demo's data file, checked; :class:`DemoDataError` says what is wrong with it."""
    try:
        return DemoData.model_validate_json(source.read_bytes())
    except OSError as exc:
        raise DemoDataError(f"cannot read demo data file {source}: {exc}") from None
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc'])) or '/'}: {e['msg']}" for e in exc.errors()]
        raise DemoDataError(
            f"invalid demo data file {source}:\n  " + "\n  ".join(problems)
        ) from None


@functools.cache
def demo_data() -> DemoData:
    """The demo's data file, read and checked once, the first time it is asked for."""
    return load_data()
