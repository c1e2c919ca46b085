"""Understanding a customer's message across Chinese, English and mixed text, and deciding
whether to answer it or hand it to a person.

Two views of every text: character n-grams (1-4, within word boundaries, TF-IDF with sublinear
term frequency), which need no word segmentation and catch exact terms (``TRC20``, ``2FA``,
``提币``), and a multilingual sentence embedding (``embedding``), which carries meaning across
languages and paraphrases. A multinomial logistic regression over both gives each intent a
probability, calibrated by temperature on held-out examples; the knowledge base is searched by
cosine similarity in the same joint space. The assistant answers only when the best intent is at
least ``threshold`` likely and ``margin`` ahead of the next, the intent is not one a person
always handles (nor a large refund), an article for it is public, and the customer did not ask
for a person.
"""

from __future__ import annotations

import functools
import io
import json
import re
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from importlib import resources
from typing import Any, Literal

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from proofdesk.assistant.embedding import Embedder, Encode, Vectors, default_embedder
from proofdesk.assistant.kb import ArticleSpec
from proofdesk.assistant.rules import always_human
from proofdesk.domain.entities import extract
from proofdesk.errors import InvalidInput
from proofdesk.settings import DEFAULT_LARGE_REFUND

#: Intents a person always handles, however sure the model is.
ALWAYS_HUMAN = frozenset({"hacked_account", "fraud_report", "legal_complaint", "large_refund"})
MAX_FEATURES = 60_000
#: Cross-validation folds of the open-set thresholds, the precision they aim at, the share of
#: traffic assumed out of scope when weighing background questions against examples, and the
#: grids searched.
FOLDS = 4
#: Taught texts compared with a query on both views (the nearest by sentence embedding).
NEIGHBOURS = 256
#: How much the nearest-neighbour view adds to the classifier's scores (per unit of cosine).
KNN_WEIGHT = 0.0
CALIBRATION_SAMPLE = 2000
TARGET_PRECISION = 0.98
OUT_OF_SCOPE_SHARE = 0.2
PROBABILITY_GRID = (*np.round(np.arange(0.0, 0.91, 0.05), 2), 0.92, 0.94, 0.96, 0.98, 0.99)
TAUGHT_GRID = tuple(np.round(np.arange(0.2, 0.81, 0.05), 2))
GAP_GRID = tuple(np.round(np.arange(-0.2, 0.31, 0.02), 2))
#: Inverse regularisation strength of the logistic regression.
REGULARISATION = 50.0
#: A refund request above the ``large_refund`` amounts; always handled by a person.
LARGE_REFUND_INTENT = "large_refund"
REFUND = "refund"
#: The label of examples that are not about anything the assistant knows.
OUT_OF_SCOPE = "out_of_scope"
#: A customer asking for a person, in either language.
ASKS_FOR_HUMAN = re.compile(
    r"转人工|人工客服|人工服务|找人工|要人工|真人|活人|"
    r"(?<![a-z])(human|agent|real person|representative|operator|speak to (a|someone)|"
    r"talk to (a|someone))(?![a-z])",
    re.IGNORECASE,
)


#: Politeness and filler around a request for a person, which say nothing of the problem.
_FILLER_CHARS = frozenset("请我要找帮转接给一个你们的吧吗呢啊谢人工客服")
_FILLER_WORDS = frozenset(
    [
        "i",
        "i'd",
        "want",
        "would",
        "like",
        "to",
        "a",
        "an",
        "the",
        "please",
        "pls",
        "can",
        "could",
        "you",
        "me",
        "let",
        "get",
        "connect",
        "need",
        "with",
        "speak",
        "talk",
        "chat",
        "someone",
        "person",
        "real",
        "live",
        "now",
        "just",
        "support",
        "service",
        "customer",
    ]
)


def _says_something(text: str) -> bool:
    """Whether what is left of a request for a person still describes a problem."""
    words = [w.strip(".,!?;:'\"") for w in text.split()]
    substance = sum(
        sum(c.isalnum() and c not in _FILLER_CHARS for c in w)
        for w in words
        if w not in _FILLER_WORDS
    )
    return substance >= 4


def looks_chinese(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


def normalize(text: str) -> str:
    """NFKC (full-width letters and digits to ASCII), lower case, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


@dataclass(frozen=True)
class Candidate:
    intent: str
    probability: float


@dataclass(frozen=True)
class Reply:
    #: ``answer`` or ``handoff``.
    kind: str
    #: Why a hand-off: ``asked_for_human``, ``always_human``, ``low_confidence``,
    #: ``out_of_scope``, ``no_article``; None for an answer.
    reason: str | None
    intent: str | None
    confidence: float
    margin: float
    article: ArticleSpec | None = None
    candidates: list[Candidate] = field(default_factory=list)


@dataclass(frozen=True)
class Thresholds:
    """When the assistant may answer: the best intent at least ``threshold`` likely and
    ``margin`` ahead of the next (tuned on the held-out development set, see
    docs/assistant.md), and what counts as a large refund, by token."""

    threshold: float = 0.45
    margin: float = 0.15
    large_refund: Mapping[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_LARGE_REFUND))

    def __post_init__(self) -> None:
        if not 0 <= self.threshold <= 1 or not 0 <= self.margin <= 1:
            raise InvalidInput("threshold and margin are between 0 and 1", field="threshold")
        if any(v <= 0 for v in self.large_refund.values()):
            raise InvalidInput("large refund amounts are positive", field="large_refund")

    def is_large_refund(self, text: str) -> bool:
        return any(
            e.kind == "amount"
            and e.detail is not None
            and Decimal(e.value) >= self.large_refund.get(e.detail, Decimal("Infinity"))
            for e in extract(text)
        )


@dataclass(frozen=True)
class Views:
    """Texts seen two ways: character n-gram TF-IDF rows (exact words, token symbols, network
    names) and sentence embeddings (meaning, across languages and paraphrase); both rows have
    length 1. ``meaning`` is None when the model runs without an encoder."""

    ngrams: Any
    meaning: Vectors | None

    def rows(self, selected: Any) -> Views:
        return Views(
            self.ngrams[selected], None if self.meaning is None else self.meaning[selected]
        )

    def cosine(self, other: Views) -> Any:
        """Cosine of each of these rows with each of ``other``'s, averaged over the views."""
        scores = (self.ngrams @ other.ngrams.T).toarray()
        if self.meaning is None or other.meaning is None:
            return scores
        return (scores + self.meaning @ other.meaning.T) / 2


@functools.cache
def BACKGROUND() -> tuple[str, ...]:
    """The shipped background corpus (``assistant/data/background.txt``)."""
    text = resources.files("proofdesk.assistant").joinpath("data/background.txt")
    lines = text.read_text("utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@dataclass(frozen=True)
class Signals:
    """What the open-set decision reads: the classifier's calibrated probability of the best
    intent, the best cosine of the query with that intent's examples and articles, and the
    best cosine with the background corpus."""

    probability: float
    taught: float
    background: float


@dataclass(frozen=True)
class OpenSet:
    """When a query is close enough to what the organization taught to be answered: the best
    intent at least ``probability`` likely, and its nearest taught text at least ``gap`` more
    similar than the nearest background question. Chosen by cross-validation (``fit``), with
    ``coverage`` and ``precision`` the share of held-out examples answered and the share of
    those answered right (held-out background questions counted as wrong answers)."""

    probability: float
    gap: float
    taught: float
    coverage: float
    precision: float

    def admits(self, signals: Signals) -> bool:
        return (
            signals.probability >= self.probability
            and signals.taught >= self.taught
            and signals.taught - signals.background >= self.gap
        )

    @classmethod
    def fit(
        cls,
        examples: Sequence[tuple[str, str]],
        articles: Sequence[ArticleSpec],
        background: Sequence[str],
        embedder: Embedder | None,
        stored: Encode | None,
        *,
        folds: int = FOLDS,
        target: float | None = None,
    ) -> OpenSet | None:
        """Fit on all but one fold of the examples and of the background, score the fold
        left out, and choose the lowest thresholds whose precision on all folds reaches
        ``target`` (answering as many examples as possible). None when there are too few
        examples to fold."""
        rng = np.random.default_rng(0)
        if len(examples) > CALIBRATION_SAMPLE:
            # A large knowledge base: the thresholds from a sample of its examples and of its
            # articles, in two folds, so that a rebuild costs a few fits, not ten.
            keep = rng.choice(len(examples), size=CALIBRATION_SAMPLE, replace=False)
            examples = [examples[i] for i in sorted(keep)]
            if len(articles) > CALIBRATION_SAMPLE // 2:
                chosen = rng.choice(len(articles), size=CALIBRATION_SAMPLE // 2, replace=False)
                articles = [articles[i] for i in sorted(chosen)]
            folds = 2
        labels = np.array([label for _, label in examples])
        counts = dict(zip(*np.unique(labels, return_counts=True), strict=True))
        if len(background) < folds or sum(c >= 2 for c in counts.values()) < 2:
            return None
        # Each intent's examples dealt round-robin over the folds; an intent with one example
        # stays in training.
        fold_of = np.full(len(examples), -1)
        for label, count in counts.items():
            if count < 2:
                continue
            rows = np.flatnonzero(labels == label)
            fold_of[rng.permutation(rows)] = np.arange(count) % folds
        background_fold = rng.permutation(len(background)) % folds
        scored: list[tuple[Signals, bool]] = []
        negatives: list[Signals] = []
        for fold in range(folds):
            train = [e for e, f in zip(examples, fold_of, strict=True) if f != fold]
            if len({label for _, label in train}) < 2:
                continue
            model = Model(
                train,
                articles,
                embedder=embedder,
                stored=stored,
                background=[
                    b for b, f in zip(background, background_fold, strict=True) if f != fold
                ],
                calibrate=False,
            )
            held = [e for e, f in zip(examples, fold_of, strict=True) if f == fold]
            others = [b for b, f in zip(background, background_fold, strict=True) if f == fold]
            for text, label in held:
                signals, intent = model.best_signals(text)
                if label == OUT_OF_SCOPE:
                    # Out-of-scope examples, where an organization has some, are negatives.
                    if intent != OUT_OF_SCOPE:
                        negatives.append(signals)
                else:
                    scored.append((signals, intent == label))
            for text in others:
                signals, _ = model.best_signals(text)
                negatives.append(signals)
        if not scored:
            return None
        return cls.choose(scored, negatives, TARGET_PRECISION if target is None else target)

    @classmethod
    def choose(
        cls,
        scored: Sequence[tuple[Signals, bool]],
        negatives: Sequence[Signals],
        target: float,
    ) -> OpenSet:
        """The thresholds answering the most held-out examples at ``target`` precision, the
        background questions weighted as ``OUT_OF_SCOPE_SHARE`` of the traffic; the strictest
        when none reaches it."""

        def columns(rows: Sequence[Signals]) -> Any:
            return np.array([(r.probability, r.taught, r.taught - r.background) for r in rows])

        positive = columns([s for s, _ in scored]).reshape(-1, 3)
        negative = columns(negatives).reshape(-1, 3)
        right = np.array([r for _, r in scored])
        weight = (
            OUT_OF_SCOPE_SHARE / (1 - OUT_OF_SCOPE_SHARE) * len(scored) / len(negatives)
            if negatives
            else 0.0
        )
        best: OpenSet | None = None
        for probability in PROBABILITY_GRID:
            for taught in TAUGHT_GRID:
                for gap in GAP_GRID:
                    limits = np.array([probability, taught, gap])
                    answered = (positive >= limits).all(axis=1)
                    false = weight * float((negative >= limits).all(axis=1).sum())
                    total = answered.sum() + false
                    precision = float((answered & right).sum() / total) if total else 1.0
                    coverage = float(answered.mean())
                    if (precision >= target and (best is None or coverage > best.coverage)) or (
                        best is None
                        and probability == PROBABILITY_GRID[-1]
                        and taught == TAUGHT_GRID[-1]
                        and gap == GAP_GRID[-1]
                    ):
                        best = cls(
                            float(probability), float(gap), float(taught), coverage, precision
                        )
        assert best is not None
        return best


class Model:
    """An intent classifier trained on labelled examples, and a search over the articles.

    One multinomial logistic regression per view; an intent's score is the sum of the two
    (each view votes with its own confidence), and probabilities are the softmax of the scores
    divided by a temperature fitted on a quarter of the examples held out from a first fit, so
    that "0.9" means about nine in ten. The final fit starts from the first one's weights."""

    def __init__(
        self,
        examples: Sequence[tuple[str, str]],
        articles: Sequence[ArticleSpec] = (),
        *,
        embedder: Embedder | Literal["default"] | None = "default",
        stored: Encode | None = None,
        background: Sequence[str] | None = None,
        calibrate: bool = True,
    ) -> None:
        """``background``: generic questions that are nobody's support request (the shipped
        corpus when None, none when empty); ``calibrate``: choose the open-set thresholds by
        cross-validation on ``examples`` (``OpenSet.fit``)."""
        labels = {label for _, label in examples}
        background = list(BACKGROUND() if background is None else background)
        if len(labels) < 2:
            raise InvalidInput("training needs examples of at least two intents")
        self.embedder: Embedder | None = default_embedder() if embedder == "default" else embedder
        self.articles = list(articles)
        texts = [text for text, _ in examples]
        documents = [_document(a) for a in self.articles]
        # Training texts and article documents are embedded together, through the stored
        # vectors when there are some (only new or changed texts are encoded).
        vectors = (
            (stored or self.embedder.encode)([*texts, *documents, *background])
            if self.embedder is not None
            else None
        )
        # At most 60,000 n-grams (the most frequent): the classifier's weights are one dense
        # row per intent, so this bounds memory with thousands of entries.
        self.vectorizer = _vectorizer()
        views = Views(
            self.vectorizer.fit_transform(texts),
            None if vectors is None else vectors[: len(texts)],
        )
        targets = np.array([label for _, label in examples])
        self.classifiers, self.temperature = _fit(views, targets)
        self.intents: list[str] = [str(c) for c in self.classifiers[0].classes_]
        self._documents = (
            Views(
                self.vectorizer.transform(documents),
                None if vectors is None else vectors[len(texts) : len(texts) + len(documents)],
            )
            if self.articles
            else None
        )
        # What the organization taught, for the nearest-neighbour view: every example and
        # every article document, by intent.
        self._taught = views
        self._taught_labels = np.array(
            [*targets.tolist(), *(a.intent for a in self.articles)], dtype=object
        )
        self._background = (
            Views(
                self.vectorizer.transform(background),
                None if vectors is None else vectors[len(texts) + len(documents) :],
            )
            if background
            else None
        )
        self.knn_weight = KNN_WEIGHT
        self.open_set: OpenSet | None = None
        if calibrate and self._background is not None:
            # The folds' models read the vectors just computed: nothing is encoded twice.
            known = (
                _Known(self.embedder, [*texts, *documents, *background], vectors)
                if self.embedder is not None and vectors is not None
                else None
            )
            self.open_set = OpenSet.fit(
                examples,
                self.articles,
                background,
                known,
                known.encode if known else None,
            )

    def to_bytes(self) -> bytes:
        """The fitted model as numpy arrays and JSON in an ``.npz`` (read back without
        pickle, so a stored model cannot run code); the encoder is not part of it."""
        arrays: dict[str, Any] = {
            "idf": self.vectorizer.idf_.astype(np.float32),
            "taught_labels": np.array([str(x) for x in self._taught_labels]),
        }
        for n, classifier in enumerate(self.classifiers):
            arrays[f"coef{n}"] = classifier.coef_.astype(np.float32)
            arrays[f"intercept{n}"] = classifier.intercept_.astype(np.float32)
        _put_views(arrays, "taught", self._taught)
        _put_views(arrays, "documents", self._documents)
        _put_views(arrays, "background", self._background)
        meta = {
            "format": 1,
            "vocabulary": {k: int(v) for k, v in self.vectorizer.vocabulary_.items()},
            "intents": self.intents,
            "temperature": self.temperature,
            "knn_weight": self.knn_weight,
            "classes": [str(c) for c in self.classifiers[0].classes_],
            "articles": [asdict(a) for a in self.articles],
            "open_set": None if self.open_set is None else asdict(self.open_set),
        }
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes, embedder: Embedder | None) -> Model:
        """A model stored by ``to_bytes``; ``embedder`` must be the one it was built with
        (None for n-grams only)."""
        try:
            arrays = np.load(io.BytesIO(blob), allow_pickle=False)
            meta = json.loads(arrays["meta"].tobytes())
            if meta.get("format") != 1:
                raise ValueError("unknown format")
            model = cls.__new__(cls)
            model.embedder = embedder
            model.articles = [ArticleSpec(**a) for a in meta["articles"]]
            model.vectorizer = _vectorizer()
            model.vectorizer.vocabulary_ = meta["vocabulary"]
            model.vectorizer.idf_ = arrays["idf"]
            classes = np.array(meta["classes"])
            model.classifiers = []
            for n in range(2):
                if f"coef{n}" not in arrays:
                    break
                classifier = _classifier()
                classifier.classes_ = classes
                classifier.coef_ = arrays[f"coef{n}"]
                classifier.intercept_ = arrays[f"intercept{n}"]
                classifier.n_features_in_ = classifier.coef_.shape[1]
                model.classifiers.append(classifier)
            model.temperature = float(meta["temperature"])
            model.knn_weight = float(meta["knn_weight"])
            model.intents = list(meta["intents"])
            taught = _get_views(arrays, "taught")
            assert taught is not None
            model._taught = taught
            model._taught_labels = np.array(arrays["taught_labels"].tolist(), dtype=object)
            model._documents = _get_views(arrays, "documents")
            model._background = _get_views(arrays, "background")
            found = meta["open_set"]
            model.open_set = None if found is None else OpenSet(**found)
        except (ValueError, KeyError, TypeError, OSError, AssertionError) as exc:
            raise InvalidInput(f"not a stored assistant model: {exc}") from None
        return model

    @classmethod
    def from_articles(
        cls,
        articles: Sequence[ArticleSpec],
        extra: Iterable[tuple[str, str]] = (),
        *,
        embedder: Embedder | Literal["default"] | None = "default",
        stored: Encode | None = None,
        background: Sequence[str] | None = None,
        calibrate: bool = True,
    ) -> Model:
        """Trained on every article's title and questions (labelled with its intent), plus
        ``extra`` labelled examples (agents' labels on solved tickets, out-of-scope samples)."""
        examples = [(q, a.intent) for a in articles for q in (a.title, *a.questions)]
        return cls(
            [*examples, *extra],
            articles,
            embedder=embedder,
            stored=stored,
            background=background,
            calibrate=calibrate,
        )

    def views(self, texts: Sequence[str], *, remember: bool = False) -> Views:
        """The texts as the model sees them. ``remember``: keep their embeddings in the
        encoder's cache (for texts seen again, such as solved tickets)."""
        return Views(
            self.vectorizer.transform(texts),
            self.embedder.encode(texts, remember=remember) if self.embedder is not None else None,
        )

    def embed(self, texts: Sequence[str]) -> Vectors | None:
        return self.embedder.encode(texts, remember=True) if self.embedder is not None else None

    def similarities(self, text: str, others: Sequence[str]) -> Any:
        """The cosine of ``text`` with each of ``others``, averaged over the views (0-1)."""
        if not others:
            return np.zeros(0)
        return self.views(others, remember=True).cosine(self.views([text])).ravel()

    def _near(self, views: Views, rows: Views | None) -> Any:
        """Cosines of the query with ``rows``, averaged over both views like ``search``. With
        many rows the n-gram cosine against all of them would cost tens of milliseconds
        (short n-grams are shared by nearly every text), so it is computed for the
        ``NEIGHBOURS`` rows nearest by sentence embedding only; the others get -1."""
        if rows is None:
            return np.zeros(0)
        if rows.meaning is None or views.meaning is None or rows.meaning.shape[0] <= NEIGHBOURS:
            return rows.cosine(views).ravel()
        meaning = rows.meaning @ views.meaning[0]
        top = np.argpartition(meaning, -NEIGHBOURS)[-NEIGHBOURS:]
        out = np.full(meaning.shape[0], -1.0)
        ngrams = (rows.ngrams[top] @ views.ngrams.T).toarray().ravel()
        out[top] = (ngrams + meaning[top]) / 2
        return out

    def _near_taught(self, views: Views) -> Any:
        """Cosines of the query with every example, then every article document."""
        return np.concatenate([self._near(views, self._taught), self._near(views, self._documents)])

    def nearest(self, views: Views) -> Any:
        """The best cosine of the query with each intent's examples and articles (the
        nearest-neighbour view), in the order of ``intents``; -1 for an intent with none."""
        near = self._near_taught(views)
        index = self._taught_index()
        known = index >= 0
        best = np.full(len(self.intents), -1.0)
        np.maximum.at(best, index[known], near[known])
        return best

    def _taught_index(self) -> Any:
        found = getattr(self, "_index", None)
        if found is None:
            position = {intent: i for i, intent in enumerate(self.intents)}
            found = np.array([position.get(str(x), -1) for x in self._taught_labels])
            self._index = found
        return found

    def classify(self, text: str, views: Views | None = None) -> list[Candidate]:
        views = views or self.views([text])
        scores = _scores(self.classifiers, views)[0] / self.temperature
        if self.knn_weight:
            scores = scores + self.knn_weight * self.nearest(views)
        probabilities = _softmax(scores)
        order = np.argsort(probabilities)[::-1]
        return [Candidate(self.intents[i], float(probabilities[i])) for i in order]

    def search(
        self, text: str, k: int = 3, audience: str = "public", views: Views | None = None
    ) -> list[tuple[ArticleSpec, float]]:
        """The ``k`` articles most like ``text``: cosine over both views, averaged."""
        if self._documents is None:
            return []
        scores = self._documents.cosine(views or self.views([text])).ravel()
        ranked = [
            (self.articles[i], float(scores[i]))
            for i in np.argsort(scores)[::-1]
            if audience == "agents" or self.articles[i].audience == "public"
        ]
        return ranked[:k]

    def article_for(self, intent: str, locale: str) -> ArticleSpec | None:
        """The public article of an intent, in ``locale`` if there is one, else another."""
        found = [a for a in self.articles if a.intent == intent and a.audience == "public"]
        same = [a for a in found if a.locale == locale]
        chosen = same or found
        return chosen[0] if chosen else None

    def judge(
        self, text: str, thresholds: Thresholds = Thresholds()
    ) -> tuple[list[Candidate], str | None]:
        """The intents by probability, and why a person must take over (None: the assistant
        may answer, if it has an article). A bare request for a person ("转人工") has no
        intent: no candidates."""
        normalized = normalize(text)
        if ASKS_FOR_HUMAN.search(normalized):
            rest = ASKS_FOR_HUMAN.sub(" ", normalized)
            return (self.classify(rest) if _says_something(rest) else []), "asked_for_human"
        views = self.views([text])
        candidates = self.classify(text, views)
        top = candidates[0]
        second = candidates[1].probability if len(candidates) > 1 else 0.0
        ruled = always_human(normalized)
        if ruled is not None:
            if ruled != top.intent:
                candidates = [Candidate(ruled, top.probability), *candidates]
            return candidates, "always_human"
        if top.intent in ALWAYS_HUMAN:
            return candidates, "always_human"
        if top.intent == REFUND and thresholds.is_large_refund(text):
            return [Candidate(LARGE_REFUND_INTENT, top.probability), *candidates], "always_human"
        if top.intent == OUT_OF_SCOPE:
            return candidates, "out_of_scope"
        if top.probability < thresholds.threshold or top.probability - second < thresholds.margin:
            return candidates, "low_confidence"
        if self.open_set is not None and not self.open_set.admits(
            self.signals(views, top.intent, top.probability)
        ):
            return candidates, "out_of_scope"
        return candidates, None

    def best_signals(self, text: str) -> tuple[Signals, str]:
        views = self.views([text])
        top = self.classify(text, views)[0]
        return self.signals(views, top.intent, top.probability), top.intent

    def signals(self, views: Views, intent: str, probability: float) -> Signals:
        """How close the query is to what the organization taught under ``intent`` (the best
        cosine with its examples and articles) and to the background corpus."""
        mine = self._near_taught(views)[self._taught_labels == intent]
        taught = float(mine.max()) if mine.size else 0.0
        near = self._near(views, self._background)
        background = float(near.max()) if near.size else 0.0
        return Signals(probability, taught, background)

    def respond(self, text: str, locale: str, thresholds: Thresholds = Thresholds()) -> Reply:
        candidates, reason = self.judge(text, thresholds)
        if not candidates:
            return Reply("handoff", reason, None, 0.0, 0.0)
        top = candidates[0]
        rest = [c for c in candidates[1:] if c.intent != top.intent]
        margin = top.probability - (rest[0].probability if rest else 0.0)
        article = None if reason else self.article_for(top.intent, locale)
        if reason is None and article is None:
            reason = "no_article"
        if reason is not None:
            return Reply("handoff", reason, top.intent, top.probability, margin, None, candidates)
        return Reply("answer", None, top.intent, top.probability, margin, article, candidates)


class _Known:
    """An encoder that answers from vectors already computed, and asks ``inner`` for the rest."""

    def __init__(self, inner: Embedder, texts: Sequence[str], vectors: Vectors) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self._rows = {text: i for i, text in enumerate(texts)}
        self._vectors = vectors

    def encode(self, texts: Sequence[str], *, remember: bool = False) -> Vectors:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        missing = [i for i, t in enumerate(texts) if t not in self._rows]
        for i, text in enumerate(texts):
            if text in self._rows:
                out[i] = self._vectors[self._rows[text]]
        if missing:
            out[missing] = self.inner.encode([texts[i] for i in missing], remember=remember)
        return out


def _vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(1, 4),
        sublinear_tf=True,
        preprocessor=normalize,
        max_features=MAX_FEATURES,
        dtype=np.float32,
    )


def _put_views(arrays: dict[str, Any], name: str, views: Views | None) -> None:
    if views is None:
        return
    ngrams = views.ngrams.tocsr()
    arrays[f"{name}.data"] = ngrams.data.astype(np.float32)
    arrays[f"{name}.indices"] = ngrams.indices
    arrays[f"{name}.indptr"] = ngrams.indptr
    arrays[f"{name}.shape"] = np.array(ngrams.shape)
    if views.meaning is not None:
        # float16 on disk: half the bytes, and cosines change in the fourth decimal.
        arrays[f"{name}.meaning"] = views.meaning.astype(np.float16)


def _get_views(arrays: Any, name: str) -> Views | None:
    from scipy.sparse import csr_matrix

    if f"{name}.data" not in arrays:
        return None
    ngrams = csr_matrix(
        (arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"]),
        shape=tuple(arrays[f"{name}.shape"]),
    )
    meaning = arrays[f"{name}.meaning"].astype(np.float32) if f"{name}.meaning" in arrays else None
    return Views(ngrams, meaning)


def _classifier() -> LogisticRegression:
    # Newton-CG: L-BFGS would keep ten pairs of weight-sized vectors (hundreds of MB with tens
    # of intents and thousands of n-grams); this keeps a few.
    return LogisticRegression(C=REGULARISATION, solver="newton-cg", max_iter=3000)


def _softmax(scores: Any) -> Any:
    shifted = np.exp(scores - scores.max())
    return shifted / shifted.sum()


def _scores(classifiers: Sequence[LogisticRegression], views: Views) -> Any:
    scores = classifiers[0].decision_function(views.ngrams)
    if len(classifiers) > 1 and views.meaning is not None:
        scores = scores + classifiers[1].decision_function(views.meaning)
    return np.atleast_2d(scores)


def _fit(views: Views, targets: Any) -> tuple[list[LogisticRegression], float]:
    """One classifier per view, and the temperature that makes held-out probabilities honest:
    fit on three quarters of the examples (stratified), choose T minimising the log-loss of
    softmax(scores / T) on the rest, then fit on everything starting from those weights. T is
    1.0 when there are too few examples per intent to hold any out."""
    from scipy.optimize import minimize_scalar
    from sklearn.model_selection import StratifiedShuffleSplit

    parts = [views.ngrams] + ([] if views.meaning is None else [views.meaning])
    counts = np.unique(targets, return_counts=True)[1]
    if counts.min() < 4:
        return [_classifier().fit(x, targets) for x in parts], 1.0
    split = StratifiedShuffleSplit(n_splits=1, test_size=0.25, random_state=0)
    fit_rows, held_rows = next(split.split(np.zeros(len(targets)), targets))
    classifiers = [_classifier().fit(x[fit_rows], targets[fit_rows]) for x in parts]
    scores = _scores(classifiers, views.rows(held_rows))
    index = {c: i for i, c in enumerate(classifiers[0].classes_)}
    truth = np.array([index[t] for t in targets[held_rows]])

    def loss(t: float) -> float:
        scaled = scores / t
        scaled -= scaled.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scaled).sum(axis=1))
        return float(np.mean(log_norm - scaled[np.arange(len(truth)), truth]))

    temperature = float(minimize_scalar(loss, bounds=(0.05, 20.0), method="bounded").x)
    for classifier, x in zip(classifiers, parts, strict=True):
        classifier.set_params(warm_start=True)
        classifier.fit(x, targets)
    return classifiers, temperature


def _document(article: ArticleSpec) -> str:
    return " ".join([article.title, *article.questions, article.body[:400]])


@dataclass(frozen=True)
class Evaluation:
    total: int
    accuracy: float
    macro_f1: float
    handoff_rate: float
    answered_accuracy: float
    in_scope_answered: float
    answerable_answered: float
    out_of_scope_handed_off: float
    always_human_handed_off: float
    p50_ms: float
    p95_ms: float
    build_seconds: float


def evaluate(
    train: Sequence[tuple[str, str]],
    test: Sequence[tuple[str, str]],
    thresholds: Thresholds = Thresholds(),
    *,
    embedder: Embedder | Literal["default"] | None = "default",
) -> Evaluation:
    """Train on ``train`` only, then judge each ``test`` text as the assistant would.

    - accuracy / macro-F1: of the best intent, where a best intent below ``threshold`` counts
      as predicting ``out_of_scope`` (the assistant would not claim to know it);
    - hand-off rate, and the accuracy of what was answered (its precision);
    - coverage: the share of in-scope queries answered, and of *answerable* ones (in scope and
      not an always-human intent, which is never answered by design);
    - the share of out-of-scope and of always-human queries handed off;
    - latency per query (the whole judgement: features, embedding, classifier, rules)."""
    from sklearn.metrics import f1_score

    if not test:
        raise InvalidInput("the test set is empty")
    started = time.perf_counter()
    model = Model(train, embedder=embedder)
    build_seconds = time.perf_counter() - started
    model.judge(test[0][0], thresholds)  # load lazily loaded weights outside the timings
    predicted, timings = [], []
    answered = answered_right = in_scope = answerable = 0
    oos_handed = human_handed = 0
    for text, label in test:
        started = time.perf_counter()
        candidates, reason = model.judge(text, thresholds)
        timings.append((time.perf_counter() - started) * 1000)
        top = candidates[0] if candidates else Candidate(OUT_OF_SCOPE, 0.0)
        predicted.append(top.intent if top.probability >= thresholds.threshold else OUT_OF_SCOPE)
        if reason is None:
            answered += 1
            answered_right += top.intent == label
            in_scope += label != OUT_OF_SCOPE
            answerable += label != OUT_OF_SCOPE and label not in ALWAYS_HUMAN
        else:
            oos_handed += label == OUT_OF_SCOPE
            human_handed += label in ALWAYS_HUMAN
    labels = [label for _, label in test]
    out_count = labels.count(OUT_OF_SCOPE)
    human_count = sum(label in ALWAYS_HUMAN for label in labels)
    in_count = len(test) - out_count
    answerable_count = in_count - human_count
    return Evaluation(
        total=len(test),
        accuracy=sum(p == t for p, t in zip(predicted, labels, strict=True)) / len(test),
        macro_f1=float(f1_score(labels, predicted, average="macro", zero_division=0)),
        handoff_rate=(len(test) - answered) / len(test),
        answered_accuracy=answered_right / answered if answered else 1.0,
        in_scope_answered=in_scope / in_count if in_count else 0.0,
        answerable_answered=answerable / answerable_count if answerable_count else 0.0,
        out_of_scope_handed_off=oos_handed / out_count if out_count else 1.0,
        always_human_handed_off=human_handed / human_count if human_count else 1.0,
        p50_ms=float(np.percentile(timings, 50)),
        p95_ms=float(np.percentile(timings, 95)),
        build_seconds=build_seconds,
    )
