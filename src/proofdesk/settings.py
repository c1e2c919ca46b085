"""The one settings object.

Values come from ``PROOFDESK_*`` environment variables and, if present, a ``.env``-style file
named by ``PROOFDESK_ENV_FILE`` (default ``proofdesk.env``). The CLI or the app factory builds a
:class:`Settings` and passes it down; no other module reads the environment.
"""

from __future__ import annotations

import ipaddress
import os
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from proofdesk.errors import ConfigError

DEFAULT_DATA_DIR = Path("var")

#: A refund request naming at least this much of a token is a large refund.
DEFAULT_LARGE_REFUND = {
    **dict.fromkeys(("USDT", "USDC", "DAI", "BUSD", "FDUSD"), Decimal(1000)),
    "BTC": Decimal("0.02"),
    "ETH": Decimal("0.4"),
    "BNB": Decimal("2"),
    "SOL": Decimal("8"),
}

#: Content types accepted for attachments, checked against the file's own magic bytes.
DEFAULT_ATTACHMENT_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "application/zip",
)


class Settings(BaseSettings):
    """Configuration of one ProofDesk deployment."""

    model_config = SettingsConfigDict(env_prefix="PROOFDESK_", extra="forbid")

    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR, description="Where the SQLite file and blobs live."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; defaults to SQLite in data_dir (postgresql+psycopg://… scales out).",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str | None = None
    session_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=60)
    session_idle_seconds: int = Field(
        default=8 * 3600, ge=60, description="A session unused this long ends."
    )
    cookie_secure: bool = Field(
        default=False,
        description="Mark cookies Secure; always on when public_url is https://.",
    )
    max_body_bytes: int = Field(
        default=1_000_000, ge=1024, description="JSON bodies above this are refused."
    )
    max_header_bytes: int = Field(
        default=64 * 1024,
        ge=4096,
        le=1024 * 1024,
        description="A request line and header section above this get 431 (RFC 6585).",
    )
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    attachment_types: tuple[str, ...] = DEFAULT_ATTACHMENT_TYPES
    login_rate_per_minute: int = Field(default=10, ge=1)
    # Abuse limits of the other paths that work for strangers or run the assistant
    # (``app.limits``, the table in docs/security.md): requests a minute, per process.
    public_rate_per_minute: int = Field(
        default=600,
        ge=1,
        description="Unauthenticated reads that compute (log proofs and entries, checkpoints, "
        "anchors, the chain, published contracts, typed data, the widget page), per address.",
    )
    webhook_rate_per_minute: int = Field(
        default=120, ge=1, description="Order webhooks (signed, no token), per address."
    )
    telegram_rate_per_minute: int = Field(
        default=1200,
        ge=1,
        description="Telegram webhook updates, per address (Telegram sends from a few "
        "addresses, so this window is wide; the secret token is what keeps strangers out).",
    )
    assistant_rate_per_minute: int = Field(
        default=60,
        ge=1,
        description="Assistant turns, feedback and suggestions (API, widget, portal), per address.",
    )
    assistant_account_rate_per_minute: int = Field(
        default=30, ge=1, description="The same, per signed-in account."
    )
    # Community Q&A (``actions.community``, docs/community.md).
    community_posts_per_hour: int = Field(
        default=20,
        ge=1,
        description="Questions, answers and comments one customer may post in an hour.",
    )
    community_hold_days: int = Field(
        default=7,
        ge=0,
        description="A customer account younger than this has its posts held for review "
        "until a moderator approves one (0: never hold).",
    )
    tiles_rate_per_minute: int = Field(
        default=12_000,
        ge=1,
        description="C2SP tiles of the log (a monitor catching up reads thousands), per address.",
    )
    trusted_proxies: tuple[str, ...] = Field(
        default=(),
        description="Addresses or networks (10.0.0.0/8) of the proxies in front of the desk: "
        "only from these is X-Forwarded-For believed for the client's address (rate limits).",
    )
    log_level: str = "info"
    log_origin: str | None = Field(
        default=None,
        description="Origin line of the log's checkpoints and name of its key. Unset: the "
        "existing key's name, or <host:port of base_url>/proofdesk for a new key.",
    )
    log_key_file: Path | None = Field(
        default=None,
        description="The log's Ed25519 signer key (mode 0600); defaults to data_dir/log.key and "
        "is generated on first start.",
    )
    data_key_file: Path | None = Field(
        default=None,
        description="The key that wraps every ticket's secret (mode 0600); defaults to "
        "data_dir/data.key and is generated on first start. Losing it loses all sealed content.",
    )
    feed_follow_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often each server process reads the log for what other processes "
        "committed, to wake its live pages (only while a page is open).",
    )
    checkpoint_interval_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Sign a checkpoint this often when there are new leaves; 0: never in the background.",
    )
    demo_password: SecretStr = SecretStr("demo-password")
    remote_url: str | None = Field(
        default=None,
        description="The desk `proofdesk ticket …` talks to (https://desk.example); --url wins.",
    )
    remote_token: SecretStr | None = Field(
        default=None, description="The API token `proofdesk ticket …` uses on that desk."
    )
    remote_token_file: Path | None = Field(
        default=None,
        description="A file (mode 0600) holding that token, instead of remote_token.",
    )
    import_token: SecretStr | None = Field(
        default=None,
        description="The source desk's API token for `proofdesk import SYSTEM https://…` "
        "(Zendesk: an agent's API token with --user, or an OAuth token; Freshdesk: the API key; "
        "Zammad: an access token).",
    )
    widget_origins: tuple[str, ...] = Field(
        default=(),
        description="Sites that may embed the chat widget (e.g. https://shop.example); empty: "
        "any site.",
    )
    assistant_threshold: float = Field(
        default=0.45,
        ge=0,
        le=1,
        description="The assistant answers only when its best intent is at least this likely.",
    )
    assistant_margin: float = Field(
        default=0.15,
        ge=0,
        le=1,
        description="…and at least this far ahead of the second; below either, a person answers.",
    )
    assistant_embeddings: bool = Field(
        default=True,
        description="Read meaning with the multilingual sentence encoder beside character "
        "n-grams (about 150 MB); off: n-grams only.",
    )
    assistant_large_refund: dict[str, Decimal] = Field(
        default_factory=lambda: dict(DEFAULT_LARGE_REFUND),
        description="A refund request naming at least this much of a token goes to a person "
        '(JSON, e.g. {"USDT": 1000, "ETH": 0.4}).',
    )
    # -- the assistant's background rebuild (issue 19) ----------------------------------------
    assistant_rebuild_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How often the assistant worker looks for knowledge bases changed since "
        "their model was built and rebuilds them; requests keep the last model meanwhile. 0: "
        "no worker, a request that meets a change rebuilds on the spot.",
    )

    # -- identity (see docs/identity.md) ------------------------------------------------------
    siwe_chain_ids: tuple[int, ...] = Field(
        default=(1, 131277322940537),
        description="Chain ids a Sign-In with Ethereum message may name (default: Ethereum and "
        "the embedded development chain).",
    )
    siwe_nonce_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    siwe_clock_skew_seconds: int = Field(default=60, ge=0, le=600)

    # -- outgoing e-mail (see docs/mail.md) ------------------------------------------------------
    smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp://[user:password@]host[:port] (STARTTLS, required unless the host "
        "is loopback) or smtps://… (TLS from the start). Unset: no e-mail is sent and the "
        "portal offers no sign-in links.",
    )
    mail_from: str = Field(
        default="ProofDesk <no-reply@localhost>", description="The From: of outgoing e-mail."
    )
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    login_link_ttl_seconds: int = Field(
        default=900, ge=60, le=86400, description="How long an e-mailed sign-in link works."
    )

    # -- the chain (see docs/chain.md) --------------------------------------------------------
    chain_rpc_url: str | None = Field(
        default=None,
        description="JSON-RPC URL of the EVM chain to anchor on. Unset: the embedded "
        "development chain in data_dir/chain (not a public network).",
    )
    chain_id: int | None = Field(
        default=None, ge=1, description="Refuse to start if the RPC endpoint serves another chain."
    )
    chain_key: SecretStr | None = Field(
        default=None, description="Hex private key that signs transactions (RPC chains)."
    )
    chain_keystore: Path | None = Field(
        default=None, description="Encrypted keystore (JSON) of the signing key (RPC chains)."
    )
    chain_keystore_password: SecretStr | None = None
    chain_confirmations: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Blocks (counting the anchor's own) before an anchor is final; default 1 on "
        "the embedded chain, 2 on an RPC chain.",
    )
    chain_gas_cap: int = Field(default=2_000_000, ge=21_000)
    chain_max_fee_gwei: float | None = Field(
        default=None, gt=0, description="Never offer more than this per gas (EIP-1559 max fee)."
    )
    chain_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    chain_retries: int = Field(
        default=4, ge=0, le=10, description="Retries (exponential backoff) when the node fails."
    )
    chain_poll_seconds: float = Field(
        default=1.0, gt=0, le=3600, description="How often the anchoring worker looks."
    )
    anchor_contract: str | None = Field(
        default=None,
        pattern=r"^0x[0-9a-fA-F]{40}$",
        description="Address of a CheckpointAnchor deployed elsewhere; default: the one "
        "`proofdesk chain deploy` recorded.",
    )
    request_inbox_contract: str | None = Field(
        default=None,
        pattern=r"^0x[0-9a-fA-F]{40}$",
        description="Address of a RequestInbox deployed elsewhere, whose filings open "
        "requests; default: the one `proofdesk chain deploy` recorded.",
    )
    anchor_every_leaves: int = Field(
        default=1000, ge=1, description="Anchor once this many leaves are unanchored..."
    )
    anchor_every_seconds: float = Field(
        default=60.0,
        ge=0,
        description="...or once the oldest unanchored checkpoint is this old; 0: no background "
        "anchoring (only `proofdesk anchor now`).",
    )
    automation_poll_seconds: float = Field(
        default=1.0,
        ge=0,
        le=3600,
        description="How often service contracts look for new tickets to decide; 0: only when "
        "asked (tests).",
    )
    automation_sweep_seconds: float = Field(
        default=300.0,
        ge=0,
        le=86_400,
        description="How often time-based automation rules (`triggers: [sweep]`) look at open "
        "tickets; 0: never by themselves.",
    )
    sla_poll_seconds: float = Field(
        default=15.0,
        ge=0,
        le=3600,
        description="How often SLA timers are brought up to date and warnings and breaches "
        "written; 0: only when asked (tests).",
    )
    # The e-mail channel (docs/channels.md).
    mail_poll_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="How often each mailbox with IMAP settings is polled; 0: never by itself.",
    )
    mail_outbox_seconds: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="How often the outbox sender looks for mail to send; 0: only when asked.",
    )
    mail_max_bytes: int = Field(
        default=25 * 1024 * 1024,
        ge=1024,
        description="Mail larger than this is quarantined unread.",
    )
    mail_max_parts: int = Field(
        default=200, ge=1, le=100_000, description="Mail with more MIME parts is quarantined."
    )
    mail_inbound_smtp: str | None = Field(
        default=None,
        description="`host:port` for the inbound SMTP endpoint (aiosmtpd) that takes mail piped "
        "to us; unset: no endpoint. Bind it to loopback or a private network behind your MTA.",
    )
    # The Telegram channel (docs/telegram.md).
    telegram_api_url: str = Field(
        default="https://api.telegram.org",
        description="The Bot API server (a local `telegram-bot-api` server, or the tests' "
        "loopback one).",
    )
    telegram_poll_seconds: float = Field(
        default=2.0,
        ge=0,
        le=3600,
        description="How often the `telegram_poll` worker asks for updates of bots in polling "
        "mode (development); 0: only when asked.",
    )
    telegram_poll_timeout: int = Field(
        default=0,
        ge=0,
        le=50,
        description="The long-polling wait of `getUpdates`, in seconds (0: short polling).",
    )
    telegram_outbox_seconds: float = Field(
        default=2.0,
        ge=0,
        le=3600,
        description="How often the Telegram outbox sender looks for messages to send; 0: only "
        "when asked.",
    )

    # -- outbound webhooks (see docs/webhooks.md) -----------------------------------------------
    webhooks_poll_seconds: float = Field(
        default=1.0,
        ge=0,
        le=3600,
        description="How often the webhooks worker sends what is due; 0: only when asked (tests).",
    )
    webhooks_timeout_seconds: float = Field(
        default=15.0, gt=0, le=60, description="The whole of one delivery attempt at most."
    )
    webhooks_concurrency: int = Field(
        default=8, ge=1, le=64, description="Deliveries one worker sends at once."
    )
    webhooks_allow_private: bool = Field(
        default=False,
        description="Allow endpoints on loopback, private, link-local and other non-public "
        "addresses, and plain http (tests; receivers on the deployment's own network). Off: "
        "https only, public addresses only (SSRF).",
    )
    webhooks_rotation_grace_seconds: int = Field(
        default=24 * 3600,
        ge=0,
        le=30 * 86400,
        description="How long a rotated-out secret keeps signing beside the new one.",
    )
    webhooks_key_file: Path | None = Field(
        default=None,
        description="The Ed25519 key of the v1a signatures (default: data_dir/webhook.key, "
        "made on first start).",
    )

    # -- consortium (see docs/consortium.md) --------------------------------------------------
    witness_name: str | None = Field(
        default=None,
        description="Name of this deployment's witness key (C2SP tlog-witness); unset: "
        "<host:port of base_url>/witness.",
    )
    witness_key_file: Path | None = Field(
        default=None,
        description="The witness's Ed25519 cosigning key (mode 0600); defaults to "
        "data_dir/witness.key and is generated on first use.",
    )
    log_witnesses: tuple[str, ...] = Field(
        default=(),
        description='Witnesses of our log, each "<add-checkpoint prefix URL> <witness vkey>" '
        '(JSON list, e.g. ["https://w.example/api/v1/witness w.example/w+1a2b3c4d+BA…"]).',
    )
    log_witness_quorum: int = Field(
        default=1,
        ge=1,
        description="A checkpoint counts as witnessed once this many of log_witnesses cosigned "
        "it (k of n).",
    )
    witness_poll_seconds: float = Field(
        default=1.0,
        ge=0,
        le=3600,
        description="How often new checkpoints are sent to log_witnesses; 0: only when asked.",
    )
    monitor_poll_seconds: float = Field(
        default=30.0,
        ge=0,
        le=86_400,
        description="How often the monitor fetches the checkpoints of the logs it follows "
        "(`proofdesk monitor add`); 0: only `proofdesk monitor run`.",
    )
    witness_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=120,
        description="How long a witness may take to answer before it counts as down.",
    )

    transfers_poll_seconds: float = Field(
        default=1.0,
        ge=0,
        le=3600,
        description="How often signed status updates of transferred tickets are sent to the "
        "partners; 0: only when asked (tests).",
    )
    transfers_timeout: float = Field(
        default=15.0,
        gt=0,
        le=120,
        description="How long a partner may take to answer a transfer or an update.",
    )
    transfers_allow_private: bool = Field(
        default=False,
        description="Allow partners on loopback, private and other non-public addresses, and "
        "plain http (tests; partners on the deployment's own network). Off: https only, public "
        "addresses only (SSRF).",
    )
    transfers_key_file: Path | None = Field(
        default=None,
        description="The Ed25519 key that signs transfer bundles, acknowledgements and updates "
        "(default: data_dir/transfer.key, made on first use).",
    )

    # -- transaction look-ups on other networks (see docs/networks.md) ------------------------
    network_endpoints: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Per network key (tron, bitcoin, …) the base URL of its look-up API: a "
        "TronGrid-compatible HTTP API for tron, an Esplora-compatible one for bitcoin. A URL "
        "may carry an API key, so it is a secret. None by default: those networks' look-ups "
        "say 'not configured'; nothing public is ever asked.",
    )
    network_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @field_validator("database_url")
    @classmethod
    def _url_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:// or postgresql+psycopg:// URL")
        return value

    @field_validator("network_endpoints")
    @classmethod
    def _network_endpoints(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for key, url in value.items():
            parts = urlsplit(url.get_secret_value())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{key}: must be an http:// or https:// URL")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parts = urlsplit(value.get_secret_value())
            if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
                raise ValueError("must be smtp://host[:port] or smtps://host[:port]")
        return value

    @field_validator("widget_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if not origin.startswith(("https://", "http://")) or any(
                c in origin for c in " ;,'\"\n"
            ):
                raise ValueError(f"{origin!r} is not an origin like https://shop.example")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not an IP address or network") from None
        return value

    @field_validator("assistant_large_refund")
    @classmethod
    def _token_amounts(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        if any(amount <= 0 for amount in value.values()):
            raise ValueError("amounts must be positive")
        return {token.upper(): amount for token, amount in value.items()}

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'proofdesk.db'}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def default_log_origin(self) -> str:
        """The origin a new log key gets when ``log_origin`` is not set."""
        return self.base_url.split("://", 1)[-1].rstrip("/") + "/proofdesk"

    @property
    def effective_data_key_file(self) -> Path:
        return self.data_key_file or self.data_dir / "data.key"

    @property
    def effective_webhooks_key_file(self) -> Path:
        return self.webhooks_key_file or self.data_dir / "webhook.key"

    @property
    def effective_transfers_key_file(self) -> Path:
        return self.transfers_key_file or self.data_dir / "transfer.key"

    @property
    def effective_witness_key_file(self) -> Path:
        return self.witness_key_file or self.data_dir / "witness.key"

    @property
    def witness_key_name(self) -> str:
        return self.witness_name or self.base_url.split("://", 1)[-1].rstrip("/") + "/witness"

    @property
    def effective_log_key_file(self) -> Path:
        return self.log_key_file or self.data_dir / "log.key"

    @property
    def secure_cookies(self) -> bool:
        return self.cookie_secure or self.base_url.startswith("https://")

    @property
    def embedded_chain_path(self) -> Path:
        return self.data_dir / "chain" / "evm.sqlite3"

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment and the optional env file; a bad value is a
    :class:`ConfigError` naming the key, never a pydantic traceback."""
    env_file = os.environ.get("PROOFDESK_ENV_FILE", "proofdesk.env")
    try:
        values: dict[str, Any] = dict(overrides)
        return Settings(_env_file=env_file if Path(env_file).is_file() else None, **values)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(
            f"setting {key!r} (PROOFDESK_{key.upper()}): {first['msg']}", key=key
        ) from None
