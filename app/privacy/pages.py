"""The dashboard page where an admin records the Art. 13 notice for the intake (EN and FR)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.auth import service as auth_service
from app.auth.models import Role
from app.cases.pages import field, read_form
from app.db import Session
from app.i18n import N_
from app.privacy import service
from app.privacy.models import PrivacyNotice
from app.privacy.schemas import FIELDS, PrivacyNoticeBody
from app.web.deps import CurrentUser
from app.web.templating import render

router = APIRouter(include_in_schema=False)
LANGS = ("en", "fr")


def _page(request: Request, principal: object, values: dict[str, dict[str, str]],
          error: str | None = None, status_code: int = 200) -> Response:
    return render(request, "dashboard/privacy_notice.html", {
        "principal": principal, "values": values, "fields": FIELDS, "langs": LANGS,
        "error": error}, status_code=status_code)


@router.get("/dashboard/privacy-notice")
async def notice_page(request: Request, session: Session, principal: CurrentUser) -> Response:
    notice = await session.get(PrivacyNotice, principal.org_id)
    values = notice.texts if notice else {lang: {} for lang in LANGS}
    return _page(request, principal, values)


@router.post("/dashboard/privacy-notice")
async def notice_save(request: Request, session: Session, principal: CurrentUser) -> Response:
    form = await read_form(request)
    auth_service.require_role(principal, Role.admin)
    values = {lang: {f: field(form, f"{lang}-{f}") or "" for f in FIELDS} for lang in LANGS}
    try:
        body = PrivacyNoticeBody.model_validate(
            {lang: {f: v or None for f, v in texts.items()} for lang, texts in values.items()})
    except ValidationError:
        return _page(request, principal, values, N_("Fill in every field, in English and in "
                                                    "French (up to 2000 characters each)."), 422)
    await service.set_notice(session, principal.org_id, body, principal.actor)
    return RedirectResponse("/dashboard/privacy-notice?saved=1", status_code=303)
