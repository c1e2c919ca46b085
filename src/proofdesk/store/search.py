"""The ticket search index: ``search_terms`` rows written with the projections, and the
match expression that finds them on each database.

``search_terms`` is a projection like ``messages``: :func:`index_header` and
:func:`index_message` are called by ``store.events.project`` in the transaction that writes
the event, and ``rebuild_projections`` drops and recomputes it. SQLite's FTS5 table
``search_fts`` is an external-content index of it kept by triggers (migration 0028), so it
changes in the same transaction too; PostgreSQL indexes the same tokens with a GIN index over
``array_to_tsvector(string_to_array(terms, ' '))`` — tokens taken literally, no parser, so
both databases find the same tickets.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    delete,
    exists,
    intersect,
    literal,
    select,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.sqltypes import NullType

from proofdesk.domain.search import Term, fts5_query, index_terms, tsquery
from proofdesk.domain.tickets import ERASED_TEXT, TicketState, Visibility
from proofdesk.store.models import SearchTerm, Ticket

#: The ticket fields a header row indexes.
HEADER_FIELDS = ("subject", "order_id", "wallet_address", "tx_hash")


def index_header(session: Session, old: TicketState | None, new: TicketState) -> None:
    """(Re)write the ticket's header row when one of :data:`HEADER_FIELDS` changed."""
    if old is not None and all(getattr(old, f) == getattr(new, f) for f in HEADER_FIELDS):
        return
    if old is not None:
        session.execute(
            delete(SearchTerm).where(
                SearchTerm.ticket_id == new.id, SearchTerm.message_id.is_(None)
            )
        )
    session.add(
        SearchTerm(
            organization_id=new.organization_id,
            ticket_id=new.id,
            message_id=None,
            visibility=Visibility.PUBLIC.value,
            terms=index_terms(*(getattr(new, f) for f in HEADER_FIELDS)),
        )
    )


def index_message(
    session: Session, state: TicketState, message_id: str, visibility: str, body: str
) -> None:
    session.add(
        SearchTerm(
            organization_id=state.organization_id,
            ticket_id=state.id,
            message_id=message_id,
            visibility=visibility,
            terms=index_terms(body),
        )
    )


def forget_messages(session: Session, ticket_ids: list[str]) -> None:
    """These tickets' messages were erased: index them as the rebuild will, as erased text."""
    session.execute(
        update(SearchTerm)
        .where(SearchTerm.ticket_id.in_(ticket_ids), SearchTerm.message_id.is_not(None))
        .values(terms=index_terms(ERASED_TEXT))
    )


#: How many of an organization's newest index rows holding a term a staff search looks at: a
#: word in a quarter of 100,000 tickets would otherwise be 25,000 look-ups for a page of 20.
NEWEST_ROWS = 1000
_TSVECTOR = "array_to_tsvector(string_to_array({terms}, ' '))"


class TermHere(FunctionElement[Any]):
    """True for the ``search_terms`` row (of the outer query) that holds ``term``: its tokens
    searched as text on SQLite, ``@@`` on PostgreSQL. For a few rows (a customer's tickets);
    :class:`NewestRows` reads the index for many."""

    # No boolean type: SQLite would be sent ``… = 1``, which hides the look-up from its planner.
    type = NullType()
    inherit_cache = True
    name = "term_here"

    def __init__(self, term: Term) -> None:
        super().__init__(
            SearchTerm.__table__.c.id,
            SearchTerm.__table__.c.terms,
            literal(fts5_query(term)),
            literal(tsquery(term)),
            literal(f" {term.text}" if term.prefix else f" {term.text} "),
        )


@compiles(TermHere, "sqlite")
def _here_sqlite(element: TermHere, compiler: SQLCompiler, **kw: Any) -> str:
    # The row's own tokens read as text (space-separated, see ``domain.search``): for a
    # customer's hundred rows, cheaper than as many FTS5 queries.
    _, terms, _, _, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"instr(' ' || {terms} || ' ', {needle}) > 0"


@compiles(TermHere, "postgresql")
def _here_postgresql(element: TermHere, compiler: SQLCompiler, **kw: Any) -> str:
    _, terms, _, query, _ = (compiler.process(c, **kw) for c in element.clauses)
    return f"{_TSVECTOR.format(terms=terms)} @@ CAST({query} AS tsquery)"


class NewestRows(FunctionElement[Any]):
    """True for the ``search_terms`` rows among the organization's :data:`NEWEST_ROWS` newest
    that hold ``term``: read from the index newest first, so that a common word stops early."""

    type = NullType()
    inherit_cache = True
    name = "newest_rows"

    def __init__(self, organization_id: str, term: Term) -> None:
        super().__init__(
            SearchTerm.__table__.c.id,
            literal(organization_id),
            literal(fts5_query(term)),
            literal(tsquery(term)),
            literal(NEWEST_ROWS),
        )


@compiles(NewestRows, "sqlite")
def _newest_sqlite(element: NewestRows, compiler: SQLCompiler, **kw: Any) -> str:
    row, org, fts, _, cap = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"{row} IN (SELECT found.id FROM search_fts JOIN search_terms AS found "  # noqa: S608
        f"ON found.id = search_fts.rowid WHERE search_fts MATCH {fts} "
        f"AND found.organization_id = {org} ORDER BY search_fts.rowid DESC LIMIT {cap})"
    )


@compiles(NewestRows, "postgresql")
def _newest_postgresql(element: NewestRows, compiler: SQLCompiler, **kw: Any) -> str:
    row, org, _, query, cap = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"{row} IN (SELECT found.id FROM search_terms AS found "  # noqa: S608
        f"WHERE found.organization_id = {org} AND "
        f"{_TSVECTOR.format(terms='found.terms')} @@ CAST({query} AS tsquery) "
        f"ORDER BY found.id DESC LIMIT {cap})"
    )


def matching_tickets(organization_id: str, terms: list[Term]) -> Select[Any]:
    """The ids of the organization's tickets holding every term somewhere (in any part, any
    visibility: for staff), as one set: the intersection of one index look-up per term, each
    among the organization's :data:`NEWEST_ROWS` newest rows holding it."""
    per_term = [
        select(SearchTerm.ticket_id).where(NewestRows(organization_id, term)) for term in terms
    ]
    if len(per_term) == 1:
        return per_term[0]
    # Wrapped, so that the set may be one member of a UNION on SQLite too.
    both = intersect(*per_term).subquery()
    return select(both.c.ticket_id)


def holds_publicly(term: Term) -> ColumnElement[bool]:
    """The ticket (of the outer query) has a public part holding ``term``: for a customer's
    few tickets, checked ticket by ticket."""
    return exists().where(
        SearchTerm.ticket_id == Ticket.id,
        SearchTerm.visibility == Visibility.PUBLIC.value,
        TermHere(term),
    )
