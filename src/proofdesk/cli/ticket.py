"""``proofdesk ticket …``: list, show, reply to, note on and close tickets.

``list`` and ``show`` read this machine's database (an operator's view, internal notes
included) unless ``--url`` (or ``PROOFDESK_REMOTE_URL``) names a desk; ``reply``, ``status`` and
``close`` always go through a desk's REST API — this machine's own server by default — with an
API token (``cli/remote.py``), so that the desk's own rules apply: a token's scope, a
customer's seeing only their own requests, the state machine, the event in the log."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from proofdesk.cli.common import app, handles_errors, org_id, out, settings
from proofdesk.cli.remote import Remote, remote_for
from proofdesk.domain.tickets import Status
from proofdesk.errors import InvalidInput, NotFound

ticket_app = typer.Typer(
    help="Tickets on a desk, through its API: this machine's, or another with --url.",
    no_args_is_help=True,
)
app.add_typer(ticket_app, name="ticket")

Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="The desk (https://desk.example); default PROOFDESK_REMOTE_URL, else this one.",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the API's JSON.")]
TicketRef = Annotated[str, typer.Argument(help="The ticket: its number (42 or #42) or its id.")]


def _print_json(value: Any) -> None:
    out.print_json(json.dumps(value, ensure_ascii=False))


def resolve(remote: Remote, ref: str) -> dict[str, Any]:
    """The ticket a reference names: ``42``/``#42`` by number (the desk's search), else an id."""
    number = ref.removeprefix("#")
    if number.isdigit():
        page = remote.call("GET", "/tickets", params={"q": f"#{number}", "limit": 5})
        for item in page.get("items", []):
            if str(item.get("number")) == number:
                return dict(item)
        raise NotFound(f"no ticket #{number} that this token may see")
    return dict(remote.call("GET", f"/tickets/{ref}"))


def _remote_wanted(url: str | None) -> bool:
    return url is not None or settings().remote_url is not None


@ticket_app.command("list")
@handles_errors
def list_(
    url: Url = None,
    org: Annotated[
        str, typer.Option(help="On this machine's database: the organization's slug.")
    ] = "demo",
    status: Annotated[
        list[Status] | None, typer.Option(help="Only these statuses (repeat the option).")
    ] = None,
    q: Annotated[
        str | None, typer.Option(help="Through the API: the desk's search (words, #number, tx…).")
    ] = None,
    assignee: Annotated[
        str | None,
        typer.Option(help="Through the API: an agent's id, `me`, or `none` for unassigned."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 30,
    as_json: AsJson = False,
) -> None:
    """List tickets, newest change first: through a desk's API with --url (or
    PROOFDESK_REMOTE_URL), else from this machine's database."""
    statuses = [s.value for s in status or ()]
    if _remote_wanted(url):
        rows = _remote_list(url, statuses, q, assignee, limit)
    elif q is not None or assignee is not None:
        raise InvalidInput("--q and --assignee go through the API: give --url", code="needs_url")
    else:
        rows = _local_list(org, statuses, limit)
    if as_json:
        for row in rows:
            out.print_json(json.dumps(row, ensure_ascii=False))
        return
    table = Table("#", "status", "priority", "kind", "subject", "updated")
    for row in rows:
        table.add_row(
            str(row["number"]),
            row["status"],
            row["priority"],
            row["kind"],
            escape(row["subject"]),
            row["updated_at"][:19],
        )
    out.print(table)


def _remote_list(
    url: str | None, statuses: list[str], q: str | None, assignee: str | None, limit: int
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    params = {"status": statuses or None, "q": q, "assignee_id": assignee}
    with remote_for(settings(), url) as remote:
        cursor = None
        while len(rows) < limit:
            page = remote.call(
                "GET",
                "/tickets",
                params={**params, "limit": min(200, limit - len(rows)), "cursor": cursor},
            )
            rows += page.get("items", [])
            cursor = page.get("next_cursor")
            if not cursor:
                break
    return rows


def _local_list(org: str, statuses: list[str], limit: int) -> list[dict[str, Any]]:
    from proofdesk.app.services import open_database
    from proofdesk.store.models import Ticket

    db = open_database(settings())
    try:
        with db.reader() as session:
            query = select(Ticket).where(Ticket.organization_id == org_id(session, org))
            if statuses:
                query = query.where(Ticket.status.in_(statuses))
            found = session.scalars(query.order_by(Ticket.updated_at.desc()).limit(limit)).all()
            return [
                {
                    "id": r.id,
                    "number": r.number,
                    "status": r.status,
                    "priority": r.priority,
                    "kind": r.kind,
                    "subject": r.subject,
                    "updated_at": r.updated_at,
                }
                for r in found
            ]
    finally:
        db.dispose()


@ticket_app.command("show")
@handles_errors
def show(
    ref: TicketRef,
    url: Url = None,
    org: Annotated[
        str, typer.Option(help="On this machine's database: the organization's slug.")
    ] = "demo",
    as_json: AsJson = False,
) -> None:
    """A ticket and its conversation: through a desk's API with --url (internal notes for
    staff only, as the desk decides), else from this machine's database (all of it)."""
    if _remote_wanted(url):
        with remote_for(settings(), url) as remote:
            ticket = resolve(remote, ref)
            messages = remote.call("GET", f"/tickets/{ticket['id']}/messages")
    else:
        ticket, messages = _local_show(org, ref)
    if as_json:
        _print_json({"ticket": ticket, "messages": messages})
        return
    out.print(f"[bold]#{ticket['number']} {escape(ticket['subject'])}[/]", highlight=False)
    out.print(
        f"{ticket['kind']} · {ticket['status']} · {ticket['priority']} · tags: "
        f"{escape(', '.join(ticket['tags'])) or '-'}",
        highlight=False,
    )
    for label, name in (
        ("order", "order_id"),
        ("wallet", "wallet_address"),
        ("network", "network"),
        ("chain", "chain_id"),
        ("tx", "tx_hash"),
    ):
        if ticket.get(name) is not None:
            out.print(f"{label}: {escape(str(ticket[name]))}", highlight=False)
    for m in messages:
        style = "yellow" if m["visibility"] == "internal" else "cyan"
        out.print(
            f"[{style}]{m['created_at'][:19]} {m['author_role']} ({m['visibility']}) "
            f"{m.get('channel', '')}[/]",
            highlight=False,
        )
        out.print(escape(m["body"]), highlight=False, soft_wrap=True)


def _local_show(org: str, ref: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from proofdesk.app.services import open_database
    from proofdesk.store.models import Message, Ticket

    db = open_database(settings())
    try:
        with db.reader() as session:
            query = select(Ticket).where(Ticket.organization_id == org_id(session, org))
            number = ref.removeprefix("#")
            if number.isdecimal() and len(number) < 10:
                query = query.where(Ticket.number == int(number))
            else:
                query = query.where(Ticket.id == ref)
            row = session.scalars(query).first()
            if row is None:
                raise NotFound(f"no ticket {ref!r} in {org!r}")
            messages = session.scalars(
                select(Message).where(Message.ticket_id == row.id).order_by(Message.seq)
            ).all()
            ticket = {
                "id": row.id,
                "number": row.number,
                "subject": row.subject,
                "kind": row.kind,
                "status": row.status,
                "priority": row.priority,
                "tags": json.loads(row.tags),
                "order_id": row.order_id,
                "wallet_address": row.wallet_address,
                "network": row.network,
                "chain_id": row.chain_id,
                "tx_hash": row.tx_hash,
            }
            return ticket, [
                {
                    "seq": m.seq,
                    "author_role": m.author_role,
                    "visibility": m.visibility,
                    "body": m.body,
                    "created_at": m.created_at,
                    "channel": m.channel,
                }
                for m in messages
            ]
    finally:
        db.dispose()


def _text(value: str) -> str:
    text = sys.stdin.read() if value == "-" else value
    if not text.strip():
        raise InvalidInput("the message is empty", code="empty_message")
    return text


@ticket_app.command("reply")
@handles_errors
def reply(
    ref: TicketRef,
    text: Annotated[str, typer.Argument(help="The reply; - reads it from standard input.")],
    url: Url = None,
    internal: Annotated[bool, typer.Option(help="An internal note, not a reply.")] = False,
    status: Annotated[
        Status | None, typer.Option(help="Move the ticket in the same step (e.g. pending).")
    ] = None,
) -> None:
    """Reply to a ticket (or add an internal note)."""
    body: dict[str, Any] = {
        "body": _text(text),
        "visibility": "internal" if internal else "public",
    }
    if status is not None:
        body["status"] = status.value
    with remote_for(settings(), url) as remote:
        ticket = resolve(remote, ref)
        message = remote.call("POST", f"/tickets/{ticket['id']}/messages", body=body)
    kind = "note" if internal else "reply"
    out.print(f"{kind} added to #{ticket['number']} (event {message['seq']})", highlight=False)


@ticket_app.command("status")
@handles_errors
def status_(ref: TicketRef, to: Annotated[Status, typer.Argument()], url: Url = None) -> None:
    """Move a ticket to another status, as the desk's state machine allows."""
    with remote_for(settings(), url) as remote:
        ticket = resolve(remote, ref)
        done = remote.call("POST", f"/tickets/{ticket['id']}/status", body={"status": to.value})
    out.print(f"#{done['number']} is {done['status']}", highlight=False)


@ticket_app.command("close")
@handles_errors
def close(ref: TicketRef, url: Url = None) -> None:
    """Close a ticket: solve it first if it is still open (closed is final)."""
    with remote_for(settings(), url) as remote:
        ticket = resolve(remote, ref)
        path = f"/tickets/{ticket['id']}/status"
        if ticket["status"] not in (Status.SOLVED.value, Status.CLOSED.value):
            ticket = remote.call("POST", path, body={"status": Status.SOLVED.value})
        if ticket["status"] != Status.CLOSED.value:
            ticket = remote.call("POST", path, body={"status": Status.CLOSED.value})
    out.print(f"#{ticket['number']} is closed", highlight=False)
