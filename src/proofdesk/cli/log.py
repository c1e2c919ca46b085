"""``proofdesk verify``, ``proofdesk audit`` and ``proofdesk log …``: the ledger's commands.

``verify`` uses only :mod:`proofdesk.verify` and needs no database or settings: it is what a
customer or auditor runs on a receipt, offline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from proofdesk import jsonlimits
from proofdesk.cli.common import app, err, fail, handles_errors, org_id, out, settings
from proofdesk.errors import InvalidInput
from proofdesk.verify.cosignature import CosignerKey
from proofdesk.verify.note import NoteError, Verifier

log_app = typer.Typer(help="The transparency log: key and checkpoints.", no_args_is_help=True)
app.add_typer(log_app, name="log")


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {what} {path}: {exc}") from None


def _key_text(value: str) -> str:
    """A key given as text or as a file holding it."""
    if not value.count("+") >= 2 or Path(value).is_file():
        return _read_text(Path(value), "key file")
    return value


def key_option(value: str) -> Verifier:
    """A verifier key given as text or as a file holding it (also ``verify-export``'s)."""
    try:
        return Verifier.parse(_key_text(value))
    except NoteError as exc:
        raise fail(f"--key: {exc}") from None


def _witness_key(value: str) -> CosignerKey:
    try:
        return CosignerKey.parse(_key_text(value))
    except NoteError as exc:
        raise fail(f"--witness: {exc}") from None


@app.command()
def verify(
    receipt: Annotated[Path, typer.Argument(help="The receipt JSON file.")],
    key: Annotated[
        str | None,
        typer.Option(help="The log's verifier key (text or file), obtained independently."),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="A signed checkpoint obtained elsewhere the receipt's must match."),
    ] = None,
    since: Annotated[
        Path | None,
        typer.Option(help="An older signed checkpoint you kept: detect rollback or fork."),
    ] = None,
    rpc: Annotated[
        str | None,
        typer.Option(help="JSON-RPC URL of the anchor's chain: check the anchor on chain too."),
    ] = None,
    embedded_chain: Annotated[
        Path | None,
        typer.Option(
            help="Check the anchor on an embedded development chain's file "
            "(<data_dir>/chain/evm.sqlite3) instead of over RPC."
        ),
    ] = None,
    witness: Annotated[
        list[str] | None,
        typer.Option(help="A witness's verifier key (text or file) whose cosignature counts."),
    ] = None,
    min_witnesses: Annotated[
        int | None,
        typer.Option(
            min=1, help="How many of the --witness keys must have cosigned (default: all)."
        ),
    ] = None,
) -> None:
    """Check a ticket receipt offline. Exit 0 if valid, 1 if not (naming what failed)."""
    from proofdesk.verify.receipt import verify_receipt

    witnesses = [_witness_key(w) for w in witness or []]
    if min_witnesses is not None and min_witnesses > len(witnesses):
        raise fail(f"--min-witnesses {min_witnesses} needs at least that many --witness keys")

    try:
        doc: Any = jsonlimits.loads(_read_text(receipt, "receipt"), what="receipt")
    except InvalidInput as exc:
        raise fail(f"{receipt}: {exc.message}") from None
    report = verify_receipt(
        doc,
        key=None if key is None else key_option(key),
        checkpoint_note=None if checkpoint is None else _read_text(checkpoint, "checkpoint"),
        since_note=None if since is None else _read_text(since, "checkpoint"),
        witnesses=witnesses,
        min_witnesses=len(witnesses) if min_witnesses is None else min_witnesses,
    )
    if rpc or embedded_chain:
        _check_on_chain(doc, report, rpc, embedded_chain)
    if report.ok:
        from proofdesk.identity.typed import check_receipt

        for item, ok, detail in check_receipt(doc):
            (report.passed if ok else report.failed)(item, detail)
            if ok:
                out.print(f"  ✓ {item}: {detail}", highlight=False, soft_wrap=True)
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if report.revealed:
        table = Table("leaf", "field", "value", title="Revealed content")
        for index, name, value in report.revealed:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            table.add_row(str(index), name, text[:200])
        out.print(table)
    passed = sum(1 for _, ok, _ in report.checks if ok)
    if report.ok:
        cp = report.checkpoint
        assert cp is not None  # a valid report has checked its checkpoint
        out.print(
            f"[bold green]VALID[/] receipt of ticket {doc['ticket_id']}: "
            f"{len(doc['entries'])} events in log {cp.origin} at size {cp.size}; "
            f"{passed} checks passed",
            highlight=False,
        )
        for item, _, detail in report.checks:
            if item == "witnesses":
                out.print(f"witnesses: {detail}", highlight=False, soft_wrap=True)
        if report.anchored_size:
            covered = sum(1 for e in doc["entries"] if e["index"] < report.anchored_size)
            out.print(
                f"{covered} of {len(doc['entries'])} events are in the tree anchored at size "
                f"{report.anchored_size}"
                + ("" if rpc or embedded_chain else " (add --rpc URL to check the chain too)"),
                highlight=False,
            )
        return
    out.print(
        f"[bold red]INVALID[/] receipt: {len(report.failures)} check(s) failed", highlight=False
    )
    for item, why in report.failures:
        out.print(f"  [red]✗[/] {item}: {why}", highlight=False)
    raise typer.Exit(code=1)


def _check_on_chain(doc: Any, report: Any, rpc: str | None, path: Path | None) -> None:
    """Add the on-chain findings about the receipt's anchor to the report."""
    from proofdesk.chain.base import ChainError
    from proofdesk.chain.verify import check_anchor
    from proofdesk.errors import Error

    anchor = doc.get("anchor") if isinstance(doc, dict) else None
    if not isinstance(anchor, dict):
        report.failed("chain anchor", "the receipt has no anchor (the log was not yet anchored)")
        return
    origin = doc.get("log", {}).get("origin", "") if isinstance(doc.get("log"), dict) else ""
    try:
        if rpc:
            from eth_account import Account

            from proofdesk.chain.rpc import RpcChain

            if not rpc.startswith(("http://", "https://")):
                raise fail(f"--rpc: {rpc!r} is not an http:// or https:// URL")
            # Reading needs no key: a throwaway account satisfies the signing interface.
            chain: Any = RpcChain(rpc, Account.create(), retries=2)
        else:
            from proofdesk.chain.embedded import EmbeddedChain

            assert path is not None
            try:
                chain = EmbeddedChain(path, create=False)
            except Error as exc:
                raise fail(f"--embedded-chain: {exc.message}") from None
    except (ChainError, Error) as exc:
        report.failed("chain anchor", exc.message)
        return
    if chain.development:
        report.warnings.append(
            f"chain {chain.chain_id} is a development chain: its anchor shows what the "
            "operator's own node holds, not public evidence"
        )
    try:
        for item, ok, detail in check_anchor(chain, anchor, origin):
            (report.passed if ok else report.failed)(item, detail)
    finally:
        chain.close()


@app.command()
def redact(
    receipt: Annotated[Path, typer.Argument(help="The receipt JSON file.")],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the redacted copy.")],
    keep: Annotated[
        list[str] | None,
        typer.Option(help="A payload field to keep revealed (repeat); default: none."),
    ] = None,
) -> None:
    """Copy a receipt revealing only the chosen fields. Proofs and chain are untouched, so
    the copy verifies like the original; it just shows less."""
    try:
        doc: Any = jsonlimits.loads(_read_text(receipt, "receipt"), what="receipt")
        entries = doc["entries"]
        for entry in entries:
            revealed = entry["revealed"]
            entry["revealed"] = {k: v for k, v in revealed.items() if k in set(keep or ())}
    except InvalidInput as exc:
        raise fail(f"{receipt}: {exc.message}") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise fail(f"{receipt} is not a receipt: {exc!r}") from None
    try:
        out_file.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    except OSError as exc:
        raise fail(f"cannot write {out_file}: {exc}") from None
    kept = sum(len(e["revealed"]) for e in entries)
    out.print(f"wrote {out_file}: {len(entries)} entries, {kept} revealed values", highlight=False)


@app.command()
@handles_errors
def audit() -> None:
    """Recompute the log from the stored events and check every leaf, node and checkpoint.
    Exit 0 if all is as signed, 1 with each discrepancy otherwise."""
    from proofdesk.app.services import open_database
    from proofdesk.ledger.audit import audit as run_audit
    from proofdesk.ledger.checkpoints import signer_for

    conf = settings()
    report = run_audit(open_database(conf), signer_for(conf).verifier)
    problems = [f for f in report.findings if f.kind != "erased"]
    if problems:
        table = Table("kind", "where", "what", title="Audit findings")
        for f in problems:
            table.add_row(f.kind, f.where, f.detail)
        out.print(table)
    summary = (
        f"{report.leaves_checked} leaves, {report.checkpoints_checked} checkpoints, "
        f"{report.erased_tickets} erased tickets, log size {report.size}"
    )
    if report.consequences:
        summary += f"; {report.consequences} mismatches that follow from these not listed"
    if report.ok:
        out.print(f"[bold green]OK[/] {summary}", highlight=False)
        return
    out.print(f"[bold red]FAILED[/] {len(problems)} finding(s); {summary}", highlight=False)
    raise typer.Exit(code=1)


@log_app.command("key")
@handles_errors
def log_key() -> None:
    """Print the log's verifier key (generating the key pair on first use)."""
    from proofdesk.ledger.checkpoints import signer_for

    out.print(signer_for(settings()).verifier.encode(), highlight=False, soft_wrap=True)


@log_app.command("checkpoint")
@handles_errors
def log_checkpoint() -> None:
    """Sign a checkpoint of the current log (if it has grown) and print the latest."""
    from proofdesk.app.services import open_database
    from proofdesk.ledger.checkpoints import issue, signer_for

    conf = settings()
    db = open_database(conf)
    with db.writer() as session:
        row = issue(session, signer_for(conf))
    out.print(row.note, end="", highlight=False, soft_wrap=True, markup=False)


erase_app = typer.Typer(help="Erase personal data (crypto-shredding).", no_args_is_help=True)
app.add_typer(erase_app, name="erase")


@erase_app.command("customer")
@handles_errors
def erase_customer(
    customer: Annotated[str, typer.Argument(help="The customer's id or e-mail.")],
    by: Annotated[str, typer.Option("--by", help="E-mail of the admin who orders it.")],
    org: Annotated[str, typer.Option(help="Organization slug.")] = "demo",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a customer: their tickets' content becomes unreadable for good, the log and every
    proof stay valid, and the erasure is logged."""
    from sqlalchemy import or_, select

    from proofdesk.access import Actor
    from proofdesk.actions.blobs import BlobStore
    from proofdesk.actions.erase import do_erase_customer
    from proofdesk.app.services import open_database
    from proofdesk.domain.roles import Role
    from proofdesk.errors import NotFound
    from proofdesk.store.models import User

    conf = settings()
    db = open_database(conf)
    with db.reader() as session:
        organization = org_id(session, org)
        admin = session.scalars(
            select(User).where(User.organization_id == organization, User.email == by)
        ).first()
        target = session.scalars(
            select(User).where(
                User.organization_id == organization,
                or_(User.id == customer, User.email == customer),
            )
        ).first()
    if admin is None or admin.role != Role.ADMIN.value:
        raise NotFound(f"no admin {by!r} in {org!r}", code="no_such_admin")
    if target is None:
        raise NotFound(f"no user {customer!r} in {org!r}")
    if not yes and not typer.confirm(
        f"Erase {target.display_name} <{target.email}> for good?", default=False
    ):
        raise typer.Exit(code=1)
    actor = Actor(admin.id, organization, Role.ADMIN)
    with db.writer() as session:
        user = session.get(User, target.id)
        assert user is not None  # read above in the same organization
        erasure = do_erase_customer(session, actor, user)
    blobs = BlobStore(conf.blob_dir)
    for sha256 in erasure.blobs:
        blobs.path(sha256).unlink(missing_ok=True)
    out.print(
        f"erased {target.id}: {len(erasure.tickets)} tickets, {len(erasure.blobs)} files",
        highlight=False,
    )
