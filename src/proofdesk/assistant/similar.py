"""What may already answer a text someone is typing: knowledge-base articles (the request
form's suggestions) and community questions that were answered (the ask form's). Both read the
organization's model (``assistant.understanding.Model``); neither writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

from proofdesk.assistant.kb import ArticleSpec

if TYPE_CHECKING:  # the model's module loads numpy and scikit-learn: not at start-up
    from proofdesk.assistant.understanding import Model

T = TypeVar("T")

#: How close a suggestion must be (cosine over both views, or the intent's probability).
THRESHOLD = 0.3


def article_suggestions(model: Model, text: str, locale: str, k: int = 3) -> list[ArticleSpec]:
    """The articles of the likeliest intents first (in the reader's language when there is
    one), then the closest by search."""
    found: list[ArticleSpec] = []
    for candidate in model.classify(text)[:2]:
        article = model.article_for(candidate.intent, locale)
        if candidate.probability >= THRESHOLD and article is not None:
            found.append(article)
    for article, score in model.search(text, k=6):
        if score >= THRESHOLD and article.locale == locale and article not in found:
            found.append(article)
    return found[:k]


def closest(
    model: Model, text: str, items: Sequence[T], texts: Sequence[str], k: int = 5
) -> list[tuple[T, float]]:
    """The ``k`` items whose texts are most like ``text``, at least :data:`THRESHOLD`."""
    if not items:
        return []
    scores = model.similarities(text, list(texts))
    ranked = sorted(zip(items, (float(s) for s in scores), strict=True), key=lambda p: -p[1])
    return [(item, score) for item, score in ranked if score >= THRESHOLD][:k]
