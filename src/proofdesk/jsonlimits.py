"""Bounded JSON: every document that comes from outside is checked for depth before parsing.

CPython's C JSON parser recurses once per nested array or object and relies on the
interpreter's recursion limit to stop. Libraries we import raise that limit far above what the
C stack can hold (``py_ecc``, through py-evm, sets 100,000), so 70,000 nested ``[`` — 140 KB,
well under any body limit — overflow the stack and kill the process with SIGSEGV before
Python can raise anything. Two defences, each sufficient alone:

- :func:`guard_recursion_limit` (installed by ``proofdesk/__init__``) puts the limit back
  right after such a library is imported, whoever imports it and whenever (a test checks that
  no import of ours leaves it raised);
- :class:`DepthScanner` counts the nesting of a document as its bytes arrive, ignoring
  brackets inside strings, and refuses one deeper than :data:`MAX_DEPTH` before any parser
  sees it. :func:`loads` is the one entry point for JSON read from a request, a file or a peer.

No document ProofDesk accepts is legitimately deeper than a dozen levels; 64 leaves room.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import re
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from proofdesk.errors import InvalidInput

MAX_DEPTH = 64

# The interpreter's own limit when this module is first imported, before any library has had a
# chance to raise it (``proofdesk/__init__`` imports this module first).
DEFAULT_RECURSION_LIMIT = sys.getrecursionlimit()
# Top-level packages known to raise the limit in their ``__init__``: py_ecc (to 100,000; under
# eth_account and web3) and py-evm's ``eth`` (to 12,288, for 1,024 nested EVM calls — our
# contracts nest one or two).
LIMIT_RAISERS = frozenset({"py_ecc", "eth"})

_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")
_QUOTE = ord('"')
_BACKSLASH = ord("\\")
# Outside a string only brackets and the opening quote matter; inside, the quote and escapes.
_OUTSIDE = re.compile(rb'[\[\]{}"]')
_INSIDE = re.compile(rb'["\\]')


class JsonTooDeep(InvalidInput):
    code = "json_too_deep"


class DepthScanner:
    """Tracks the nesting depth of a JSON text fed in chunks of bytes (RFC 8259 §2: strings are
    the only place a bracket is not structure, and ``\\`` escapes exactly one following
    character). It does not validate the document; the parser does that afterwards."""

    def __init__(self, max_depth: int = MAX_DEPTH) -> None:
        self.max_depth = max_depth
        self.depth = 0
        self._in_string = False
        self._escaped = False

    def feed(self, chunk: bytes) -> None:
        """Consume ``chunk``; raise :class:`JsonTooDeep` as soon as the depth passes the limit."""
        pos, end = 0, len(chunk)
        if self._escaped and end:
            pos, self._escaped = 1, False
        while pos < end:
            found = (_INSIDE if self._in_string else _OUTSIDE).search(chunk, pos)
            if found is None:
                return
            byte = chunk[found.start()]
            pos = found.end()
            if self._in_string:
                if byte == _QUOTE:
                    self._in_string = False
                elif pos < end:  # a backslash: the next byte is escaped, whatever it is
                    pos += 1
                else:
                    self._escaped = True
            elif byte == _QUOTE:
                self._in_string = True
            elif byte in _OPEN:
                self.depth += 1
                if self.depth > self.max_depth:
                    raise JsonTooDeep(
                        f"JSON nested deeper than {self.max_depth} levels",
                        max_depth=self.max_depth,
                    )
            elif byte in _CLOSE:
                self.depth -= 1


def check_depth(data: str | bytes, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`JsonTooDeep` if ``data`` nests deeper than ``max_depth``."""
    scanner = DepthScanner(max_depth)
    scanner.feed(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)


def loads(data: str | bytes, *, what: str = "document", max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON from outside: depth first, then the standard parser. Every failure is an
    :class:`InvalidInput` naming ``what``, never a raw ``ValueError`` or ``RecursionError``."""
    check_depth(data, max_depth)
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc}", field=what) from None


def restore_recursion_limit() -> None:
    """Undo a library's raise of the recursion limit (see the module docstring)."""
    if sys.getrecursionlimit() > DEFAULT_RECURSION_LIMIT:
        sys.setrecursionlimit(DEFAULT_RECURSION_LIMIT)


class _RestoreAfterImport(importlib.abc.MetaPathFinder):
    """Finds :data:`LIMIT_RAISERS` like the normal path finder does, and has their loader put
    the recursion limit back once the package's ``__init__`` has run. Importing these packages
    eagerly instead would cost every command their start-up time and pull them into
    ``proofdesk.verify``, which must import only the standard library and ``cryptography``."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in LIMIT_RAISERS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        run = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            try:
                run(module)
            finally:
                restore_recursion_limit()

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def guard_recursion_limit() -> None:
    """Install the import hook of :class:`_RestoreAfterImport` (once) and restore the limit now,
    in case a raiser was imported before ``proofdesk``."""
    if not any(isinstance(f, _RestoreAfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _RestoreAfterImport())
    restore_recursion_limit()
