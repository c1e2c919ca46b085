"""Abuse limits: how many requests a minute one client address (and, where the request names
one, one account) may make of the paths that do work without a proven credential, or that run
the assistant. ``docs/security.md`` has the table of path → limit → key.

There is one mechanism, :class:`proofdesk.identity.credentials.RateLimiter` (a sliding window
per key, in this process), the same the log-in limits use; each kind of path has windows of its
own, so that a flood of proof requests does not lock anyone out of signing in. The address is
:func:`app.guards.client_address` (``X-Forwarded-For`` only from a trusted proxy). A
deployment of several processes gets a window per process: put a proxy that limits in front.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from fastapi import Depends, Request, params

from proofdesk.app.guards import client_address
from proofdesk.app.services import services_of
from proofdesk.identity.credentials import RateLimiter
from proofdesk.settings import Settings

#: The attribute that marks a dependency as an abuse limit, so that a test can walk the routes
#: and find every unauthenticated one limited (``tests/api/test_abuse_limits.py``).
MARK = "proofdesk_limit"


class Kind(StrEnum):
    """The kinds of path with windows of their own."""

    #: Unauthenticated reads that compute: the log's proofs and entries, checkpoints, anchors,
    #: the chain, published contracts and activation receipts, typed data, the widget's page.
    PUBLIC = "public"
    #: Signed deliveries with no token: order webhooks (the signature is checked after the
    #: body is read, so a stranger's request costs an HMAC and a database read).
    WEBHOOK = "webhook"
    #: A conversation turn, its feedback, suggestions: each runs the assistant's models.
    ASSISTANT = "assistant"
    #: Telegram's webhook updates (checked against the bot's secret token after this).
    TELEGRAM = "telegram"
    #: C2SP tiles of the log: a monitor or witness catching up reads thousands.
    TILES = "tiles"


@dataclass(frozen=True, slots=True)
class AbuseLimits:
    """The windows of :class:`Kind` (log-in has its own, ``actions.login.LoginLimits``)."""

    by_address: dict[Kind, RateLimiter]
    #: The assistant's second window, by account: a person on many addresses is one person.
    assistant_by_account: RateLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> AbuseLimits:
        return cls(
            by_address={
                Kind.PUBLIC: RateLimiter(settings.public_rate_per_minute),
                Kind.WEBHOOK: RateLimiter(settings.webhook_rate_per_minute),
                Kind.ASSISTANT: RateLimiter(settings.assistant_rate_per_minute),
                Kind.TILES: RateLimiter(settings.tiles_rate_per_minute),
                Kind.TELEGRAM: RateLimiter(settings.telegram_rate_per_minute),
            },
            assistant_by_account=RateLimiter(settings.assistant_account_rate_per_minute),
        )

    def hit(self, kind: Kind, address: str) -> None:
        """Count one request of ``kind`` from ``address``; :class:`RateLimited` when full."""
        self.by_address[kind].hit(address)

    def assistant(self, address: str, user_id: str) -> None:
        """Count one run of the assistant, by address and by the signed-in account."""
        self.hit(Kind.ASSISTANT, address)
        self.assistant_by_account.hit(user_id)


def address_of(request: Request) -> str:
    """The client's address as the limits see it."""
    return client_address(request, services_of(request).settings.trusted_proxies)


def per_address(kind: Kind) -> params.Depends:
    """A route dependency: count the request against ``kind``'s window of its address."""

    async def limit(request: Request) -> None:
        services_of(request).limits.hit(kind, address_of(request))

    setattr(limit, MARK, kind)
    checked: Callable[[Request], Awaitable[None]] = limit
    depends: params.Depends = Depends(checked)
    return depends
