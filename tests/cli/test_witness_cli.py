"""``proofdesk witness key | add-log | list`` on a throwaway SQLite database."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from proofdesk.cli.main import app
from proofdesk.verify.cosignature import CosignerKey
from proofdesk.verify.note import Signer


def test_witness_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"PROOFDESK_DATA_DIR": str(tmp_path), "PROOFDESK_ENV_FILE": str(tmp_path / "none.env")}

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), env=env)

    assert run("migrate").exit_code == 0
    key = run("witness", "key")
    assert key.exit_code == 0, key.output
    assert CosignerKey.parse(key.stdout.strip()).name == "127.0.0.1:8000/witness"
    assert run("witness", "key").stdout == key.stdout  # generated once, then read
    assert (tmp_path / "witness.key").stat().st_mode & 0o777 == 0o600

    log = Signer.generate("exchange.example/log")
    added = run("witness", "add-log", log.name, log.verifier.encode())
    assert added.exit_code == 0, added.output
    assert "cosigned size 0" in added.stdout
    assert run("witness", "add-log", log.name, log.verifier.encode()).exit_code == 0
    other = Signer.generate("exchange.example/log").verifier.encode()
    refused = run("witness", "add-log", log.name, other)
    assert refused.exit_code == 2 and "[log_key_differs]" in refused.stderr
    bad = run("witness", "add-log", "x.example/log", "not-a-key")
    assert bad.exit_code == 2 and "[invalid_verifier_key]" in bad.stderr
    listing = run("witness", "list")
    assert listing.exit_code == 0 and "exchange.example/log" in listing.stdout
