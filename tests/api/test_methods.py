"""A method a path does not answer gets 405 with an ``Allow`` naming every method the path does
answer (RFC 9110 §15.5.6), whichever route FastAPI made for each; and a download is described
in the type it is served in."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

API = "/api/v1"


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/tickets", {"GET", "POST"}),
        ("/auth/tokens", {"GET", "POST"}),
        ("/tickets/00000000-0000-4000-8000-000000000000", {"GET", "PATCH"}),
        ("/health", {"GET"}),
    ],
)
def test_allow_names_every_method_of_the_path(
    client: TestClient, path: str, methods: set[str]
) -> None:
    answer = client.options(API + path)
    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "method_not_allowed"
    assert set(answer.headers["allow"].split(", ")) == methods


def test_attachments_are_described_in_the_type_they_are_served_in(client: TestClient) -> None:
    spec = client.get(f"{API}/openapi.json").json()
    download = spec["paths"][f"{API}/attachments/{{attachment_id}}"]["get"]["responses"]
    assert set(download["200"]["content"]) == {"*/*"}
    assert set(download["404"]["content"]) == {"application/json"}
