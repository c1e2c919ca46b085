"""Configuring a chain: keys, keystores, chain ids, URLs that carry secrets, unreachable nodes."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from typer.testing import CliRunner

from proofdesk.app.local import free_port
from proofdesk.chain.base import ChainError, ChainUnavailable, GasCapExceeded
from proofdesk.chain.connect import open_chain
from proofdesk.chain.rpc import RpcChain, load_account, public_host
from proofdesk.cli.main import app as cli
from proofdesk.errors import ConfigError
from proofdesk.settings import Settings
from tests.support.chain import Anvil

KEY = "0x" + "11" * 32


def test_key_from_hex_or_keystore_and_errors_name_no_secret(tmp_path: Path) -> None:
    assert load_account(key=KEY, keystore=None, password=None).key.hex() == "11" * 32
    with pytest.raises(ConfigError) as bad:
        load_account(key="0x1234-not-a-key", keystore=None, password=None)
    assert "1234" not in bad.value.message
    with pytest.raises(ConfigError, match="needs a signing key"):
        load_account(key=None, keystore=None, password=None)
    keystore = tmp_path / "key.json"
    keystore.write_text(json.dumps(Account.encrypt(KEY, "correct horse", iterations=2)))
    opened = load_account(key=None, keystore=keystore, password="correct horse")
    assert opened.address == Account.from_key(KEY).address
    with pytest.raises(ConfigError, match="does not open") as wrong:
        load_account(key=None, keystore=keystore, password="wrong")
    assert "wrong" not in wrong.value.message.replace("does not open", "")
    with pytest.raises(ConfigError, match="cannot read"):
        load_account(key=None, keystore=tmp_path / "missing.json", password="x")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read"):
        load_account(key=None, keystore=tmp_path / "junk.json", password="x")


def test_described_url_keeps_no_api_key() -> None:
    url = "https://user:pass@rpc.example.com:8545/v3/SECRET-API-KEY?token=T0KEN"
    shown = public_host(url)
    assert shown == "https://rpc.example.com:8545"
    for secret in ("SECRET", "T0KEN", "pass", "user"):
        assert secret not in shown


def test_wrong_chain_id_and_dead_node_are_clear_errors(tmp_path: Path) -> None:
    node = Anvil(tmp_path, state=False).start()
    try:
        with pytest.raises(ConfigError, match="not the configured chain 1"):
            RpcChain(node.url, Account.from_key(KEY), expected_chain_id=1)
        chain = RpcChain(node.url, Account.from_key(KEY))
        assert chain.describe() == f"chain 31337 at {node.url}" and chain.development
    finally:
        node.stop()
    with pytest.raises(ConfigError, match="not an http"):
        RpcChain("ftp://127.0.0.1/", Account.from_key(KEY))
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainUnavailable, match="does not answer"):
        RpcChain(dead, Account.from_key(KEY), retries=1, backoff=0.01)


def test_settings_choose_the_chain(tmp_path: Path, monkeypatch: Any) -> None:
    embedded = open_chain(Settings(data_dir=tmp_path))
    try:
        assert embedded.kind == "embedded" and embedded.development
        assert embedded.confirmations == 1
        assert "development chain" in embedded.describe()
    finally:
        embedded.close()
    with pytest.raises(ConfigError, match="needs a signing key"):
        open_chain(Settings(data_dir=tmp_path, chain_rpc_url="http://127.0.0.1:1"))
    # The CLI turns each of these into a message and exit code 2.
    monkeypatch.setenv("PROOFDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PROOFDESK_CHAIN_RPC_URL", f"http://127.0.0.1:{free_port()}/v3/SECRET")
    monkeypatch.setenv("PROOFDESK_CHAIN_KEY", KEY)
    monkeypatch.setenv("PROOFDESK_CHAIN_RETRIES", "0")
    result = CliRunner().invoke(cli, ["chain", "status"])
    assert result.exit_code == 2 and "does not answer" in result.output
    assert "SECRET" not in result.output and "11" * 32 not in result.output
    monkeypatch.setenv("PROOFDESK_CHAIN_CONFIRMATIONS", "0")
    result = CliRunner().invoke(cli, ["chain", "status"])
    assert result.exit_code == 2 and "chain_confirmations" in result.output


def test_a_node_that_answers_garbage_is_a_clear_error(tmp_path: Path) -> None:
    class Proxy(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>502 from a proxy</html>")

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        with pytest.raises(ChainError, match="not valid JSON-RPC"):
            RpcChain(url, Account.from_key(KEY), retries=0)
    finally:
        server.shutdown()
        server.server_close()


def test_gas_and_fee_caps_refuse_before_sending(tmp_path: Path) -> None:
    node = Anvil(tmp_path, state=False).start()
    try:
        chain = node.chain()
        head = chain.head()
        call = {"to": chain.account.address, "value": 0}
        with pytest.raises(GasCapExceeded, match="above the cap 20000"):
            chain.prepare(call, gas_cap=20_000)
        capped = RpcChain(node.url, chain.account, max_fee_per_gas=1)  # 1 wei: below any base fee
        with pytest.raises(GasCapExceeded, match="above the configured fee cap"):
            capped.prepare(call)
        assert chain.head() == head  # nothing was sent
        signed = chain.prepare(call)  # within the caps: an EIP-1559 transaction
        assert signed.raw[0] == 2
    finally:
        node.stop()


def test_chains_without_a_base_fee_get_a_legacy_gas_price(tmp_path: Path) -> None:
    node = Anvil(tmp_path, state=False, extra=("--hardfork", "berlin")).start()
    try:
        chain = node.chain()
        signed = chain.prepare({"to": chain.account.address, "value": 1})
        assert signed.raw[0] == 1 or signed.raw[0] >= 0xC0  # EIP-2930 or legacy, never type 2
        chain.broadcast(signed)
        assert chain.wait(signed.tx_hash)["status"] == 1
    finally:
        node.stop()
