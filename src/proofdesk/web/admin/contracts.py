"""The service contract pages of the admin: the editor, its checks, the dry run on a past
ticket, publishing and activating a version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from proofdesk import jsonlimits
from proofdesk.access import access_contract, access_ticket_by_reference
from proofdesk.actions import contracts as contract_actions
from proofdesk.app.services import services_of
from proofdesk.errors import Error, InvalidInput
from proofdesk.rules.document import Contract, parse
from proofdesk.store.models import (
    ServiceContract,
)
from proofdesk.web.admin.overview import admin, attempt
from proofdesk.web.pages import (
    Visitor,
    WebRoute,
    error_text,
    locale_of,
    posted_by,
    reading,
    render,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)


#: What a new contract starts from: a complete small document to edit.
STARTER = """apiVersion: proofdesk/v1
kind: ServiceContract
metadata:
  name: my-refunds
  version: 1
  title:
    en: Refunds of failed orders
    zh-CN: 失败订单退款
spec:
  appliesTo: [refund_request]
  facts:
    order.status: string
    claim.reason: string
  rules:
    - id: failed
      when: order.status == "failed"
      decision: valid
      reason:
        en: The order failed.
        zh-CN: 订单失败。
  otherwise:
    decision: needs_human
    reason:
      en: A person decides.
      zh-CN: 由人工决定。
"""


def _editor(
    request: Request,
    visitor: Visitor,
    source: str,
    *,
    status: int = 200,
    error: Error | None = None,
    checked: Contract | None = None,
    run: contract_actions.DryRun | None = None,
    ticket: str = "",
    facts: str = "{}",
    published: ServiceContract | None = None,
) -> Response:
    line = error.details.get("line") if error is not None else None
    return render(
        request,
        visitor,
        "admin_contract.html",
        status=status,
        source=source,
        error=None if error is None else error_text(error, locale_of(request, visitor)),
        error_line=line,
        checked=checked,
        run=run,
        ticket=ticket,
        facts=facts,
        published=published,
    )


@router.get("/admin/contracts/new")
def new_contract(request: Request) -> Response:
    return _editor(request, admin(request), STARTER)


@router.get("/admin/contracts/{contract_hash}")
def contract_page(request: Request, contract_hash: str) -> Response:
    """A published version: its source in the editor (edit it into a new version), whether it
    is active, and the button that activates it."""
    visitor = admin(request)
    with reading(request) as session:
        row = access_contract(session, visitor.actor.organization_id, contract_hash)
        session.expunge(row)
    return _editor(request, visitor, row.source, checked=contract_actions.load(row), published=row)


@router.post("/admin/contracts/check")
def check_contract(
    request: Request,
    visitor: Annotated[Visitor, posted_by(admin)],
    source: Annotated[str, Form()] = "",
    ticket: Annotated[str, Form()] = "",
    facts: Annotated[str, Form()] = "{}",
) -> Response:
    """Validate only: the schema, the expressions, the facts and templates it names."""
    return _in_editor(
        request,
        visitor,
        (source, ticket, facts),
        lambda: _editor(
            request, visitor, source, checked=parse(source), ticket=ticket, facts=facts
        ),
    )


@router.post("/admin/contracts/lint")
def lint_contract(
    request: Request,
    visitor: Annotated[Visitor, posted_by(admin)],
    source: Annotated[str, Form()] = "",
) -> Response:
    """The checker's findings on a draft, for the editor to show on their lines:
    ``{"errors": [{"line", "field", "message"}]}`` (empty when the draft would publish). The
    same checks as "Check"; nothing is stored."""
    try:
        parse(source)
    except Error as exc:
        line = exc.details.get("line")
        message = error_text(exc, locale_of(request, visitor))
        field = exc.details.get("field", "")
        return JSONResponse(
            {
                "errors": [
                    {
                        "line": line if isinstance(line, int) else None,
                        "field": field,
                        "message": message,
                    }
                ]
            }
        )
    return JSONResponse({"errors": []})


def _in_editor(
    request: Request,
    visitor: Visitor,
    typed: tuple[str, str, str],
    work: Callable[[], Response],
) -> Response:
    """``work()``, or the editor again with what was typed (source, ticket, facts) and the
    error — nothing changed."""
    source, ticket, facts = typed
    try:
        return work()
    except Error as exc:  # a ticket not found too: the source typed is kept
        return _editor(
            request, visitor, source, status=exc.http_status, error=exc, ticket=ticket, facts=facts
        )


@router.post("/admin/contracts/dry-run")
def dry_run_contract(
    request: Request,
    visitor: Annotated[Visitor, posted_by(admin)],
    source: Annotated[str, Form()] = "",
    ticket: Annotated[str, Form()] = "",
    facts: Annotated[str, Form()] = "{}",
) -> Response:
    """Decide a past ticket by the source as it stands (``actions.contracts.dry_run``): the
    outcome, the rule, the trace and every fact with its source. Nothing is logged."""
    services = services_of(request)

    def run() -> Response:
        try:
            supplied = jsonlimits.loads(facts or "{}", what="facts")
        except InvalidInput:
            raise InvalidInput("the claim facts are a JSON object", field="facts") from None
        if not isinstance(supplied, dict):
            raise InvalidInput("the claim facts are a JSON object", field="facts")
        with services.db.reader() as session:
            found = access_ticket_by_reference(session, visitor.actor, ticket)
            done = contract_actions.dry_run(
                session,
                visitor.actor,
                source,
                found,
                supplied,
                chain=services.chain_or_none(),
                settings=services.settings,
            )
        return _editor(
            request, visitor, source, checked=done.contract, run=done, ticket=ticket, facts=facts
        )

    return _in_editor(request, visitor, (source, ticket, facts), run)


@router.post("/admin/contracts/publish")
def publish_contract(
    request: Request,
    visitor: Annotated[Visitor, posted_by(admin)],
    source: Annotated[str, Form()] = "",
    ticket: Annotated[str, Form()] = "",
    facts: Annotated[str, Form()] = "{}",
) -> Response:
    """Publish (not activate): the version becomes public, citable by its hash."""

    def publish() -> Response:
        with services_of(request).db.writer() as session:
            row, _ = contract_actions.do_publish(session, visitor.actor, source)
            return RedirectResponse(f"/admin/contracts/{row.contract_hash}", 303)

    return _in_editor(request, visitor, (source, ticket, facts), publish)


@router.post("/admin/contracts/{contract_hash}/activate")
def activate_contract(
    request: Request, contract_hash: str, visitor: Annotated[Visitor, posted_by(admin)]
) -> Response:
    return attempt(
        request,
        visitor,
        lambda session: contract_actions.do_activate(session, visitor.actor, contract_hash),
        lambda _: RedirectResponse(f"/admin/contracts/{contract_hash}", 303),
    )
