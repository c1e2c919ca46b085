"""Deeply nested JSON is refused before parsing, and no import leaves the recursion limit raised.

Regression for the hardening issue's first finding: 70,000 nested ``[`` posted to the log-in
route, unauthenticated, killed the server with SIGSEGV in CPython's C JSON parser.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from proofdesk.errors import InvalidInput
from proofdesk.jsonlimits import MAX_DEPTH, DepthScanner, JsonTooDeep, check_depth, loads
from tests.support.server import Deployment, proofdesk, start

DEEP = 70_000


def depth_of(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


# Strings full of what a naive scanner would count: brackets, quotes, backslashes.
tricky = st.text(alphabet='[]{}"\\ab中', max_size=8)
documents = st.recursive(
    st.none() | st.integers() | tricky,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky, inner, max_size=3),
    max_leaves=30,
)


@given(documents, st.lists(st.integers(min_value=1, max_value=7), max_size=20), st.booleans())
def test_scanner_measures_the_depth_whatever_the_chunks(
    doc: Any, cuts: list[int], ascii_only: bool
) -> None:
    text = json.dumps(doc, ensure_ascii=ascii_only).encode()
    deepest = depth_of(doc)
    scanner = DepthScanner(max_depth=deepest)
    pos = 0
    for cut in cuts:  # the body arrives in pieces that split escapes and characters
        scanner.feed(text[pos : pos + cut])
        pos += cut
    scanner.feed(text[pos:])
    assert scanner.depth == 0
    if deepest:
        with pytest.raises(JsonTooDeep):
            check_depth(text, max_depth=deepest - 1)


def test_loads_refuses_deep_and_malformed_documents_with_our_error() -> None:
    assert depth_of(loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)) == MAX_DEPTH
    with pytest.raises(JsonTooDeep):
        loads("[" * DEEP)
    with pytest.raises(InvalidInput) as caught:
        loads('{"a": ', what="receipt")
    assert caught.value.details == {"field": "receipt"}


def test_no_import_leaves_the_recursion_limit_raised() -> None:
    """Imports every module of the package in a fresh interpreter (the embedded chain and the
    app included) and checks the limit is the interpreter's own."""
    script = """
import pkgutil, sys, importlib
before = sys.getrecursionlimit()
import proofdesk
for found in pkgutil.walk_packages(proofdesk.__path__, "proofdesk."):
    # asgi builds an app from the environment; __main__ runs the CLI
    if ".migrations." not in found.name and not found.name.endswith(("__main__", ".asgi", ".asgi_no_workers")):
        importlib.import_module(found.name)
print(before, sys.getrecursionlimit())
"""
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    before, after = done.stdout.split()
    assert after == before, done.stdout


@pytest.mark.server
def test_deep_bodies_get_a_422_and_the_server_lives(tmp_path: Any) -> None:
    where = Deployment(tmp_path, f"sqlite:///{tmp_path / 'proofdesk.db'}")
    proofdesk(where, "migrate")
    process, url = start(where)
    try:
        for path, body in [
            ("/api/v1/auth/login", b"[" * DEEP),
            ("/api/v1/macros", b'{"a":' * 50_000),
            ("/api/v1/tickets", b"[" * (MAX_DEPTH + 1)),
        ]:
            answer = httpx2.post(
                url + path, content=body, headers={"content-type": "application/json"}, timeout=10
            )
            assert answer.status_code == 422, (path, answer.text)
            assert answer.json()["error"]["code"] == "json_too_deep"
        assert httpx2.get(url + "/api/v1/health", timeout=5).status_code == 200
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()
