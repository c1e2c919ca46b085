"""``proofdesk witness``: this deployment as a witness of other logs (C2SP tlog-witness)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import func, select

from proofdesk.cli.common import app, handles_errors, out, settings

witness_app = typer.Typer(help="Witness other logs: keys, logs, refusals.", no_args_is_help=True)
app.add_typer(witness_app, name="witness")


@witness_app.command("key")
@handles_errors
def witness_key() -> None:
    """Print this witness's verifier key (generating the key pair on first use)."""
    from proofdesk.ledger.witness import cosigner_for

    out.print(cosigner_for(settings()).key.encode(), highlight=False, soft_wrap=True)


@witness_app.command("add-log")
@handles_errors
def add_log(
    origin: Annotated[str, typer.Argument(help="The log's origin line.")],
    vkey: Annotated[str, typer.Argument(help="The log's verifier key (vkey).")],
) -> None:
    """Witness the log ORIGIN, whose checkpoints VKEY signs."""
    from proofdesk.actions.witness import do_add_witnessed_log
    from proofdesk.app.services import open_database

    db = open_database(settings())
    with db.writer() as session:
        row = do_add_witnessed_log(session, origin, vkey)
        out.print(f"witnessing {row.origin} (cosigned size {row.size})", highlight=False)


@witness_app.command("list")
@handles_errors
def list_logs() -> None:
    """The logs this deployment witnesses, what it last cosigned and what it refused."""
    from proofdesk.app.services import open_database
    from proofdesk.store.models import WitnessedLog, WitnessRefusal

    db = open_database(settings())
    with db.reader() as session:
        rows = session.scalars(select(WitnessedLog).order_by(WitnessedLog.origin)).all()
        counts = {
            (origin, kind): n
            for origin, kind, n in session.execute(
                select(WitnessRefusal.origin, WitnessRefusal.kind, func.count()).group_by(
                    WitnessRefusal.origin, WitnessRefusal.kind
                )
            )
        }
    for row in rows:  # one line per log, for people and for grep
        refused = " ".join(
            f"{k}s={counts.get((row.origin, k), 0)}" for k in ("rollback", "fork", "bad_proof")
        )
        out.print(
            f"{row.origin} size={row.size} cosigned_at={row.cosigned_at or '-'} {refused}",
            highlight=False,
            soft_wrap=True,
        )
