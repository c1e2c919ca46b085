"""The layout as a rule: adapters change nothing themselves (every write is a ``do_*`` in
``actions/``), and they never import each other, nor does the core import them."""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "proofdesk"
ADAPTERS = ("api", "web", "cli", "channels")

#: Writes an adapter may make itself, each for a reason stated here. Keep it tiny.
ALLOWED = {
    # The API's own replay record of a create's response (``Idempotency-Key``), stored in the
    # create's transaction: a detail of the HTTP protocol, not the help desk's state.
    ("api/idempotency.py", "session.add"),
}

SESSION_WRITES = {"add", "add_all", "delete", "merge"}
STATEMENTS = {"insert", "update", "delete"}
#: Calls that hand back ORM rows, whose attributes an adapter must not set.
LOADERS = {"get", "scalar", "scalars", "first", "one", "one_or_none", "execute"}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return _name(node.func)
    return ""


def _loads_rows(value: ast.expr) -> bool:
    """A call such as ``session.get(...)``, ``session.scalars(...).first()`` or
    ``access_ticket(...)``."""
    if not isinstance(value, ast.Call):
        return False
    called = _name(value.func)
    last = called.rsplit(".", 1)[-1]
    return last.startswith("access_") or ("." in called and last in LOADERS)


def writes(source: str) -> Iterator[tuple[int, str]]:
    """(line, what) for every write the rule forbids in ``source``."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "sqlalchemy":
            for alias in node.names:
                if alias.name in STATEMENTS:
                    yield node.lineno, f"sqlalchemy.{alias.name}"
        if isinstance(node, ast.Call):
            called = _name(node.func)
            parts = called.split(".")
            if len(parts) >= 2 and parts[-1] in SESSION_WRITES and "session" in parts[-2]:
                yield node.lineno, f"session.{parts[-1]}"
            if parts[-1] in {"EventAppender", "setattr"}:
                yield node.lineno, parts[-1]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _row_assignments(node)


def _row_assignments(scope: ast.AST) -> Iterator[tuple[int, str]]:
    rows: set[str] = set()
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if _loads_rows(node.value):
                rows.update(t.id for t in targets if isinstance(t, ast.Name))
    for node in ast.walk(scope):
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AugAssign | ast.AnnAssign)
            else []
        )
        for target in targets:
            owner = target.value if isinstance(target, ast.Attribute) else None
            if isinstance(owner, ast.Name) and owner.id in rows:
                yield node.lineno, f"{owner.id}.{target.attr} ="


def adapter_modules() -> Iterator[Path]:
    for adapter in ADAPTERS:
        yield from sorted((PACKAGE / adapter).rglob("*.py"))


def test_adapters_change_nothing_themselves() -> None:
    found = []
    for path in adapter_modules():
        where = path.relative_to(PACKAGE).as_posix()
        for line, what in writes(path.read_text(encoding="utf-8")):
            if (where, what) not in ALLOWED:
                found.append(f"{where}:{line}: {what} (make it a do_* in actions/)")
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "def f(session):\n    session.add(row)\n",
        "def f(db):\n    with db.writer() as session:\n        session.delete(row)\n",
        "from sqlalchemy import update\n",
        "def f(session, actor):\n    org = session.get(Organization, 1)\n    org.name = 'x'\n",
        "def f(session, actor):\n    t = access_ticket(session, actor, '1')\n    t.status = 's'\n",
        "def f(session):\n    EventAppender(session).append(event)\n",
        "def f(row):\n    setattr(row, 'name', 'x')\n",
    ],
)
def test_the_write_rule_sees_each_kind_of_write(source: str) -> None:
    assert list(writes(source)) != []


def test_the_write_rule_leaves_reads_and_actions_alone() -> None:
    source = (
        "from sqlalchemy import select\n"
        "def f(session, actor):\n"
        "    ticket = access_ticket(session, actor, '1')\n"
        "    form.name = ticket.subject\n"
        "    do_change_status(session, actor, ticket, 'open')\n"
        "    return session.scalars(select(Ticket)).all()\n"
    )
    assert list(writes(source)) == []


def test_adapters_and_core_import_along_the_layers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The import-linter contracts in ``pyproject.toml`` (also run by ``make lint``)."""
    monkeypatch.chdir(ROOT)
    assert os.path.exists("pyproject.toml")
    assert lint_imports(no_cache=True, no_logo=True) == 0
