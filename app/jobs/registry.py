"""Which periodic jobs the serving process runs, and how often."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cases.reminders import send_deadline_reminders
from app.config import Settings
from app.crypto import Keyring
from app.emails.sender import send_due
from app.jobs.scheduler import Job
from app.requests.service import expire_unconfirmed


def background_jobs(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, keyring: Keyring
) -> list[tuple[str, Job, float]]:
    poll = settings.job_poll_seconds
    return [
        ("emails.send", lambda: send_due(sessionmaker, settings, keyring), poll),
        ("requests.expire", lambda: expire_unconfirmed(sessionmaker), max(poll, 60.0)),
        ("cases.deadline_reminders",
         lambda: send_deadline_reminders(sessionmaker, settings, keyring),
         settings.reminder_interval_seconds),
    ]
