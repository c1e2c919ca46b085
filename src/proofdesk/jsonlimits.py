"""Bounded JSON: every document that comes from outside is checked for depth before parsing.

CPython's C JSON parser recurses once per nested array or object and relies on the
interpreter's recursion limit to stop. Libraries we import raise that limit far above what the
C stack can hold (``py_ecc``, through py-evm, sets 100,000), so 70,000 nested ``[`` — 140 KB,
well under any body limit — overflow the stack and kill the process with SIGSEGV before
Python can raise anything. Two defences, each sufficient alone:

- :func:`restore_recursion_limit` puts the limit back after such imports (a test checks that
  no import of ours leaves it raised);
- :class:`DepthScanner` counts the nesting of a document as its bytes arrive, ignoring
  brackets inside strings, and refuses one deeper than :data:`MAX_DEPTH` before any parser
  sees it. :func:`loads` is the one entry point for JSON read from a request, a file or a peer.

No document ProofDesk accepts is legitimately deeper than a dozen levels; 64 leaves room.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from proofdesk.errors import InvalidInput

MAX_DEPTH = 64

# The interpreter's own limit when this module is first imported, before any library has had a
# chance to raise it (``proofdesk/__init__`` imports this module first).
DEFAULT_RECURSION_LIMIT = sys.getrecursionlimit()

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
