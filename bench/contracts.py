"""Decisions per second by a realistic service contract (the shipped 7-day refund contract)
on one core, facts already gathered; the time of the business calendar's arithmetic that SLA
timers stand on. Prints a table and rewrites its section of ``docs/benchmarks.md``.

    .venv/bin/python bench/contracts.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from auth import publish_timings, rate
from proofdesk.rules.document import parse
from proofdesk.rules.engine import decide
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
    per_second, micros = automation_rate(min(400, max(50, int(args.seconds * 60))))
    rows.append(
        [
            "automation worker: a refund ticket end to end (SQLite; its 2 events read, facts, "
            "decision and reply committed)",
            f"{per_second:,.0f}",
            f"{micros:,.1f}",
        ]
    )
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


BENCH_CONTRACT = """
apiVersion: proofdesk/v1
kind: ServiceContract
metadata: {name: bench-refunds, version: 1, title: {en: Refunds, zh-CN: 退款}}
spec:
  appliesTo: [refund_request]
  facts: {order.status: string, order.amount: decimal, order.paid_at: timestamp,
          ticket.created_at: timestamp}
  rules:
    - id: not-failed
      when: order.status != "failed"
      decision: invalid
      reason: {en: Not failed., zh-CN: 未失败。}
    - id: refund
      when: ticket.created_at - order.paid_at <= duration("168h")
      decision: valid
      reason: {en: Refunded., zh-CN: 已退款。}
      actions: [{type: reply, template: refund-approved}]
  otherwise: {decision: needs_human, reason: {en: A person decides., zh-CN: 人工处理。}}
"""


def automation_rate(tickets: int) -> tuple[float, float]:
    """Tickets decided per second by the automation worker, end to end on SQLite."""
    import tempfile

    from proofdesk.access import Actor
    from proofdesk.actions.accounts import do_create_organization, do_create_user
    from proofdesk.actions.contracts import do_activate, do_publish
    from proofdesk.actions.orders import OrderSync, do_sync_order
    from proofdesk.actions.tickets import NewTicket, do_create_ticket
    from proofdesk.app.services import open_database
    from proofdesk.domain.roles import Role
    from proofdesk.domain.tickets import Kind
    from proofdesk.settings import Settings
    from proofdesk.workers.automation import Automator

    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Settings(data_dir=Path(tmp)), migrate=True)
        with db.writer() as session:
            org = do_create_organization(session, "bench", "Bench")
            admin = do_create_user(
                session, org.id, role=Role.ADMIN, display_name="a", email="a@bench.example"
            )
            customer = do_create_user(
                session, org.id, role=Role.CUSTOMER, display_name="c", email=None
            )
            actor = Actor(admin.id, org.id, Role.ADMIN)
            row, _ = do_publish(session, actor, BENCH_CONTRACT)
            do_activate(session, actor, row.contract_hash)
        worker = Automator(db, None, 0, batch=500)
        worker.cursor()
        with db.writer() as session:
            you = Actor(customer.id, org.id, Role.CUSTOMER)
            for n in range(tickets):
                do_sync_order(
                    session,
                    org.id,
                    OrderSync(
                        f"B-{n}",
                        customer.id,
                        "0.5",
                        "ETH",
                        "failed",
                        paid_at=datetime.now(UTC) - timedelta(days=1),
                    ),
                    "api",
                )
                do_create_ticket(
                    session,
                    you,
                    NewTicket(
                        kind=Kind.REFUND_REQUEST, subject="Refund", body="x", order_id=f"B-{n}"
                    ),
                )
        started = time.perf_counter()
        decided = 0
        while made := worker.step():
            decided += made
        elapsed = time.perf_counter() - started
        db.dispose()
    assert decided == tickets, decided
    return tickets / elapsed, elapsed / tickets * 1e6


if __name__ == "__main__":
    sys.exit(main())
