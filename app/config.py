"""Settings, read from the environment with the ``RR_`` prefix (``DATABASE_URL`` is accepted too)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RR_", env_file=".env", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("RR_DATABASE_URL", "DATABASE_URL"),
        description="SQLAlchemy URL; empty means an SQLite file in data_dir.",
    )
    # The master secret: every other key (sessions, CSRF, token hashing, blind index,
    # data encryption unless given, webhook Ed25519 key unless given) is derived from it.
    secret_key: SecretStr | None = None
    # Optional explicit data-encryption keys: "kid:base64key,kid2:base64key"; the first is current.
    data_encryption_keys: SecretStr | None = None

    public_base_url: str = "http://127.0.0.1:8000"
    # Security hardening (issue 12). Proxies whose X-Forwarded-For is believed: addresses or
    # CIDRs, comma-separated; none by default. Hosts answered besides the public URL's.
    trusted_proxies: str = ""
    allowed_hosts: str = ""
    host: str = "127.0.0.1"
    port: int = 8000

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_from: str = "Rights Relay <no-reply@rights-relay.local>"

    # Webhook targets on loopback/private networks, and plain http, are refused unless allowed.
    allow_private_webhook_targets: bool = False
    allow_http_webhooks: bool = False

    # Webhook delivery (app/delivery): the worker runs in the serving process unless turned
    # off (then run `rights-relay worker`); every timing is in seconds.
    run_delivery_worker: bool = True
    # `rights-relay worker` sends from a child process of its own (claiming and recording stay
    # in the worker's): the two use two cores. The worker inside `serve` always sends itself.
    webhook_sending_process: bool = True
    delivery_poll_seconds: float = Field(default=1.0, gt=0)
    webhook_timeout_seconds: float = Field(default=15.0, gt=0)
    webhook_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    # How long a worker holds the deliveries it claimed (at least the timeout plus 5 s; by
    # default twice the timeout plus a minute): a crashed worker's are sent again after it.
    delivery_lease_seconds: float | None = Field(default=None, gt=0)
    webhook_concurrency: int = Field(default=256, ge=1, le=10_000)
    # A send unanswered this long (or four times the recent typical answer time, if longer)
    # gives its slot back and waits among at most `webhook_waiting_connections` idle
    # connections: slow endpoints never hold up the rest.
    webhook_slow_after_seconds: float = Field(default=0.25, gt=0)
    webhook_waiting_connections: int = Field(default=2048, ge=0, le=50_000)
    # After a secret rotation the old secret keeps signing beside the new one this long.
    webhook_secret_grace_hours: float = Field(default=24.0, ge=0)
    # An endpoint failing without a success for this long is disabled and its owner emailed.
    endpoint_disable_after_hours: float = Field(default=120.0, gt=0)
    # Ed25519 keys for `v1a` signatures, "kid:base64(32-byte seed),...": the first signs, all
    # are published. Unset: one key derived from the secret key.
    webhook_signing_keys: SecretStr | None = None
    # Re-users who have not acknowledged an event are reminded this long before its deadline.
    ack_reminder_lead_hours: float = Field(default=72.0, ge=0)

    # Gated models (issue 14): how long an access grant works once issued.
    access_grant_ttl_seconds: int = Field(default=900, ge=30, le=86_400)

    # How long re-users are given to replace a superseded or withdrawn revision.
    replacement_deadline_days: int = Field(default=30, ge=1, le=365)

    # Public intake.
    confirmation_ttl_hours: int = 7 * 24
    rate_limit_ip_per_hour: int = 20
    rate_limit_email_per_day: int = 5
    rate_limit_token_per_minute: int = 60

    # Background work (email outbox, expiry, deadlines) in the serving process.
    run_jobs: bool = True
    job_poll_seconds: float = 5.0
    # Sweeps that need no promptness: expiry of unconfirmed requests, deadline reminders.
    housekeeping_seconds: float = 60.0
    # Multiplies every retry delay; tests shrink it to see retries happen in seconds.
    retry_scale: float = 1.0
    # How often the deadline reminder job looks for cases due soon or overdue (each case is
    # reminded about at most once a day, however often it runs).
    reminder_interval_seconds: float = Field(default=3600.0, gt=0)

    # A case's subject data is erased this long after the case ended (closed, withdrawn...).
    retention_days: float = Field(default=365.0, gt=0)
    # Storage limitation for cases that would otherwise never end (Art. 5(1)(e)): a rejected
    # case closes by itself this long after the subject was sent the decision; a remediated
    # case this long after the subject was sent the fix, once nothing is left for staff to do.
    rejected_close_days: float = Field(default=30.0, gt=0)
    remediated_close_days: float = Field(default=30.0, gt=0)
    # Art. 11(2): after a `cannot_identify` refusal, the person may send more information on
    # their status page this long; it sends the case back to review. Rejected cases of this
    # ground close no sooner than the window ends.
    identify_window_days: float = Field(default=30.0, gt=0)
    # How often each organisation's audit chain head is signed and published (if it moved).
    audit_checkpoint_seconds: float = Field(default=3600.0, gt=0)
    # A case whose status has not moved for this long is flagged to its staff (once per status).
    stalled_after_days: float = Field(default=60.0, gt=0)

    # Regurgitation probes (app/probes). Inference servers usually sit on private networks:
    # those (and plain http) are reached only when listed here: host names, addresses or
    # CIDRs, comma-separated. Public https targets need no listing.
    probe_allowed_targets: str = ""
    probe_timeout_seconds: float = Field(default=60.0, gt=0)
    probe_retries: int = Field(default=2, ge=0, le=10)
    # A completion longer than this is a failed sample (a server ignoring max_tokens).
    probe_max_completion_chars: int = Field(default=8000, ge=100)
    probe_fuzzy_threshold: float = Field(default=90.0, ge=50, le=100)
    probe_lease_seconds: float = Field(default=600.0, gt=0)

    max_body_bytes: int = 1_000_000
    session_max_age_seconds: int = 12 * 3600
    log_level: str = "INFO"
    seed_demo: bool = True

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        return v.rstrip("/")

    # --- derived values -------------------------------------------------------------------

    @property
    def sqlalchemy_url(self) -> str:
        """The async URL the app uses (aiosqlite / psycopg async)."""
        return to_async_url(self.database_url or f"sqlite:///{self.data_dir / 'rights-relay.db'}")

    @property
    def sync_url(self) -> str:
        """The sync URL Alembic and the CLI use."""
        return to_sync_url(self.sqlalchemy_url)

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def cookie_secure(self) -> bool:
        return self.public_base_url.startswith("https://")

    @cached_property
    def master_key(self) -> bytes:
        if self.secret_key is None:
            raise RuntimeError("RR_SECRET_KEY is not set; call ensure_secret_key() first")
        return hashlib.sha256(self.secret_key.get_secret_value().encode()).digest()

    def subkey(self, purpose: str) -> bytes:
        """A key for one purpose, derived from the master secret (HMAC as a KDF)."""
        return hmac.new(self.master_key, b"rights-relay/" + purpose.encode(), hashlib.sha256).digest()


def to_async_url(url: str) -> str:
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url[len("sqlite:") :]
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def to_sync_url(url: str) -> str:
    if url.startswith("sqlite+aiosqlite:"):
        return "sqlite:" + url[len("sqlite+aiosqlite:") :]
    return url  # psycopg 3 serves sync and async under the same URL


def ensure_secret_key(settings: Settings) -> Settings:
    """Give a development install a persistent secret so `serve` works with no configuration.

    Production must set RR_SECRET_KEY; losing it makes encrypted personal data unreadable.
    """
    if settings.secret_key is not None:
        return settings
    if settings.environment == "production":
        raise RuntimeError("RR_SECRET_KEY must be set in production")
    path = settings.data_dir / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    return settings.model_copy(update={"secret_key": SecretStr(path.read_text().strip())})


def load_settings() -> Settings:
    return ensure_secret_key(Settings())
