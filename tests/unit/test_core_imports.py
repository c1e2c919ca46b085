"""The storage and ledger layers import what they need at the top of the module.

A function-level import that dodges a cycle hides the cycle; in these layers nothing is slow
enough to import late, so every import here must be at module level, and the event writer and
the ledger must not lean on each other both ways.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "proofdesk"
LAYERS = ("store", "ledger", "verify")


def _late_imports(path: Path) -> list[str]:
    late = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith(
                    "proofdesk"
                ):
                    late.append(f"{path.relative_to(SRC)}:{inner.lineno} {inner.module}")
    return late


@pytest.mark.parametrize("layer", LAYERS)
def test_no_function_level_imports_in_the_core_layers(layer: str) -> None:
    paths = [p for p in (SRC / layer).rglob("*.py") if "migrations" not in p.parts]
    assert [line for p in paths for line in _late_imports(p)] == []


def _imports(path: Path) -> set[str]:
    return {
        node.module or ""
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom)
    }


def test_the_ledger_does_not_import_the_event_writer() -> None:
    for path in (SRC / "ledger").rglob("*.py"):
        assert "proofdesk.store.events" not in _imports(path), path
    assert not {m for m in _imports(SRC / "store" / "rows.py") if m.startswith("proofdesk.ledger")}


def test_every_table_is_named_by_store_models() -> None:
    import importlib
    import pkgutil

    from proofdesk.store import models

    for info in pkgutil.iter_modules(models.__path__):
        module = importlib.import_module(f"{models.__name__}.{info.name}")
        for name, value in vars(module).items():
            defined_here = getattr(value, "__module__", None) == module.__name__
            if defined_here and isinstance(value, type) and issubclass(value, models.Base):
                assert getattr(models, name) is value
                assert name in models.__all__
