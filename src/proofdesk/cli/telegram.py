"""``proofdesk telegram …``: an organization's Telegram bot (``docs/telegram.md``)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from proofdesk.cli.common import app, handles_errors, org_id, out, settings
from proofdesk.errors import NotFound

telegram_app = typer.Typer(help="The Telegram bot of an organization.", no_args_is_help=True)
app.add_typer(telegram_app, name="telegram")


def _admin(session: object, organization: str, by: str) -> str:
    from proofdesk.domain.roles import Role
    from proofdesk.store.models import User

    admin = session.scalars(  # type: ignore[attr-defined]
        select(User).where(User.organization_id == organization, User.email == by.lower())
    ).first()
    if admin is None or admin.role != Role.ADMIN.value:
        raise NotFound(f"no admin {by!r}", code="no_such_admin")
    return str(admin.id)


@telegram_app.command("add-bot")
@handles_errors
def add_bot(
    by: Annotated[str, typer.Option(help="E-mail of the admin making the change.")],
    org: Annotated[str, typer.Option(help="Organization slug.")] = "demo",
    mode: Annotated[str, typer.Option(help="polling (development) or webhook.")] = "polling",
) -> None:
    """Add the organization's bot. The token (from @BotFather) is prompted, or read from stdin
    when not on a terminal; it is checked with getMe and stored wrapped under the data key."""
    from proofdesk.access import Actor
    from proofdesk.actions.telegram_bots import check_token, do_add_bot
    from proofdesk.app.services import open_database
    from proofdesk.domain.roles import Role
    from proofdesk.ledger.keys import Keyring
    from proofdesk.telegram.client import BotClient

    token = (
        typer.prompt("Bot token", hide_input=True)
        if sys.stdin.isatty()
        else sys.stdin.readline().strip()
    )
    check_token(token)
    conf = settings()
    me = BotClient(token, conf.telegram_api_url).get_me()
    db = open_database(conf)
    keyring = db.keyring or Keyring.from_file(conf.effective_data_key_file)
    with db.writer() as session:
        organization = org_id(session, org)
        actor = Actor(_admin(session, organization, by), organization, Role.ADMIN)
        row = do_add_bot(
            session,
            actor,
            keyring,
            token=token,
            telegram_id=me.id,
            username=me.username,
            mode=mode,
        )
        out.print(f"bot @{row.username} ({row.id}), {row.mode}", highlight=False)


@telegram_app.command("set-webhook")
@handles_errors
def set_webhook(
    base_url: Annotated[str, typer.Argument(help="Our public HTTPS origin, https://desk.example")],
    by: Annotated[str, typer.Option(help="E-mail of the admin making the change.")],
    org: Annotated[str, typer.Option(help="Organization slug.")] = "demo",
) -> None:
    """Register our webhook (with its secret token) and switch the bot to webhook mode."""
    from proofdesk.access import Actor
    from proofdesk.actions.telegram_bots import bot_of, bot_token, do_set_mode, webhook_secret
    from proofdesk.app.services import open_database
    from proofdesk.domain.roles import Role
    from proofdesk.ledger.keys import Keyring
    from proofdesk.telegram.client import BotClient

    conf = settings()
    db = open_database(conf)
    keyring = db.keyring or Keyring.from_file(conf.effective_data_key_file)
    with db.reader() as session:
        organization = org_id(session, org)
        admin = _admin(session, organization, by)
        bot = bot_of(session, organization)
        if bot is None:
            raise NotFound(f"{org!r} has no bot", code="no_such_bot")
        bot_id, token, secret = bot.id, bot_token(keyring, bot), webhook_secret(keyring, bot)
    url = f"{base_url.rstrip('/')}/api/v1/telegram/{bot_id}/webhook"
    BotClient(token, conf.telegram_api_url).set_webhook(url, secret)
    with db.writer() as session:
        do_set_mode(session, Actor(admin, organization, Role.ADMIN), bot_id, "webhook")
    out.print(f"webhook {url}", highlight=False)


@telegram_app.command("list")
@handles_errors
def list_bots(org: Annotated[str, typer.Option(help="Organization slug.")] = "demo") -> None:
    """The organization's bot and where polling got to (never its token)."""
    from proofdesk.app.services import open_database
    from proofdesk.store.models import TelegramBot

    db = open_database(settings())
    table = Table("bot", "id", "mode", "offset", "polled", "last error")
    with db.reader() as session:
        for row in session.scalars(
            select(TelegramBot).where(TelegramBot.organization_id == org_id(session, org))
        ):
            polled = row.polled_at.isoformat(timespec="seconds") if row.polled_at else ""
            table.add_row(
                f"@{row.username}",
                row.id,
                row.mode,
                str(row.update_offset),
                polled,
                row.last_error or "",
            )
    out.print(table)
