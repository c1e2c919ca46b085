"""The Vyper contracts, as the ABI and bytecode the sources in ``contracts/`` compile to.

The compiled artifacts are package data (``artifacts/<Name>.json``) so that running ProofDesk
needs no compiler. ``python -m proofdesk.chain.contracts`` (``make contracts``) rebuilds them
with the pinned vyper; ``tests/vyper/test_contract_artifacts.py`` compiles the sources again and
fails when an artifact differs from what its source compiles to.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

#: The contracts ProofDesk deploys, by name (file ``contracts/<name>.vy``).
NAMES = ("CheckpointAnchor", "RequestInbox", "RewardDistributor", "RewardToken", "WarrantyEscrow")

SOURCE_DIR = Path(__file__).resolve().parents[3] / "contracts"


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    runtime_bytecode: str
    source_sha256: str
    compiler: str


def compile_source(name: str, source_dir: Path = SOURCE_DIR) -> dict[str, Any]:
    """Compile ``contracts/<name>.vy`` with vyper (a development dependency) into the artifact's
    JSON form."""
    import vyper
    from vyper.compiler import compile_code

    path = source_dir / f"{name}.vy"
    source = path.read_text(encoding="utf-8")
    out = compile_code(
        source,
        contract_path=path.name,
        output_formats=["abi", "bytecode", "bytecode_runtime"],
    )
    return {
        "name": name,
        "compiler": f"vyper {vyper.__version__}",
        "source_sha256": hashlib.sha256(source.encode()).hexdigest(),
        "abi": out["abi"],
        "bytecode": out["bytecode"],
        "runtime_bytecode": out["bytecode_runtime"],
    }


@cache
def load(name: str) -> Artifact:
    """The committed artifact of one contract."""
    if name not in NAMES:
        raise KeyError(name)
    text = resources.files(__package__).joinpath("artifacts", f"{name}.json").read_text("utf-8")
    data = json.loads(text)
    return Artifact(
        name=data["name"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        runtime_bytecode=data["runtime_bytecode"],
        source_sha256=data["source_sha256"],
        compiler=data["compiler"],
    )


def render(artifact: dict[str, Any]) -> str:
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def main() -> int:
    out_dir = Path(__file__).resolve().parent / "artifacts"
    for name in NAMES:
        (out_dir / f"{name}.json").write_text(render(compile_source(name)), encoding="utf-8")
        print(f"compiled contracts/{name}.vy -> {out_dir.name}/{name}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
