"""Every integer a client can put in a path or a query is bounded in the OpenAPI description, so
that FastAPI refuses what a 64-bit column cannot hold (422) before a database sees it — the
class of the ``?before=9223372036854775808`` 500s."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from proofdesk.api.params import MAX_INT64
from tests.support.tenants import Tenant

API = "/api/v1"


def integer_parameters(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    spec = client.get(f"{API}/openapi.json").json()
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                options = schema.get("anyOf", [schema])
                for option in options:
                    if option.get("type") == "integer":
                        found.append((f"{method.upper()} {path}", parameter["name"], option))
    return found


def test_every_integer_parameter_has_both_bounds(client: TestClient) -> None:
    unbounded = [
        f"{op} {name}"
        for op, name, schema in integer_parameters(client)
        if "minimum" not in schema
        or "maximum" not in schema
        or schema["maximum"] > MAX_INT64
        or schema["minimum"] < -MAX_INT64
    ]
    assert integer_parameters(client)  # the walk finds them
    assert unbounded == []


@pytest.mark.parametrize(
    "path",
    [
        "/log/checkpoints/9223372036854775808",
        "/log/anchors?before=9223372036854775808",
        "/log/proof/inclusion?index=0&size=9223372036854775808",
        "/log/checkpoints/-1",
    ],
)
def test_integers_beyond_64_bits_are_422_not_500(client: TestClient, path: str) -> None:
    answer = client.get(API + path)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        ("from=2026-01-01T00:00:00", True),  # no zone: which instant is it?
        ("from=2026-12-01T00:00:00Z&to=2026-01-01T00:00:00Z", True),  # ends before it starts
        # The edges of what a date can be: answered or refused, never an overflow.
        ("from=0001-01-01T00:00:00-23:59", None),
        ("to=9999-12-31T23:59:59%2B23:59", None),
    ],
)
@pytest.mark.parametrize("path", ["/analytics/helpdesk", "/analytics/assistant"])
def test_dates_are_refused_without_a_zone_and_never_overflow(
    client: TestClient, tenant: Tenant, path: str, query: str, refused: bool | None
) -> None:
    answer = client.get(f"{API}{path}?{query}", headers=tenant.admin.headers)
    assert answer.status_code < 500, answer.text
    if refused is not None:
        assert (400 <= answer.status_code < 500) is refused, answer.text
