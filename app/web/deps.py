from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app import i18n
from app.auth import service as auth_service
from app.auth.service import Principal
from app.db import Session

SESSION_COOKIE = "rr_session"


class SignInRequired(Exception):
    """Raised by dashboard pages without a valid session: redirects to the sign-in page."""


async def web_principal(request: Request, session: Session) -> Principal:
    token = request.cookies.get(SESSION_COOKIE)
    principal = await auth_service.principal_for_web_session(session, token) if token else None
    if principal is None:
        raise SignInRequired
    i18n.set_language(principal.language)  # the dashboard speaks the user's language
    return principal


CurrentUser = Annotated[Principal, Depends(web_principal)]
