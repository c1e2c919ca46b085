"""``proofdesk mailbox …`` (an organization's support addresses) and ``proofdesk
mail-inbound`` (the inbound SMTP endpoint in the foreground), see ``docs/channels.md``."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from proofdesk.cli.common import app, fail, handles_errors, org_id, out, settings
from proofdesk.errors import ConfigError, NotFound

mailbox_app = typer.Typer(help="Support mailboxes of an organization.", no_args_is_help=True)
app.add_typer(mailbox_app, name="mailbox")


@mailbox_app.command("add")
@handles_errors
def mailbox_add(
    address: str,
    by: Annotated[str, typer.Option(help="E-mail of the admin making the change.")],
    org: Annotated[str, typer.Option(help="Organization slug.")] = "demo",
    imap_host: Annotated[str | None, typer.Option(help="IMAP server to poll.")] = None,
    imap_port: Annotated[int, typer.Option(help="IMAP port.")] = 993,
    imap_security: Annotated[str, typer.Option(help="ssl, starttls or plain.")] = "ssl",
    imap_user: Annotated[str | None, typer.Option(help="IMAP user (default: address).")] = None,
    imap_folder: Annotated[str, typer.Option(help="Folder to poll.")] = "INBOX",
) -> None:
    """Add a support address; with --imap-host it is polled (the password is prompted, or read
    from stdin when not on a terminal, and stored wrapped under the data key)."""
    from proofdesk.access import Actor
    from proofdesk.actions.mailboxes import MailboxSpec, do_create_mailbox
    from proofdesk.app.services import open_database
    from proofdesk.domain.roles import Role
    from proofdesk.ledger.keys import Keyring
    from proofdesk.store.models import User

    password = None
    if imap_host:
        password = (
            typer.prompt("IMAP password", hide_input=True)
            if sys.stdin.isatty()
            else sys.stdin.readline().rstrip("\n")
        )
        if not password:
            raise fail("an IMAP mailbox needs a password")
    conf = settings()
    db = open_database(conf)
    keyring = db.keyring or Keyring.from_file(conf.effective_data_key_file)
    with db.writer() as session:
        organization = org_id(session, org)
        admin = session.scalars(
            select(User).where(User.organization_id == organization, User.email == by.lower())
        ).first()
        if admin is None or admin.role != Role.ADMIN.value:
            raise NotFound(f"no admin {by!r} in {org!r}", code="no_such_admin")
        row = do_create_mailbox(
            session,
            Actor(admin.id, organization, Role.ADMIN),
            keyring,
            MailboxSpec(
                address=address,
                imap_host=imap_host,
                imap_port=imap_port,
                imap_security=imap_security,
                imap_user=imap_user,
                imap_password=password,
                imap_folder=imap_folder,
            ),
        )
        out.print(f"mailbox {row.address} ({row.id})", highlight=False)


@mailbox_app.command("list")
@handles_errors
def mailbox_list(org: Annotated[str, typer.Option(help="Organization slug.")] = "demo") -> None:
    """The organization's mailboxes and where polling got to (never their passwords)."""
    from proofdesk.app.services import open_database
    from proofdesk.store.models import Mailbox

    db = open_database(settings())
    table = Table("address", "IMAP", "last UID", "polled", "last error")
    with db.reader() as session:
        for row in session.scalars(
            select(Mailbox).where(Mailbox.organization_id == org_id(session, org))
        ):
            imap = f"{row.imap_host}:{row.imap_port} ({row.imap_security})" if row.imap_host else ""
            polled = row.polled_at.isoformat(timespec="seconds") if row.polled_at else ""
            table.add_row(row.address, imap, str(row.last_uid), polled, row.last_error or "")
    out.print(table)


@app.command("mail-inbound")
@handles_errors
def mail_inbound(
    listen: Annotated[
        str | None, typer.Option(help="host:port (default: PROOFDESK_MAIL_INBOUND_SMTP).")
    ] = None,
) -> None:
    """Run the inbound SMTP endpoint in the foreground until SIGINT or SIGTERM."""
    from proofdesk.app.services import open_database
    from proofdesk.workers.mail_smtp import MailSmtpEndpoint

    conf = settings()
    if listen:
        conf = conf.model_copy(update={"mail_inbound_smtp": listen})
    if not conf.mail_inbound_smtp:
        raise ConfigError(
            "no address to listen on: pass --listen or set PROOFDESK_MAIL_INBOUND_SMTP",
            key="mail_inbound_smtp",
        )
    db = open_database(conf)
    endpoint = MailSmtpEndpoint(db, conf)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    endpoint.start()
    try:
        out.print(f"taking mail on {conf.mail_inbound_smtp}", highlight=False)
        while not stop.wait(0.5):
            pass
    finally:
        endpoint.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
        db.dispose()


@app.command("notifications")
@handles_errors
def notifications(
    email: str,
    org: Annotated[str, typer.Option(help="Organization slug.")] = "demo",
    on: Annotated[list[str] | None, typer.Option(help="Kind to turn on (repeat).")] = None,
    off: Annotated[list[str] | None, typer.Option(help="Kind to turn off (repeat).")] = None,
) -> None:
    """Show or change which e-mail notifications a staff member gets: assigned,
    customer_replied, sla_warning."""
    from proofdesk.actions.mail_out import NOTICES, do_set_notifications, wants
    from proofdesk.app.services import open_database
    from proofdesk.store.models import User

    db = open_database(settings())
    with db.writer() as session:
        user = session.scalars(
            select(User).where(
                User.organization_id == org_id(session, org), User.email == email.lower()
            )
        ).first()
        if user is None:
            raise NotFound(f"no user {email!r} in {org!r}")
        choices = dict.fromkeys(on or [], True) | dict.fromkeys(off or [], False)
        if choices:
            do_set_notifications(session, user, **choices)
        for kind in NOTICES:
            out.print(
                f"{kind}: {'on' if wants(session, user.id, kind) else 'off'}", highlight=False
            )
