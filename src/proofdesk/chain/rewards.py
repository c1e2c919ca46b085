"""Publishing reward epochs through ``RewardDistributor`` (funded with ``RewardToken``).

Publishing an epoch is three idempotent steps, each safe to repeat after a crash: deploy the
distributor once per chain (recorded in ``chain_contracts``, like the other contracts); mint
the shortfall only (what the distributor lacks for every unclaimed leaf plus this epoch, so a
repeated run mints nothing more); publish the root, unless the contract already counts the
epoch (``epochs() > number``), in which case its ``EpochPublished`` log is the proof.
"""

from __future__ import annotations

from dataclasses import dataclass

from hexbytes import HexBytes
from web3 import Web3

from proofdesk.canonical import format_time, utc_now
from proofdesk.chain.base import Chain, contract, deploy, transact
from proofdesk.chain.deployments import deploy_contracts, deployed
from proofdesk.store.db import Database
from proofdesk.store.models import ChainContract

REWARD_TOKEN = "RewardToken"  # noqa: S105 (a contract name)
DISTRIBUTOR = "RewardDistributor"


@dataclass(frozen=True)
class Distribution:
    chain_id: int
    token: str
    distributor: str


def ensure_distributor(db: Database, chain: Chain) -> Distribution:
    """The token and a distributor of it on this chain, deploying what is missing."""
    (token_row,) = deploy_contracts(db, chain, (REWARD_TOKEN,))
    with db.reader() as session:
        row = deployed(session, chain.chain_id, DISTRIBUTOR)
    if row is None or not chain.code_at(row.address):
        address, receipt = deploy(chain, DISTRIBUTOR, (token_row.address,))
        with db.writer() as session:
            session.add(
                ChainContract(
                    chain_id=chain.chain_id,
                    name=DISTRIBUTOR,
                    address=address,
                    tx_hash=HexBytes(receipt["transactionHash"]).to_0x_hex(),
                    block_number=int(receipt["blockNumber"]),
                    created_at=format_time(utc_now()),
                )
            )
        distributor = address
    else:
        distributor = row.address
    return Distribution(chain.chain_id, token_row.address, Web3.to_checksum_address(distributor))


def publish_root(chain: Chain, where: Distribution, number: int, root: str, total: int) -> str:
    """Fund the distributor for ``total`` and publish ``root`` as epoch ``number``; returns
    the transaction hash of the publication (found in the logs when it was sent before)."""
    distributor = contract(chain, DISTRIBUTOR, where.distributor)
    published = chain.call(distributor.functions.epochs().call)
    if published > number:
        logs = chain.call(
            lambda: distributor.events.EpochPublished().get_logs(
                from_block=0, argument_filters={"epoch": number}
            )
        )
        return HexBytes(logs[0]["transactionHash"]).to_0x_hex()
    token = contract(chain, REWARD_TOKEN, where.token)
    reserved = chain.call(distributor.functions.reserved().call)
    balance = chain.call(token.functions.balanceOf(where.distributor).call)
    shortfall = reserved + total - balance
    if shortfall > 0:
        transact(chain, token.functions.mint(where.distributor, shortfall))
    receipt = transact(chain, distributor.functions.publish(number, HexBytes(root), total))
    return HexBytes(receipt["transactionHash"]).to_0x_hex()


def is_claimed(chain: Chain, distributor: str, number: int, index: int) -> bool:
    c = contract(chain, DISTRIBUTOR, distributor)
    return bool(chain.call(c.functions.is_claimed(number, index).call))
