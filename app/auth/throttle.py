"""Sign-in throttling: failed attempts are counted per account and per client address, and
past a few free ones each further failure doubles the wait before the next attempt (30 s,
1 min, 2 min, ... up to an hour). Counted in their own transaction, shared by replicas; a
failure to a known account is also logged for the organisation's admins."""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from datetime import timedelta

from babel.dates import format_timedelta
from sqlalchemy import case, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.models import SignInFailure, SignInThrottle, User
from app.config import Settings
from app.db import utcnow
from app.errors import TooManyRequests
from app.i18n import current_language, gettext

log = logging.getLogger(__name__)

# (free failures before any wait) per account, and per address (many staff share a NAT).
FREE = {"account": 5, "address": 20}
FIRST_WAIT = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
# A day without failures and the count starts again.
FORGET_AFTER = timedelta(hours=24)


def wait_after(failures: int, free: int) -> timedelta:
    if failures < free:
        return timedelta(0)
    wait: timedelta = FIRST_WAIT * 2 ** min(failures - free, 20)
    return min(wait, LONGEST_WAIT)


def _key(settings: Settings, scope: str, value: str) -> str:
    normalised = value.strip().lower() if scope == "account" else value
    msg = f"{scope}\x00{normalised}".encode()
    return hmac.new(settings.subkey("sign-in-throttle"), msg, hashlib.sha256).hexdigest()


def _human(seconds: int) -> str:
    if seconds < 90:
        return format_timedelta(timedelta(seconds=seconds), threshold=2,
                                locale=current_language())
    return format_timedelta(timedelta(minutes=math.ceil(seconds / 60)), threshold=2,
                            locale=current_language())


async def check(session: AsyncSession, settings: Settings, email: str, address: str) -> None:
    """429 with a clear message and Retry-After while either counter makes the caller wait."""
    now = utcnow()
    for scope, value in (("account", email), ("address", address)):
        row = await session.get(SignInThrottle, _key(settings, scope, value))
        if row is not None and row.blocked_until is not None and row.blocked_until > now:
            seconds = max(1, math.ceil((row.blocked_until - now).total_seconds()))
            # Only the sign-in pages check this: the message is in the reader's language.
            message = (gettext("Too many failed sign-ins for this account. Please wait "
                               "%(time)s before trying again.") if scope == "account" else
                       gettext("Too many failed sign-ins from your network address. Please "
                               "wait %(time)s before trying again."))
            raise TooManyRequests(message % {"time": _human(seconds)},
                                  headers={"Retry-After": str(seconds)})


async def record_failure(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                         email: str, address: str, user: User | None, reason: str) -> None:
    """Count the failure on both counters (in its own transaction: the request itself fails)
    and, for a known account, log it for its organisation's admins."""
    now = utcnow()
    async with sessionmaker() as session:
        dialect = session.bind.dialect.name if session.bind else "sqlite"
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        for scope, value in (("account", email), ("address", address)):
            key = _key(settings, scope, value)
            stale = SignInThrottle.last_failure_at < now - FORGET_AFTER
            upsert = insert(SignInThrottle).values(key=key, failures=1, last_failure_at=now)
            upsert = upsert.on_conflict_do_update(index_elements=["key"], set_={
                "failures": case((stale, 1), else_=SignInThrottle.failures + 1),
                "last_failure_at": now})
            failures = (await session.execute(upsert.returning(SignInThrottle.failures))
                        ).scalar_one()
            wait = wait_after(failures, FREE[scope])
            if wait:
                await session.execute(update(SignInThrottle).where(SignInThrottle.key == key)
                                      .values(blocked_until=now + wait))
        if user is not None:
            session.add(SignInFailure(org_id=user.org_id, user_id=user.id, address=address[:64],
                                      reason=reason, at=now))
            log.warning("failed sign-in (%s) to an account of organisation %s", reason,
                        user.org_id)
        await session.commit()


async def clear_account(session: AsyncSession, settings: Settings, email: str) -> None:
    """A complete sign-in forgets the account's failures (not the address's: one account an
    attacker owns must not reset the count of their guesses at others)."""
    row = await session.get(SignInThrottle, _key(settings, "account", email))
    if row is not None:
        await session.delete(row)
        await session.flush()


async def recent_failures(session: AsyncSession, org_id: object,
                          limit: int = 50) -> list[tuple[SignInFailure, str]]:
    rows = await session.execute(
        select(SignInFailure, User.email).join(User, User.id == SignInFailure.user_id)
        .where(SignInFailure.org_id == org_id)
        .order_by(SignInFailure.at.desc(), SignInFailure.id).limit(limit))
    return [(f, email) for f, email in rows]
