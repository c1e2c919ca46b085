"""The layout of the tests themselves: a test file imports helpers from ``tests/support``, never
another test file, and ``bench/`` stands alone (what it shares with the tests is in ``src``)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.support.paths import ROOT, TESTS


def imported_modules(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_the_benchmarks_import_nothing_from_the_tests() -> None:
    scripts = sorted((ROOT / "bench").glob("*.py"))
    assert scripts
    found = {
        f"{path.name}: {module}"
        for path in scripts
        for module in imported_modules(path)
        if module == "tests" or module.startswith("tests.")
    }
    assert found == set()


def test_no_test_file_imports_another() -> None:
    files = sorted(TESTS.rglob("*.py"))
    assert len(files) > 40
    found = {
        f"{path.relative_to(TESTS)}: {module}"
        for path in files
        for module in imported_modules(path)
        if module.startswith("tests.") and module.rsplit(".", 1)[-1].startswith("test_")
    }
    assert found == set()
