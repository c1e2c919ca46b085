"""Where things are in the checkout, for tests that read files beside the code."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
VECTORS = TESTS / "vectors"
# Small Vyper contracts that only tests deploy (a re-entrant attacker, contract wallets).
TEST_CONTRACTS = TESTS / "vyper" / "contracts"
