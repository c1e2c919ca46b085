"""The networks a ticket may name, and which of them this desk can look transactions up on.
Public: it says what the desk is configured for, never an endpoint."""

from __future__ import annotations

from fastapi import APIRouter

from proofdesk.api.deps import ServicesDep
from proofdesk.api.schemas.networks import NetworkOut, NetworksOut
from proofdesk.app.limits import Kind, per_address
from proofdesk.domain.networks import NETWORKS, Family

router = APIRouter(tags=["chain"])


@router.get(
    "/networks",
    response_model=NetworksOut,
    summary="Networks tickets may name",
    dependencies=[per_address(Kind.PUBLIC)],
)
def networks(services: ServicesDep) -> NetworksOut:
    configured = services.settings.network_endpoints
    return NetworksOut(
        networks=[
            NetworkOut(
                key=n.key,
                name=n.name,
                family=n.family.value,
                coin=n.coin,
                chain_id=n.chain_id,
                token_standard=n.token_standard,
                lookup=n.key in configured and n.family in (Family.TRON, Family.BITCOIN),
            )
            for n in NETWORKS
        ]
    )
