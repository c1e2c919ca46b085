"""Transaction look-ups on every network the registry names, behind one protocol
(:class:`~proofdesk.chain.lookups.base.TxLookup`), with an adapter per family: the configured
EVM chain, a TronGrid-compatible API, an Esplora-compatible API ([networks.md]).

:func:`lookup_for` is the one place that picks the adapter for a ticket's network; a network
with no endpoint in ``settings.network_endpoints`` raises
:class:`~proofdesk.chain.lookups.base.NotConfigured` — nothing public is ever asked.
"""

from __future__ import annotations

from proofdesk.chain.base import Chain
from proofdesk.chain.lookups.base import HttpApi, NotConfigured, TxLookup
from proofdesk.chain.lookups.esplora import EsploraLookup
from proofdesk.chain.lookups.evm import LOCAL, EvmLookup
from proofdesk.chain.lookups.tron import TronLookup
from proofdesk.domain.networks import Family, by_chain_id, network
from proofdesk.settings import Settings

__all__ = ["NotConfigured", "TxLookup", "lookup_for"]


def lookup_for(
    settings: Settings | None,
    chain: Chain | None,
    network_key: str | None,
    chain_id: int | None = None,
) -> TxLookup:
    """The look-up for a transaction on ``network_key`` (None: an EVM chain by ``chain_id``,
    None meaning the configured one); ``settings`` None: no other network's endpoint. Raises :class:`NotConfigured` or :class:`ChainError`
    with the reason when it cannot be made."""
    net = None if network_key is None else network(network_key)
    if net is None or net.family is Family.EVM:
        wanted = chain_id if net is None else net.chain_id
        if chain is None:
            raise NotConfigured("no chain is configured")
        if wanted is not None and wanted != chain.chain_id:
            name = net.name if net is not None else f"chain {wanted}"
            raise NotConfigured(
                f"the transaction is on {name}, which is not configured", network=network_key
            )
        return EvmLookup(chain, by_chain_id(chain.chain_id) or LOCAL)
    endpoint = None if settings is None else settings.network_endpoints.get(net.key)
    if endpoint is None:
        raise NotConfigured(f"no look-up endpoint is configured for {net.name}", network=net.key)
    timeout = 5.0 if settings is None else settings.network_timeout_seconds
    api = HttpApi(endpoint.get_secret_value(), net, timeout)
    if net.family is Family.TRON:
        return TronLookup(api, net)
    if net.family is Family.BITCOIN:
        return EsploraLookup(api, net)
    raise NotConfigured(f"ProofDesk cannot look up {net.name} transactions yet", network=net.key)
