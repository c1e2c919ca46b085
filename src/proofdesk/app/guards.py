"""Checks every request of the app passes, whichever adapter serves it."""

from __future__ import annotations

from starlette.requests import Request

from proofdesk.errors import InvalidInput


async def reject_nul_characters(request: Request) -> None:
    """PostgreSQL text cannot hold U+0000 (SQLite can): refuse it in the path and the query
    string of every request, as bad input, instead of failing in the database. Request bodies
    are checked by ``actions.inputs.StrictInput``."""
    if "\x00" in request.scope["path"]:
        raise InvalidInput("the path must not contain NUL characters", field="path")
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise InvalidInput("query parameters must not contain NUL characters", field=name)
