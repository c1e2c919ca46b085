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


class TermMatches(FunctionElement[bool]):
    """True for the ``search_terms`` rows holding ``term``: FTS5 on SQLite, ``@@`` on
    PostgreSQL."""

    # No boolean type: SQLite would be sent ``… IN (…) = 1``, which hides the rowid look-up.
    type = NullType()
    inherit_cache = True
    name = "term_matches"

    def __init__(self, term: Term) -> None:
        super().__init__(
            SearchTerm.__table__.c.id,
            SearchTerm.__table__.c.terms,
            literal(fts5_query(term)),
            literal(tsquery(term)),
        )


@compiles(TermMatches, "sqlite")
def _sqlite(element: TermMatches, compiler: SQLCompiler, **kw: Any) -> str:
    row, _, fts, _ = list(element.clauses)
    # Compiled fragments only: the query text stays a bound parameter.
    return (
        f"{compiler.process(row, **kw)} IN (SELECT rowid FROM search_fts "  # noqa: S608
        f"WHERE search_fts MATCH {compiler.process(fts, **kw)})"
    )


@compiles(TermMatches, "postgresql")
def _postgresql(element: TermMatches, compiler: SQLCompiler, **kw: Any) -> str:
    _, terms, _, query = list(element.clauses)
    return (
        f"array_to_tsvector(string_to_array({compiler.process(terms, **kw)}, ' ')) "
        f"@@ CAST({compiler.process(query, **kw)} AS tsquery)"
    )


def matching_tickets(organization_id: str, terms: list[Term]) -> Select[tuple[str]]:
    """The ids of the organization's tickets holding every term somewhere (in any part, any
    visibility: for staff), as one set: the intersection of one index look-up per term."""
    per_term = [
        select(SearchTerm.ticket_id).where(
            SearchTerm.organization_id == organization_id, TermMatches(term)
        )
        for term in terms
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
        TermMatches(term),
    )
