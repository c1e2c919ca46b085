"""What every command module of the CLI shares: the Typer app, the consoles, and the one place
where an :class:`Error` becomes a message on stderr and exit code 2."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from proofdesk.errors import Error, NotFound
from proofdesk.settings import Settings, load_settings

app = typer.Typer(
    help="ProofDesk: verifiable customer service for Web3 platforms.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> typer.Exit:
    # The message is text, not markup: "[unknown_worker]" must print as it is.
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code=2)


def handles_errors(func: F) -> F:
    """Turn every :class:`Error` (and an unreachable database) into a message and exit 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Error as exc:
            raise fail(f"{exc.message} [{exc.code}]") from None
        except OperationalError as exc:
            raise fail(f"database unavailable: {exc.orig}") from None

    return wrapper  # type: ignore[return-value]


def settings() -> Settings:
    return load_settings()


def org_id(session: Any, slug: str) -> str:
    from proofdesk.store.models import Organization  # the models are slow to import

    org = session.scalars(select(Organization).where(Organization.slug == slug)).first()
    if org is None:
        raise NotFound(f"no organization {slug!r}")
    return str(org.id)
