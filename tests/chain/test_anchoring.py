"""Anchoring on the embedded chain: policy, outbox recovery, receipts, restart, API and CLI.
(The same service against a real node, with the node failing, is test_anchoring_faults.py.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from proofdesk.app.factory import create_app
from proofdesk.canonical import parse_time
from proofdesk.chain.base import TxReverted, contract, transact
from proofdesk.chain.embedded import EmbeddedChain
from proofdesk.chain.verify import check_anchor
from proofdesk.cli.main import app as cli
from proofdesk.verify.receipt import verify_receipt
from tests.support import paths
from tests.support.chain import SmallLog, anchored_events
from tests.support.environment import fresh_pg_database


@pytest.fixture(params=["sqlite", "pg"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SmallLog]:
    """A deployment of its own, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        small = SmallLog.create(tmp_path / "data")
        yield small
        small.db.dispose()
        return
    with fresh_pg_database("proofdesk_anchor") as url:
        small = SmallLog.create(tmp_path / "data", database_url=url)
        yield small
        small.db.dispose()


@pytest.fixture
def chain(log: SmallLog) -> Any:
    c = EmbeddedChain(log.settings.embedded_chain_path)
    yield c
    c.close()


def test_policy_anchors_after_n_leaves_or_t_seconds(log: SmallLog, chain: Any) -> None:
    now = [datetime.now(UTC)]
    anchorer = log.anchorer(chain, every_leaves=10, every_seconds=60, now=lambda: now[0])
    assert anchorer.tick() is None  # an empty log has nothing to anchor
    first = log.grow(2)  # a few leaves, a fresh checkpoint: neither threshold reached
    assert first < 10
    assert anchorer.tick() is None
    # 61 s after the checkpoint was signed (counted from now: growing takes a while on a busy
    # machine, and the checkpoint's time is the real clock's).
    now[0] = datetime.now(UTC) + timedelta(seconds=61)
    row = anchorer.tick()
    assert row is not None and row.status == "confirmed" and row.tree_size == first
    size = log.grow(5)
    assert size - first >= 10
    row = anchorer.tick()  # 10 waiting leaves: due at once
    assert row is not None and row.tree_size == size
    assert anchorer.tick() is None
    assert [s for s, _ in anchored_events(chain, anchorer.contract_address() or "")] == [
        first,
        size,
    ]
    # Batching: one anchor covers every event since the last one.
    assert all(r.gas_used and r.gas_used < 60_000 for r in log.anchors())


def test_a_crash_after_the_outbox_write_resubmits_the_same_transaction(
    log: SmallLog, chain: Any
) -> None:
    size = log.grow(2)
    anchorer = log.anchorer(chain)
    address = anchorer.contract_address()
    assert address is not None
    signed = log.outbox_only(anchorer)  # committed; then the process died
    # A new process (new anchorer) finds the row and sends the same bytes.
    again = log.anchorer(chain)
    assert again.tick() is not None
    [after] = log.anchors()
    assert (after.status, after.tx_hash) == ("confirmed", signed.tx_hash)
    assert anchored_events(chain, address) == [(size, signed.tx_hash)]


def test_a_crash_after_broadcast_records_the_mined_transaction(log: SmallLog, chain: Any) -> None:
    log.grow(2)
    anchorer = log.anchorer(chain)
    first = anchorer.tick(force=True)
    assert first is not None
    # Pretend the process died before it learnt the outcome.
    anchorer._update(first.id, status="sent", block_number=None, block_hash=None)
    log.anchorer(chain).tick()
    [row] = log.anchors()
    assert row.status == "confirmed" and row.tx_hash == first.tx_hash
    assert len(anchored_events(chain, anchorer.contract_address() or "")) == 1


def test_an_anchor_made_by_another_writer_is_adopted_not_repeated(
    log: SmallLog, chain: Any
) -> None:
    size = log.grow(2)
    anchorer = log.anchorer(chain)
    address = anchorer.contract_address()
    assert address is not None
    other = transact(chain, log.anchor_call(chain, address))
    row = anchorer.tick(force=True)
    assert row is not None and row.status == "confirmed"
    assert row.tx_hash == other["transactionHash"].to_0x_hex()
    assert len(anchored_events(chain, address)) == 1
    # A different root at an anchored size is refused, not adopted.
    with pytest.raises(TxReverted, match="size not above"):
        transact(
            chain,
            contract(chain, "CheckpointAnchor", address).functions.anchor(
                log.origin, size, b"\x00" * 32
            ),
        )


def test_receipts_carry_the_anchor_and_verify_after_a_restart(log: SmallLog, chain: Any) -> None:
    log.grow(3)
    anchorer = log.anchorer(chain)
    anchorer.tick(force=True)
    size = log.grow(2)
    # A ticket wholly inside the anchored tree gets the anchored checkpoint itself...
    covered = log.receipt(log.tickets[0])
    assert covered["anchor"]["tree_size"] == 6 and covered["anchor"]["consistency_proof"] == []
    assert verify_receipt(covered).ok
    # ...a newer one gets a newer checkpoint and the proof that it extends the anchored tree.
    receipt = log.receipt(log.tickets[-1])
    anchor = receipt["anchor"]
    assert anchor["tree_size"] == 6 and anchor["chain_id"] == chain.chain_id
    assert anchor["consistency_proof"] and size > 6
    report = verify_receipt(receipt)
    assert report.ok, report.failures
    assert report.anchored_size == 6
    schema = json.loads((paths.ROOT / "docs/receipt.schema.json").read_text())
    for doc in (covered, receipt):
        assert [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(doc)] == []
    chain.close()
    # Yesterday's anchor, today: a new process opens the same chain file.
    reopened = EmbeddedChain(log.settings.embedded_chain_path)
    try:
        findings = check_anchor(reopened, anchor, log.origin)
        assert [ok for _, ok, _ in findings] == [True, True], findings
        assert "CheckpointAnchor" in findings[0][2]
        forged = dict(anchor, root="00" * 32)
        assert not verify_receipt(dict(receipt, anchor=forged)).ok
        assert not all(ok for _, ok, _ in check_anchor(reopened, forged, log.origin))
        wrong_tx = dict(anchor, tx_hash="0x" + "11" * 32)
        assert not all(ok for _, ok, _ in check_anchor(reopened, wrong_tx, log.origin))
        assert not all(ok for _, ok, _ in check_anchor(reopened, anchor, "other.example/log"))
        assert not check_anchor(reopened, dict(anchor, chain_id=1), log.origin)[0][1]
        assert not check_anchor(reopened, {"tree_size": "x"}, log.origin)[0][1]
    finally:
        reopened.close()


def test_api_lists_anchors_and_chain_status(log: SmallLog, chain: Any) -> None:
    log.grow(2)
    log.anchorer(chain).tick(force=True)
    chain.close()
    with TestClient(create_app(log.settings, log.db), raise_server_exceptions=False) as client:
        body = client.get("/api/v1/log/anchors").json()
        [item] = body["anchors"]
        assert item["status"] == "confirmed" and item["tree_size"] == 4
        mined, sent = parse_time(item["block_time"]), parse_time(item["created_at"])
        assert abs((mined - sent).total_seconds()) < 5  # the dev chain's clock is the wall's
        assert body["next_before"] is None
        status = client.get("/api/v1/chain").json()
        assert status["development"] is True and status["anchored_size"] == 4
        assert status["contract_live"] is True and status["problem"] is None
        assert str(log.settings.data_dir) not in status["description"]  # no server paths
        for query in ("limit=0", "limit=x", "status=bogus", "before=0"):
            response = client.get(f"/api/v1/log/anchors?{query}")
            assert response.status_code == 422, query
            assert response.json()["error"]["code"]


def test_cli_deploy_status_anchor_and_verify(
    log: SmallLog, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("PROOFDESK_DATA_DIR", str(log.settings.data_dir))
    monkeypatch.setenv("PROOFDESK_DATABASE_URL", log.settings.effective_database_url)
    runner = CliRunner()
    deployed = runner.invoke(cli, ["chain", "deploy"])
    assert deployed.exit_code == 0, deployed.output
    assert "RewardToken" in deployed.output and "development chain" in deployed.output
    again = runner.invoke(cli, ["chain", "deploy"])  # idempotent: same addresses
    assert again.exit_code == 0 and deployed.output == again.output
    log.grow(2)
    anchored = runner.invoke(cli, ["anchor", "now"])
    assert anchored.exit_code == 0 and "confirmed" in anchored.output, anchored.output
    nothing = runner.invoke(cli, ["anchor", "now"])
    assert "nothing to anchor" in nothing.output
    status = runner.invoke(cli, ["chain", "status"])
    assert status.exit_code == 0 and "anchored (confirmed) 4" in status.output, status.output
    listed = runner.invoke(cli, ["anchor", "list"])
    assert "confirmed" in listed.output
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(log.receipt()))
    chain_file = str(log.settings.embedded_chain_path)
    ok = runner.invoke(cli, ["verify", str(path), "--embedded-chain", chain_file])
    assert ok.exit_code == 0, ok.output
    assert "anchored at size 4" in ok.output and "development chain" in ok.output
    forged = json.loads(path.read_text())
    forged["anchor"]["tx_hash"] = "0x" + "22" * 32
    path.write_text(json.dumps(forged))
    bad = runner.invoke(cli, ["verify", str(path), "--embedded-chain", chain_file])
    assert bad.exit_code == 1 and "not on" in bad.output
    missing = runner.invoke(cli, ["verify", str(path), "--embedded-chain", str(tmp_path / "no")])
    assert missing.exit_code == 2
    # A file that is not a chain is refused, and left exactly as it was.
    database = log.settings.data_dir / "proofdesk.db"
    if database.is_file():
        before = database.read_bytes()
        other = runner.invoke(cli, ["verify", str(path), "--embedded-chain", str(database)])
        assert other.exit_code == 2 and "not an embedded chain" in other.output
        assert database.read_bytes() == before
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    junk = runner.invoke(cli, ["verify", str(path), "--embedded-chain", str(text)])
    assert junk.exit_code == 2 and text.read_text() == "hello"
    bad_url = runner.invoke(cli, ["verify", str(path), "--rpc", "notaurl"])
    assert bad_url.exit_code == 2 and "http" in bad_url.output
    unknown = runner.invoke(cli, ["chain", "deploy", "--contract", "Nope"])
    assert unknown.exit_code == 2 and "unknown Nope" in unknown.output
