"""The pieces of a deployment: :class:`Services`, the one container every adapter (API, web
pages) receives, and the functions that build its parts from settings (shared by the CLI and
tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from proofdesk.actions.blobs import BlobStore
from proofdesk.actions.login import LoginLimits
from proofdesk.identity.credentials import RateLimiter
from proofdesk.ledger.keys import Keyring
from proofdesk.ledger.witnessing import WitnessPolicy
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.store.migrate import upgrade
from proofdesk.verify.cosignature import Cosigner
from proofdesk.verify.note import Signer

if TYPE_CHECKING:
    from proofdesk.app.limits import AbuseLimits
    from proofdesk.app.presence import Presence
    from proofdesk.assistant.conversation import Models
    from proofdesk.chain.anchoring import Anchorer
    from proofdesk.chain.base import Chain
    from proofdesk.workers.anchoring import AnchorLoop
    from proofdesk.workers.automation import Automator
    from proofdesk.workers.sla import SlaWorker


#: Sends one e-mail (to, subject, text) and does not raise: the channel logs a failure, and a
#: page must not tell whether a message could be sent (``web.signin``).
SendMail = Callable[[str, str, str], None]


@dataclass(slots=True)
class Services:
    """What a request may use: built once by ``app.factory.create_app``, kept on the app's
    state, and reached from a request with :func:`services_of`."""

    settings: Settings
    db: Database
    blobs: BlobStore
    login_limiter: RateLimiter
    login_limiter_by_address: RateLimiter
    #: The abuse limits of the paths other than log-in (``app.limits``).
    limits: AbuseLimits
    signer: Signer
    anchoring: AnchorLoop
    automation: Automator
    sla: SlaWorker
    assistant: Models
    presence: Presence
    #: The witness's cosigning key (C2SP tlog-witness; ``docs/consortium.md``).
    cosigner: Cosigner
    #: Which cosignatures of our checkpoints count, and how many (k of n).
    witness_policy: WitnessPolicy
    #: None when no e-mail server is configured (sign-in links are then not offered).
    send_mail: SendMail | None = None

    def login_limits(self) -> LoginLimits:
        """The windows every sign-in attempt counts against (``actions.login``)."""
        return LoginLimits(self.login_limiter_by_address, self.login_limiter)

    def chain(self) -> Chain:
        """The configured chain (opened on first use; :class:`ChainError` if unreachable)."""
        return self.anchoring.anchorer().chain

    def chain_or_none(self) -> Chain | None:
        """The chain for facts: None when it cannot be reached (chain facts are then unknown,
        and a decision says why)."""
        # Imported here to keep web3 out of the CLI's start-up, not to dodge a cycle.
        from proofdesk.chain.base import ChainError

        try:
            return self.chain()
        except ChainError:
            return None


def services_of(connection: HTTPConnection) -> Services:
    """The services of the app serving this request."""
    services: Services = connection.app.state.services
    return services


def open_database(settings: Settings, *, migrate: bool = False) -> Database:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(
        settings.effective_database_url,
        keyring=Keyring.from_file(settings.effective_data_key_file),
    )
    if migrate:
        upgrade(db)
    return db


def open_anchorer(settings: Settings, db: Database) -> Anchorer:
    """The anchoring service of this deployment's log on its configured chain. The embedded
    development chain is this deployment's alone: its contracts are deployed on first use."""
    from proofdesk.chain import contracts
    from proofdesk.chain.anchoring import Anchorer, Policy
    from proofdesk.chain.connect import open_chain
    from proofdesk.chain.deployments import deploy_contracts
    from proofdesk.ledger.checkpoints import signer_for

    chain = open_chain(settings)
    anchorer = Anchorer(
        db,
        chain,
        signer_for(settings).name,
        Policy(settings.anchor_every_leaves, settings.anchor_every_seconds),
        contract_address=settings.anchor_contract,
    )
    if chain.kind == "embedded":  # deploys only what the development chain lacks
        deploy_contracts(db, chain, contracts.NAMES)
    return anchorer
