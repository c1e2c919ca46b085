"""Community Q&A, the pure part: what a post is, the statuses of a question, the states of a
post, and the digest that the log carries instead of the text."""

from __future__ import annotations

import hashlib
from enum import StrEnum


class PostKind(StrEnum):
    QUESTION = "question"
    ANSWER = "answer"
    COMMENT = "comment"


class QuestionStatus(StrEnum):
    OPEN = "open"  # no visible answer yet
    ANSWERED = "answered"  # at least one visible answer
    ACCEPTED = "accepted"  # the asker (or staff) accepted one answer
    DUPLICATE = "duplicate"  # closed as a duplicate of another question (``duplicate_of``)
    PRIVATE = "private"  # moved to a private ticket of its author; only a neutral note stays


#: Questions that still take answers, votes and acceptances.
OPEN_STATUSES = frozenset({QuestionStatus.OPEN, QuestionStatus.ANSWERED, QuestionStatus.ACCEPTED})


class PostState(StrEnum):
    VISIBLE = "visible"
    HELD = "held"  # a new account's post, waiting for a moderator
    HIDDEN = "hidden"  # hidden by moderation, with a reason


def text_digest(*parts: str) -> str:
    """SHA-256 (hex) of the posted text as stored (secrets removed), the parts joined by a
    newline: the log commits to what was published without carrying it, so anyone holding
    the page can check that the text was not rewritten after the fact."""
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def question_status(*, accepted: bool, visible_answers: int) -> QuestionStatus:
    """The status of an open question, from what it holds."""
    if accepted:
        return QuestionStatus.ACCEPTED
    return QuestionStatus.ANSWERED if visible_answers else QuestionStatus.OPEN
