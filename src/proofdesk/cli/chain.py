"""``proofdesk chain …`` and ``proofdesk anchor …``: the chain layer's commands."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from proofdesk.chain import contracts
from proofdesk.cli.common import app, fail, handles_errors, out, settings

if TYPE_CHECKING:
    from proofdesk.chain.anchoring import Anchorer

chain_app = typer.Typer(help="The EVM chain: contracts and their status.", no_args_is_help=True)
anchor_app = typer.Typer(help="Anchoring the log's checkpoints on chain.", no_args_is_help=True)
app.add_typer(chain_app, name="chain")
app.add_typer(anchor_app, name="anchor")

CONTRACT_NAMES = contracts.NAMES


@contextmanager
def _anchorer(*, sign_first: bool = False) -> Iterator[Anchorer]:
    """The configured anchorer, its database and chain closed afterwards."""
    from proofdesk.app.services import open_anchorer, open_database
    from proofdesk.ledger.checkpoints import signer_for
    from proofdesk.workers.checkpoints import CheckpointLoop

    conf = settings()
    db = open_database(conf)
    try:
        if sign_first:  # so that `anchor now` covers every event committed so far
            CheckpointLoop(db, signer_for(conf), 0).tick()
        anchorer = open_anchorer(conf, db)
        try:
            yield anchorer
        finally:
            anchorer.chain.close()
    finally:
        db.dispose()


@chain_app.command("deploy")
@handles_errors
def chain_deploy(
    contract: Annotated[
        list[str] | None,
        typer.Option(help="A contract to deploy (repeat); default: all three."),
    ] = None,
    redeploy: Annotated[
        bool, typer.Option(help="Deploy again even if a live deployment is recorded.")
    ] = False,
) -> None:
    """Deploy ProofDesk's contracts on the configured chain (once) and record them."""
    from proofdesk.app.services import open_database
    from proofdesk.chain.connect import open_chain
    from proofdesk.chain.deployments import deploy_contracts

    names = tuple(contract or CONTRACT_NAMES)
    unknown = sorted(set(names) - set(CONTRACT_NAMES))
    if unknown:
        raise fail(f"--contract: unknown {', '.join(unknown)} (one of {', '.join(CONTRACT_NAMES)})")
    conf = settings()
    db = open_database(conf, migrate=True)
    try:
        chain = open_chain(conf)
        try:
            rows = deploy_contracts(db, chain, names, redeploy=redeploy)
        finally:
            chain.close()
    finally:
        db.dispose()
    table = Table("contract", "address", "block", "tx", title=chain.describe())
    for row in rows:
        table.add_row(row.name, row.address, str(row.block_number), row.tx_hash or "")
    out.print(table)
    if chain.development:
        out.print("[yellow]development chain:[/] anchors here are not public evidence.")


@chain_app.command("status")
@handles_errors
def chain_status() -> None:
    """Show the chain, the anchor contract and how far the log is anchored."""
    conf = settings()
    with _anchorer() as anchorer:
        st = anchorer.status()
    kind = "development chain (not a public network)" if st.development else "chain"
    out.print(f"{kind}: {st.chain}", highlight=False)
    if conf.chain_rpc_url is None:
        out.print(f"state: {conf.embedded_chain_path}", highlight=False)
    out.print(f"head block: {st.head if st.head is not None else 'unknown'}", highlight=False)
    out.print(f"CheckpointAnchor: {st.contract or 'not deployed'}", highlight=False)
    out.print(
        f"log: checkpoint size {st.checkpoint_size}, anchored (confirmed) {st.anchored_size}"
        + (f", anchoring {st.in_flight}" if st.in_flight is not None else ""),
        highlight=False,
    )
    if st.problem:
        raise fail(st.problem)


@anchor_app.command("now")
@handles_errors
def anchor_now(
    wait: Annotated[
        float, typer.Option(min=0, max=3600, help="Seconds to wait for confirmation.")
    ] = 60.0,
) -> None:
    """Anchor the latest signed checkpoint now (signing one first if the log grew)."""

    with _anchorer(sign_first=True) as anchorer:
        row = anchorer.tick(force=True)
        deadline = time.monotonic() + wait
        while row is not None and row.status in ("sent", "mined"):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
            row = anchorer.tick()
    if row is None:
        out.print("nothing to anchor: the latest checkpoint is anchored already")
        return
    out.print(
        f"anchor of size {row.tree_size}: {row.status}, tx {row.tx_hash}"
        + (f", block {row.block_number}, gas {row.gas_used}" if row.block_number else ""),
        highlight=False,
    )
    if row.status != "confirmed":
        raise fail(f"the anchor is {row.status}: {row.error or 'not yet confirmed'}")


@anchor_app.command("list")
@handles_errors
def anchor_list(limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20) -> None:
    """List the latest anchors."""
    from sqlalchemy import select

    from proofdesk.app.services import open_database
    from proofdesk.store.models import Anchor

    db = open_database(settings())
    try:
        with db.reader() as session:
            rows = session.scalars(select(Anchor).order_by(Anchor.id.desc()).limit(limit)).all()
    finally:
        db.dispose()
    table = Table("size", "status", "chain", "block", "gas", "tx")
    for row in rows:
        table.add_row(
            str(row.tree_size),
            row.status,
            str(row.chain_id),
            str(row.block_number or ""),
            str(row.gas_used or ""),
            row.tx_hash,
        )
    out.print(table)
