from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin, utcnow


class Role(StrEnum):
    admin = "admin"
    reviewer = "reviewer"
    pipeline = "pipeline"


class TwoFactorPolicy(StrEnum):
    """Who in an organisation must sign in with a second factor."""

    optional = "optional"
    admins = "admins"
    everyone = "everyone"


class Organization(IdMixin, TimestampMixin, Base):
    __tablename__ = "organizations"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    require_two_factor: Mapped[str] = mapped_column(String(20), default=TwoFactorPolicy.optional,
                                                    server_default=TwoFactorPolicy.optional)
    # IANA name (app/time_zones.py): deadlines end with a local day of this zone.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")


class User(IdMixin, TimestampMixin, Base):
    """A provider's staff member who signs in to the dashboard."""

    __tablename__ = "users"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Of the dashboard and of the emails this user receives (app/i18n.py LANGUAGES).
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    last_login_at: Mapped[datetime | None]
    # TOTP (app/auth/two_factor.py): the secret sealed with the keyring; set while enrolling,
    # in force once `totp_enabled_at` is. The last time step used, so a code works only once.
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(Integer)


class RecoveryCode(IdMixin, Base):
    """A one-time code that stands in for the authenticator; only its SHA-256 is kept."""

    __tablename__ = "recovery_codes"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                               index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class SignInFailure(IdMixin, Base):
    """A failed sign-in to a known account, shown to the organisation's admins."""

    __tablename__ = "sign_in_failures"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(20))  # password | code | throttled
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SignInThrottle(Base):
    """Failed sign-ins counted per account and per client address (keyed digests), with the
    time the next attempt is allowed. Shared by replicas through the database."""

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]


class ApiKey(IdMixin, Base):
    """Shown once at creation; only its SHA-256 is kept (keys are random, so no slow hash)."""

    __tablename__ = "api_keys"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class WebSession(IdMixin, Base):
    """A dashboard sign-in; the cookie holds a random token, the table only its hash."""

    __tablename__ = "web_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # `active`; or, after the password only, `second_factor` (a code is due) or `enrolment`
    # (the organisation requires two-factor and the user has none yet): neither opens the
    # dashboard.
    stage: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
