"""Every background worker by name, and the one place that builds them.

``serve`` (through the app factory) and ``proofdesk worker`` build the same :class:`Workers`
from the same settings; they differ only in which they start. A new worker is a
:class:`~proofdesk.workers.base.PeriodicWorker` in ``workers/`` and one entry in
:data:`FACTORIES` (see ``docs/workers.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from proofdesk.assistant.conversation import Models
from proofdesk.chain.anchoring import Anchorer
from proofdesk.chain.base import Chain
from proofdesk.errors import InvalidInput
from proofdesk.ledger.witnessing import configured_witnesses
from proofdesk.mail.smtp import Mailer
from proofdesk.settings import Settings
from proofdesk.store.db import Database
from proofdesk.verify.note import Signer
from proofdesk.workers.anchoring import AnchorLoop
from proofdesk.workers.assistant import ModelRebuilder
from proofdesk.workers.automation import Automator
from proofdesk.workers.base import PeriodicWorker
from proofdesk.workers.checkpoints import CheckpointLoop
from proofdesk.workers.inbox import InboxWorker
from proofdesk.workers.mail_outbox import MailOutbox, smtp_sender
from proofdesk.workers.mail_poll import MailPoller
from proofdesk.workers.mail_smtp import MailSmtpEndpoint
from proofdesk.workers.monitor import MonitorLoop
from proofdesk.workers.payouts import PayoutWorker
from proofdesk.workers.sla import SlaWorker
from proofdesk.workers.telegram import TelegramOutbox, TelegramPoller
from proofdesk.workers.transfers import TransferWorker
from proofdesk.workers.webhooks import WebhookWorker
from proofdesk.workers.witnessing import WitnessLoop

W = TypeVar("W", bound=PeriodicWorker)


class UnknownWorker(InvalidInput):
    code = "unknown_worker"


@dataclass(frozen=True)
class Parts:
    """What a factory builds its worker from; ``built`` holds the workers made before it."""

    settings: Settings
    db: Database
    signer: Signer
    anchorer: Callable[[], Anchorer]
    built: dict[str, PeriodicWorker]

    def chain(self) -> Chain:
        """The anchoring worker's chain, opened on first use: one per process."""
        anchoring = self.built["anchoring"]
        assert isinstance(anchoring, AnchorLoop)
        return anchoring.anchorer().chain


def _models(parts: Parts) -> Models:
    rebuilder = parts.built["assistant"]
    assert isinstance(rebuilder, ModelRebuilder)
    return rebuilder.models


def _chain_interval(settings: Settings) -> float:
    # Anchoring off (``anchor_every_seconds`` 0) keeps the chain quiet: payouts too.
    return settings.chain_poll_seconds if settings.anchor_every_seconds > 0 else 0


#: Name → factory, in the order they are built, started and (reversed) stopped.
FACTORIES: dict[str, Callable[[Parts], PeriodicWorker]] = {
    "checkpoints": lambda p: CheckpointLoop(p.db, p.signer, p.settings.checkpoint_interval_seconds),
    "anchoring": lambda p: AnchorLoop(p.anchorer, _chain_interval(p.settings)),
    "payouts": lambda p: PayoutWorker(p.db, p.chain, _chain_interval(p.settings)),
    "automation": lambda p: Automator(
        p.db,
        p.chain,
        p.settings.automation_poll_seconds,
        sweep_seconds=p.settings.automation_sweep_seconds,
        settings=p.settings,
    ),
    "sla": lambda p: SlaWorker(p.db, p.settings.sla_poll_seconds),
    "inbox": lambda p: InboxWorker(
        p.db, p.chain, _chain_interval(p.settings), contract=p.settings.request_inbox_contract
    ),
    "webhooks": lambda p: WebhookWorker.from_settings(p.settings, p.db),
    "mail_poll": lambda p: MailPoller(p.db, p.settings, p.settings.mail_poll_seconds),
    "mail_outbox": lambda p: MailOutbox(
        p.db, smtp_sender(Mailer.from_settings(p.settings)), p.settings.mail_outbox_seconds
    ),
    "mail_smtp": lambda p: MailSmtpEndpoint(p.db, p.settings),
    "witnessing": lambda p: WitnessLoop(
        p.db,
        configured_witnesses(p.settings),
        p.settings.witness_poll_seconds,
        p.settings.witness_timeout_seconds,
    ),
    "monitor": lambda p: MonitorLoop(
        p.db, p.settings.monitor_poll_seconds, p.settings.witness_timeout_seconds
    ),
    "transfers": lambda p: TransferWorker.from_settings(p.settings, p.db, p.signer),
    "assistant": lambda p: ModelRebuilder(
        p.db,
        Models.from_settings(p.settings, background=p.settings.assistant_rebuild_seconds > 0),
        p.settings.assistant_rebuild_seconds,
    ),
    # After the assistant: the bot's conversations use its models.
    "telegram_poll": lambda p: TelegramPoller(
        p.db, p.settings, _models(p), p.settings.telegram_poll_seconds
    ),
    "telegram_outbox": lambda p: TelegramOutbox(
        p.db, p.settings, p.settings.telegram_outbox_seconds
    ),
}
NAMES = tuple(FACTORIES)


def chosen(text: str | None) -> tuple[str, ...]:
    """The worker names of a comma-separated list (all of them for None), in registry order."""
    if text is None:
        return NAMES
    names = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(names - set(NAMES))
    if unknown or not names:
        raise UnknownWorker(
            f"unknown worker {', '.join(unknown) or '(none named)'}: choose among "
            f"{', '.join(NAMES)}",
            field="only",
        )
    return tuple(n for n in NAMES if n in names)


class Workers:
    """The workers of one process: all built (the API reads their state), some started."""

    def __init__(self, parts: Parts) -> None:
        for name, factory in FACTORIES.items():
            parts.built[name] = factory(parts)
        self.by_name = parts.built

    @property
    def anchoring(self) -> AnchorLoop:
        return self._get("anchoring", AnchorLoop)

    @property
    def payouts(self) -> PayoutWorker:
        return self._get("payouts", PayoutWorker)

    @property
    def automation(self) -> Automator:
        return self._get("automation", Automator)

    @property
    def sla(self) -> SlaWorker:
        return self._get("sla", SlaWorker)

    @property
    def inbox(self) -> InboxWorker:
        return self._get("inbox", InboxWorker)

    @property
    def webhooks(self) -> WebhookWorker:
        return self._get("webhooks", WebhookWorker)

    @property
    def witnessing(self) -> WitnessLoop:
        return self._get("witnessing", WitnessLoop)

    @property
    def transfers(self) -> TransferWorker:
        return self._get("transfers", TransferWorker)

    @property
    def assistant(self) -> ModelRebuilder:
        return self._get("assistant", ModelRebuilder)

    def _get(self, name: str, kind: type[W]) -> W:
        worker = self.by_name[name]
        assert isinstance(worker, kind)
        return worker

    def start(self, names: Iterable[str] = NAMES) -> list[str]:
        """Start the named workers; returns those that run in a thread (an interval of 0
        means steps are run by hand)."""
        started = []
        for name in names:
            worker = self.by_name[name]
            worker.start()
            if worker.interval > 0:
                started.append(name)
        return started

    def stop(self) -> None:
        """Stop every worker, started or not (stopping also closes what one opened)."""
        for worker in reversed(list(self.by_name.values())):
            worker.stop()


def build(
    settings: Settings, db: Database, signer: Signer, anchorer: Callable[[], Anchorer]
) -> Workers:
    """Every worker of this deployment; ``anchorer`` opens the chain when first needed."""
    return Workers(Parts(settings, db, signer, anchorer, {}))
