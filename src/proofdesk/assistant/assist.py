"""Helping agents and supervisors: suggested replies with their sources and similar solved
tickets for a ticket, and the assistant's numbers (containment, hand-offs, false containment).

Suggestions come from the same model the assistant answers with (its intents and its search
over the knowledge base, agents-only articles included); similar tickets are found in the same
feature space over the organization's solved tickets (subject and first message), so an
agent sees how a colleague solved the same problem last week.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from proofdesk.analytics.helpdesk import csat
from proofdesk.assistant.understanding import Model
from proofdesk.i18n import written_in
from proofdesk.store.models import AssistantTurn, Message, Ticket

#: How many recent solved tickets are compared with the one at hand.
SIMILAR_POOL = 2000


@dataclass(frozen=True)
class Suggestion:
    slug: str
    locale: str
    title: str
    body: str
    audience: str
    score: float
    intent: str


@dataclass(frozen=True)
class Similar:
    ticket_id: str
    number: int
    subject: str
    score: float


def _first_message(session: Session, ticket_id: str) -> str:
    body = session.scalar(
        select(Message.body).where(Message.ticket_id == ticket_id).order_by(Message.seq).limit(1)
    )
    return body or ""


def ticket_locale(session: Session, ticket: Ticket, fallback: str) -> str:
    """The language the ticket is written in: ``zh-CN`` when its subject or first message
    holds Chinese, else ``fallback`` (the customer's locale)."""
    return written_in(f"{ticket.subject}\n{_first_message(session, ticket.id)[:500]}", fallback)


def suggestions(
    session: Session, model: Model, ticket: Ticket, locale: str, k: int = 3
) -> tuple[list[Suggestion], list[Similar]]:
    """Articles to reply with (the most likely intents' articles first, then the closest by
    search), in ``locale`` (the ticket's, :func:`ticket_locale`) wherever the article has a
    version in it, and the most similar solved tickets of the organization."""
    text = f"{ticket.subject}\n{_first_message(session, ticket.id)}"
    found: dict[tuple[str, str], Suggestion] = {}
    for candidate in model.classify(text)[:2]:
        article = model.article_for(candidate.intent, locale)
        if article is not None and candidate.probability >= 0.2:
            found[(article.slug, article.locale)] = Suggestion(
                article.slug,
                article.locale,
                article.title,
                article.body,
                article.audience,
                round(candidate.probability, 4),
                article.intent,
            )
    for article, score in model.search(text, k=k + 2, audience="agents"):
        key = (article.slug, article.locale)
        translated = any(a.slug == article.slug and a.locale == locale for a in model.articles)
        wanted = article.locale == locale or (article.audience == "agents" and not translated)
        if key not in found and wanted:
            found[key] = Suggestion(
                article.slug,
                article.locale,
                article.title,
                article.body,
                article.audience,
                round(score, 4),
                article.intent,
            )
    pool = session.execute(
        select(Ticket.id, Ticket.number, Ticket.subject)
        .where(
            Ticket.organization_id == ticket.organization_id,
            Ticket.status.in_(("solved", "closed")),
            Ticket.id != ticket.id,
            Ticket.erased_at.is_(None),
        )
        .order_by(Ticket.updated_at.desc())
        .limit(SIMILAR_POOL)
    ).all()
    similar: list[Similar] = []
    if pool:
        texts = [f"{subject}\n{_first_message(session, tid)}" for tid, _, subject in pool]
        scores = model.similarities(text, texts)
        for i in np.argsort(scores)[::-1][:k]:
            if scores[i] <= 0.2:
                break
            tid, number, subject = pool[i]
            similar.append(Similar(tid, number, subject, round(float(scores[i]), 4)))
    return list(found.values())[:k], similar


@dataclass(frozen=True)
class Metrics:
    conversations: int
    turns: int
    answered_turns: int
    contained: int
    handed_off: int
    false_containment: int
    helpful: int
    unhelpful: int
    #: Ratings (1-5) of requests solved by people, rated in the range: all of them, and those
    #: that began as a hand-off from the assistant.
    human_ratings: list[int] = field(default_factory=list)
    handoff_ratings: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        total = self.conversations or 1
        answered = self.helpful + self.unhelpful
        return {
            "conversations": self.conversations,
            "turns": self.turns,
            "answered_turns": self.answered_turns,
            "containment_rate": round(self.contained / total, 4),
            "handoff_rate": round(self.handed_off / total, 4),
            "false_containment_rate": round(self.false_containment / total, 4),
            "helpful": self.helpful,
            "unhelpful": self.unhelpful,
            # CSAT is the share of satisfied answers: "yes, this helped" for the assistant's
            # answers, a rating of 4 or 5 for people's.
            "csat": {
                "automatic": {
                    "responses": answered,
                    "satisfied_rate": round(self.helpful / answered, 4) if answered else None,
                },
                "human": csat(self.human_ratings),
                "human_after_handoff": csat(self.handoff_ratings),
            },
        }


def metrics(session: Session, organization_id: str, start: datetime, end: datetime) -> Metrics:
    """Over the conversations begun in ``[start, end)``: contained (solved without a person),
    handed off, and falsely contained — answered without a hand-off, yet the customer opened a
    request of their own within a day (hand-offs of other conversations aside)."""
    rows = session.execute(
        select(
            AssistantTurn.conversation_id,
            func.min(AssistantTurn.created_at),
            func.max(AssistantTurn.created_at),
            func.count(AssistantTurn.id),
            func.max(AssistantTurn.ticket_id),
            func.min(AssistantTurn.customer_id),
        )
        .where(AssistantTurn.organization_id == organization_id)
        .group_by(AssistantTurn.conversation_id)
        .having(func.min(AssistantTurn.created_at) >= start)
        .having(func.min(AssistantTurn.created_at) < end)
    ).all()
    ids = [r[0] for r in rows]
    turns = (
        session.execute(
            select(AssistantTurn.kind, AssistantTurn.helpful).where(
                AssistantTurn.conversation_id.in_(ids)
            )
        ).all()
        if ids
        else []
    )
    handed = false = 0
    handed_tickets = select(AssistantTurn.ticket_id).where(AssistantTurn.ticket_id.is_not(None))
    began_by_customer: dict[str, list[datetime]] = {}
    for row in rows:
        began_by_customer.setdefault(row[5], []).append(row[1])
    for _conversation, began, last, _count, ticket_id, customer_id in rows:
        if ticket_id is not None:
            handed += 1
            continue
        # A request of the customer's own within a day, before their next conversation (a
        # later conversation's hand-off is not one).
        following = [b for b in began_by_customer[customer_id] if b > began]
        until = min([last + timedelta(days=1), *following])
        later = session.scalar(
            select(func.count(Ticket.id)).where(
                Ticket.requester_id == customer_id,
                Ticket.created_at >= _stamp(last),
                Ticket.created_at < _stamp(until),
                Ticket.id.not_in(handed_tickets),
            )
        )
        if later:
            false += 1
    unhelpful = sum(1 for _, helpful in turns if helpful is False)
    rated = session.execute(
        select(Ticket.rating, Ticket.id.in_(handed_tickets)).where(
            Ticket.organization_id == organization_id,
            Ticket.rating.is_not(None),
            Ticket.rated_at >= _stamp(start),
            Ticket.rated_at < _stamp(end),
        )
    ).all()
    return Metrics(
        conversations=len(rows),
        turns=len(turns),
        answered_turns=sum(1 for kind, _ in turns if kind == "answer"),
        contained=len(rows) - handed - false,
        handed_off=handed,
        false_containment=false,
        helpful=sum(1 for _, helpful in turns if helpful is True),
        unhelpful=unhelpful,
        human_ratings=[r for r, _ in rated if r is not None],
        handoff_ratings=[r for r, from_handoff in rated if r is not None and from_handoff],
    )


def _stamp(moment: datetime) -> str:
    from proofdesk.canonical import format_time, stored_utc

    return format_time(stored_utc(moment))


@dataclass(frozen=True)
class Cluster:
    label: str
    intent: str | None
    volume: int
    #: Tickets in the second half of the window minus the first half.
    trend: int
    terms: list[str]
    ticket_ids: list[str]
    draft: dict[str, Any]


#: Chinese function words and fillers that label nothing.
_CHINESE_STOP = frozenset(
    [
        "我的",
        "你们",
        "我们",
        "他们",
        "这个",
        "那个",
        "什么",
        "怎么",
        "怎么办",
        "为什么",
        "已经",
        "可以",
        "能不能",
        "一直",
        "还是",
        "但是",
        "因为",
        "所以",
        "如果",
        "请问",
        "帮忙",
        "帮我",
        "一下",
        "现在",
        "时候",
        "没有",
        "还没",
        "不是",
        "就是",
        "谢谢",
        "您好",
        "你好",
    ]
)
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_ASCII_WORD = re.compile(r"[a-z][a-z0-9]{2,}")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "you",
        "your",
        "with",
        "this",
        "that",
        "have",
        "has",
        "not",
        "but",
        "are",
        "was",
        "can",
        "how",
        "what",
        "when",
        "why",
        "please",
        "help",
        "still",
        "from",
        "into",
        "been",
        "after",
        "hours",
        "hour",
        "its",
        "our",
    ]
)


def _terms(texts: list[str], k: int = 5) -> list[str]:
    """The words most of a cluster's texts use: English words, and Chinese words as jieba
    segments them (two characters or more, without function words)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)  # not "Building prefix dict…" on every first use
    counts: dict[str, int] = {}
    for text in texts:
        seen: set[str] = set()
        lowered = text.lower()
        seen.update(w for w in _ASCII_WORD.findall(lowered) if w not in _STOP)
        for run in _CJK_RUN.findall(text):
            seen.update(w for w in jieba.lcut(run) if len(w) >= 2 and w not in _CHINESE_STOP)
        for term in seen:
            counts[term] = counts.get(term, 0) + 1
    return [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]


def top_issues(
    session: Session,
    model: Model,
    organization_id: str,
    since: datetime,
    until: datetime,
    clusters: int = 8,
) -> list[Cluster]:
    """Clusters of the tickets opened in ``[since, until)``, largest first: labelled by the
    intent most of them have and their top terms, with volume, trend, and a draft FAQ entry
    from the best agent reply (the longest public staff reply of a solved ticket nearest the
    cluster's centre)."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import TruncatedSVD

    rows = session.execute(
        select(Ticket.id, Ticket.subject, Ticket.created_at, Ticket.status)
        .where(
            Ticket.organization_id == organization_id,
            Ticket.created_at >= _stamp(since),
            Ticket.created_at < _stamp(until),
            Ticket.erased_at.is_(None),
        )
        .order_by(Ticket.created_at)
        .limit(5000)
    ).all()
    if len(rows) < 2:
        return []
    texts = [f"{subject}\n{_first_message(session, tid)}" for tid, subject, _, _ in rows]
    # Points: the sentence embeddings (meaning, across languages) when the model has them,
    # else the n-gram TF-IDF reduced by SVD.
    embedded = model.embed(texts)
    if embedded is not None:
        reduced = embedded.astype(np.float64)
    else:
        features = model.vectorizer.transform(texts)
        components = min(50, features.shape[1] - 1, len(rows) - 1)
        reduced = (
            TruncatedSVD(n_components=components, random_state=0).fit_transform(features)
            if components >= 2
            else features.toarray()
        )
    norms = np.linalg.norm(reduced, axis=1, keepdims=True)
    reduced = reduced / np.where(norms == 0, 1, norms)
    # Never more clusters than distinct tickets (identical texts are one point).
    distinct = len(np.unique(np.round(reduced, 6), axis=0))
    k = max(1, min(clusters, len(rows) // 2, distinct))
    kmeans = KMeans(n_clusters=k, n_init=4, random_state=0).fit(reduced)
    middle = since + (until - since) / 2
    out = []
    for c in range(k):
        members = [i for i, label in enumerate(kmeans.labels_) if label == c]
        if not members:
            continue
        intents = [model.classify(texts[i])[0] for i in members]
        sure = [cand.intent for cand in intents if cand.probability >= 0.45]
        intent = max(set(sure), key=sure.count) if sure else None
        terms = _terms([texts[i] for i in members])
        recent = sum(1 for i in members if _created(rows[i][2]) >= middle)
        distance = np.linalg.norm(reduced[members] - kmeans.cluster_centers_[c], axis=1)
        ordered = [members[j] for j in np.argsort(distance)]
        out.append(
            Cluster(
                label=(intent.replace("_", " ") if intent else " / ".join(terms[:3])) or "other",
                intent=intent,
                volume=len(members),
                trend=recent - (len(members) - recent),
                terms=terms,
                ticket_ids=[rows[i][0] for i in ordered[:20]],
                draft=_draft(session, [rows[i] for i in ordered], terms),
            )
        )
    return sorted(out, key=lambda cl: -cl.volume)


def _created(text: str) -> datetime:
    from proofdesk.canonical import parse_time

    return parse_time(text)


def _draft(session: Session, rows: list[Any], terms: list[str]) -> dict[str, Any]:
    """A FAQ entry to review: the cluster's typical questions and its best agent answer."""
    questions = [subject for _, subject, _, _ in rows[:5]]
    answer = None
    for tid, _subject, _created_at, status in rows:
        if status not in ("solved", "closed"):
            continue
        replies = session.scalars(
            select(Message.body).where(
                Message.ticket_id == tid,
                Message.visibility == "public",
                Message.author_role.in_(("agent", "supervisor", "admin")),
            )
        ).all()
        if replies:
            answer = max(replies, key=len)
            break
    return {
        "title": questions[0] if questions else " ".join(terms),
        "questions": questions,
        "answer": answer,
        "tags": terms[:3],
    }
