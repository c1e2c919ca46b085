"""Publishing reward epochs through ``RewardDistributor`` (funded with ``RewardToken``).

Publishing an epoch is three idempotent steps, each safe to repeat after a crash: deploy the
distributor once per chain (recorded in ``chain_contracts``, like the other contracts); mint
the shortfall only (what the distributor lacks for every unclaimed leaf plus this epoch, so a
repeated run mints nothing more); publish the root, unless the contract already counts the
root (its ``EpochPublished`` log is the proof). One distributor serves every organization of
the deployment: an organization's epoch ``n`` is the contract's epoch ``chain_epoch``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hexbytes import HexBytes
from web3 import Web3

from proofdesk.chain.base import Chain, contract, transact
from proofdesk.chain.deployments import deploy_contracts
from proofdesk.store.db import Database

REWARD_TOKEN = "RewardToken"  # noqa: S105 (a contract name)
DISTRIBUTOR = "RewardDistributor"


@dataclass(frozen=True)
class Distribution:
    chain_id: int
    token: str
    distributor: str


def ensure_distributor(db: Database, chain: Chain) -> Distribution:
    """The token and its distributor on this chain, deploying what is missing."""
    token, distributor = deploy_contracts(db, chain, (REWARD_TOKEN, DISTRIBUTOR))
    return Distribution(
        chain.chain_id,
        Web3.to_checksum_address(token.address),
        Web3.to_checksum_address(distributor.address),
    )


def publish_root(chain: Chain, where: Distribution, root: str, total: int) -> tuple[int, str]:
    """Fund the distributor for ``total`` and publish ``root`` as its next epoch; returns the
    contract's epoch number and the publication's transaction hash. The distributor of a chain
    serves every organization of the deployment, so its epoch numbers are its own; a root it
    already published (sent before a crash) is found in its ``EpochPublished`` logs instead of
    being published twice."""
    distributor = contract(chain, DISTRIBUTOR, where.distributor)
    wanted = HexBytes(root)
    logs = chain.call(lambda: distributor.events.EpochPublished().get_logs(from_block=0))
    for log in logs:
        if HexBytes(log["args"]["root"]) == wanted and log["args"]["total"] == total:
            return int(log["args"]["epoch"]), HexBytes(log["transactionHash"]).to_0x_hex()
    token = contract(chain, REWARD_TOKEN, where.token)
    reserved = chain.call(distributor.functions.reserved().call)
    balance = chain.call(token.functions.balanceOf(where.distributor).call)
    shortfall = reserved + total - balance
    if shortfall > 0:
        transact(chain, token.functions.mint(where.distributor, shortfall))
    number = chain.call(distributor.functions.epochs().call)
    receipt = transact(chain, distributor.functions.publish(number, wanted, total))
    return number, HexBytes(receipt["transactionHash"]).to_0x_hex()


def is_claimed(chain: Chain, distributor: str, number: int, index: int) -> bool:
    c = contract(chain, DISTRIBUTOR, distributor)
    return bool(chain.call(c.functions.is_claimed(number, index).call))
