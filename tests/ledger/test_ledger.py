"""The log as its users see it: checkpoints, proofs, receipts, and `verify` on both sides of
the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from proofdesk.cli.main import app
from proofdesk.ledger import checkpoints
from proofdesk.ledger.audit import audit
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.verify.merkle import leaf_hash, verify_consistency, verify_inclusion
from proofdesk.verify.note import Checkpoint, Signer, Verifier, open_checkpoint, sign_note
from proofdesk.verify.receipt import verify_receipt
from tests.support import paths
from tests.support.tenants import Tenant, new_ticket

API = "/api/v1"
SECRET_NOTE = "internal: customer flagged by risk team, do not refund yet"


def log_key(client: TestClient) -> Verifier:
    r = client.get(f"{API}/log/key")
    assert r.status_code == 200
    assert client.get("/.well-known/proofdesk/log-key").text == r.text
    return Verifier.parse(r.text)


def checkpoint(client: TestClient) -> Checkpoint:
    r = client.get(f"{API}/log/checkpoint")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    return open_checkpoint(r.text, log_key(client))


def sign_now(db: Database, settings: Settings) -> None:
    with db.writer() as session:
        checkpoints.issue(session, checkpoints.signer_for(settings))


@pytest.fixture
def history(client: TestClient, tenant: Tenant) -> str:
    """A ticket with a public exchange and an internal note; returns its id."""
    ticket = new_ticket(client, tenant.customer)
    tid = str(ticket["id"])
    for who, body, visibility in (
        (tenant.agent, "We are checking the TRC20 transfer.", "public"),
        (tenant.agent, SECRET_NOTE, "internal"),
        (tenant.customer, "谢谢，交易哈希已附上。", "public"),
    ):
        r = client.post(
            f"{API}/tickets/{tid}/messages",
            json={"body": body, "visibility": visibility},
            headers=who.headers,
        )
        assert r.status_code == 201, r.text
    return tid


def receipt(client: TestClient, member: Any, tid: str, **params: int) -> dict[str, Any]:
    r = client.get(f"{API}/tickets/{tid}/receipt", params=params, headers=member.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def revealed(report: Any) -> list[Any]:
    return [value for _, _, value in report.revealed]


def test_customer_receipt_verifies_and_hides_internal_notes(
    client: TestClient, tenant: Tenant, history: str
) -> None:
    key = log_key(client)
    doc = receipt(client, tenant.customer, history)
    report = verify_receipt(doc, key=key)
    assert report.ok, report.failures
    types = [json.loads(e["leaf"])["type"] for e in doc["entries"]]
    assert types[0] == "ticket.created"
    assert types.count("message.added") == 4  # the opening message, two replies, the note
    # The note's leaf is there (the chain needs it), its content is not.
    assert SECRET_NOTE not in json.dumps(doc, ensure_ascii=False)
    hidden = [e for e in doc["entries"] if not e["revealed"]]
    assert [json.loads(e["leaf"])["type"] for e in hidden] == ["message.added"]
    assert "谢谢，交易哈希已附上。" in revealed(report)

    staff = verify_receipt(receipt(client, tenant.agent, history), key=key)
    assert staff.ok, staff.failures
    assert SECRET_NOTE in revealed(staff)


def test_receipt_of_another_tenant_or_customer_is_not_found(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, history: str
) -> None:
    for member in (tenant.customer2, other_tenant.admin, other_tenant.customer):
        r = client.get(f"{API}/tickets/{history}/receipt", headers=member.headers)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"


def corrupt(doc: dict[str, Any], how: str) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    entries = doc["entries"]
    if how == "value":
        opening = next(e for e in entries if "body" in e["revealed"])["revealed"]["body"]
        opening["value"] = json.dumps("We never received anything.")
    elif how == "drop":
        del entries[1]
    elif how == "swap":
        entries[1], entries[3] = entries[3], entries[1]
    elif how == "proof":
        h = entries[0]["inclusion_proof"][0]
        entries[0]["inclusion_proof"][0] = ("0" if h[0] != "0" else "1") + h[1:]
    elif how == "index":
        entries[2]["index"] += 1
    elif how == "leaf":
        entries[3]["leaf"] = entries[3]["leaf"].replace('"ticket_seq":4', '"ticket_seq":9')
    elif how == "checkpoint":
        lines = doc["checkpoint"].split("\n")
        lines[1] = str(int(lines[1]) + 1)
        doc["checkpoint"] = "\n".join(lines)
    elif how == "key":
        other = Signer.generate(doc["log"]["origin"])
        doc["log"]["verifier_key"] = other.verifier.encode()
        text = doc["checkpoint"].split("\n\n")[0] + "\n"
        doc["checkpoint"] = sign_note(text, other)
    return doc


@pytest.mark.parametrize(
    ("how", "item", "reason"),
    [
        ("value", "leaf", "does not match its commitment"),
        ("drop", "leaf", "expected 2"),
        ("swap", "leaf", "expected 2"),
        ("proof", "leaf", "not in the log"),
        ("index", "leaf", "not in the log"),
        ("leaf", "leaf", "not in the log"),
        ("checkpoint", "checkpoint", "does not verify"),
        ("key", "log key", "not the pinned one"),
    ],
)
def test_altered_receipt_fails_with_the_reason(
    client: TestClient, tenant: Tenant, history: str, how: str, item: str, reason: str
) -> None:
    key = log_key(client)
    doc = receipt(client, tenant.agent, history)
    assert verify_receipt(doc, key=key).ok
    report = verify_receipt(corrupt(doc, how), key=key)
    assert not report.ok
    assert any(i.startswith(item) and reason in why for i, why in report.failures), report.failures


def test_unpinned_key_is_a_warning_and_a_foreign_key_is_caught(
    client: TestClient, tenant: Tenant, history: str
) -> None:
    doc = receipt(client, tenant.customer, history)
    report = verify_receipt(doc)
    assert report.ok
    assert report.warnings
    # A forger re-signing with their own key makes a self-consistent receipt: only pinning the
    # log's key catches it, which is why verify warns when no key is given.
    forged = corrupt(doc, "key")
    assert verify_receipt(forged).ok
    assert verify_receipt(forged).warnings
    assert not verify_receipt(forged, key=log_key(client)).ok


def test_since_detects_growth_rollback_and_fork(
    client: TestClient, db: Database, settings: Settings, tenant: Tenant, history: str
) -> None:
    key = log_key(client)
    sign_now(db, settings)
    old = client.get(f"{API}/log/checkpoint").text
    old_cp = open_checkpoint(old, key)
    r = client.post(
        f"{API}/tickets/{history}/messages",
        json={"body": "Refund approved.", "visibility": "public"},
        headers=tenant.agent.headers,
    )
    assert r.status_code == 201
    new = receipt(client, tenant.customer, history, since=old_cp.size)
    report = verify_receipt(new, key=key, since_note=old)
    assert report.ok, report.failures
    assert report.checkpoint is not None and report.checkpoint.size > old_cp.size

    # Without the proof, --since cannot be checked: say how to get it.
    plain = receipt(client, tenant.customer, history)
    report = verify_receipt(plain, key=key, since_note=old)
    assert any("since=" in why for _, why in report.failures)

    # A receipt older than the checkpoint you hold: rollback.
    newer_note = client.get(f"{API}/log/checkpoint").text
    stale = receipt(client, tenant.customer, history, since=0)
    stale["checkpoint"] = old
    report = verify_receipt(stale, key=key, since_note=newer_note)
    assert any("rolled back" in why for _, why in report.failures) or not report.ok

    # A fork: a checkpoint of the same size with another root, signed by the same key.
    signer = checkpoints.signer_for(settings)
    forked = sign_note(Checkpoint(signer.name, old_cp.size, leaf_hash(b"fork")).text(), signer)
    report = verify_receipt(new, key=key, since_note=forked)
    assert any(item == "consistency" and "fork" in why for item, why in report.failures)


def test_log_api_proofs_verify(
    client: TestClient, db: Database, settings: Settings, history: str
) -> None:
    sign_now(db, settings)
    first = checkpoint(client)
    new_ticket_count = 3
    for _ in range(new_ticket_count):
        new_ticket(client, make_customer(client, db))
    sign_now(db, settings)
    second = checkpoint(client)
    assert second.size > first.size

    r = client.get(
        f"{API}/log/proof/consistency", params={"first": first.size, "second": second.size}
    )
    assert r.status_code == 200
    proof = [bytes.fromhex(h) for h in r.json()["hashes"]]
    verify_consistency(first.size, second.size, first.root, second.root, proof)

    start = max(0, second.size - 5)
    entries = client.get(f"{API}/log/entries", params={"start": start, "end": second.size}).json()
    assert [e["index"] for e in entries["entries"]] == list(range(start, second.size))
    for entry in entries["entries"]:
        r = client.get(
            f"{API}/log/proof/inclusion", params={"index": entry["index"], "size": second.size}
        )
        body = r.json()
        assert bytes.fromhex(body["leaf_hash"]) == leaf_hash(entry["leaf"].encode())
        verify_inclusion(
            entry["index"],
            second.size,
            leaf_hash(entry["leaf"].encode()),
            [bytes.fromhex(h) for h in body["hashes"]],
            second.root,
        )
        assert "body" not in json.loads(entry["leaf"])  # commitments only

    r = client.get(f"{API}/log/checkpoints/{second.size}")
    assert r.status_code == 200 and open_checkpoint(r.text, log_key(client)) == second


def make_customer(client: TestClient, db: Database) -> Any:
    from tests.support.tenants import make_tenant

    return make_tenant(db).customer


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("proof/inclusion", {"index": 10**12, "size": 10**12 + 1}),
        ("proof/inclusion", {"index": 5, "size": 5}),
        ("proof/inclusion", {"index": -1, "size": 5}),
        ("proof/inclusion", {"index": "x", "size": 5}),
        ("proof/consistency", {"first": 6, "second": 5}),
        ("proof/consistency", {"first": 1, "second": 10**15}),
        ("entries", {"start": 5, "end": 4}),
        ("entries", {"start": 0, "end": 10**15}),
        ("entries", {"start": 0}),
    ],
)
def test_bad_log_requests_are_4xx(
    client: TestClient, history: str, path: str, params: dict[str, Any]
) -> None:
    r = client.get(f"{API}/log/{path}", params=params)
    assert r.status_code in (400, 422), r.text
    assert r.json()["error"]["code"] in ("invalid_log_range", "validation_error")


def test_receipt_since_beyond_the_checkpoint_is_refused(
    client: TestClient, tenant: Tenant, history: str
) -> None:
    r = client.get(
        f"{API}/tickets/{history}/receipt",
        params={"since": 10**15},
        headers=tenant.customer.headers,
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_log_range"


def test_audit_of_the_live_log_is_clean(db: Database, settings: Settings, history: str) -> None:
    sign_now(db, settings)
    report = audit(db, checkpoints.signer_for(settings).verifier)
    assert report.ok, report.findings
    assert report.leaves_checked == report.size > 0
    assert report.checkpoints_checked >= 1


def test_verify_command(client: TestClient, tenant: Tenant, history: str, tmp_path: Path) -> None:
    doc = receipt(client, tenant.customer, history)
    good, bad, key = tmp_path / "good.json", tmp_path / "bad.json", tmp_path / "log.vkey"
    good.write_text(json.dumps(doc))
    bad.write_text(json.dumps(corrupt(doc, "drop")))
    key.write_text(client.get(f"{API}/log/key").text)
    runner = CliRunner()

    ok = runner.invoke(app, ["verify", str(good), "--key", str(key)])
    assert ok.exit_code == 0, ok.output
    assert "VALID" in ok.stdout and "谢谢" in ok.stdout

    failed = runner.invoke(app, ["verify", str(bad), "--key", key.read_text().strip()])
    assert failed.exit_code == 1
    assert "INVALID" in failed.stdout and "expected 2" in failed.stdout

    for args in (
        ["verify", str(tmp_path / "missing.json")],
        ["verify", str(key)],  # not JSON
        ["verify", str(good), "--key", "nobody+00000000+AAAA"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "error:" in result.stderr


def test_the_verifier_needs_only_the_standard_library_and_cryptography() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import proofdesk.verify.receipt\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "stdlib = set(sys.stdlib_module_names)\n"
        "print(sorted(new - stdlib - {'proofdesk', 'cryptography', '_cffi_backend', '_openssl'}))\n"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_receipts_follow_the_published_schema(
    client: TestClient, tenant: Tenant, history: str
) -> None:
    import jsonschema

    schema = json.loads((paths.ROOT / "docs/receipt.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for doc in (
        receipt(client, tenant.customer, history),
        receipt(client, tenant.agent, history, since=0),
    ):
        errors = [e.message for e in validator.iter_errors(doc)]
        assert errors == []
    leaf = json.loads(receipt(client, tenant.customer, history)["entries"][0]["leaf"])
    assert set(leaf) == {
        "v",
        "seq",
        "org",
        "ticket",
        "ticket_seq",
        "type",
        "actor",
        "time",
        "prev",
        "commitments",
    }


def test_log_key_is_private_and_keeps_its_origin(tmp_path: Path) -> None:
    from proofdesk.errors import ConfigError

    first = Settings(data_dir=tmp_path, port=8000)
    signer = checkpoints.signer_for(first)
    path = first.effective_log_key_file
    assert path.stat().st_mode & 0o777 == 0o600
    assert signer.name == "127.0.0.1:8000/proofdesk"
    # Serving on another port later does not rename the log.
    assert checkpoints.signer_for(Settings(data_dir=tmp_path, port=9000)) == signer
    with pytest.raises(ConfigError, match="is for origin"):
        checkpoints.signer_for(Settings(data_dir=tmp_path, log_origin="other.example/log"))
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        checkpoints.signer_for(first)
    path.chmod(0o600)
    path.write_text("PRIVATE+KEY+garbage")
    with pytest.raises(ConfigError, match="not a signer key"):
        checkpoints.signer_for(first)


def test_redacted_receipt_still_verifies(
    client: TestClient, tenant: Tenant, history: str, tmp_path: Path
) -> None:
    doc = receipt(client, tenant.customer, history)
    full, small = tmp_path / "full.json", tmp_path / "small.json"
    full.write_text(json.dumps(doc))
    result = CliRunner().invoke(app, ["redact", str(full), "--out", str(small), "--keep", "body"])
    assert result.exit_code == 0, result.output
    redacted = json.loads(small.read_text())
    assert {name for e in redacted["entries"] for name in e["revealed"]} == {"body"}
    report = verify_receipt(redacted, key=log_key(client))
    assert report.ok, report.failures
    assert "谢谢，交易哈希已附上。" in revealed(report)
    bad = CliRunner().invoke(app, ["redact", str(tmp_path / "nope.json"), "--out", str(small)])
    assert bad.exit_code == 2
    (tmp_path / "junk.json").write_text('{"entries": 3}')
    junk = CliRunner().invoke(app, ["redact", str(tmp_path / "junk.json"), "--out", str(small)])
    assert junk.exit_code == 2 and "not a receipt" in junk.stderr
