"""Two request inbox workers, each with its own connection, on one fresh PostgreSQL database:
held after reading the same blocks until both have read, they record the filing once and open
one request."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from proofdesk.actions.chain_requests import do_prepare_chain_request
from proofdesk.chain.deployments import deploy_contracts
from proofdesk.chain.embedded import EmbeddedChain
from proofdesk.chain.inbox import file_call, inbox_address
from proofdesk.domain.tickets import Kind
from proofdesk.ledger.keys import Keyring
from proofdesk.store.db import Database
from proofdesk.store.models import ChainFiling, Ticket, Wallet
from proofdesk.workers.inbox import InboxWorker
from tests.support.chain import SmallLog
from tests.support.environment import fresh_pg_database
from tests.support.vyper_calls import ALICE


def test_two_inbox_workers_record_one_filing_once(tmp_path: Path) -> None:
    with fresh_pg_database("inbox") as url:
        log = SmallLog.create(tmp_path / "data", database_url=url)
        chain = EmbeddedChain(tmp_path / "evm.sqlite3")
        try:
            deploy_contracts(log.db, chain, ("RequestInbox",))
            with log.db.writer() as session:
                session.add(
                    Wallet(
                        organization_id=log.actor.organization_id,
                        user_id=log.actor.user_id,
                        address=ALICE.address.lower(),
                        created_at=datetime.now(UTC),
                        verified_at=datetime.now(UTC),
                    )
                )
                draft = do_prepare_chain_request(
                    session, log.actor, Kind.QUESTION, "Stuck", "My deposit is stuck."
                )
                commitment = draft.commitment
            address = inbox_address(log.db, chain)
            assert address is not None
            call = file_call(chain, address, log.actor.organization_id, commitment)
            signed = chain.prepare({"to": address, "data": call["data"]}, account=ALICE)
            chain.broadcast(signed)
            chain.wait(signed.tx_hash)

            both_read = threading.Barrier(2)
            results: list[int] = []
            databases = [
                Database(url, keyring=Keyring.from_file(log.settings.effective_data_key_file))
                for _ in range(2)
            ]
            workers = [InboxWorker(d, lambda: chain, 0) for d in databases]
            start = workers[0]._position(chain, address)

            def run(worker: InboxWorker) -> None:
                original = worker.db.writer

                def writer():  # type: ignore[no-untyped-def]
                    both_read.wait(timeout=30)  # both have read the chain before either writes
                    return original()

                worker.db.writer = writer  # type: ignore[method-assign]
                results.append(worker.read_new(chain, address))

            for w in workers:
                w._position = lambda chain, address: start  # type: ignore[method-assign]
            threads = [threading.Thread(target=run, args=(w,)) for w in workers]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert sorted(results) == [0, 1]
            with log.db.reader() as session:
                assert session.scalar(select(func.count()).select_from(ChainFiling)) == 1
                assert session.scalar(select(func.count()).select_from(Ticket)) == 1
            for d in databases:
                d.dispose()
        finally:
            chain.close()
            log.db.dispose()
