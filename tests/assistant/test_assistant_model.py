"""The assistant's model: the sentence encoder beside the n-grams, stored vectors rebuilt
incrementally, calibrated confidence, and the hand-offs decided on the model's reply (a large
refund, two answers that did not settle it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from proofdesk.actions.kb import do_save_article
from proofdesk.assistant import kb
from proofdesk.assistant.conversation import Models
from proofdesk.assistant.embedding import UniversalSentenceEncoder, Vectors, default_embedder
from proofdesk.assistant.understanding import Model, Thresholds
from proofdesk.store.db import Database
from proofdesk.store.models import AssistantVector
from tests.support.assistant import API, load_kb, say
from tests.support.tenants import Tenant

ENGLISH_ONLY = [
    ("my withdrawal is still pending", "withdrawal_pending"),
    ("withdrawal has not arrived in my wallet", "withdrawal_pending"),
    ("why is my withdrawal taking so long", "withdrawal_pending"),
    ("the coins I withdrew are not there yet", "withdrawal_pending"),
    ("how do I reset two-factor authentication", "reset_2fa"),
    ("I lost the phone with my authenticator app", "reset_2fa"),
    ("my 2FA codes are rejected", "reset_2fa"),
    ("I can no longer log in because of the verification code", "reset_2fa"),
    ("what are your trading fees", "trading_fees"),
    ("how much commission is charged per trade", "trading_fees"),
    ("maker and taker fee rates", "trading_fees"),
    ("is there a discount on trading fees", "trading_fees"),
]


class Counting:
    """The real encoder, counting the texts it is asked to encode."""

    name = UniversalSentenceEncoder.name
    dimension = UniversalSentenceEncoder.dimension

    def __init__(self) -> None:
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str], *, remember: bool = False) -> Vectors:
        self.texts.extend(texts)
        return default_embedder().encode(texts, remember=remember)


def test_english_examples_answer_chinese_questions_through_the_encoder() -> None:
    """An entry written in one language answers the other: the sentence encoder places a
    question and its translation together; character n-grams alone cannot."""
    chinese = [
        ("我的提现一直没有到账", "withdrawal_pending"),
        ("手机丢了，谷歌验证器没了", "reset_2fa"),
        ("交易手续费是怎么收的", "trading_fees"),
    ]
    hybrid = Model(ENGLISH_ONLY)
    assert [hybrid.classify(text)[0].intent for text, _ in chinese] == [
        label for _, label in chinese
    ]
    ngrams = Model(ENGLISH_ONLY, embedder=None)
    assert [ngrams.classify(text)[0].intent for text, _ in chinese] != [
        label for _, label in chinese
    ]


def test_confidence_is_a_calibrated_probability() -> None:
    model = Model(ENGLISH_ONLY * 2)
    assert 0.05 <= model.temperature <= 20
    candidates = model.classify("withdrawal pending")
    assert abs(sum(c.probability for c in candidates) - 1) < 1e-6
    assert candidates[0].intent == "withdrawal_pending" and candidates[0].probability > 0.5
    # Too few examples per intent to hold a quarter out: no temperature is fitted.
    assert Model(ENGLISH_ONLY[:1] + ENGLISH_ONLY[4:5]).temperature == 1.0


def test_a_rebuilt_model_encodes_only_what_changed(db: Database, tenant: Tenant) -> None:
    load_kb(db, tenant)
    counting = Counting()
    models = Models(Thresholds(), counting)  # type: ignore[arg-type]
    first = models.of(db, tenant.org_id)
    encoded = len(counting.texts)
    assert encoded > 100
    with db.reader() as session:
        stored = session.scalar(
            select(func.count()).where(AssistantVector.organization_id == tenant.org_id)
        )
    assert stored == len(set(counting.texts))
    assert models.of(db, tenant.org_id) is first and len(counting.texts) == encoded
    # A fresh process (a new Models) finds the stored vectors and encodes nothing.
    again = Counting()
    Models(Thresholds(), again).of(db, tenant.org_id)  # type: ignore[arg-type]
    assert again.texts == []
    # Editing one article re-encodes its new texts only, and forgets the old ones.
    with db.writer() as session:
        spec = next(s for s in map(kb.to_spec, kb.articles(session, tenant.org_id)))
        edited = replace(spec, questions=[*spec.questions, "a brand new paraphrase"])
        do_save_article(session, None, tenant.org_id, edited)
    counting.texts.clear()
    rebuilt = models.of(db, tenant.org_id)
    assert rebuilt is not first
    assert "a brand new paraphrase" in counting.texts and len(counting.texts) == 2  # + document
    with db.reader() as session:
        after = session.scalar(
            select(func.count()).where(AssistantVector.organization_id == tenant.org_id)
        )
    assert after == stored + 1  # the article's old document vector is gone, two new ones


def test_stored_vectors_are_the_encoders_own() -> None:
    texts = ["充值没到账", "deposit not credited", ""]
    encoder = default_embedder()
    vectors = encoder.encode(texts, remember=True)
    assert vectors.shape == (3, 512) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1, atol=1e-3)
    assert float(vectors[0] @ vectors[1]) > 0.5  # the same request in two languages
    assert np.allclose(encoder.encode([texts[1], "交易手续费"])[0], vectors[1], atol=1e-5)


def test_a_large_refund_goes_to_a_person(client: TestClient, db: Database, tenant: Tenant) -> None:
    load_kb(db, tenant)
    small = say(client, tenant, "how do I get a refund of 20 USDT")
    assert (small["kind"], small["intent"]) == ("answer", "refund")
    large = say(client, tenant, "我要退款 5,000 USDT，订单被取消了")
    assert (large["kind"], large["reason"], large["intent"]) == (
        "handoff",
        "always_human",
        "large_refund",
    )
    ticket = client.get(f"{API}/tickets/{large['ticket_id']}", headers=tenant.agent.headers)
    assert ticket.json()["kind"] == "refund_request"
    assert "large-refund" in ticket.json()["tags"]


def test_two_answers_that_did_not_settle_it_go_to_a_person(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    load_kb(db, tenant)
    first = say(client, tenant, "how long does KYC take")
    conversation: dict[str, Any] = {"conversation_id": first["conversation_id"]}
    second = say(
        client, tenant, "my KYC was rejected, what documents do you accept", **conversation
    )
    assert (first["kind"], second["kind"]) == ("answer", "answer")
    third = say(client, tenant, "KYC 审核还是没通过", **conversation)
    assert (third["kind"], third["reason"]) == ("handoff", "repeated")
    assert third["ticket_id"] is not None


@pytest.mark.parametrize(
    "text", ["转人工", "请帮我转接人工客服", "I want to talk to a human please", "agent"]
)
def test_a_bare_request_for_a_person_has_no_intent(text: str) -> None:
    model = Model(ENGLISH_ONLY)
    reply = model.respond(text, "en")
    assert (reply.kind, reply.reason, reply.intent) == ("handoff", "asked_for_human", None)
    said = model.respond(f"{text}, my withdrawal is still pending", "en")
    assert (said.reason, said.intent) == ("asked_for_human", "withdrawal_pending")
