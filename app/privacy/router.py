"""The Art. 13 notice for the intake: the organisation's admins set it; anyone reads it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.auth import service as auth_service
from app.auth.deps import AdminPrincipal, CurrentPrincipal
from app.db import Session
from app.errors import ErrorRead
from app.feeds.service import find_org
from app.privacy import service
from app.privacy.schemas import PrivacyNoticeBody, PrivacyNoticeRead

router = APIRouter(tags=["privacy"], responses={404: {"model": ErrorRead}})

Slug = Annotated[str, Path(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$", max_length=64)]


@router.put("/v1/privacy-notice", name="set_privacy_notice", response_model=PrivacyNoticeRead,
            responses={401: {"model": ErrorRead}, 403: {"model": ErrorRead}})
async def set_privacy_notice(body: PrivacyNoticeBody, session: Session,
                             principal: AdminPrincipal) -> PrivacyNoticeRead:
    """Record the organisation's GDPR Art. 13 notice for the intake of requests (English and
    French): shown on the request form before submitting and in the receipt email."""
    org = await auth_service.get_org(session, principal.org_id)
    await service.set_notice(session, org.id, body, principal.actor)
    return await service.get_notice(session, org)


@router.get("/v1/privacy-notice", name="get_privacy_notice", response_model=PrivacyNoticeRead,
            responses={401: {"model": ErrorRead}})
async def get_privacy_notice(session: Session,
                             principal: CurrentPrincipal) -> PrivacyNoticeRead:
    """Your organisation's notice; 404 while none is recorded (the intake form then warns)."""
    return await service.get_notice(session, await auth_service.get_org(session,
                                                                         principal.org_id))


@router.get("/v1/public/organizations/{slug}/privacy-notice", name="public_privacy_notice",
            response_model=PrivacyNoticeRead)
async def public_privacy_notice(slug: Slug, session: Session) -> PrivacyNoticeRead:
    return await service.get_notice(session, await find_org(session, slug))
