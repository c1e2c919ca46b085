"""Service contract documents: YAML in, a checked :class:`Contract` out, or a precise error.

A document is checked in three passes, each error naming its line and field: YAML syntax; the
JSON Schema (``schema.json``, published in ``docs/contracts.md``); then every CEL expression —
it must compile, use only declared facts, and evaluate on sample values of the declared types
without a type error. CEL has no loops or recursion, so every condition terminates. Every declared fact must be one a
provider gives, with its type (``contracts.facts.CATALOG``), or a ``claim.*`` fact a person
supplies.

A contract is identified by the SHA-256 of its canonical form (RFC 8785 JSON of the parsed
document): formatting and comments do not change the id, any rule change does.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import cel
import jsonschema
import yaml

from proofdesk.canonical import canonical_json
from proofdesk.errors import InvalidInput

#: Sample values by fact type, for checking expressions at publish time.
SAMPLES: dict[str, Any] = {
    "string": "sample",
    "int": 1,
    "double": 1.0,
    "bool": True,
    "timestamp": datetime(2026, 1, 1, tzinfo=UTC),
    "decimal": 1.0,  # in conditions a decimal fact is a double; in amounts, its exact text
}
MAX_DOCUMENT_BYTES = 200_000
_BOUND = re.compile(r"\.(?:all|exists|exists_one|map|filter)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")


class ContractError(InvalidInput):
    """A document that cannot be published; ``details`` has ``line`` and ``field``."""

    code = "invalid_contract"


#: Document kinds and their schemas: service contracts decide claims; automation rules change
#: tickets on events and on a periodic sweep (``proofdesk.workers.automation``).
SCHEMAS = {"ServiceContract": "schema.json", "Automation": "automation.json"}


@cache
def schema(kind: str = "ServiceContract") -> dict[str, Any]:
    text = resources.files(__package__).joinpath(SCHEMAS[kind]).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@dataclass(frozen=True)
class Contract:
    document: dict[str, Any]
    contract_hash: str

    @property
    def name(self) -> str:
        return str(self.document["metadata"]["name"])

    @property
    def version(self) -> int:
        return int(self.document["metadata"]["version"])

    @property
    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.document["spec"]
        return spec

    @property
    def kind(self) -> str:
        return str(self.document["kind"])

    @property
    def facts(self) -> dict[str, str]:
        facts: dict[str, str] = self.spec["facts"]
        return facts


def _line(node: yaml.Node | None, path: list[str | int]) -> int | None:
    """The 1-based line of the YAML node at ``path`` (or of its nearest ancestor)."""
    line = node.start_mark.line + 1 if node is not None else None
    for step in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == step), None)
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value)
        ):
            node = node.value[step]
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def _field(path: list[str | int]) -> str:
    return ".".join(str(p) for p in path) or "(document)"


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"order.amount": 1}`` → ``{"order": {"amount": 1}}`` (the shape CEL reads)."""
    tree: dict[str, Any] = {}
    for name, value in flat.items():
        parts = name.split(".")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


def parse(text: str) -> Contract:
    """Check a YAML document; raise :class:`ContractError` with the line and field at fault."""
    if len(text.encode()) > MAX_DOCUMENT_BYTES:
        raise ContractError(
            f"a contract is at most {MAX_DOCUMENT_BYTES} bytes", line=None, field=""
        )
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, (yaml.AnchorToken, yaml.AliasToken)):
                # Aliases can make a small document expand exponentially when walked.
                line = token.start_mark.line + 1
                raise ContractError(
                    f"line {line}: YAML anchors and aliases are not allowed in contracts",
                    line=line,
                    field="",
                )
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ContractError(f"line {line}: YAML: {problem}", line=line, field="") from None
    if not isinstance(document, dict):
        raise ContractError("a contract is a YAML mapping", line=1, field="")
    kind = document.get("kind")
    validator = jsonschema.Draft202012Validator(
        schema(kind if isinstance(kind, str) and kind in SCHEMAS else "ServiceContract")
    )
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        worst = jsonschema.exceptions.best_match(errors)
        path = list(worst.absolute_path)
        line = _line(root, path)
        raise ContractError(
            f"line {line}: {_field(path)}: {worst.message}", line=line, field=_field(path)
        )
    _check_facts(document, root)
    _check_expressions(document, root)
    _check_templates(document, root)
    digest = hashlib.sha256(canonical_json(document)).hexdigest()
    return Contract(document, f"sha256:{digest}")


def _check_facts(document: dict[str, Any], root: yaml.Node | None) -> None:
    from proofdesk.facts.providers import check_declared

    for name, problem in check_declared(document["spec"]["facts"]):
        path: list[str | int] = ["spec", "facts", name]
        line, where = _line(root, path), _field(path)
        raise ContractError(f"line {line}: {where}: {problem}", line=line, field=where)


def _check_expressions(document: dict[str, Any], root: yaml.Node | None) -> None:
    facts: dict[str, str] = document["spec"]["facts"]
    roots = {name.split(".")[0] for name in facts}
    sample = nest({name: SAMPLES[kind] for name, kind in facts.items()})
    for index, rule in enumerate(document["spec"]["rules"]):
        _check_one(rule["when"], ["spec", "rules", index, "when"], roots, sample, root, bool)
        for a, action in enumerate(rule.get("actions", [])):
            if "amount" in action:
                path: list[str | int] = ["spec", "rules", index, "actions", a, "amount"]
                _check_one(action["amount"], path, roots, sample, root, None)
    for a, action in enumerate(document["spec"].get("otherwise", {}).get("actions", [])):
        if "amount" in action:
            path = ["spec", "otherwise", "actions", a, "amount"]
            _check_one(action["amount"], path, roots, sample, root, None)


def _check_templates(document: dict[str, Any], root: yaml.Node | None) -> None:
    from proofdesk.rules.templates import TEMPLATES

    places: list[tuple[list[str | int], dict[str, Any]]] = [
        (["spec", "rules", i], rule) for i, rule in enumerate(document["spec"]["rules"])
    ]
    if "otherwise" in document["spec"]:
        places.append((["spec", "otherwise"], document["spec"]["otherwise"]))
    for base, holder in places:
        for a, action in enumerate(holder.get("actions", [])):
            if action["type"] == "reply" and action["template"] not in TEMPLATES:
                path = [*base, "actions", a, "template"]
                line, where = _line(root, path), _field(path)
                raise ContractError(
                    f"line {line}: {where}: no template {action['template']!r} "
                    f"(known: {', '.join(sorted(TEMPLATES))})",
                    line=line,
                    field=where,
                )


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_PATHS = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(\s*\()?")


def sample_names(tree: dict[str, Any], prefix: str = "") -> list[str]:
    """Every declared fact and every prefix of one (``order``, ``order.amount``)."""
    names = []
    for key, value in tree.items():
        name = f"{prefix}{key}"
        names.append(name)
        if isinstance(value, dict):
            names += sample_names(value, name + ".")
    return names


def _check_paths(
    expression: str, declared: set[str], roots: set[str], line: Any, where: str
) -> None:
    """Every fact path an expression names must be declared. (Evaluating on samples is not
    enough: ``false && order.colour`` is false in CEL, whatever ``order.colour`` is.)"""
    text = _STRINGS.sub('""', expression)
    for match in _PATHS.finditer(text):
        parts = match.group(1).split(".")
        if match.group(2):  # a call: the last part is a function or method
            parts = parts[:-1]
        if not parts or parts[0] not in roots:
            continue
        name = ".".join(parts)
        if name not in declared:
            raise ContractError(
                f"line {line}: {where}: undeclared fact {name}", line=line, field=where
            )


def _check_one(
    expression: str,
    path: list[str | int],
    roots: set[str],
    sample: dict[str, Any],
    root: yaml.Node | None,
    want: type | None,
) -> None:
    line, where = _line(root, path), _field(path)
    try:
        program = cel.compile(expression)
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise ContractError(
            f"line {line}: {where}: not CEL: {first}", line=line, field=where
        ) from None
    bound = set(_BOUND.findall(expression))  # a macro's own variable: list.exists(x, …)
    _check_paths(expression, set(sample_names(sample)), roots - bound, line, where)
    unknown = sorted(set(program.variables()) - roots - bound)
    if unknown:
        raise ContractError(
            f"line {line}: {where}: undeclared fact {', '.join(unknown)}", line=line, field=where
        )
    try:
        value = program.execute(sample)
    except RuntimeError as exc:  # an undeclared function
        unknown = sorted(set(program.variables()) - roots)
        what = f"undeclared fact {', '.join(unknown)}" if unknown else str(exc).splitlines()[0]
        raise ContractError(f"line {line}: {where}: {what}", line=line, field=where) from None
    except KeyError as exc:
        raise ContractError(
            f"line {line}: {where}: undeclared fact field {exc.args[0]!r}", line=line, field=where
        ) from None
    except (TypeError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        raise ContractError(
            f"line {line}: {where}: type error: {first}", line=line, field=where
        ) from None
    if want is bool and not isinstance(value, bool):
        raise ContractError(
            f"line {line}: {where}: a condition must be true or false, not {type(value).__name__}",
            line=line,
            field=where,
        )
