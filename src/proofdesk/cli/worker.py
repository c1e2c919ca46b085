"""``proofdesk worker``: the background workers in the foreground, apart from the API.

Several such processes (and ``serve --no-workers``) may share one PostgreSQL database: every
worker re-checks its work under the writer lock, so none is done twice (``docs/workers.md``).
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from proofdesk.cli.common import app, handles_errors, out, settings
from proofdesk.errors import ConfigError

if TYPE_CHECKING:
    from proofdesk.workers.registry import Workers


@app.command()
@handles_errors
def worker(
    only: Annotated[
        str | None,
        typer.Option(
            "--only",
            metavar="NAMES",
            help="Comma-separated workers to run: checkpoints, anchoring, payouts, automation, "
            "sla, inbox, webhooks, mail_poll, mail_outbox, mail_smtp (default: all).",
        ),
    ] = None,
) -> None:
    """Run the background workers until SIGINT or SIGTERM, then stop them cleanly."""
    from proofdesk.app.services import open_anchorer, open_database
    from proofdesk.ledger.checkpoints import signer_for
    from proofdesk.store.migrate import is_current
    from proofdesk.workers import registry

    names = registry.chosen(only)
    conf = settings()
    db = open_database(conf)
    try:
        if not is_current(db):
            raise ConfigError(
                "the database schema is not current: run `proofdesk migrate`", key="database_url"
            )
        workers = registry.build(conf, db, signer_for(conf), lambda: open_anchorer(conf, db))
        _run(workers, names, conf.log_level)
    finally:
        db.dispose()


def _run(workers: Workers, names: tuple[str, ...], level: str) -> None:
    from proofdesk.domain.redaction import install_log_filter

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(name)s %(message)s")
    install_log_filter()
    try:
        started = workers.start(names)
        idle = [n for n in names if n not in started]
        if not started:
            raise ConfigError(
                f"no worker to run: {', '.join(idle)} have an interval of 0 in the settings",
                key="only",
            )
        out.print(f"running workers: {', '.join(started)}", highlight=False)
        if idle:
            out.print(f"not started (interval 0): {', '.join(idle)}", highlight=False)
        while not stop.wait(0.5):  # wakes to let the signal handler run promptly
            pass
    finally:
        workers.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    out.print("workers stopped", highlight=False)
