"""How fast wallet identity checks run on one core: Sign-In with Ethereum verifications
(parse + binding + EIP-191 recovery) and EIP-712 signed-submission verifications.

Prints a table and rewrites its section of ``docs/benchmarks.md`` (between
``<!-- auth:start -->`` and ``<!-- auth:end -->``).

    .venv/bin/python bench/auth.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from eth_account import Account
from eth_account.messages import encode_defunct
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from api_load import cpu_model
from ledger import markdown_table, replace_section, run_header
from proofdesk.actions import siwe
from proofdesk.canonical import canonical_json
from proofdesk.identity.siwe import SiweMessage, parse
from proofdesk.identity.typed import Signed, recover
from proofdesk.settings import Settings


def publish_timings(
    rows: list[list[str]],
    *,
    title: str,
    notes: list[str],
    section: tuple[str, str, str],
    argv: list[str],
    write: bool,
) -> None:
    """Print ``rows`` (operation, per second, µs) and, if ``write``, put them in their section
    (marker name, heading, script) of docs/benchmarks.md."""
    headers = ["operation (one core)", "per second", "µs each"]
    table = Table(*headers, title=title)
    for row in rows:
        table.add_row(*row)
    console = Console(width=140)
    console.print(table)
    for note in notes:
        console.print(note)
    if not write:
        return
    marker, heading, script = section
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    lines = [
        start,
        *run_header(script, argv),
        "",
        f"- machine: {cpu_model()}; one process, one thread; " + "; ".join(notes),
        "",
        *markdown_table(headers, rows),
        "",
        end,
    ]
    replace_section(start, end, heading, "\n".join(lines))


def rate(seconds: float, fn: Callable[[], object]) -> tuple[float, float]:
    """(operations per second, mean microseconds) over about ``seconds``."""
    fn()  # warm up
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(50):
            fn()
        count += 50
    return count / elapsed, elapsed / count * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    account = Account.create()
    settings = Settings(siwe_chain_ids=(1,))
    scheme, domain = siwe.expected_origin(settings)
    message = SiweMessage(
        domain=domain,
        address=account.address,
        statement=siwe.STATEMENT,
        uri=f"{scheme}://{domain}/",
        version="1",
        chain_id=1,
        nonce="benchNonce12345678",
        issued_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    text = message.text()
    signature = "0x" + bytes(account.sign_message(encode_defunct(text=text)).signature).hex()
    content = {"kind": "question", "subject": "USDT 提币未到账", "body": "TRC20, 3 hours" * 20}
    signed = Signed(
        signer=account.address,
        signature="",
        action="ticket.create",
        organization="00000000-0000-4000-8000-000000000000",
        ticket="",
        request_id="r1",
        nonce=12345678901234567890,
        issued_at=int(time.time()),
        chain_id=1,
        verifying_contract="0x5FbDB2315678afecb367f032d93F642f64180aa3",
    )
    typed_sig = Account.sign_typed_data(account.key, full_message=signed.typed_data(content))
    signed = Signed(**{**signed.__dict__, "signature": "0x" + bytes(typed_sig.signature).hex()})
    assert siwe.check(settings, text, signature, lambda: None)[1] == "eoa"
    assert recover(signed, content) == account.address

    rows = []
    for name, fn in (
        ("SIWE message parse", lambda: parse(text)),
        (
            "SIWE verification (parse, binding, EIP-191 recovery)",
            lambda: siwe.check(settings, text, signature, lambda: None),
        ),
        (
            "EIP-712 submission verification (hash content, recover)",
            lambda: recover(signed, content),
        ),
        ("RFC 8785 + keccak of the content alone", lambda: canonical_json(content)),
    ):
        per_second, micros = rate(args.seconds, fn)
        rows.append([name, f"{per_second:,.0f}", f"{micros:,.1f}"])
    coincurve = importlib.util.find_spec("coincurve") is not None
    backend = "coincurve" if coincurve else "pure-Python eth-keys (coincurve not installed)"
    publish_timings(
        rows,
        title="Wallet identity checks",
        notes=[f"secp256k1 recovery by {backend}"],
        section=("auth", "Wallet identity (`bench/auth.py`)", "auth.py"),
        argv=argv or sys.argv[1:],
        write=not args.no_write,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
