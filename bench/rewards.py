"""What paying rewards costs on chain: an epoch through ``RewardDistributor`` (one root per
epoch, one claim per account) against one ``RewardToken.mint`` transaction per reward.

Runs against anvil on loopback; gas is the EVM's own accounting. Each account earns
``--rewards`` rewards in the epoch (a mint each in the naive design; one leaf in the tree).
Prints a table and rewrites its section of ``docs/benchmarks.md``.

    .venv/bin/python bench/rewards.py [--accounts 10,100,1000] [--rewards 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from eth_account import Account
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from api_load import cpu_model
from ledger import counts, markdown_table, replace_section, run_header
from proofdesk.chain.anvil import Anvil
from proofdesk.chain.base import Chain, contract, deploy, transact
from proofdesk.rewards import merkle

ROOT = Path(__file__).resolve().parent.parent
CAP = 10**40
DAY = 86_400


def gas(receipt: object) -> int:
    return int(receipt["gasUsed"])  # type: ignore[index]


def epoch_costs(chain: Chain, accounts: int, rewards: int) -> dict[str, float]:
    token_address, _ = deploy(chain, "RewardToken", ("ProofDesk Reward", "PDR", CAP, DAY))
    token = contract(chain, "RewardToken", token_address)
    distributor_address, _ = deploy(chain, "RewardDistributor", (token_address,))
    distributor = contract(chain, "RewardDistributor", distributor_address)
    people = [Account.create().address for _ in range(accounts)]
    leaves = merkle.leaves(dict.fromkeys(people, rewards * 10**18))
    total = sum(leaf.amount for leaf in leaves)
    fund = gas(transact(chain, token.functions.mint(distributor_address, total)))
    publish = gas(transact(chain, distributor.functions.publish(0, merkle.root(leaves), total)))
    claims = [
        gas(
            transact(
                chain,
                distributor.functions.claim(
                    0, leaf.index, leaf.account, leaf.amount, merkle.proof(leaves, leaf.index)
                ),
            )
        )
        for leaf in leaves
    ]
    # The naive design: one mint per reward, to accounts that hold nothing yet (the first) and
    # to accounts that already do (the others).
    mints = []
    for _ in range(min(accounts, 50)):
        fresh = Account.create().address
        for _ in range(rewards):
            mints.append(gas(transact(chain, token.functions.mint(fresh, 10**18))))
    mint = statistics.mean(mints)
    epoch = fund + publish + sum(claims)
    naive = mint * accounts * rewards
    return {
        "publish": publish + fund,
        "claim": statistics.mean(claims),
        "epoch": epoch,
        "per_reward": epoch / (accounts * rewards),
        "mint": mint,
        "naive": naive,
        "ratio": naive / epoch,
        "service_per_reward": (publish + fund) / (accounts * rewards),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=counts, default=[10, 100, 1000])
    parser.add_argument("--rewards", type=int, default=3, help="rewards per account per epoch")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/")
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.accounts) or args.rewards < 1:
        parser.error("accounts and rewards must be at least 1")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        node = Anvil(Path(tmp), root=ROOT, state=False).start()
        try:
            for n in args.accounts:
                c = epoch_costs(node.chain(), n, args.rewards)
                rows.append(
                    [
                        f"{n:,}",
                        f"{n * args.rewards:,}",
                        f"{c['publish']:,.0f}",
                        f"{c['claim']:,.0f}",
                        f"{c['epoch']:,.0f}",
                        f"{c['per_reward']:,.0f}",
                        f"{c['mint']:,.0f}",
                        f"{c['naive']:,.0f}",
                        f"{c['ratio']:.2f}×",
                        f"{c['service_per_reward']:,.0f}",
                    ]
                )
        finally:
            node.stop()
    headers = [
        "accounts",
        "rewards",
        "fund + publish gas",
        "gas per claim",
        "epoch gas (all claim)",
        "gas per reward",
        "gas per mint",
        "naive: a mint per reward",
        "epoch is cheaper by",
        "service's gas per reward",
    ]
    table = Table(*headers, title="RewardDistributor epoch vs one mint per reward")
    for row in rows:
        table.add_row(*row)
    Console(width=160).print(table)
    notes = [
        f"each account earns {args.rewards} rewards in the epoch",
        "every account claims; a claim's gas grows with log2(accounts) (the proof) and is "
        "highest for the first claim of each 256 indices (its bitmap word goes from zero)",
        "the service pays fund + publish only; each claimant pays its own claim",
    ]
    if not args.no_write:
        start, end = "<!-- rewards:start -->", "<!-- rewards:end -->"
        lines = [
            start,
            *run_header("rewards.py", argv or sys.argv[1:]),
            "",
            f"- machine: {cpu_model()}; anvil on loopback (automining); " + "; ".join(notes),
            "",
            *markdown_table(headers, rows),
            "",
            end,
        ]
        replace_section(start, end, "Rewards (`bench/rewards.py`)", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
