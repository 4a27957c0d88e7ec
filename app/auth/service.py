"""Organisations, staff users, API keys and dashboard sessions."""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey, Organization, Role, User, WebSession
from app.auth.tokens import digest, digest_matches, new_token
from app.db import utcnow
from app.errors import Conflict, Forbidden, NotFound, Unauthorized

_hasher = PasswordHasher()
# Verifying against this when the email is unknown keeps sign-in timing uniform.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
_KEY_ALPHABET = string.ascii_lowercase + string.digits
LAST_USED_RESOLUTION = timedelta(seconds=60)

USER_ROLES = {Role.admin, Role.reviewer}


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key or a signed-in user, always within one organisation."""

    org_id: uuid.UUID
    role: Role
    kind: str  # "api_key" | "user"
    actor_id: uuid.UUID
    label: str
    language: str = "en"  # a signed-in user's preference; API keys read English
    time_zone: str = "UTC"  # the organisation's (IANA): dates on its staff pages are in it

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.label}"


# --- organisations ---------------------------------------------------------------------------


async def create_org(session: AsyncSession, *, name: str, slug: str) -> Organization:
    if await session.scalar(select(Organization.id).where(Organization.slug == slug)):
        raise Conflict("that organisation slug is taken")
    org = Organization(name=name, slug=slug)
    session.add(org)
    await session.flush()
    return org


async def get_org(session: AsyncSession, org_id: uuid.UUID) -> Organization:
    org = await session.get(Organization, org_id)
    if org is None:
        raise NotFound("organisation not found")
    return org


async def get_org_by_slug(session: AsyncSession, slug: str) -> Organization:
    org = await session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        raise NotFound("organisation not found")
    return org


# --- users -----------------------------------------------------------------------------------


async def create_user(
    session: AsyncSession, *, org_id: uuid.UUID, email: str, name: str, role: Role, password: str,
    language: str = "en",
) -> User:
    if role not in USER_ROLES:
        raise Conflict("staff users are admins or reviewers; use an API key for pipelines")
    email = email.strip().lower()
    if await session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("a user with this email exists")
    user = User(org_id=org_id, email=email, name=name, role=role, language=language,
                password_hash=_hasher.hash(password))
    session.add(user)
    await session.flush()
    return user


async def set_user_language(session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID,
                            language: str) -> User:
    """The language of the user's dashboard and emails (an admin's API, or the user's own
    security page)."""
    user = await session.get(User, user_id)
    if user is None or user.org_id != org_id:
        raise NotFound("no such user")
    user.language = language
    await session.flush()
    return user


async def set_time_zone(session: AsyncSession, org_id: uuid.UUID, time_zone: str) -> Organization:
    """Deadlines of requests received from now on end with a local day of this zone; a case
    already received keeps the due date it was given (told to the subject at the time)."""
    org = await get_org(session, org_id)
    org.time_zone = time_zone
    await session.flush()
    return org


async def list_users(session: AsyncSession, org_id: uuid.UUID) -> list[User]:
    rows = await session.scalars(select(User).where(User.org_id == org_id).order_by(User.email))
    return list(rows)


async def find_user(session: AsyncSession, email: str) -> User | None:
    email = email.strip().lower()
    if "\x00" in email:
        return None
    return await session.scalar(select(User).where(User.email == email))


async def authenticate_password(session: AsyncSession, email: str, password: str) -> User:
    email = email.strip().lower()
    # No stored email holds NUL, and PostgreSQL refuses it in a query.
    user = None if "\x00" in email else await session.scalar(select(User).where(User.email == email))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("wrong email or password") from None
    if user is None or not user.is_active:
        raise Unauthorized("wrong email or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    await session.flush()
    return user


# --- dashboard sessions ----------------------------------------------------------------------


async def start_web_session(session: AsyncSession, user: User, max_age_seconds: int,
                            stage: str = "active") -> str:
    token = new_token()
    session.add(WebSession(user_id=user.id, token_hash=digest(token), stage=stage,
                           expires_at=utcnow() + timedelta(seconds=max_age_seconds)))
    await session.flush()
    return token


async def _session_row(session: AsyncSession, token: str,
                       stages: tuple[str, ...]) -> tuple[WebSession, User, str] | None:
    """The unexpired session of this token in one of `stages`, its active user and the
    organisation's time zone: one query, made on every dashboard request."""
    row = (await session.execute(
        select(WebSession, User, Organization.time_zone)
        .join(User, User.id == WebSession.user_id)
        .join(Organization, Organization.id == User.org_id)
        .where(WebSession.token_hash == digest(token)))).first()
    if row is None:
        return None
    web_session, user, zone = row
    if web_session.expires_at <= utcnow() or not user.is_active or web_session.stage not in stages:
        return None
    return web_session, user, zone


async def web_session_user(session: AsyncSession, token: str,
                           stages: tuple[str, ...]) -> tuple[WebSession, User] | None:
    """The unexpired session of this token in one of `stages`, with its active user."""
    found = await _session_row(session, token, stages)
    return None if found is None else (found[0], found[1])


async def principal_for_web_session(session: AsyncSession, token: str,
                                    stages: tuple[str, ...] = ("active",)) -> Principal | None:
    found = await _session_row(session, token, stages)
    if found is None:
        return None
    _, user, zone = found
    return Principal(org_id=user.org_id, role=Role(user.role), kind="user",
                     actor_id=user.id, label=user.email, language=user.language,
                     time_zone=zone or "UTC")


async def end_web_session(session: AsyncSession, token: str) -> None:
    ws = await session.scalar(select(WebSession).where(WebSession.token_hash == digest(token)))
    if ws is not None:
        await session.delete(ws)
        await session.flush()


# --- API keys --------------------------------------------------------------------------------


def _new_key() -> tuple[str, str]:
    prefix = "".join(secrets.choice(_KEY_ALPHABET) for _ in range(10))
    return prefix, f"rr_{prefix}_{new_token(24)}"


async def create_api_key(
    session: AsyncSession, *, org_id: uuid.UUID, name: str, role: Role
) -> tuple[ApiKey, str]:
    prefix, key = _new_key()
    api_key = ApiKey(org_id=org_id, name=name, role=role, prefix=prefix, key_hash=digest(key))
    session.add(api_key)
    await session.flush()
    return api_key, key


async def list_api_keys(session: AsyncSession, org_id: uuid.UUID) -> list[ApiKey]:
    rows = await session.scalars(
        select(ApiKey).where(ApiKey.org_id == org_id).order_by(ApiKey.created_at, ApiKey.id)
    )
    return list(rows)


async def revoke_api_key(session: AsyncSession, org_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    api_key = await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.org_id == org_id)
    )
    if api_key is None:
        raise NotFound("API key not found")
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        await session.flush()
    return api_key


async def principal_for_api_key(session: AsyncSession, key: str) -> Principal:
    # rr_<prefix>_<secret>; the secret is urlsafe base64 and may itself contain "_".
    parts = key.split("_", 2)
    prefix = parts[1] if len(parts) == 3 and parts[0] == "rr" else ""
    api_key = await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix)) if prefix else None
    # Hash even when the prefix is unknown, so timing says nothing about which keys exist.
    matches = digest_matches(key, api_key.key_hash if api_key else "0" * 64)
    if api_key is None or not matches or api_key.revoked_at is not None:
        raise Unauthorized("invalid or revoked API key")
    now = utcnow()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        api_key.last_used_at = now
        await session.flush()
    return Principal(org_id=api_key.org_id, role=Role(api_key.role), kind="api_key",
                     actor_id=api_key.id, label=api_key.name)


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise Forbidden(f"this action needs one of the roles: {allowed}")
