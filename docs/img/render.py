"""Render docs/img/ticket-list.svg from the real CLI on a fresh demo database.

Run with ``make screenshot``; it uses a scratch data directory and leaves ``var/`` alone.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from rich.console import Console

OUT = Path(__file__).with_name("ticket-list.svg")


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["PROOFDESK_DATA_DIR"] = scratch
        from proofdesk.cli import main as cli
        from proofdesk.cli import ticket

        for args in (["migrate"], ["demo"]):
            cli.app(args, standalone_mode=False)
        ticket.out = Console(record=True, width=130, force_terminal=True)
        cli.app(["ticket", "list", "--limit", "12"], standalone_mode=False)
        ticket.out.save_svg(str(OUT), title="proofdesk ticket list")
    sys.stdout.write(f"wrote {OUT}\n")


if __name__ == "__main__":
    main()
