"""Every public function in ``actions/`` that writes a row, or an event, is a ``do_*``.

A reader looking for what changes state searches for ``do_``; a writer under another name is
one that a route could call believing it only reads.
"""

from __future__ import annotations

import ast
from pathlib import Path

ACTIONS = Path(__file__).resolve().parents[2] / "src" / "proofdesk" / "actions"
WRITES = {"add", "add_all", "delete", "merge"}
STATEMENTS = {"insert", "update", "delete"}


def _writes(node: ast.AST) -> bool:
    for inner in ast.walk(node):
        if not isinstance(inner, ast.Call):
            continue
        func = inner.func
        if isinstance(func, ast.Name) and func.id == "EventAppender":
            return True
        if (
            isinstance(func, ast.Attribute)
            and func.attr in WRITES
            and isinstance(func.value, ast.Name)
            and func.value.id == "session"
        ):
            return True
        if isinstance(func, ast.Name) and func.id in STATEMENTS:
            return True
    return False


def _public_writers(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [
        f"{path.name}:{node.lineno} {node.name}"
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and not node.name.startswith(("do_", "_"))
        and _writes(node)
    ]


def test_every_public_writer_in_actions_is_a_do_function() -> None:
    found = [w for path in sorted(ACTIONS.glob("*.py")) for w in _public_writers(path)]
    assert found == []


def test_the_check_finds_a_writer_under_another_name(tmp_path: Path) -> None:
    module = tmp_path / "sample.py"
    module.write_text(
        "def save(session, row):\n    session.add(row)\n\n"
        "def do_save(session, row):\n    session.add(row)\n\n"
        "def read(session, key):\n    return session.get(object, key)\n"
    )
    assert _public_writers(module) == ["sample.py:1 save"]
