"""Where things are in the checkout, for tests that read files beside the code."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
VECTORS = TESTS / "vectors"
