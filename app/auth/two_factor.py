"""TOTP two-factor authentication for staff (RFC 6238, via pyotp) with one-time recovery codes.

The TOTP secret is sealed with the keyring (so key rotation covers it); recovery codes are
random (80 bits) and only their SHA-256 is kept. A code is accepted for the current 30-second
step or the one either side, and never twice: the last step used is remembered."""

from __future__ import annotations

import base64
import hmac
import secrets

import pyotp
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Organization, RecoveryCode, Role, TwoFactorPolicy, User
from app.auth.tokens import digest
from app.crypto import Keyring
from app.db import utcnow
from app.subscribers.sealing import seal, unseal

ISSUER = "Rights Relay"
STEP = 30
RECOVERY_CODES = 10
_PURPOSE = "totp-secret"


def required_for(org: Organization, user: User) -> bool:
    policy = org.require_two_factor
    return policy == TwoFactorPolicy.everyone or (
        policy == TwoFactorPolicy.admins and user.role == Role.admin)


def enabled(user: User) -> bool:
    return user.totp_enabled_at is not None and user.totp_secret_sealed is not None


def _secret(keyring: Keyring, user: User) -> str:
    assert user.totp_secret_sealed is not None
    return unseal(keyring, user.totp_secret_sealed, user.id, _PURPOSE)


def start_enrolment(keyring: Keyring, user: User) -> str:
    """A new secret, kept sealed on the user until a code from it confirms the enrolment."""
    secret = pyotp.random_base32()
    user.totp_secret_sealed = seal(keyring, secret, user.id, _PURPOSE)
    user.totp_enabled_at = None
    user.totp_last_step = None
    return secret


def pending_secret(keyring: Keyring, user: User) -> str | None:
    if user.totp_secret_sealed is None or user.totp_enabled_at is not None:
        return None
    return _secret(keyring, user)


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def _check_totp(secret: str, user: User, code: str) -> bool:
    now = int(utcnow().timestamp()) // STEP
    totp = pyotp.TOTP(secret)
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.at(step * STEP), code) and step > (user.totp_last_step or -1):
            user.totp_last_step = step
            return True
    return False


async def confirm_enrolment(session: AsyncSession, keyring: Keyring, user: User,
                            code: str) -> list[str] | None:
    """Turn two-factor on if `code` comes from the pending secret; the new recovery codes
    (shown once), or None."""
    secret = pending_secret(keyring, user)
    if secret is None or not _check_totp(secret, user, _digits(code)):
        return None
    user.totp_enabled_at = utcnow()
    return await new_recovery_codes(session, user)


def _digits(code: str) -> str:
    return "".join(code.split())


def _normal_recovery(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


async def new_recovery_codes(session: AsyncSession, user: User) -> list[str]:
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 16 characters
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:12]}-{raw[12:]}")
        session.add(RecoveryCode(user_id=user.id, code_hash=digest(raw)))
    await session.flush()
    return codes


async def verify(session: AsyncSession, keyring: Keyring, user: User, code: str) -> bool:
    """A TOTP code, or an unused recovery code (then spent)."""
    if not enabled(user) or len(code) > 64:
        return False
    digits = _digits(code)
    if digits.isdigit() and len(digits) == 6:
        return _check_totp(_secret(keyring, user), user, digits)
    wanted = digest(_normal_recovery(code))
    for row in await session.scalars(select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))):
        if hmac.compare_digest(row.code_hash, wanted):
            row.used_at = utcnow()
            await session.flush()
            return True
    return False


async def unused_recovery_codes(session: AsyncSession, user: User) -> int:
    rows = await session.scalars(select(RecoveryCode.id).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))
    return len(list(rows))


async def disable(session: AsyncSession, user: User) -> None:
    user.totp_secret_sealed = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    await session.flush()
