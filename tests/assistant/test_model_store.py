"""The assistant's models stored and rebuilt in the background: requests keep the last model
while the worker builds the next, a starting process loads the stored one instead of
training, and a stored model answers exactly as the one that was built."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from sqlalchemy import select

from proofdesk.actions.kb import do_save_article
from proofdesk.assistant import kb
from proofdesk.assistant.conversation import Models
from proofdesk.assistant.understanding import Model, Thresholds
from proofdesk.errors import InvalidInput
from proofdesk.store.db import Database
from proofdesk.store.models import AssistantModel
from proofdesk.workers.assistant import ModelRebuilder
from tests.support.assistant import load_kb
from tests.support.tenants import Tenant

QUERIES = ["my withdrawal is still pending", "红烧肉怎么做", "我的充值没到账", "I was scammed"]


def _add_question(db: Database, tenant: Tenant, question: str) -> None:
    with db.writer() as session:
        spec = next(s for s in map(kb.to_spec, kb.articles(session, tenant.org_id)))
        do_save_article(
            session, None, tenant.org_id, replace(spec, questions=[*spec.questions, question])
        )


def test_requests_keep_the_last_model_until_the_worker_swaps_in_the_new_one(
    db: Database, tenant: Tenant
) -> None:
    load_kb(db, tenant)
    models = Models(Thresholds(), None, background=True)
    worker = ModelRebuilder(db, models, interval=0)
    first = models.of(db, tenant.org_id)  # nothing built yet: built on the spot, and stored
    assert not models.stale(db, tenant.org_id)
    worker.step()  # (other tests' organizations may share the database)
    assert models.of(db, tenant.org_id) is first
    _add_question(db, tenant, "a brand new paraphrase")
    assert models.stale(db, tenant.org_id)
    assert models.of(db, tenant.org_id) is first  # the change does not make the request wait
    assert worker.step() >= 1
    second = models.of(db, tenant.org_id)
    assert second is not first and not models.stale(db, tenant.org_id)
    assert any("a brand new paraphrase" in a.questions for a in second.articles)
    with db.reader() as session:
        assert (
            session.scalar(
                select(AssistantModel.encoder).where(
                    AssistantModel.organization_id == tenant.org_id
                )
            )
            == "none"
        )


def test_a_starting_process_loads_the_stored_model_instead_of_training(
    db: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_kb(db, tenant)
    built = Models(Thresholds(), None).of(db, tenant.org_id)

    def no_training(*_: object, **__: object) -> Model:
        raise AssertionError("trained instead of loading")

    monkeypatch.setattr(Model, "from_articles", no_training)
    loaded = Models(Thresholds(), None).of(db, tenant.org_id)
    assert loaded is not built
    for text in QUERIES:
        assert loaded.judge(text) == built.judge(text)
    assert loaded.open_set == built.open_set
    # A change with no worker running (background off) is rebuilt on the spot.
    monkeypatch.undo()
    _add_question(db, tenant, "another way to ask")
    models = Models(Thresholds(), None)
    assert any("another way to ask" in a.questions for a in models.of(db, tenant.org_id).articles)


def test_a_stored_model_is_data_not_code() -> None:
    with pytest.raises(InvalidInput):
        Model.from_bytes(b"\x80\x04K\x01.", None)  # a pickle is refused
    with pytest.raises(InvalidInput):
        Model.from_bytes(b"not a model", None)


def test_two_workers_building_at_once_store_one_current_model(db: Database, tenant: Tenant) -> None:
    load_kb(db, tenant)
    workers = [ModelRebuilder(db, Models(Thresholds(), None), interval=0) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        rebuilt = list(pool.map(lambda w: w.step(), workers))
    assert sum(rebuilt) >= 1
    with db.reader() as session:
        rows = session.scalars(
            select(AssistantModel).where(AssistantModel.organization_id == tenant.org_id)
        ).all()
    assert len(rows) == 1
    assert not any(w.models.stale(db, tenant.org_id) for w in workers)
