"""Search terms: how ticket text and a query become the tokens the search index holds.

Both databases index the *same* tokens, computed here, so SQLite (FTS5) and PostgreSQL
(``tsvector``) find the same tickets (``docs/search.md``, decision 0010):

- text is NFKC-normalised and case-folded;
- a run of Chinese, Japanese or Korean characters — written without spaces — becomes its
  overlapping character bigrams (``提现没到账`` → ``提现 现没 没到 到账``; a lone character stays
  itself), so any two-character word of the run is found without a dictionary;
- other words are runs of letters and digits; a word joined by ``- _ . :`` (``ORD-1042``,
  ``0x…``) is kept whole *and* split into its parts, so an identifier matches exactly while
  its parts still match on their own.

A query's terms are all required. A plain word (no digit, no joiner) matches words it begins
(``withdraw`` finds ``withdrawal``); an identifier-like term (with a digit or a joiner) and a
CJK bigram match only the same token, exactly; a lone CJK character matches bigrams it begins.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: Characters that may join the parts of one identifier (``ORD-1042``, ``a.b``, ``x:y``).
JOINERS = "-_.:"
#: Unified ideographs (and extensions A), kana, hangul, CJK punctuation excluded.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CHUNK = re.compile(r"[^\W_]+(?:[-_.:][^\W_]+)*")
_CJK_RUN = re.compile(f"[{_CJK}]+|[^{_CJK}]+")
_IS_CJK = re.compile(f"[{_CJK}]")
#: Tokens longer than this are not words (a pasted blob): cut, both at index and query time.
MAX_TOKEN = 100
#: A query of more terms than this keeps the first ones (each term is one index look-up).
MAX_QUERY_TERMS = 8


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _cjk_terms(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def index_terms(*texts: str | None) -> str:
    """The space-separated tokens the index stores for ``texts`` (order kept, repeats kept
    once)."""
    seen: dict[str, None] = {}
    for text in texts:
        if not text:
            continue
        for chunk in _CHUNK.findall(_normal(text)):
            for token in _chunk_terms(chunk, query=False):
                seen.setdefault(token.text[:MAX_TOKEN])
    return " ".join(seen)


@dataclass(frozen=True, slots=True)
class Term:
    """One token of a query; ``prefix``: it matches tokens it begins."""

    text: str
    prefix: bool = False


def _chunk_terms(chunk: str, *, query: bool) -> list[Term]:
    if _IS_CJK.search(chunk):
        found: list[Term] = []
        for part in _CJK_RUN.findall(chunk):
            if _IS_CJK.match(part):
                found += [Term(t, prefix=query and len(t) == 1) for t in _cjk_terms(part)]
            else:
                found += [
                    t for piece in _CHUNK.findall(part) for t in _chunk_terms(piece, query=query)
                ]
        return found
    exact = any(c.isdigit() or c in JOINERS for c in chunk)
    whole = Term(chunk, prefix=query and not exact)
    if query or not any(c in JOINERS for c in chunk):
        return [whole]
    return [whole, *(Term(p) for p in re.split(f"[{re.escape(JOINERS)}]", chunk) if p)]


def query_terms(text: str) -> list[Term]:
    """The terms a query requires (an empty list: nothing to look up in the index)."""
    seen: dict[Term, None] = {}
    for chunk in _CHUNK.findall(_normal(text)):
        for term in _chunk_terms(chunk, query=True):
            seen.setdefault(Term(term.text[:MAX_TOKEN], term.prefix))
    return list(seen)[:MAX_QUERY_TERMS]


def fts5_query(term: Term) -> str:
    """``term`` in SQLite FTS5's query syntax (tokens hold no quote, see ``_CHUNK``)."""
    return f'"{term.text}"' + ("*" if term.prefix else "")


def tsquery(term: Term) -> str:
    """``term`` as PostgreSQL ``tsquery`` input (a quoted lexeme, taken literally)."""
    return f"'{term.text}'" + (":*" if term.prefix else "")
