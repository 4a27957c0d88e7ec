"""Send due emails from the outbox over SMTP, retrying failures with backoff."""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.crypto import Keyring, Sealed
from app.db import utcnow
from app.emails.models import EmailStatus, OutboundEmail
from app.jobs.claim import claim

log = logging.getLogger(__name__)

RETRY_DELAYS = [timedelta(seconds=s) for s in (30, 120, 600, 1800, 7200, 21600, 43200)]
LEASE = timedelta(minutes=2)


async def _deliver(settings: Settings, message: dict[str, Any], kind: str) -> EmailStatus:
    if not settings.smtp_host:
        if settings.environment == "production":
            # Never drop mail, and never log secret links in production: keep it queued.
            raise RuntimeError("SMTP is not configured (RR_SMTP_HOST)")
        # Development without SMTP: the message goes to the log so its link can be followed.
        # Bodies hold references and links, never the subject's personal data; the address
        # is left out.
        log.warning("SMTP is not configured; email %r (not sent, shown here):\n%s\n%s", kind,
                    message["subject"], message["body"])
        return EmailStatus.logged
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = message["to"]
    msg["Subject"] = message["subject"]
    msg.set_content(message["body"])
    await aiosmtplib.send(
        msg, hostname=settings.smtp_host, port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        start_tls=settings.smtp_starttls, timeout=30,
    )
    return EmailStatus.sent


def _describe(exc: Exception) -> str:
    # SMTP replies can quote the recipient's address: keep the class and the reply code only.
    code = getattr(exc, "code", None)
    return f"{type(exc).__name__}{f' {code}' if code else ''}"


async def send_due(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, keyring: Keyring,
    limit: int = 50,
) -> int:
    now = utcnow()
    async with sessionmaker() as session:
        ids = await claim(
            session, OutboundEmail, limit=limit, lease=LEASE, order_by=OutboundEmail.next_attempt_at,
            due=(OutboundEmail.status == EmailStatus.pending) & (OutboundEmail.next_attempt_at <= now),
        )
    sent = 0
    for email_id in ids:
        async with sessionmaker() as session:
            email = await session.get(OutboundEmail, email_id)
            if email is None or email.status != EmailStatus.pending or email.ciphertext is None:
                continue
            assert email.wrapped_key is not None and email.key_id is not None
            message = keyring.open(Sealed(email.ciphertext, email.wrapped_key, email.key_id))
            email.attempts += 1
            try:
                email.status = await _deliver(settings, message, email.kind)
                email.sent_at = utcnow()
                email.last_error = None
                sent += 1
            except Exception as exc:
                email.last_error = _describe(exc)
                if email.attempts > len(RETRY_DELAYS):
                    email.status = EmailStatus.failed
                    log.error("email %s (%s) failed for good: %s", email.id, email.kind,
                              email.last_error)
                else:
                    delay = RETRY_DELAYS[email.attempts - 1] * settings.retry_scale
                    jitter = delay.total_seconds() * random.uniform(0, 0.2)
                    email.next_attempt_at = utcnow() + delay + timedelta(seconds=jitter)
                    log.warning("email %s (%s) attempt %d failed: %s", email.id, email.kind,
                                email.attempts, email.last_error)
            email.lease_until = None
            email.lease_owner = None
            await session.commit()
    return sent
