"""The committed ABI and bytecode are exactly what the Vyper sources compile to."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from proofdesk.chain import contracts


@pytest.mark.parametrize("name", contracts.NAMES)
def test_artifact_is_what_the_source_compiles_to(name: str) -> None:
    stored = json.loads(
        resources.files("proofdesk.chain").joinpath("artifacts", f"{name}.json").read_text()
    )
    fresh = contracts.compile_source(name)
    assert stored == fresh, f"artifacts/{name}.json is stale: run `make contracts`"
    assert (
        contracts.render(fresh)
        == resources.files("proofdesk.chain").joinpath("artifacts", f"{name}.json").read_text()
    )


@pytest.mark.parametrize("name", contracts.NAMES)
def test_every_external_function_and_event_has_natspec(name: str) -> None:
    source = (contracts.SOURCE_DIR / f"{name}.vy").read_text()
    assert source.startswith("# pragma version ~=0.4.3\n")
    assert "@title" in source and "@notice" in source
    # Each external function's body opens with a docstring carrying @notice.
    functions = list(re.finditer(r"@external\ndef (\w+)\([^)]*\)[^:]*:\n(\s+)(.*)\n", source))
    assert len(functions) >= 3
    for match in functions:
        function, _, first = match.groups()
        assert first.strip() == '"""', f"{name}.{function} has no NatSpec docstring"
        body = source[match.end() : match.end() + 400]
        assert "@notice" in body, f"{name}.{function} has no @notice"
