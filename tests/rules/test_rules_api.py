"""Publishing, activating and reading contracts over the API; decisions logged on tickets,
shown to the customer in their receipt, and replayed by `proofdesk contracts replay`."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from proofdesk.canonical import canonical_json
from proofdesk.cli.main import app as cli
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import TicketEvent
from tests.support import paths
from tests.support.rules import failed_order_ticket
from tests.support.tenants import Tenant, new_ticket

API = "/api/v1"
EXAMPLES = paths.ROOT / "examples" / "contracts"
REFUND = (EXAMPLES / "refund-7-days.yaml").read_text()


def publish(client: TestClient, tenant: Tenant, source: str) -> dict[str, object]:
    response = client.post(
        f"{API}/contracts", json={"source": source}, headers=tenant.admin.headers
    )
    assert response.status_code in (200, 201), response.text
    body: dict[str, object] = response.json()
    return body


def unique(source: str) -> str:
    return source.replace("name: refund-7-days", f"name: refund-{uuid.uuid4().hex[:8]}")


def test_publish_activate_and_read_publicly(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    source = unique(REFUND)
    first = client.post(f"{API}/contracts", json={"source": source}, headers=tenant.admin.headers)
    assert first.status_code == 201 and first.json()["active"] is False
    again = client.post(f"{API}/contracts", json={"source": source}, headers=tenant.admin.headers)
    assert (
        again.status_code == 200 and again.json()["contract_hash"] == first.json()["contract_hash"]
    )
    clash = client.post(
        f"{API}/contracts",
        json={"source": source.replace('perDay: "50"', 'perDay: "60"')},
        headers=tenant.admin.headers,
    )
    assert (clash.status_code, clash.json()["error"]["code"]) == (409, "version_exists")
    digest = first.json()["contract_hash"]
    on = client.post(f"{API}/contracts/{digest}/activate", headers=tenant.admin.headers)
    assert on.json()["active"] is True
    v2 = publish(client, tenant, source.replace("version: 1", "version: 2"))
    client.post(f"{API}/contracts/{v2['contract_hash']}/activate", headers=tenant.admin.headers)
    listed = client.get(f"{API}/contracts", params={"organization": tenant.slug}).json()
    active = {c["version"]: c["active"] for c in listed if c["name"] == v2["name"]}
    assert active == {1: False, 2: True}  # one active version per name
    public = client.get(f"{API}/contracts/{digest}", params={"organization": tenant.slug})
    assert public.status_code == 200 and public.json()["source"] == source
    assert public.json()["document"]["spec"]["rules"][0]["id"] == "already-refunded"
    elsewhere = client.get(f"{API}/contracts/{digest}", params={"organization": other_tenant.slug})
    assert elsewhere.status_code == 404
    foreign = client.post(f"{API}/contracts/{digest}/activate", headers=other_tenant.admin.headers)
    assert foreign.status_code == 404


def test_bad_documents_are_refused_with_line_and_field(client: TestClient, tenant: Tenant) -> None:
    broken = REFUND.replace('order.status == "refunded"', 'order.colour == "red"')
    response = client.post(
        f"{API}/contracts", json={"source": broken}, headers=tenant.admin.headers
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_contract" and error["details"]["line"] > 1
    assert "undeclared fact" in error["message"]
    agent = client.post(f"{API}/contracts", json={"source": REFUND}, headers=tenant.agent.headers)
    assert agent.status_code == 403


SIMPLE = """
apiVersion: proofdesk/v1
kind: ServiceContract
metadata: {name: NAME, version: 1, title: {en: Simple refunds, zh-CN: 简单退款}}
spec:
  appliesTo: [refund_request]
  facts:
    order.status: string
    order.amount: decimal
    claim.reason: string
  rules:
    - id: failed
      when: order.status == "failed" && claim.reason != "changed my mind"
      decision: valid
      reason: {en: The order failed., zh-CN: 订单失败。}
    - id: not-failed
      when: order.status != "failed"
      decision: invalid
      reason: {en: The order did not fail., zh-CN: 订单并未失败。}
  otherwise:
    decision: needs_human
    reason: {en: A person decides., zh-CN: 由人工决定。}
"""


def test_decisions_are_logged_receipted_and_replayed(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: object,
) -> None:
    contract = publish(client, tenant, SIMPLE.replace("NAME", f"simple-{uuid.uuid4().hex[:8]}"))
    digest = contract["contract_hash"]
    tid = failed_order_ticket(client, tenant)["id"]
    facts = {"claim.reason": "never delivered"}
    inactive = client.post(
        f"{API}/tickets/{tid}/decisions",
        json={"contract_hash": digest, "facts": facts},
        headers=tenant.agent.headers,
    )
    assert (inactive.status_code, inactive.json()["error"]["code"]) == (409, "contract_inactive")
    client.post(f"{API}/contracts/{digest}/activate", headers=tenant.admin.headers)
    decided = client.post(
        f"{API}/tickets/{tid}/decisions",
        json={"contract_hash": digest, "facts": facts},
        headers=tenant.agent.headers,
    )
    assert decided.status_code == 201, decided.text
    body = decided.json()
    assert (body["outcome"], body["rule"]) == ("valid", "failed")
    partial = client.post(
        f"{API}/tickets/{tid}/decisions",
        json={"contract_hash": digest, "facts": {}},
        headers=tenant.agent.headers,
    )
    assert partial.json()["outcome"] == "needs_human"
    assert partial.json()["missing"] == ["claim.reason"]
    bad = client.post(
        f"{API}/tickets/{tid}/decisions",
        json={"contract_hash": digest, "facts": {"claim.reason": 7}},
        headers=tenant.agent.headers,
    )
    assert bad.status_code == 422
    undeclared = client.post(
        f"{API}/tickets/{tid}/decisions",
        json={"contract_hash": digest, "facts": {"claim.colour": "red"}},
        headers=tenant.agent.headers,
    )
    assert (undeclared.status_code, undeclared.json()["error"]["code"]) == (422, "unknown_fact")
    # What a provider knows is never taken from the request: no one can state the amount.
    forged = client.post(
        f"{API}/tickets/{tid}/decisions",
        json={"contract_hash": digest, "facts": {"order.amount": "1000"}},
        headers=tenant.agent.headers,
    )
    assert (forged.status_code, forged.json()["error"]["code"]) == (422, "fact_not_supplied")
    customer = client.post(
        f"{API}/tickets/{tid}/decisions",
        json={"contract_hash": digest, "facts": facts},
        headers=tenant.customer.headers,
    )
    assert customer.status_code == 403
    question = new_ticket(client, tenant.customer)
    wrong_kind = client.post(
        f"{API}/tickets/{question['id']}/decisions",
        json={"contract_hash": digest, "facts": facts},
        headers=tenant.agent.headers,
    )
    assert wrong_kind.json()["error"]["code"] == "not_applicable"
    timeline = client.get(f"{API}/tickets/{tid}/messages", headers=tenant.customer.headers).json()
    told = [m["body"] for m in timeline if m["author_role"] == "automation"]
    assert told and "The order failed." in told[0] and "failed" in told[0]

    receipt = client.get(f"{API}/tickets/{tid}/receipt", headers=tenant.customer.headers).json()
    shown = [e for e in receipt["entries"] if "outcome" in e["revealed"]]
    assert [json.loads(e["revealed"]["outcome"]["value"]) for e in shown] == [
        "valid",
        "needs_human",
    ]

    monkeypatch.setenv("PROOFDESK_DATA_DIR", str(settings.data_dir))  # type: ignore[attr-defined]
    monkeypatch.setenv("PROOFDESK_DATABASE_URL", settings.effective_database_url)  # type: ignore[attr-defined]
    replayed = CliRunner().invoke(cli, ["contracts", "replay", tid])
    assert replayed.exit_code == 0, replayed.output
    assert replayed.output.count("reproduced") == 2
    # A decision altered in the event store is caught by the replay (and by the audit).
    with db.writer() as session:
        row = session.query(TicketEvent).filter_by(ticket_id=tid, type="contract.decided").first()
        assert row is not None
        seq, original = row.seq, row.payload
        payload = json.loads(original)
        payload["decision"]["outcome"] = "invalid"
        row.payload = canonical_json(payload).decode()
    try:
        tampered = CliRunner().invoke(cli, ["contracts", "replay", tid])
        assert tampered.exit_code == 1 and "outcome" in tampered.output
    finally:  # the session's log is shared: put the event back as it was signed
        with db.writer() as session:
            restored = session.get(TicketEvent, seq)
            assert restored is not None
            restored.payload = original
    assert CliRunner().invoke(cli, ["contracts", "replay", tid]).exit_code == 0


def test_contracts_check_command(tmp_path: Path) -> None:
    good = CliRunner().invoke(cli, ["contracts", "check", str(EXAMPLES / "vip-sla.yaml")])
    assert good.exit_code == 0 and "vip-sla v1: sha256:" in good.output
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text(REFUND.replace("decision: invalid", "decision: maybe", 1))
    bad = CliRunner().invoke(cli, ["contracts", "check", str(bad_file)])
    assert bad.exit_code == 2 and "line " in bad.output
    missing = CliRunner().invoke(cli, ["contracts", "check", str(tmp_path / "none.yaml")])
    assert missing.exit_code == 2


def test_activation_is_a_logged_event_and_new_versions_leave_past_decisions_alone(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    from proofdesk.verify.note import Verifier
    from proofdesk.verify.receipt import verify_receipt

    name = f"simple-{uuid.uuid4().hex[:8]}"
    v1 = publish(client, tenant, SIMPLE.replace("NAME", name))
    on = client.post(
        f"{API}/contracts/{v1['contract_hash']}/activate", headers=tenant.admin.headers
    )
    assert on.json()["activated_seq"] is not None
    again = client.post(
        f"{API}/contracts/{v1['contract_hash']}/activate", headers=tenant.admin.headers
    )
    assert again.json()["activated_seq"] == on.json()["activated_seq"]  # a no-op
    order = client.put(
        f"{API}/orders/ORD-{uuid.uuid4().hex[:8]}",
        json={
            "customer_id": tenant.customer.user_id,
            "amount": "1",
            "currency": "ETH",
            "status": "failed",
        },
        headers=tenant.admin.headers,
    ).json()
    ticket = new_ticket(
        client, tenant.customer, kind="refund_request", order_id=order["external_id"]
    )
    first = client.post(
        f"{API}/tickets/{ticket['id']}/decisions",
        json={"contract_hash": v1["contract_hash"], "facts": {"claim.reason": "broken"}},
        headers=tenant.agent.headers,
    ).json()
    assert first["outcome"] == "valid"

    # Version 2 refuses what version 1 accepted; it replaces version 1 by a logged event.
    stricter = SIMPLE.replace("NAME", name).replace("version: 1", "version: 2")
    stricter = stricter.replace("decision: valid", "decision: invalid")
    v2 = publish(client, tenant, stricter)
    client.post(f"{API}/contracts/{v2['contract_hash']}/activate", headers=tenant.admin.headers)
    receipt = client.get(
        f"{API}/contracts/activations/receipt", params={"organization": tenant.slug}
    ).json()
    key = Verifier.parse(client.get("/.well-known/proofdesk/log-key").text)
    report = verify_receipt(receipt, key=key)
    assert report.ok, report.failures
    activations = [json.loads(e["revealed"]["contract_hash"]["value"]) for e in receipt["entries"]]
    assert activations[-2:] == [v1["contract_hash"], v2["contract_hash"]]
    assert json.loads(receipt["entries"][-1]["revealed"]["replaces"]["value"]) == [
        v1["contract_hash"]
    ]
    with db.reader() as session:
        from proofdesk.actions.contracts import replay_ticket
        from proofdesk.store.models import Ticket

        row = session.get(Ticket, ticket["id"])
        assert row is not None
        [(_, which, differences)] = replay_ticket(session, row)
    assert which == f"{name} v1" and differences == []  # decided by v1, and still so
    now = client.post(
        f"{API}/tickets/{ticket['id']}/decisions",
        json={"contract_hash": v2["contract_hash"], "facts": {"claim.reason": "broken"}},
        headers=tenant.agent.headers,
    ).json()
    assert now["outcome"] == "invalid"
    unknown = client.get(f"{API}/contracts/activations/receipt", params={"organization": "nope"})
    assert unknown.status_code == 404


def test_a_dry_run_decides_an_unpublished_contract_and_changes_nothing(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    """The editor's dry run: any source against a past ticket, with the facts the providers
    give now; no event, no payout, nothing published."""
    tid = failed_order_ticket(client, tenant)["id"]
    with db.reader() as session:
        before = session.query(TicketEvent).count()
    source = SIMPLE.replace("NAME", f"draft-{uuid.uuid4().hex[:8]}")
    url = f"{API}/tickets/{tid}/decisions/dry-run"
    run = client.post(
        url,
        json={"source": source, "facts": {"claim.reason": "never delivered"}},
        headers=tenant.admin.headers,
    )
    assert run.status_code == 200, run.text
    body = run.json()
    assert (body["decision"]["outcome"], body["decision"]["rule"]) == ("valid", "failed")
    assert body["facts"]["order.status"] == "failed" and body["sources"]["claim.reason"]
    missing = client.post(url, json={"source": source}, headers=tenant.admin.headers).json()
    assert missing["decision"]["outcome"] == "needs_human"
    assert "claim.reason" in missing["unknown"]
    broken = client.post(
        url, json={"source": source.replace("rules:", "rulez:")}, headers=tenant.admin.headers
    )
    assert (broken.status_code, broken.json()["error"]["code"]) == (422, "invalid_contract")
    elsewhere = client.post(
        url,
        json={"source": source.replace("refund_request", "question")},
        headers=tenant.admin.headers,
    )
    assert (elsewhere.status_code, elsewhere.json()["error"]["code"]) == (422, "not_applicable")
    with db.reader() as session:
        assert session.query(TicketEvent).count() == before
    listed = client.get(f"{API}/contracts", params={"organization": tenant.slug}).json()
    assert all(not c["name"].startswith("draft-") for c in listed)
