"""Emails about a case, through the durable outbox: to the subject (in their language) and to
the provider's staff. They hold references, dates and fixed labels, never free text the subject
or the provider typed: the full texts are on the status page and the dashboard."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Role, User
from app.cases.deadlines import org_zone
from app.cases.models import Case
from app.cases.subject import open_subject
from app.config import Settings
from app.crypto import Keyring
from app.emails import service as emails
from app.emails.models import OutboundEmail


async def tell_subject(
    session: AsyncSession, keyring: Keyring, case: Case, kind: str,
    context: dict[str, Any] | None = None,
) -> OutboundEmail | None:
    """Queue an email to the subject; nothing once their data has been erased."""
    data = open_subject(keyring, case)
    if data is None:
        return None
    context = await _in_org_zone(session, case, context or {})
    return await emails.enqueue(
        session, keyring, to=data["email"], kind=kind, lang=case.language,
        context={"reference": case.reference, "status_link": data.get("status_link"),
                 **context}, case_id=case.id,
        org_id=case.org_id)


async def _in_org_zone(session: AsyncSession, case: Case,
                       context: dict[str, Any]) -> dict[str, Any]:
    """A case's emails give dates in its organisation's time zone: a due date ends with one of
    its days, which in UTC may be the next one."""
    zone = await org_zone(session, case.org_id)
    return {k: v.astimezone(zone) if isinstance(v, datetime) else v for k, v in context.items()}


def case_link(settings: Settings, case: Case) -> str:
    return f"{settings.public_base_url}/dashboard/cases/{case.reference}"


async def staff_for(session: AsyncSession, case: Case) -> list[User]:
    """Who hears about a case's deadline: its assignee and the organisation's admins."""
    query = select(User).where(User.org_id == case.org_id, User.is_active.is_(True),
                               User.role.in_([Role.admin.value, Role.reviewer.value]))
    wanted = User.role == Role.admin.value
    if case.assignee_id is not None:
        wanted = wanted | (User.id == case.assignee_id)
    return list(await session.scalars(query.where(wanted).order_by(User.email)))


async def tell_staff(
    session: AsyncSession, keyring: Keyring, users: list[User], case: Case, kind: str,
    context: dict[str, Any],
) -> list[uuid.UUID]:
    ids = []
    context = await _in_org_zone(session, case, context)
    for user in users:
        email = await emails.enqueue(
            session, keyring, to=user.email, kind=kind, lang=user.language,
            context={"reference": case.reference, "name": user.name, **context},
            case_id=case.id, org_id=case.org_id)
        ids.append(email.id)
    return ids
