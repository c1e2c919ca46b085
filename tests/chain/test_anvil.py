"""The development-node launcher (``proofdesk.chain.anvil``) that the tests and the anchoring
benchmark share: where it finds anvil, the port the system gives it, restarts on that port with
the state kept, and JSON-RPC errors in our own hierarchy."""

from __future__ import annotations

from pathlib import Path

import pytest

from proofdesk.chain import anvil
from proofdesk.chain.base import ChainError, ChainUnavailable
from tests.support.chain import Anvil


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True)
    path.write_text("#!/bin/sh\n")
    return path


def test_the_platform_binary_wins_over_the_npm_wrapper(tmp_path: Path) -> None:
    wrapper = executable(tmp_path / "node_modules" / ".bin" / "anvil")
    assert anvil.anvil_binary(tmp_path) == wrapper
    binary = executable(tmp_path / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
    assert anvil.anvil_binary(tmp_path) == binary


def test_without_anvil_the_error_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(anvil.shutil, "which", lambda _: None)
    with pytest.raises(anvil.AnvilNotInstalled, match="npm ci") as caught:
        anvil.anvil_binary(tmp_path)
    assert isinstance(caught.value, ChainUnavailable)
    assert caught.value.code == "anvil_not_installed"


def test_a_node_has_no_url_before_it_starts(tmp_path: Path) -> None:
    with pytest.raises(ChainError, match="not been started"):
        _ = Anvil(tmp_path).url


def test_the_node_keeps_its_port_and_state_across_a_restart(tmp_path: Path) -> None:
    node = Anvil(tmp_path).start()
    try:
        url = node.url
        assert int(node.rpc("eth_chainId"), 16) == anvil.ANVIL_CHAIN_ID
        node.rpc("evm_mine")
        height = int(node.rpc("eth_blockNumber"), 16)
        assert height >= 1
        node.stop()
        node.start()
        assert node.url == url
        assert int(node.rpc("eth_blockNumber"), 16) == height
        assert node.chain().describe() == f"chain {anvil.ANVIL_CHAIN_ID} at {url}"
        with pytest.raises(ChainError, match="no_such_method"):
            node.rpc("no_such_method")
    finally:
        node.stop()
