"""Opening the configured chain."""

from __future__ import annotations

from proofdesk.chain.base import Chain
from proofdesk.settings import Settings


def open_chain(settings: Settings) -> Chain:
    """The chain the settings name: an RPC endpoint, or the embedded development chain."""
    if settings.chain_rpc_url:
        from proofdesk.chain.rpc import RpcChain, load_account

        account = load_account(
            key=settings.chain_key.get_secret_value() if settings.chain_key else None,
            keystore=settings.chain_keystore,
            password=(
                settings.chain_keystore_password.get_secret_value()
                if settings.chain_keystore_password
                else None
            ),
        )
        return RpcChain(
            settings.chain_rpc_url,
            account,
            expected_chain_id=settings.chain_id,
            confirmations=settings.chain_confirmations or 2,
            gas_cap=settings.chain_gas_cap,
            max_fee_per_gas=(
                int(settings.chain_max_fee_gwei * 10**9) if settings.chain_max_fee_gwei else None
            ),
            timeout=settings.chain_timeout_seconds,
            retries=settings.chain_retries,
        )
    from proofdesk.chain.embedded import EmbeddedChain

    return EmbeddedChain(
        settings.embedded_chain_path,
        confirmations=settings.chain_confirmations or 1,
        gas_cap=settings.chain_gas_cap,
    )
