"""The open-world evaluation protocol (docs/assistant.md, "Evaluation protocol").

A new organization meets the assistant with its knowledge base, a few examples per intent of
its own and no out-of-scope examples at all; then customers ask things nobody wrote down. The
protocol plays that: for each k in ``KS`` and each of ``SPLITS`` random seeds, draw k training
examples per intent from the labelled pool (``data/assistant/{train,dev,eval}.csv``, in-scope
rows only, none of them an article's title or question), train on them (with the starter
knowledge base unless told otherwise), and judge every query of the open query set
(``data/assistant/open/queries.csv``: new in-scope, always-human and out-of-scope queries in
Chinese, English and mixed text, none in the pool). Its rows are split into ``tune`` (what the
model may be tuned on) and ``heldout`` (looked at only to report).

Measures, averaged over the seeds: top-1 intent accuracy on in-scope queries; the precision
of automatic answers (an answered out-of-scope query counts as wrong) and the coverage at which
it is reached (the share of answerable in-scope queries answered); the share of out-of-scope
and of always-human queries handed off; latency p95 of a decision with the real encoder (no
cache); the process's peak memory.
"""

from __future__ import annotations

import csv
import resource
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from proofdesk.assistant.embedding import Embedder, Vectors
from proofdesk.assistant.kb import ArticleSpec
from proofdesk.assistant.understanding import ALWAYS_HUMAN, OUT_OF_SCOPE, Model, Thresholds
from proofdesk.errors import InvalidInput

KS = (4, 8, 12, 24)
SPLITS = 5
POOL_FILES = ("train", "dev", "eval")


@dataclass(frozen=True)
class Scores:
    k: int
    top1: float
    precision: float
    coverage: float
    out_of_scope_handed_off: float
    always_human_handed_off: float
    p95_ms: float
    peak_mb: float

    def row(self) -> list[str]:
        return [
            str(self.k),
            f"{self.top1:.1%}",
            f"{self.precision:.1%}",
            f"{self.coverage:.1%}",
            f"{self.out_of_scope_handed_off:.1%}",
            f"{self.always_human_handed_off:.1%}",
            f"{self.p95_ms:.1f}",
            f"{self.peak_mb:,.0f}",
        ]


HEADERS = [
    "k",
    "top-1 in scope",
    "precision of answers",
    "coverage (answerable answered)",
    "out of scope handed off",
    "always-human handed off",
    "p95 ms",
    "peak MB",
]


def read_labelled(path: Path) -> list[tuple[str, str, str]]:
    """``text,label[,split]`` rows (split ``tune`` when the column is absent)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or {"text", "label"} - set(reader.fieldnames):
                raise InvalidInput(f"{path}: a CSV with the columns text,label")
            return [
                (r["text"], r["label"], r.get("split") or "tune")
                for r in reader
                if r["text"] and r["label"]
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from None


def pool(data: Path, articles: Sequence[ArticleSpec]) -> dict[str, list[str]]:
    """In-scope examples by intent, articles' own texts left out (they are the KB)."""
    taught = {t.strip().lower() for a in articles for t in (a.title, *a.questions)}
    out: dict[str, list[str]] = {}
    seen: set[str] = set()
    for name in POOL_FILES:
        for text, label, _ in read_labelled(data / f"{name}.csv"):
            key = text.strip().lower()
            if label == OUT_OF_SCOPE or key in taught or key in seen:
                continue
            seen.add(key)
            out.setdefault(label, []).append(text)
    return out


class CachedEmbedder:
    """An encoder that remembers every text (the protocol embeds the same texts many times);
    latency is measured with the real one."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self._cache: dict[str, Vectors] = {}

    def encode(self, texts: Sequence[str], *, remember: bool = False) -> Vectors:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, row in zip(missing, self.inner.encode(missing), strict=True):
                self._cache[text] = row
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


Build = Callable[[list[tuple[str, str]], Sequence[ArticleSpec], Any], Model]


def default_build(
    examples: list[tuple[str, str]], articles: Sequence[ArticleSpec], embedder: Any
) -> Model:
    if articles:
        return Model.from_articles(articles, examples, embedder=embedder)
    return Model(examples, embedder=embedder)


def sample(by_intent: dict[str, list[str]], k: int, seed: int) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    out: list[tuple[str, str]] = []
    for intent in sorted(by_intent):
        texts = by_intent[intent]
        chosen = rng.choice(len(texts), size=min(k, len(texts)), replace=False)
        out.extend((texts[i], intent) for i in sorted(chosen))
    return out


def judge_all(
    model: Model, queries: Iterable[tuple[str, str]], thresholds: Thresholds
) -> tuple[int, int, int, int, int, int, int, int, int]:
    """(in-scope, top-1 right, answered, answered right, answerable, answerable answered,
    out-of-scope, out-of-scope handed off, always-human handed off) — the last over the
    always-human queries, counted by the caller."""
    in_scope = right = answered = answered_right = answerable = answerable_answered = 0
    oos = oos_handed = human_handed = 0
    for text, label in queries:
        candidates, reason = model.judge(text, thresholds)
        top = candidates[0].intent if candidates else None
        # Trained on examples alone, a model has no articles: an answer is assumed to exist.
        is_answer = reason is None and (
            not model.articles or model.article_for(top or "", "en") is not None
        )
        if label == OUT_OF_SCOPE:
            oos += 1
            oos_handed += not is_answer
        else:
            in_scope += 1
            right += top == label
            if label in ALWAYS_HUMAN:
                human_handed += not is_answer
            else:
                answerable += 1
                answerable_answered += is_answer
        if is_answer:
            answered += 1
            answered_right += top == label
    return (
        in_scope,
        right,
        answered,
        answered_right,
        answerable,
        answerable_answered,
        oos,
        oos_handed,
        human_handed,
    )


def latency_p95(
    model: Model, texts: Sequence[str], real: Embedder, thresholds: Thresholds
) -> float:
    """Milliseconds per decision with the real encoder (nothing cached), p95."""
    model.embedder = real
    model.judge(texts[0], thresholds)
    timings = []
    for text in texts:
        started = time.perf_counter()
        model.judge(text, thresholds)
        timings.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(timings, 95))


def run(
    by_intent: dict[str, list[str]],
    queries: Sequence[tuple[str, str]],
    articles: Sequence[ArticleSpec],
    embedder: Embedder | None,
    *,
    ks: Sequence[int] = KS,
    splits: int = SPLITS,
    build: Build = default_build,
    thresholds: Thresholds = Thresholds(),
    progress: Callable[[str], None] | None = None,
) -> list[Scores]:
    if not queries:
        raise InvalidInput("the query set is empty")
    if OUT_OF_SCOPE in by_intent:
        raise InvalidInput("the protocol trains without out_of_scope examples")
    cached = CachedEmbedder(embedder) if embedder is not None else None
    humans = sum(label in ALWAYS_HUMAN for _, label in queries)
    results = []
    for k in ks:
        totals = np.zeros(9)
        latencies = []
        for seed in range(splits):
            model = build(sample(by_intent, k, 1000 * k + seed), articles, cached)
            totals += judge_all(model, queries, thresholds)
            if seed == 0 and embedder is not None:
                latencies.append(
                    latency_p95(model, [t for t, _ in queries[:200]], embedder, thresholds)
                )
            if progress is not None:
                progress(f"k={k} split {seed + 1}/{splits}")
        ins, right, ans, ans_right, answerable, ans_answerable, oos, oos_handed, human = totals
        results.append(
            Scores(
                k=k,
                top1=right / ins if ins else 0.0,
                precision=ans_right / ans if ans else 1.0,
                coverage=ans_answerable / answerable if answerable else 0.0,
                out_of_scope_handed_off=oos_handed / oos if oos else 1.0,
                always_human_handed_off=human / (humans * splits) if humans else 1.0,
                p95_ms=max(latencies) if latencies else 0.0,
                peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            )
        )
    return results
