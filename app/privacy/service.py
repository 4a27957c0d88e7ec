"""The organisation's Art. 13 notice for the intake of requests: set by an admin, shown on the
request form before submitting and in the receipt email, in the person's language."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.models import Organization
from app.db import utcnow
from app.errors import NotFound
from app.privacy.models import PrivacyNotice
from app.privacy.schemas import PrivacyNoticeBody, PrivacyNoticeRead


async def set_notice(session: AsyncSession, org_id: uuid.UUID, body: PrivacyNoticeBody,
                     actor: str) -> PrivacyNotice:
    notice = await session.get(PrivacyNotice, org_id)
    texts = body.model_dump()
    if notice is None:
        notice = PrivacyNotice(org_id=org_id, texts=texts, updated_by=actor)
        session.add(notice)
    else:
        notice.texts, notice.updated_at, notice.updated_by = texts, utcnow(), actor
    await session.flush()
    await audit.append(session, org_id=org_id, actor=actor, action="privacy_notice.updated")
    return notice


async def get_notice(session: AsyncSession, org: Organization) -> PrivacyNoticeRead:
    notice = await session.get(PrivacyNotice, org.id)
    if notice is None:
        raise NotFound("this organisation has not recorded its privacy notice yet")
    return PrivacyNoticeRead(organization=org.slug, updated_at=notice.updated_at, **notice.texts)


async def notices_for(session: AsyncSession, org_ids: set[uuid.UUID],
                      lang: str) -> dict[uuid.UUID, dict[str, Any]]:
    """Each organisation's notice in `lang`, for those that have one."""
    if not org_ids:
        return {}
    rows = await session.scalars(select(PrivacyNotice).where(PrivacyNotice.org_id.in_(org_ids)))
    return {n.org_id: n.texts.get(lang) or n.texts["en"] for n in rows}


async def has_notice(session: AsyncSession, org_id: uuid.UUID) -> bool:
    return await session.get(PrivacyNotice, org_id) is not None
