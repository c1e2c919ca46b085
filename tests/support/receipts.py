"""A corpus of receipts from a real deployment: valid ones of each shape, and each kind of
tampering a verifier must catch. Every case is what a holder would give a verifier: the receipt
text and the keys and checkpoints they obtained independently.

Used by tests/web/test_web_verifier.py, which runs every case through ``proofdesk verify`` and
the browser verifier and demands the same verdict and the same failing item.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from eth_account import Account
from fastapi.testclient import TestClient

from proofdesk.actions.accounts import do_attach_wallet
from proofdesk.canonical import canonical_json
from proofdesk.ledger import checkpoints
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.models import User
from proofdesk.verify.cosignature import Cosigner
from proofdesk.verify.merkle import leaf_hash
from proofdesk.verify.note import Checkpoint, Signer, sign_note
from tests.support.tenants import Tenant, new_ticket
from tests.support.typed_data import sign

API = "/api/v1"


@dataclass(frozen=True)
class Case:
    """One receipt and what its holder gives the verifier with it."""

    name: str
    text: str
    #: The log's key as the holder pinned it (None: the receipt's own, with a warning).
    key: str | None
    since: str | None = None
    checkpoint: str | None = None
    witnesses: tuple[str, ...] = ()
    min_witnesses: int | None = None
    #: What a correct verifier says: "valid", "invalid" or "unreadable"; and, when invalid,
    #: an item that must be among the failed ones (its name's start).
    verdict: str = "valid"
    fails: str | None = None

    def cli_args(self, folder: Path) -> list[str]:
        """``proofdesk verify`` arguments for this case, its files written into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        receipt = folder / f"{self.name}.json"
        receipt.write_text(self.text, encoding="utf-8")
        args = ["verify", str(receipt)]
        if self.key is not None:
            args += ["--key", self.key]
        for option, note in (("--since", self.since), ("--checkpoint", self.checkpoint)):
            if note is not None:
                path = folder / f"{self.name}{option}.txt"
                path.write_text(note, encoding="utf-8")
                args += [option, str(path)]
        for witness in self.witnesses:
            args += ["--witness", witness]
        if self.min_witnesses is not None:
            args += ["--min-witnesses", str(self.min_witnesses)]
        return args


@dataclass
class Deployment:
    client: TestClient
    db: Database
    settings: Settings
    tenant: Tenant
    key: str = field(init=False)

    def __post_init__(self) -> None:
        self.key = self.client.get(f"{API}/log/key").text.strip()

    def receipt(self, member: Any, tid: str, **params: int) -> dict[str, Any]:
        r = self.client.get(f"{API}/tickets/{tid}/receipt", params=params, headers=member.headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def sign_checkpoint(self) -> str:
        with self.db.writer() as session:
            checkpoints.issue(session, checkpoints.signer_for(self.settings))
        return self.client.get(f"{API}/log/checkpoint").text

    def reply(self, member: Any, tid: str, body: str, visibility: str = "public") -> None:
        r = self.client.post(
            f"{API}/tickets/{tid}/messages",
            json={"body": body, "visibility": visibility},
            headers=member.headers,
        )
        assert r.status_code == 201, r.text


def _copy(doc: Any) -> Any:
    return json.loads(json.dumps(doc))


def _flip(hex_text: str, at: int = 0) -> str:
    prefix = "0x" if hex_text.startswith("0x") else ""
    body = hex_text.removeprefix("0x")
    return prefix + body[:at] + ("0" if body[at] != "0" else "1") + body[at + 1 :]


def _text(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False)


def _tamper(doc: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> str:
    copy = _copy(doc)
    change(copy)
    return _text(copy)


def _note_text(note: str) -> str:
    return note.split("\n\n")[0] + "\n"


def corpus(where: Deployment) -> list[Case]:
    """Every case, made afresh on ``where`` (a ticket with a public exchange and an internal
    note, a ticket signed by a customer's wallet, a cosigned checkpoint, an older one)."""
    client, tenant = where.client, where.tenant
    ticket = new_ticket(client, tenant.customer)
    tid = str(ticket["id"])
    where.reply(tenant.agent, tid, "We are checking the TRC20 transfer.")
    where.reply(tenant.agent, tid, "internal: risk team is looking", "internal")
    where.reply(tenant.customer, tid, "谢谢，交易哈希已附上。")
    old_note = where.sign_checkpoint()
    old_size = int(old_note.split("\n")[1])
    where.reply(tenant.agent, tid, "Refund approved.")

    signed_tid = _signed_ticket(where)
    where.sign_checkpoint()

    staff = where.receipt(tenant.agent, tid)
    customer = where.receipt(tenant.customer, tid)
    grown = where.receipt(tenant.customer, tid, since=old_size)
    signed = where.receipt(tenant.customer, signed_tid)
    key = where.key
    valid = Case("valid", _text(staff), key)
    cases = [
        valid,
        Case("valid-customer-copy", _text(customer), key),
        Case("valid-unpinned-key", _text(customer), None),
        Case("valid-signed-submissions", _text(signed), key),
        Case("valid-since-older-checkpoint", _text(grown), key, since=old_note),
        Case("valid-given-checkpoint", _text(staff), key, checkpoint=staff["checkpoint"]),
    ]

    # Witness cosignatures: one witness cosigned the receipt's checkpoint, another did not.
    witness, absent = Cosigner.generate("witness.example"), Cosigner.generate("absent.example")
    cosigned = _copy(staff)
    line = witness.cosign(_note_text(cosigned["checkpoint"]), int(time.time())).line()
    cosigned["checkpoint"] += line
    both = (witness.key.encode(), absent.key.encode())
    cases += [
        Case("valid-cosigned", _text(cosigned), key, witnesses=both[:1]),
        Case("valid-one-of-two-witnesses", _text(cosigned), key, witnesses=both, min_witnesses=1),
        replace(
            valid,
            name="witness-missing",
            text=_text(cosigned),
            witnesses=both,
            verdict="invalid",
            fails="witnesses",
        ),
    ]
    forged_line = line[:-10] + ("A" if line[-10] != "A" else "B") + line[-9:]
    forged = _copy(staff)
    forged["checkpoint"] += forged_line
    cases.append(
        Case(
            "bad-cosignature",
            _text(forged),
            key,
            witnesses=both[:1],
            verdict="invalid",
            fails="witnesses",
        )
    )

    def bad(name: str, text: str, fails: str | None, **kw: Any) -> Case:
        return replace(valid, name=name, text=text, verdict="invalid", fails=fails, **kw)

    body_entry = next(i for i, e in enumerate(staff["entries"]) if "body" in e["revealed"])
    other_signer = Signer.generate(staff["log"]["origin"])

    def set_leaf(doc: dict[str, Any]) -> None:
        doc["entries"][2]["leaf"] = doc["entries"][2]["leaf"].replace(
            '"ticket_seq":3', '"ticket_seq":7'
        )

    def proof_node(doc: dict[str, Any]) -> None:
        doc["entries"][0]["inclusion_proof"][0] = _flip(doc["entries"][0]["inclusion_proof"][0])

    def short_proof(doc: dict[str, Any]) -> None:
        doc["entries"][0]["inclusion_proof"].pop()

    def index(doc: dict[str, Any]) -> None:
        doc["entries"][1]["index"] += 1

    def size(doc: dict[str, Any]) -> None:
        lines = doc["checkpoint"].split("\n")
        lines[1] = str(int(lines[1]) + 1)
        doc["checkpoint"] = "\n".join(lines)

    def root(doc: dict[str, Any]) -> None:
        # A root of the attacker's choosing, properly signed by a key that is not the log's.
        cp = Checkpoint(
            doc["log"]["origin"], int(doc["checkpoint"].split("\n")[1]), leaf_hash(b"x")
        )
        doc["checkpoint"] = sign_note(cp.text(), other_signer)

    def resign(doc: dict[str, Any]) -> None:
        # The same checkpoint signed by a forger's key that the receipt names as the log's:
        # self-consistent, so only a pinned key tells it apart.
        doc["log"]["verifier_key"] = other_signer.verifier.encode()
        doc["checkpoint"] = sign_note(_note_text(doc["checkpoint"]), other_signer)

    def signature(doc: dict[str, Any]) -> None:
        note = doc["checkpoint"]
        text, block = note.split("\n\n")
        name, blob = block.rstrip("\n").split(" ")[1:]
        blob = blob[:20] + ("A" if blob[20] != "A" else "B") + blob[21:]
        doc["checkpoint"] = f"{text}\n\n\u2014 {name} {blob}\n"

    def commitment(doc: dict[str, Any]) -> None:
        doc["entries"][body_entry]["revealed"]["body"]["value"] = json.dumps("Nothing was sent.")

    def salt(doc: dict[str, Any]) -> None:
        opening = doc["entries"][body_entry]["revealed"]["body"]
        opening["salt"] = _flip(opening["salt"])

    def uncommitted(doc: dict[str, Any]) -> None:
        doc["entries"][body_entry]["revealed"]["amount"] = {"salt": "00", "value": "100"}

    def drop(doc: dict[str, Any]) -> None:
        del doc["entries"][1]

    def swap(doc: dict[str, Any]) -> None:
        entries = doc["entries"]
        entries[1], entries[3] = entries[3], entries[1]

    def prev(doc: dict[str, Any]) -> None:
        leaf = json.loads(doc["entries"][2]["leaf"])
        leaf["prev"] = _flip(leaf["prev"])
        doc["entries"][2]["leaf"] = canonical_json(leaf).decode()

    def no_entries(doc: dict[str, Any]) -> None:
        doc["entries"] = []

    def fmt(doc: dict[str, Any]) -> None:
        doc["format"] = "proofdesk-receipt/v0"

    def no_log(doc: dict[str, Any]) -> None:
        del doc["log"]

    def index_type(doc: dict[str, Any]) -> None:
        doc["entries"][0]["index"] = "0"

    def proof_hex(doc: dict[str, Any]) -> None:
        doc["entries"][0]["inclusion_proof"][0] = "zz" * 32

    cases += [
        bad("bad-leaf", _tamper(staff, set_leaf), "leaf"),
        bad("bad-proof-node", _tamper(staff, proof_node), "leaf"),
        bad("short-proof", _tamper(staff, short_proof), "leaf"),
        bad("wrong-index", _tamper(staff, index), "leaf"),
        bad("wrong-size", _tamper(staff, size), "checkpoint"),
        bad("wrong-root", _tamper(staff, root), "checkpoint"),
        bad("bad-signature", _tamper(staff, signature), "checkpoint"),
        bad("other-key", _tamper(staff, resign), "log key"),
        replace(valid, name="other-key-unpinned", text=_tamper(staff, resign), key=None),
        bad("wrong-pinned-key", _text(staff), "log key", key=other_signer.verifier.encode()),
        bad("bad-commitment", _tamper(staff, commitment), "leaf"),
        bad("bad-salt", _tamper(staff, salt), "leaf"),
        bad("uncommitted-field", _tamper(staff, uncommitted), "leaf"),
        bad("dropped-event", _tamper(staff, drop), "leaf"),
        bad("swapped-events", _tamper(staff, swap), "leaf"),
        bad("broken-chain", _tamper(staff, prev), "leaf"),
        bad("no-entries", _tamper(staff, no_entries), "receipt"),
        bad("wrong-format", _tamper(staff, fmt), "receipt"),
        bad("no-log", _tamper(staff, no_log), "receipt"),
        bad("index-not-a-number", _tamper(staff, index_type), "receipt"),
        bad("proof-not-hex", _tamper(staff, proof_hex), "receipt"),
        bad("not-an-object", "[1, 2, 3]", "receipt"),
        bad("given-checkpoint-differs", _text(staff), "given checkpoint", checkpoint=old_note),
        bad("rolled-back", _text(customer), "consistency", since=_later(where)),
        bad("no-consistency-proof", _text(customer), "consistency", since=old_note),
        bad("forked", _text(grown), "consistency", since=_fork(where, old_size)),
        replace(
            valid,
            name="truncated-json",
            text=_text(staff)[: len(_text(staff)) // 2],
            verdict="unreadable",
        ),
        replace(
            valid, name="garbage", text="this is not a receipt \u0000\u00ff", verdict="unreadable"
        ),
        replace(valid, name="empty-file", text="", verdict="unreadable"),
    ]

    # EIP-712: a wallet signature that does not recover its signer, and a swapped signer.
    def eip712(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
        def apply(doc: dict[str, Any]) -> None:
            for entry in doc["entries"]:
                opening = entry["revealed"].get("signature")
                if opening is not None:
                    record = json.loads(opening["value"])
                    change(record)
                    # The holder would have to forge the commitment too; the verifier must
                    # still refuse (the commitment check comes first and names the field).
                    opening["value"] = canonical_json(record).decode()
                    return

        return apply

    def sig_bytes(record: dict[str, Any]) -> None:
        record["signature"] = _flip(record["signature"], 10)

    def signer(record: dict[str, Any]) -> None:
        record["signer"] = Account.create().address

    cases += [
        replace(bad("bad-eip712-signature", _tamper(signed, eip712(sig_bytes)), "leaf"), key=key),
        replace(bad("other-eip712-signer", _tamper(signed, eip712(signer)), "leaf"), key=key),
    ]
    cases += _eip712_with_matching_commitments(where, signed_tid, key)
    return cases


def _later(where: Deployment) -> str:
    """A checkpoint newer than every receipt made so far."""
    where.reply(where.tenant.agent, str(new_ticket(where.client, where.tenant.customer)["id"]), "x")
    return where.sign_checkpoint()


def _fork(where: Deployment, size: int) -> str:
    signer = checkpoints.signer_for(where.settings)
    return sign_note(Checkpoint(signer.name, size, leaf_hash(b"fork")).text(), signer)


def _signed_ticket(where: Deployment) -> str:
    """A ticket opened and answered with a customer's wallet signatures (EIP-712)."""
    client, tenant = where.client, where.tenant
    account = Account.create()
    with where.db.writer() as session:
        customer = session.get(User, tenant.customer.user_id)
        assert customer is not None
        do_attach_wallet(session, customer, account.address, "test")
    request = {"kind": "refund_request", "subject": "Refund for order 77", "body": "Paid twice."}
    signed = sign(client, tenant, account, "ticket.create", request)
    r = client.post(
        f"{API}/tickets", json={**request, "signed": signed}, headers=tenant.customer.headers
    )
    assert r.status_code == 201, r.text
    tid = str(r.json()["id"])
    reply = {"body": "Here is the transaction hash."}
    signed = sign(client, tenant, account, "message.add", reply, ticket=tid)
    r = client.post(
        f"{API}/tickets/{tid}/messages",
        json={**reply, "signed": signed},
        headers=tenant.customer.headers,
    )
    assert r.status_code == 201, r.text
    return tid


def _eip712_with_matching_commitments(where: Deployment, tid: str, key: str) -> list[Case]:
    """Receipts whose EIP-712 signature fails while every other check holds: the ticket's log
    rebuilt by a dishonest operator (values re-committed, leaves, tree and checkpoint remade and
    signed by the operator's key, which the holder pinned), whose only lie is the signed
    submission. The same rebuild with nothing changed is a valid control."""
    doc = where.receipt(where.tenant.customer, tid)

    def flip_signature(record: dict[str, Any]) -> None:
        record["signature"] = _flip(record["signature"], 10)

    def other_signer(record: dict[str, Any]) -> None:
        record["signer"] = Account.create().address

    cases = []
    for name, change, fails in (
        ("valid-rebuilt-log", None, None),
        ("bad-eip712-signature-committed", flip_signature, "signature of event"),
        ("other-eip712-signer-committed", other_signer, "signature of event"),
    ):
        text, pinned = _rebuild(doc, change)
        verdict = "valid" if fails is None else "invalid"
        cases.append(Case(name, text, pinned, verdict=verdict, fails=fails))
    text, pinned = _rebuild(doc, None, change_body=True)
    cases.append(
        Case("eip712-content-swapped", text, pinned, verdict="invalid", fails="signature of event")
    )
    return cases


def _rebuild(
    doc: dict[str, Any],
    change: Callable[[dict[str, Any]], None] | None,
    *,
    change_body: bool = False,
) -> tuple[str, str]:
    """The receipt as the only ticket of a new log (leaf indexes from 0) signed by a new key;
    ``change`` edits the first signature record, ``change_body`` the first revealed body."""
    from proofdesk.verify.merkle import inclusion_path, mth
    from proofdesk.verify.receipt import commitment

    copy = _copy(doc)
    signer = Signer.generate(copy["log"]["origin"])
    done_sig = done_body = False
    records, prev = [], None
    for i, entry in enumerate(copy["entries"]):
        leaf = json.loads(entry["leaf"])
        for field_name, opening in entry["revealed"].items():
            value = json.loads(opening["value"])
            if field_name == "signature" and change is not None and not done_sig:
                change(value)
                done_sig = True
            elif field_name == "body" and change_body and not done_body:
                value = "Paid once."
                done_body = True
            else:
                continue
            opening["value"] = canonical_json(value).decode()
            salt = bytes.fromhex(opening["salt"])
            leaf["commitments"][field_name] = commitment(salt, opening["value"].encode()).hex()
        leaf["seq"], leaf["prev"] = i, prev
        record = canonical_json(leaf).decode()
        entry["leaf"], entry["index"] = record, i
        prev = leaf_hash(record.encode()).hex()
        records.append(record)
    hashes = [leaf_hash(r.encode()) for r in records]
    for i, entry in enumerate(copy["entries"]):
        entry["inclusion_proof"] = [h.hex() for h in inclusion_path(i, hashes)]
    cp = Checkpoint(signer.name, len(hashes), mth(hashes))
    copy["checkpoint"] = sign_note(cp.text(), signer)
    copy["log"]["verifier_key"] = signer.verifier.encode()
    copy.pop("anchor", None)
    copy.pop("consistency", None)
    return _text(copy), signer.verifier.encode()
