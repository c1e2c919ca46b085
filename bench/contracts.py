"""Decisions per second by a realistic service contract (the shipped 7-day refund contract)
on one core, facts already gathered; the time of the business calendar's arithmetic that SLA
timers stand on. Prints a table and rewrites its section of ``docs/benchmarks.md``.

    .venv/bin/python bench/contracts.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from auth import publish_timings, rate
from proofdesk.contracts.document import parse
from proofdesk.contracts.engine import decide
from proofdesk.sla.calendar import BusinessCalendar, Window
from proofdesk.sla.timers import Policy, SlaEvent, timers

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    contract_text = (ROOT / "examples" / "contracts" / "refund-7-days.yaml").read_text()
    contract = parse(contract_text)
    paid = datetime(2026, 11, 1, tzinfo=UTC)
    facts = {
        "order.status": "failed",
        "order.amount": "0.75",
        "order.paid_at": paid,
        "order.paid_on_chain": True,
        "ticket.created_at": paid + timedelta(days=2),
    }
    assert decide(contract, facts).outcome == "valid"
    calendar = BusinessCalendar(
        "Asia/Shanghai", tuple(Window(d, 9 * 60, 18 * 60) for d in range(5)), country="CN"
    )
    start = datetime(2026, 9, 28, 3, 0, tzinfo=UTC)  # before the National Day holidays
    history = [
        SlaEvent(start, "created", "new"),
        SlaEvent(start + timedelta(hours=3), "staff_reply", None),
        SlaEvent(start + timedelta(hours=3), "status", "pending"),
        SlaEvent(start + timedelta(days=1), "customer_reply", None),
        SlaEvent(start + timedelta(days=1), "status", "open"),
        SlaEvent(start + timedelta(days=9), "status", "solved"),
    ]
    policy = Policy(first_response_minutes=240, next_response_minutes=480, resolution_minutes=2400)
    now = start + timedelta(days=10)
    rows = []
    for name, fn in (
        ("decide: 7-day refund contract, all five rules run", lambda: decide(contract, facts)),
        ("parse and check the contract (publish time)", lambda: parse(contract_text)),
        (
            "business calendar: deadline 8 business hours ahead (CN holidays)",
            lambda: calendar.add(start, 8 * 3600),
        ),
        (
            "SLA timers of one ticket (3 targets, 6 events, across Golden Week)",
            lambda: timers(calendar, policy, history, now),
        ),
        (
            "business calendar: business time over 30 days",
            lambda: calendar.business_seconds(start, start + timedelta(days=30)),
        ),
    ):
        per_second, micros = rate(args.seconds, fn)
        rows.append([name, f"{per_second:,.0f}", f"{micros:,.1f}"])
    [sla_row] = [row for row in rows if row[0].startswith("SLA timers")]
    sla_rate = float(sla_row[1].replace(",", ""))
    publish_timings(
        rows,
        title="Service contracts and business time",
        notes=[
            "CEL by `common-expression-language`",
            f"SLA timers of 100,000 such tickets: about {100_000 / sla_rate:.0f} s",
        ],
        section=("contracts", "Service contracts (`bench/contracts.py`)", "contracts.py"),
        argv=argv or sys.argv[1:],
        write=not args.no_write,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
