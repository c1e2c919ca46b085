"""Understanding a customer's message across Chinese, English and mixed text, and deciding
whether to answer it or hand it to a person.

Features are character n-grams (1-4, within word boundaries, TF-IDF with sublinear term
frequency): they need no word segmentation, so ``我的USDT提币TRC20还没到账`` and "my USDT
withdrawal" share the features that matter. A multinomial logistic regression over them gives
each intent a probability; the knowledge base is searched by cosine similarity in the same
space. The assistant answers only when the best intent is at least ``threshold`` likely and
``margin`` ahead of the next, the intent is not one a person always handles, an article for it
is public, and the customer did not ask for a person.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from proofdesk.assistant.kb import ArticleSpec
from proofdesk.errors import InvalidInput

#: Intents a person always handles, however sure the model is.
ALWAYS_HUMAN = frozenset({"hacked_account", "fraud_report", "legal_complaint", "large_refund"})
MAX_FEATURES = 60_000
#: The label of examples that are not about anything the assistant knows.
OUT_OF_SCOPE = "out_of_scope"
#: A customer asking for a person, in either language.
ASKS_FOR_HUMAN = re.compile(
    r"转人工|人工客服|人工服务|找人工|要人工|真人|活人|"
    r"(?<![a-z])(human|agent|real person|representative|operator|speak to (a|someone)|"
    r"talk to (a|someone))(?![a-z])",
    re.IGNORECASE,
)


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
    threshold: float = 0.45
    margin: float = 0.15

    def __post_init__(self) -> None:
        if not 0 <= self.threshold <= 1 or not 0 <= self.margin <= 1:
            raise InvalidInput("threshold and margin are between 0 and 1", field="threshold")


class Model:
    """An intent classifier trained on labelled examples, and a search over the articles."""

    def __init__(
        self, examples: Sequence[tuple[str, str]], articles: Sequence[ArticleSpec] = ()
    ) -> None:
        labels = {label for _, label in examples}
        if len(labels) < 2:
            raise InvalidInput("training needs examples of at least two intents")
        # At most 60,000 n-grams (the most frequent): the classifier's weights are one dense
        # row per intent, so this bounds memory with thousands of entries.
        self.vectorizer = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(1, 4),
            sublinear_tf=True,
            preprocessor=normalize,
            max_features=MAX_FEATURES,
            dtype=np.float32,
        )
        features = self.vectorizer.fit_transform([text for text, _ in examples])
        self.classifier = LogisticRegression(C=50.0, max_iter=3000)
        self.classifier.fit(features, [label for _, label in examples])
        self.intents: list[str] = [str(c) for c in self.classifier.classes_]
        self.articles = list(articles)
        self._documents = (
            self.vectorizer.transform([_document(a) for a in self.articles])
            if self.articles
            else None
        )

    @classmethod
    def from_articles(
        cls, articles: Sequence[ArticleSpec], extra: Iterable[tuple[str, str]] = ()
    ) -> Model:
        """Trained on every article's title and questions (labelled with its intent), plus
        ``extra`` labelled examples (agents' labels on solved tickets, out-of-scope samples)."""
        examples = [(q, a.intent) for a in articles for q in (a.title, *a.questions)]
        return cls([*examples, *extra], articles)

    def classify(self, text: str) -> list[Candidate]:
        probabilities = self.classifier.predict_proba(self.vectorizer.transform([text]))[0]
        order = np.argsort(probabilities)[::-1]
        return [Candidate(self.intents[i], float(probabilities[i])) for i in order]

    def search(
        self, text: str, k: int = 3, audience: str = "public"
    ) -> list[tuple[ArticleSpec, float]]:
        """The ``k`` articles most like ``text`` (cosine over the same features)."""
        if self._documents is None:
            return []
        query = self.vectorizer.transform([text])
        scores = (self._documents @ query.T).toarray().ravel()
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
        may answer, if it has an article)."""
        candidates = self.classify(text)
        top = candidates[0]
        second = candidates[1].probability if len(candidates) > 1 else 0.0
        if ASKS_FOR_HUMAN.search(normalize(text)):
            return candidates, "asked_for_human"
        if top.intent in ALWAYS_HUMAN:
            return candidates, "always_human"
        if top.intent == OUT_OF_SCOPE:
            return candidates, "out_of_scope"
        if top.probability < thresholds.threshold or top.probability - second < thresholds.margin:
            return candidates, "low_confidence"
        return candidates, None

    def respond(self, text: str, locale: str, thresholds: Thresholds = Thresholds()) -> Reply:
        candidates, reason = self.judge(text, thresholds)
        top = candidates[0]
        margin = top.probability - (candidates[1].probability if len(candidates) > 1 else 0.0)
        article = None if reason else self.article_for(top.intent, locale)
        if reason is None and article is None:
            reason = "no_article"
        if reason is not None:
            return Reply("handoff", reason, top.intent, top.probability, margin, None, candidates)
        return Reply("answer", None, top.intent, top.probability, margin, article, candidates)


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
    out_of_scope_handed_off: float
    p50_ms: float
    p95_ms: float


def evaluate(
    train: Sequence[tuple[str, str]],
    test: Sequence[tuple[str, str]],
    thresholds: Thresholds = Thresholds(),
) -> Evaluation:
    """Train on ``train`` only, then answer each ``test`` text: top-1 accuracy and macro-F1 of
    the intent (a hand-off for being out of scope counts as predicting ``out_of_scope``), the
    hand-off rate, how often what was answered was right, the share of in-scope queries
    answered, the share of out-of-scope ones handed off, and latency per query."""
    from sklearn.metrics import f1_score

    if not test:
        raise InvalidInput("the test set is empty")
    model = Model(train)
    predicted, timings = [], []
    answered = answered_right = in_scope_answered = oos_handed = 0
    for text, label in test:
        started = time.perf_counter()
        candidates, reason = model.judge(text, thresholds)
        timings.append((time.perf_counter() - started) * 1000)
        top = candidates[0]
        # What the assistant thinks it is: its best intent, or "out of scope" when it is not
        # even ``threshold`` sure.
        predicted.append(top.intent if top.probability >= thresholds.threshold else OUT_OF_SCOPE)
        if reason is None:
            answered += 1
            answered_right += top.intent == label
            in_scope_answered += label != OUT_OF_SCOPE
        else:
            oos_handed += label == OUT_OF_SCOPE
    handed = len(test) - answered
    labels = [label for _, label in test]
    out_count = labels.count(OUT_OF_SCOPE)
    in_count = len(test) - out_count
    return Evaluation(
        total=len(test),
        accuracy=sum(p == t for p, t in zip(predicted, labels, strict=True)) / len(test),
        macro_f1=float(f1_score(labels, predicted, average="macro", zero_division=0)),
        handoff_rate=handed / len(test),
        answered_accuracy=answered_right / answered if answered else 1.0,
        in_scope_answered=in_scope_answered / in_count if in_count else 0.0,
        out_of_scope_handed_off=oos_handed / out_count if out_count else 1.0,
        p50_ms=float(np.percentile(timings, 50)),
        p95_ms=float(np.percentile(timings, 95)),
    )
