"""``proofdesk contracts …``: check a contract file, replay a ticket's decisions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from proofdesk.cli.common import app, fail, handles_errors, out, settings

contracts_app = typer.Typer(help="Service contracts: check and replay.", no_args_is_help=True)
app.add_typer(contracts_app, name="contracts")


@contracts_app.command("check")
@handles_errors
def check(path: Annotated[Path, typer.Argument(help="A contract's YAML file.")]) -> None:
    """Check a contract as publishing would; print its id. Exit 2 naming line and field."""
    from proofdesk.rules.document import parse

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {path}: {exc}") from None
    contract = parse(text)
    out.print(
        f"{contract.name} v{contract.version}: {contract.contract_hash}",
        highlight=False,
        soft_wrap=True,
    )


@contracts_app.command("replay")
@handles_errors
def replay(ticket: Annotated[str, typer.Argument(help="The ticket's id.")]) -> None:
    """Decide every logged decision of a ticket again from its logged facts. Exit 0 if all
    are reproduced, 1 naming each difference."""
    from proofdesk.actions.contracts import replay_ticket
    from proofdesk.app.services import open_database
    from proofdesk.store.models import Ticket

    db = open_database(settings())
    try:
        with db.reader() as session:
            row = session.get(Ticket, ticket)
            if row is None:
                raise fail(f"no ticket {ticket}")
            if row.erased_at is not None:
                out.print("the ticket was erased: the facts its decisions saw are gone")
                return
            results = replay_ticket(session, row)
    finally:
        db.dispose()
    if not results:
        out.print("the ticket has no decisions")
        return
    failed = 0
    for seq, contract, differences in results:
        if differences:
            failed += 1
            out.print(f"✗ event {seq} ({contract}):", highlight=False)
            for line in differences:
                out.print(f"    {line}", highlight=False, soft_wrap=True)
        else:
            out.print(f"✓ event {seq} ({contract}): reproduced", highlight=False)
    if failed:
        raise typer.Exit(code=1)
