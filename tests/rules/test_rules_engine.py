"""Service contracts: every shipped example parses and decides; publish-time errors name line
and field; decisions replay exactly; missing facts route to a human; nothing crashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from proofdesk.rules.document import ContractError, parse
from proofdesk.rules.engine import decide, encode_facts, replay
from tests.support import paths

EXAMPLES = paths.ROOT / "examples" / "contracts"
REFUND = (EXAMPLES / "refund-7-days.yaml").read_text()
PAID = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def refund_facts(**changes: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "order.status": "failed",
        "order.amount": "0.75",
        "order.paid_at": PAID,
        "order.paid_on_chain": True,
        "ticket.created_at": PAID + timedelta(days=2),
    }
    facts.update(changes)
    return {k: v for k, v in facts.items() if v is not None}


@pytest.mark.parametrize(
    "path", sorted(EXAMPLES.parent.glob("*/*.yaml")), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_examples_parse_and_their_hash_ignores_formatting(path: Path) -> None:
    contract = parse(path.read_text())
    reformatted = yaml.safe_dump(contract.document, allow_unicode=True, sort_keys=True, indent=4)
    assert parse(reformatted).contract_hash == contract.contract_hash
    changed = dict(contract.document, metadata={**contract.document["metadata"], "version": 2})
    assert (
        parse(yaml.safe_dump(changed, allow_unicode=True)).contract_hash != contract.contract_hash
    )


def test_refund_decisions_with_reasons_actions_and_trace() -> None:
    contract = parse(REFUND)
    ok = decide(contract, refund_facts())
    assert (ok.outcome, ok.rule) == ("valid", "refund")
    assert ok.actions[0] == {"type": "pay_from_escrow", "amount": "0.75"}  # exact decimal
    assert [s.rule for s in ok.trace] == [
        "already-refunded",
        "not-failed",
        "not-paid-on-chain",
        "out-of-window",
        "refund",
    ]
    assert "7" in ok.reason["en"] and "7 天" in ok.reason["zh-CN"]
    late = decide(contract, refund_facts(**{"ticket.created_at": PAID + timedelta(days=8)}))
    assert (late.outcome, late.rule) == ("invalid", "out-of-window")
    done = decide(contract, refund_facts(**{"order.status": "refunded"}))
    assert (done.outcome, done.rule) == ("invalid", "already-refunded")
    off_chain = decide(contract, refund_facts(**{"order.paid_on_chain": False}))
    assert off_chain.outcome == "needs_human"


def test_a_missing_fact_routes_to_a_human_and_says_which() -> None:
    contract = parse(REFUND)
    decision = decide(contract, refund_facts(**{"order.status": None}))
    assert decision.outcome == "needs_human"
    assert (
        decision.missing == ["status"]
        or decision.missing == ["order.status"]
        or "status" in decision.missing[0]
    )
    assert decision.trace[-1].result.startswith("missing")
    # The refund rule holds but the amount it pays is not known: a person decides.
    no_amount = decide(contract, refund_facts(**{"order.amount": None}))
    assert (no_amount.outcome, no_amount.rule, no_amount.missing) == (
        "needs_human",
        "refund",
        ["order.amount"],
    )
    assert no_amount.actions == []
    nothing = decide(contract, {})
    assert nothing.outcome == "needs_human" and nothing.trace[0].rule == "already-refunded"
    assert nothing.missing == ["order.status, order.amount, order.paid_at, order.paid_on_chain"]


def test_replay_reproduces_and_detects_a_changed_contract() -> None:
    contract = parse(REFUND)
    facts = refund_facts()
    decision = decide(contract, facts)
    logged = {
        "contract_hash": contract.contract_hash,
        "facts": encode_facts(contract, facts),
        "decision": decision.as_dict(),
    }
    assert replay(contract, logged) == []
    stricter = parse(REFUND.replace('duration("168h")', 'duration("24h")'))
    differences = replay(stricter, logged)
    assert any(d.startswith("contract") for d in differences)
    assert any(d.startswith("outcome") for d in differences)  # 2 days is too late for 24 h
    tampered = dict(logged, decision={**logged["decision"], "outcome": "invalid"})
    assert any(d.startswith("outcome") for d in replay(contract, tampered))


def test_facts_must_be_declared_and_typed() -> None:
    contract = parse(REFUND)
    with pytest.raises(Exception, match="not declared"):
        decide(contract, {"order.colour": "red"})
    for bad in (
        {"order.paid_at": "yesterday"},
        {"order.amount": "lots"},
        {"order.paid_on_chain": 1},
    ):
        with pytest.raises(Exception, match="is not a"):
            decide(contract, bad)


BROKEN = {
    "yaml syntax": ("rules:\n  - [unclosed", "YAML"),
    "wrong decision": (
        REFUND.replace("decision: invalid", "decision: maybe", 1),
        "spec.rules.0.decision",
    ),
    "missing reason language": (
        REFUND.replace("        zh-CN: 该订单已退款。\n", "", 1),
        "spec.rules.0.reason",
    ),
    "not CEL": (REFUND.replace('order.status == "refunded"', "order.status ==", 1), "not CEL"),
    "undeclared fact": (
        REFUND.replace('order.status == "refunded"', 'order.colour == "red"', 1),
        "undeclared",
    ),
    "undeclared root": (
        REFUND.replace('order.status == "refunded"', "shop.open", 1),
        "undeclared fact shop",
    ),
    "type error": (
        REFUND.replace('order.status == "refunded"', "order.status > 3", 1),
        "type error",
    ),
    "not a condition": (
        REFUND.replace('order.status == "refunded"', "order.status", 1),
        "true or false",
    ),
    "unknown action": (
        REFUND.replace("type: reply", "type: launch_rocket", 1),
        "spec.rules.4.actions.1",
    ),
    "yaml alias bomb": ('a: &a ["x", "x"]\nb: [*a, *a]\n', "anchors and aliases"),
    "bad amount": (REFUND.replace("amount: order.amount", "amount: order.amount +", 1), "not CEL"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_publish_time_errors_name_line_and_field(case: str) -> None:
    text, expected = BROKEN[case]
    with pytest.raises(ContractError) as caught:
        parse(text)
    message = caught.value.message
    assert expected in message, message
    assert message.startswith("line "), message
    assert caught.value.details.get("line"), caught.value.details


def test_the_right_line_is_named() -> None:
    text = REFUND.replace('order.status != "failed"', 'order.colour != "failed"', 1)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "order.colour" in row)
    with pytest.raises(ContractError) as caught:
        parse(text)
    assert caught.value.details["line"] == line


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from(["paid", "delivered", "failed", "refunded", ""]),
    st.decimals(min_value=0, max_value=10**6, places=8, allow_nan=False).map(str),
    st.integers(-30, 30),
    st.booleans(),
    st.sets(
        st.sampled_from(
            [
                "order.status",
                "order.amount",
                "order.paid_at",
                "order.paid_on_chain",
                "ticket.created_at",
            ]
        )
    ),
)
def test_any_facts_give_a_decision_that_replays(
    status: str, amount: str, days: int, on_chain: bool, absent: set[str]
) -> None:
    contract = parse(REFUND)
    facts = refund_facts(
        **{
            "order.status": status,
            "order.amount": amount,
            "order.paid_on_chain": on_chain,
            "ticket.created_at": PAID + timedelta(days=days),
        }
    )
    for name in absent:
        facts.pop(name, None)
    decision = decide(contract, facts)
    assert decision.outcome in ("valid", "invalid", "needs_human")
    logged = {
        "contract_hash": contract.contract_hash,
        "facts": encode_facts(contract, facts),
        "decision": decision.as_dict(),
    }
    assert replay(contract, logged) == []


def test_automation_documents_are_checked_like_contracts() -> None:
    source = (EXAMPLES.parent / "automation" / "idle.yaml").read_text()
    assert parse(source).kind == "Automation"
    for broken, where in (
        (source.replace("triggers: [sweep]", "triggers: [hourly]"), "spec.triggers.0"),
        (source.replace('ticket.status == "pending"', "ticket.colour"), "spec.rules.0.when"),
        (source.replace("{type: close}", "{type: pay_from_escrow, amount: '1'}"), "spec.rules.0"),
        (source.replace("ticket.status: string", "ticket.status: int"), "spec.facts"),
    ):
        with pytest.raises(ContractError) as caught:
            parse(broken)
        assert caught.value.details["field"].startswith(where), caught.value.message
