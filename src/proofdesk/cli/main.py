"""The ``proofdesk`` command line. Errors print one line on stderr and exit with code 2."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from proofdesk.cli import (  # noqa: F401 - they register their commands
    assistant,
    chain,
    log,
    mail,
    monitor,
    moving,
    rules,
    telegram,
    ticket,
    witness,
    worker,
)
from proofdesk.cli.common import app, err, fail, handles_errors, org_id, out, settings
from proofdesk.domain.roles import Role
from proofdesk.errors import Error, NotFound
from proofdesk.settings import load_settings

user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
org_app = typer.Typer(help="Manage organizations (tenants).", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(org_app, name="org")
app.add_typer(token_app, name="token")


@app.command()
@handles_errors
def migrate() -> None:
    """Create or upgrade the database schema."""
    from proofdesk.app.services import open_database
    from proofdesk.store.migrate import current_revision

    db = open_database(settings(), migrate=True)
    out.print(f"schema at revision {current_revision(db)} ({db.dialect})")


@app.command()
@handles_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    no_workers: Annotated[
        bool,
        typer.Option(
            "--no-workers", help="Start no background worker (run `proofdesk worker` apart)."
        ),
    ] = False,
) -> None:
    """Serve the API (migrating first), with every background worker unless --no-workers."""
    import uvicorn

    from proofdesk.app.http import LingeringH11Protocol
    from proofdesk.app.services import open_database

    overrides: dict[str, Any] = {}
    if host:
        overrides["host"] = host
    if port:
        overrides["port"] = port
    conf = load_settings(**overrides)
    open_database(conf, migrate=True).dispose()
    out.print(f"ProofDesk serving at [bold]{conf.base_url}/[/] (API {conf.base_url}/api/v1)")
    uvicorn.run(
        "proofdesk.app.asgi_no_workers:app" if no_workers else "proofdesk.app.asgi:app",
        host=conf.host,
        port=conf.port,
        workers=workers,
        log_level=conf.log_level,
        factory=False,
        env_file=None,
        # 431 for an oversized header section, and no reset while the client still sends.
        http=LingeringH11Protocol,
        h11_max_incomplete_event_size=conf.max_header_bytes,
        # uvicorn would believe X-Forwarded-For from 127.0.0.1 by itself; the desk reads it only
        # from settings.trusted_proxies (app.guards.client_address).
        proxy_headers=False,
    )


@app.command()
@handles_errors
def demo(
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 7,
    tickets: Annotated[int, typer.Option(min=0, max=100_000)] = 300,
    customers: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
) -> None:
    """Seed a bilingual demo exchange (organization `demo`), unless it exists."""
    from proofdesk.app.services import open_database
    from proofdesk.demo.play import seed_demo

    conf = settings()
    db = open_database(conf, migrate=True)
    summary = seed_demo(db, conf, seed=seed, tickets=tickets, customers=customers)
    out.print(summary)
    from proofdesk.demo.starter import import_starter_kb

    starter = import_starter_kb(db)
    if starter:
        out.print(starter, highlight=False)
    if not conf.chain_rpc_url:
        # Anchor the demo's history on the embedded development chain right away, so that
        # its receipts show an anchor from the first minute.
        from proofdesk.app.services import open_anchorer
        from proofdesk.ledger.checkpoints import signer_for
        from proofdesk.workers.checkpoints import CheckpointLoop

        CheckpointLoop(db, signer_for(conf), 0).tick()
        from proofdesk.demo.starter import fund_escrow

        anchorer = open_anchorer(conf, db)
        try:
            row = anchorer.tick(force=True)
            funded = fund_escrow(db, anchorer.chain)
        finally:
            anchorer.chain.close()
        if funded:
            out.print(funded, highlight=False)
        if row is not None:
            out.print(
                f"anchored the log at size {row.tree_size} in block {row.block_number} of the "
                "embedded development chain",
                highlight=False,
            )


@app.command()
@handles_errors
def rebuild(
    check: Annotated[bool, typer.Option("--check", help="Only compare; change nothing.")] = False,
) -> None:
    """Recompute ticket projections from the event stream (or check that they match)."""
    from proofdesk.actions.rebuild import do_rebuild_all
    from proofdesk.app.services import open_database
    from proofdesk.store.projections import check_projections

    db = open_database(settings())
    if check:
        problems = check_projections(db)
        if problems:
            for line in problems[:50]:
                err.print(line, highlight=False)
            raise fail(f"{len(problems)} projection mismatches")
        out.print("projections match the event stream")
        return
    count = do_rebuild_all(db)
    out.print(f"rebuilt projections from {count} events")


@org_app.command("create")
@handles_errors
def org_create(slug: str, name: Annotated[str, typer.Option(help="Display name.")] = "") -> None:
    """Create an organization."""
    from proofdesk.actions.accounts import do_create_organization
    from proofdesk.app.services import open_database

    db = open_database(settings())
    with db.writer() as session:
        org = do_create_organization(session, slug, name or slug)
        out.print(f"organization {org.slug} ({org.id})")


@user_app.command("create")
@handles_errors
def user_create(
    email: str,
    org: Annotated[str, typer.Option(help="Organization slug.")] = "demo",
    role: Annotated[Role, typer.Option(help="Role.")] = Role.AGENT,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password: Annotated[
        str | None,
        typer.Option(help="Password (prompted when omitted for staff).", hide_input=True),
    ] = None,
    locale: Annotated[str, typer.Option(help="en or zh-CN.")] = "en",
) -> None:
    """Create a user (staff or customer)."""
    from proofdesk.actions.accounts import do_create_user
    from proofdesk.app.services import open_database

    if password is None and role is not Role.CUSTOMER:
        if not sys.stdin.isatty():
            raise fail("--password is required when not on a terminal")
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    db = open_database(settings())
    with db.writer() as session:
        user = do_create_user(
            session,
            org_id(session, org),
            role=role,
            display_name=name or email.split("@")[0],
            email=email,
            password=password,
            locale=locale,
        )
        out.print(f"{user.role} {user.email} ({user.id})")


@user_app.command("list")
@handles_errors
def user_list(
    org: Annotated[str, typer.Option(help="Organization slug.")] = "demo",
    role: Annotated[Role | None, typer.Option(help="Only this role.")] = None,
) -> None:
    """List users of an organization."""
    from proofdesk.app.services import open_database
    from proofdesk.store.models import User

    db = open_database(settings())
    with db.reader() as session:
        query = select(User).where(User.organization_id == org_id(session, org))
        if role:
            query = query.where(User.role == role.value)
        table = Table("id", "role", "e-mail", "name", "active")
        for u in session.scalars(query.order_by(User.role, User.email)):
            table.add_row(
                u.id, u.role, u.email or "", u.display_name, "yes" if u.is_active else "no"
            )
    out.print(table)


@token_app.command("create")
@handles_errors
def token_create(
    email: str,
    org: Annotated[str, typer.Option(help="Organization slug.")] = "demo",
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    scope: Annotated[
        list[str] | None, typer.Option(help="Scope (repeat); default: all the role allows.")
    ] = None,
) -> None:
    """Issue an API token for a user and print it once."""
    from proofdesk.actions.sessions import do_issue_api_token
    from proofdesk.app.services import open_database
    from proofdesk.domain.roles import ALL_SCOPES, Scope
    from proofdesk.store.models import User

    try:
        scopes = frozenset(Scope(s) for s in scope) if scope else ALL_SCOPES
    except ValueError:
        raise fail(f"scopes are: {', '.join(s.value for s in Scope)}") from None
    db = open_database(settings())
    with db.writer() as session:
        user = session.scalars(
            select(User).where(
                User.organization_id == org_id(session, org), User.email == email.lower()
            )
        ).first()
        if user is None:
            raise NotFound(f"no user {email!r} in {org!r}")
        if Role(user.role) is not Role.ADMIN:
            scopes = scopes - {Scope.ADMIN}
        _, token = do_issue_api_token(session, user, name, scopes)
    out.print(token, highlight=False, soft_wrap=True)


def main() -> None:
    try:
        app()
    except Error as exc:  # settings errors raised before a command runs
        err.print(f"error: {exc.message}", highlight=False)
        sys.exit(2)
