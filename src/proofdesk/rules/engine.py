"""Deciding a claim by a service contract, deterministically and replayably.

Rules are tried in order; the first whose condition holds decides (valid, invalid or
needs_human), with its reason in both languages and its actions. When no rule holds, the
contract's ``otherwise`` decides. When a condition needs a fact that is not known, evaluation
stops there with ``needs_human`` naming the fact: an earlier rule that cannot be evaluated
might have fired, so no later rule may decide.

Facts are typed by the contract. They are logged with a decision in their JSON form
(:func:`encode_facts`); :func:`replay` decodes them and decides again, so anyone holding the
contract and the logged facts gets the same decision.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import cel

from proofdesk.canonical import canonical_json, format_time, parse_time
from proofdesk.errors import InvalidInput
from proofdesk.i18n import N_, in_every_locale
from proofdesk.rules.document import Contract, nest

#: The reason of a decision left to a person because a fact it needs is not known.
NEEDS_HUMAN = N_("A fact this request needs is not known yet ({fact}); a person will look at it.")


@dataclass(frozen=True)
class Step:
    rule: str
    #: ``true``, ``false`` or ``missing <fact>``.
    result: str


@dataclass(frozen=True)
class Decision:
    outcome: str
    rule: str | None
    reason: dict[str, str]
    actions: list[dict[str, Any]]
    trace: list[Step]
    contract_hash: str
    facts_digest: str
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=4096)
def _program(expression: str) -> Any:
    """Compiled CEL, shared by every decision (a contract's expressions were checked when it
    was parsed)."""
    return cel.compile(expression)


def encode_facts(contract: Contract, facts: dict[str, Any]) -> dict[str, Any]:
    """The JSON form of known facts (timestamps as RFC 3339 text, decimals and doubles as
    decimal text);
    undeclared names are refused, so nothing the contract cannot see is logged with it."""
    out: dict[str, Any] = {}
    for name, value in facts.items():
        kind = contract.facts.get(name)
        if kind is None:
            raise InvalidInput(f"fact {name!r} is not declared by the contract", field=name)
        out[name] = _encode(kind, value, name)
    return out


def _encode(kind: str, value: Any, name: str) -> Any:
    try:
        if kind == "timestamp":
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise TypeError
            return format_time(value)
        if kind == "decimal":
            return str(Decimal(str(value)))
        if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError
        if kind == "double" and not isinstance(value, (int, float)):
            raise TypeError
        if kind == "bool" and not isinstance(value, bool):
            raise TypeError
        if kind == "string" and not isinstance(value, str):
            raise TypeError
    except (TypeError, InvalidOperation):
        raise InvalidInput(f"fact {name!r} is not a {kind}", field=name) from None
    # Doubles travel as their shortest decimal text: logged payloads hold no floats.
    return repr(float(value)) if kind == "double" else value


def decode_facts(contract: Contract, encoded: dict[str, Any]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for name, value in encoded.items():
        kind = contract.facts.get(name)
        if kind is None:
            raise InvalidInput(f"logged fact {name!r} is not declared by the contract", field=name)
        try:
            if kind == "timestamp":
                value = parse_time(value)
            elif kind == "double" and not isinstance(value, bool):
                value = float(value)
        except (TypeError, ValueError, AttributeError):
            raise InvalidInput(f"fact {name!r} is not a {kind}", field=name) from None
        facts[name] = value
    return facts


def facts_digest(encoded: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(encoded)).hexdigest()


def _contexts(contract: Contract, facts: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(conditions' context, amounts' context): decimals as doubles, then as exact text."""
    conditions, amounts = {}, {}
    for name, value in facts.items():
        kind = contract.facts[name]
        conditions[name] = float(Decimal(value)) if kind == "decimal" else value
        amounts[name] = value
    return nest(conditions), nest(amounts)


def _missing(contract: Contract, exc: Exception, program: Any, context: dict[str, Any]) -> str:
    """The declared fact(s) that an evaluation lacked."""
    if isinstance(exc, KeyError):
        key = str(exc.args[0])
        named = [n for n in contract.facts if n == key or n.endswith("." + key)]
        return ", ".join(named) or key
    roots = [v for v in program.variables() if v not in context]
    named = [n for n in contract.facts if n.split(".")[0] in roots]
    return ", ".join(named) or ", ".join(roots) or str(exc).splitlines()[0]


class _Missing(Exception):
    """A fact an expression needed is not known."""

    def __init__(self, fact: str) -> None:
        super().__init__(fact)
        self.fact = fact


def _run(contract: Contract, expression: str, context: dict[str, Any]) -> Any:
    program = _program(expression)
    try:
        return program.execute(context)
    except (RuntimeError, KeyError) as exc:
        raise _Missing(_missing(contract, exc, program, context)) from None
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{expression!r}: {str(exc).splitlines()[0]}") from None


def decide(contract: Contract, facts: dict[str, Any]) -> Decision:
    """Decide by ``contract`` over ``facts`` (declared names only; a missing one is allowed)."""
    encoded = encode_facts(contract, facts)
    digest = facts_digest(encoded)
    conditions, amounts = _contexts(contract, decode_facts(contract, encoded))
    trace: list[Step] = []

    def needs_human(rule: str | None, fact: str) -> Decision:
        return Decision(
            "needs_human",
            rule,
            in_every_locale(NEEDS_HUMAN, fact=fact),
            [],
            trace,
            contract.contract_hash,
            digest,
            [fact],
        )

    for rule in contract.spec["rules"]:
        try:
            fired = _run(contract, rule["when"], conditions)
        except _Missing as missing:
            trace.append(Step(rule["id"], f"missing {missing.fact}"))
            return needs_human(rule["id"], missing.fact)
        trace.append(Step(rule["id"], "true" if fired is True else "false"))
        if fired is True:
            decided: dict[str, Any] = rule
            break
    else:
        decided = contract.spec["otherwise"]
    try:
        actions = _resolve(contract, decided.get("actions", []), amounts)
    except _Missing as missing:  # the rule holds, but an amount it pays is not known
        return needs_human(decided.get("id"), missing.fact)
    return Decision(
        decided["decision"],
        decided.get("id"),
        dict(decided["reason"]),
        actions,
        trace,
        contract.contract_hash,
        digest,
    )


def _resolve(
    contract: Contract, actions: list[dict[str, Any]], amounts: dict[str, Any]
) -> list[dict[str, Any]]:
    """Actions with their amount expressions evaluated to decimal text."""
    out = []
    for action in actions:
        resolved = dict(action)
        if "amount" in action:
            value = _run(contract, action["amount"], amounts)
            try:
                amount = Decimal(str(value))
            except InvalidOperation:
                raise InvalidInput(f"amount {action['amount']!r} is not a number") from None
            if amount < 0:
                raise InvalidInput(f"amount {action['amount']!r} is negative")
            resolved["amount"] = str(amount)
        out.append(resolved)
    return out


def replay(contract: Contract, logged: dict[str, Any]) -> list[str]:
    """Decide again from a logged decision (``{"contract_hash", "facts", "decision"}``) and
    name every difference; an empty list means the decision is reproduced."""
    differences = []
    if logged.get("contract_hash") != contract.contract_hash:
        differences.append(
            f"contract {logged.get('contract_hash')} was logged, {contract.contract_hash} given"
        )
    again = decide(contract, decode_facts(contract, logged["facts"])).as_dict()
    for key in ("outcome", "rule", "actions", "facts_digest", "trace"):
        before = logged["decision"].get(key)
        now = again[key]
        if key == "trace":
            now = [dict(step) for step in now]
        if before != now:
            differences.append(f"{key}: logged {before!r}, now {now!r}")
    return differences


@dataclass(frozen=True)
class Firing:
    """An automation rule whose condition held, with its actions."""

    rule: str
    actions: list[dict[str, Any]]


def fire(rules: Contract, facts: dict[str, Any]) -> tuple[list[Firing], list[Step]]:
    """Every automation rule whose condition holds fires (in order). A rule that needs a fact
    not known does not fire; the trace says so."""
    conditions, _ = _contexts(rules, decode_facts(rules, encode_facts(rules, facts)))
    fired, trace = [], []
    for rule in rules.spec["rules"]:
        try:
            holds = _run(rules, rule["when"], conditions)
        except _Missing as missing:
            trace.append(Step(rule["id"], f"missing {missing.fact}"))
            continue
        trace.append(Step(rule["id"], "true" if holds is True else "false"))
        if holds is True:
            fired.append(Firing(rule["id"], [dict(a) for a in rule["actions"]]))
    return fired, trace
