"""ProofDesk as a C2SP tlog-witness: every status code the spec names, for its case; the
cosignature it returns; rollbacks and forks refused and kept; two concurrent requests for one
log, of which exactly one wins."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from proofdesk.actions.witness import do_add_witnessed_log
from proofdesk.ledger.witness import format_add_checkpoint
from proofdesk.store.db import Database
from proofdesk.store.models import WitnessedLog, WitnessRefusal
from proofdesk.verify.cosignature import CosignerKey, cosignatures
from proofdesk.verify.note import Signer
from tests.support.partner import PartnerLog

ADD = "/api/v1/witness/add-checkpoint"


@pytest.fixture
def partner(db: Database) -> PartnerLog:
    log = PartnerLog.new(3)
    with db.writer() as session:
        do_add_witnessed_log(session, log.origin, log.vkey)
    return log


def witness_key(client: TestClient) -> CosignerKey:
    return CosignerKey.parse(client.get("/api/v1/witness/key").text)


def refusals(db: Database, origin: str) -> list[str]:
    with db.reader() as session:
        return list(
            session.scalars(
                select(WitnessRefusal.kind)
                .where(WitnessRefusal.origin == origin)
                .order_by(WitnessRefusal.id)
            )
        )


def cosigned(db: Database, origin: str) -> int:
    with db.reader() as session:
        row = session.get(WitnessedLog, origin)
        assert row is not None
        return row.size


def test_first_checkpoint_is_cosigned_per_the_spec(
    client: TestClient, db: Database, partner: PartnerLog
) -> None:
    r = client.post(ADD, content=partner.request(0))
    assert r.status_code == 200, r.text
    assert r.text.startswith("\u2014 ") and r.text.endswith("\n")
    # "the client MAY concatenate it to the checkpoint, and use a note verification function"
    found = cosignatures(partner.note() + r.text, [witness_key(client)])
    assert list(found) == [witness_key(client).encode()]
    assert cosigned(db, partner.origin) == 3


def test_growth_with_a_proof_is_cosigned(
    client: TestClient, db: Database, partner: PartnerLog
) -> None:
    assert client.post(ADD, content=partner.request(0)).status_code == 200
    partner.grow(5)
    r = client.post(ADD, content=partner.request(3))
    assert r.status_code == 200, r.text
    assert cosigned(db, partner.origin) == 8
    # The same checkpoint again (old = size): cosigned again, nothing changes.
    assert client.post(ADD, content=partner.request(8)).status_code == 200
    assert refusals(db, partner.origin) == []


def test_unknown_origin_is_404(client: TestClient) -> None:
    stranger = PartnerLog.new(2)
    r = client.post(ADD, content=stranger.request(0))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "unknown_log"


def test_no_valid_signature_is_403(client: TestClient, partner: PartnerLog) -> None:
    impostor = Signer(partner.origin, b"\x09" * 32)  # same name, another key
    body = format_add_checkpoint(0, [], partner.note(signer=impostor))
    r = client.post(ADD, content=body)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "bad_log_signature"
    # A signature line of the log's key that does not verify is refused too.
    note = partner.note()
    tampered = note.replace(note.split(" ")[-1][:8], "AAAAAAAA")
    assert client.post(ADD, content=format_add_checkpoint(0, [], tampered)).status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old 0\n",
        b"old 00\n\n",
        b"old -1\n\n",
        b"new 0\n\n",
        b"old 0\nnot base64!\n\n",
        b"old 0\nAAAA\n\n",
        b"\xff\xfe\n\n",
    ],
)
def test_malformed_requests_are_400(client: TestClient, partner: PartnerLog, body: bytes) -> None:
    note = partner.note().encode() if body.endswith(b"\n\n") else b""
    r = client.post(ADD, content=body + note)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_add_checkpoint"


def test_too_many_proof_lines_and_a_bad_checkpoint_are_400(
    client: TestClient, partner: PartnerLog
) -> None:
    line = b"A" * 43 + b"="
    r = client.post(ADD, content=b"old 0\n" + (line + b"\n") * 64 + b"\n" + partner.note().encode())
    assert r.status_code == 400
    r = client.post(ADD, content="old 0\n\nnot a checkpoint\n\n\u2014 x AAAA\n".encode())
    assert r.status_code == 400


def test_old_above_the_checkpoint_size_is_400(client: TestClient, partner: PartnerLog) -> None:
    r = client.post(ADD, content=format_add_checkpoint(4, [], partner.note()))
    assert r.status_code == 400


def test_old_that_is_not_our_size_is_409_with_our_size(
    client: TestClient, partner: PartnerLog
) -> None:
    assert client.post(ADD, content=partner.request(0)).status_code == 200
    partner.grow(2)
    r = client.post(ADD, content=partner.request(0))  # a log probing with old 0
    assert r.status_code == 409
    assert r.headers["content-type"] == "text/x.tlog.size"
    assert r.text == "3\n"
    assert client.post(ADD, content=partner.request(3)).status_code == 200


def test_a_bad_proof_is_422_and_kept(client: TestClient, db: Database, partner: PartnerLog) -> None:
    assert client.post(ADD, content=partner.request(0)).status_code == 200
    partner.grow(4)
    wrong = partner.proof(3)[::-1]
    r = client.post(ADD, content=format_add_checkpoint(3, wrong, partner.note()))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "bad_consistency_proof"
    # A non-empty proof from size 0 is not a proof either.
    other = PartnerLog.new(3)
    with db.writer() as session:
        do_add_witnessed_log(session, other.origin, other.vkey)
    r = client.post(ADD, content=format_add_checkpoint(0, wrong, other.note()))
    assert r.status_code == 422
    assert refusals(db, partner.origin) == ["bad_proof"]
    assert cosigned(db, partner.origin) == 3


def test_fork_and_rollback_are_refused_and_counted(
    client: TestClient, db: Database, partner: PartnerLog
) -> None:
    partner.grow(3)
    assert client.post(ADD, content=partner.request(0)).status_code == 200  # size 6
    fork = partner.forked()
    r = client.post(ADD, content=fork.request(6))  # same size, other root
    assert r.status_code == 409
    assert r.text == "6\n"
    r = client.post(ADD, content=partner.request(4, 4))  # an older size
    assert r.status_code == 409
    r = client.post(ADD, content=format_add_checkpoint(6, [], partner.note(4)))
    assert r.status_code == 400
    assert refusals(db, partner.origin) == ["fork", "rollback", "rollback"]
    assert cosigned(db, partner.origin) == 6


def post(client: TestClient, barrier: threading.Barrier, out: list[int], body: bytes) -> None:
    barrier.wait()
    out.append(client.post(ADD, content=body).status_code)


def test_two_concurrent_requests_one_wins(
    client: TestClient, db: Database, partner: PartnerLog
) -> None:
    assert client.post(ADD, content=partner.request(0)).status_code == 200
    for _ in range(8):
        old = len(partner.leaves)
        partner.grow(1)
        first = partner.request(old)
        partner.grow(1)
        second = partner.request(old)
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        threads = [
            threading.Thread(target=post, args=(client, barrier, statuses, b))
            for b in (first, second)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(statuses) == [200, 409], statuses
        size = cosigned(db, partner.origin)
        assert size in (old + 1, old + 2)
        partner.leaves = partner.leaves[:size]  # the log goes on from what was cosigned
