"""Which periodic jobs the serving process runs, and how often."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.acks.service import remind_due
from app.audit.checkpoints import checkpoint_all
from app.cases.ageing import age_cases
from app.cases.reminders import send_deadline_reminders
from app.cases.retention import erase_expired
from app.config import Settings
from app.crypto import Keyring
from app.delivery.signing import ServiceKeys
from app.emails.sender import send_due
from app.jobs.scheduler import Job
from app.notices.sender import send_due as send_notices
from app.probes.runner import run_due as run_probes
from app.remediation.service import settle as settle_remediation
from app.requests.service import expire_unconfirmed


def background_jobs(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, keyring: Keyring
) -> list[tuple[str, Job, float]]:
    poll = settings.job_poll_seconds
    return [
        ("emails.send", lambda: send_due(sessionmaker, settings, keyring), poll),
        ("requests.expire", lambda: expire_unconfirmed(sessionmaker),
         settings.housekeeping_seconds),
        ("notices.send", lambda: send_notices(sessionmaker, settings, keyring), poll),
        ("acks.remind", lambda: remind_due(sessionmaker, settings, keyring), poll),
        # Before retention in the list: what it closes is erased on a later pass.
        ("cases.ageing", lambda: age_cases(sessionmaker, settings, keyring),
         settings.housekeeping_seconds),
        ("audit.checkpoint",
         lambda: checkpoint_all(sessionmaker, ServiceKeys.from_settings(settings)),
         settings.audit_checkpoint_seconds),
        ("probes.run", lambda: run_probes(sessionmaker, settings, keyring, settle_remediation), poll),
        ("cases.retention", lambda: erase_expired(sessionmaker, settings.retention_days),
         settings.housekeeping_seconds),
        ("cases.deadline_reminders",
         lambda: send_deadline_reminders(sessionmaker, settings, keyring),
         settings.reminder_interval_seconds),
    ]
