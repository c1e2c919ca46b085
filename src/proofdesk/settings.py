"""The one settings object.

Values come from ``PROOFDESK_*`` environment variables and, if present, a ``.env``-style file
named by ``PROOFDESK_ENV_FILE`` (default ``proofdesk.env``). The CLI or the app factory builds a
:class:`Settings` and passes it down; no other module reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from proofdesk.errors import ConfigError

DEFAULT_DATA_DIR = Path("var")

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
    cookie_secure: bool = False
    max_body_bytes: int = Field(
        default=1_000_000, ge=1024, description="JSON bodies above this are refused."
    )
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    attachment_types: tuple[str, ...] = DEFAULT_ATTACHMENT_TYPES
    login_rate_per_minute: int = Field(default=10, ge=1)
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
    checkpoint_interval_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Sign a checkpoint this often when there are new leaves; 0: never in the background.",
    )
    demo_password: SecretStr = SecretStr("demo-password")

    @field_validator("database_url")
    @classmethod
    def _url_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:// or postgresql+psycopg:// URL")
        return value

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
    def effective_log_key_file(self) -> Path:
        return self.log_key_file or self.data_dir / "log.key"

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
