"""Unknown addresses under the pages' own prefixes answer the error page in the reader's
language (404), not the API's JSON. Registered after every other page, so only what no page
matched arrives here; ``/api/…`` keeps its JSON errors."""

from __future__ import annotations

from fastapi import APIRouter

from proofdesk.errors import NotFound
from proofdesk.web.pages import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)

#: The prefixes the pages own (the console, administration, the portal, the community).
PREFIXES = ("/agent", "/admin", "/requests", "/community")


def _missing() -> None:
    raise NotFound("no such page")


for _prefix in PREFIXES:
    router.add_api_route(f"{_prefix}/{{rest:path}}", _missing, methods=["GET", "HEAD"])
