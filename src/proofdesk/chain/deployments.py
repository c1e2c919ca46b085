"""Which of our contracts are deployed where: the ``chain_contracts`` rows, and deploying the
ones a chain lacks. Anchoring and payouts both look their contracts up here, so neither
imports the other."""

from __future__ import annotations

from typing import Any

from hexbytes import HexBytes
from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.canonical import format_time, utc_now
from proofdesk.chain.base import Chain, deploy
from proofdesk.store.db import Database
from proofdesk.store.models import ChainContract


def deployed(session: Session, chain_id: int, name: str) -> ChainContract | None:
    return session.scalars(
        select(ChainContract)
        .where(ChainContract.chain_id == chain_id, ChainContract.name == name)
        .order_by(ChainContract.id.desc())
        .limit(1)
    ).first()


def default_constructor_args(chain: Chain, name: str) -> tuple[Any, ...]:
    if name == "RewardToken":
        # 1,000,000 tokens a day: a leaked minter key mints at most that before it is revoked.
        return ("ProofDesk Reward", "PDR", 1_000_000 * 10**18, 86_400)
    if name == "WarrantyEscrow":
        return (chain.account.address,)
    return ()


def deploy_contracts(
    db: Database, chain: Chain, names: tuple[str, ...], *, redeploy: bool = False
) -> list[ChainContract]:
    """Deploy the named contracts unless a live deployment is recorded; record each."""
    rows = []
    for name in names:
        with db.reader() as session:
            row = deployed(session, chain.chain_id, name)
        if row is not None and not redeploy and chain.code_at(row.address):
            rows.append(row)
            continue
        args = default_constructor_args(chain, name)
        if name == "RewardDistributor":
            # The distributor pays in the deployment's reward token (deployed first if need be).
            (token,) = deploy_contracts(db, chain, ("RewardToken",))
            args = (token.address,)
        address, receipt = deploy(chain, name, args)
        with db.writer() as session:
            row = ChainContract(
                chain_id=chain.chain_id,
                name=name,
                address=address,
                tx_hash=HexBytes(receipt["transactionHash"]).to_0x_hex(),
                block_number=int(receipt["blockNumber"]),
                created_at=format_time(utc_now()),
            )
            session.add(row)
        rows.append(row)
    return rows
