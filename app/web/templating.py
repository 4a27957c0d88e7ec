"""Jinja2 pages with CSRF tokens bound to the session, and autoescaping.

A form's token is an HMAC of the sign-in session cookie when there is one, else of a random
pre-session cookie (`rr_csrf`, for sign-in and public forms). A token is therefore good only
with the cookie it was made for: an attacker's own cookie and token pair does nothing with a
victim's session."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app import i18n
from app.config import Settings
from app.errors import Forbidden
from app.web.deps import SESSION_COOKIE
from app.web.labels import label

CSRF_COOKIE = "rr_csrf"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
i18n.install(templates.env)
templates.env.globals["label"] = label  # words for codes: label("case_status", c.status)
# Key-style messages in the page's language, for staff pages (`tk("notice.purpose")`); the
# public pages pass their own `t`, whose presence base.html reads as "a public page".
templates.env.globals["tk"] = i18n.lazy_t
templates.env.filters["status_label"] = lambda status: label("case_status", status)
templates.env.filters["kind_label"] = lambda kind: label("kind", kind)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _csrf_for(request: Request, pre_session: str | None) -> str | None:
    """The token for this request's session (or, signed out, its pre-session cookie)."""
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        bound = b"session\x00" + session.encode()
    elif pre_session:
        bound = b"pre-session\x00" + pre_session.encode()
    else:
        return None
    return hmac.new(_settings(request).subkey("csrf"), bound, hashlib.sha256).hexdigest()


def page_language(request: Request, ctx: dict[str, Any]) -> str:
    """The page's own choice (a subject's case), else the signed-in user's preference, else
    the request's language (app/i18n.py LanguageMiddleware: the browser's, unless a re-user's
    preference was set)."""
    chosen = ctx.get("lang")
    if chosen in i18n.LANGUAGES:
        return str(chosen)
    principal = ctx.get("principal")
    if principal is not None and getattr(principal, "kind", "") == "user":
        return str(principal.language)
    return i18n.current_language()


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    cookie = request.cookies.get(CSRF_COOKIE)
    fresh = cookie is None or len(cookie) != 43
    if fresh:
        cookie = secrets.token_urlsafe(32)
    assert cookie is not None
    ctx = {"csrf_token": _csrf_for(request, cookie), "principal": None, **(context or {})}
    ctx["lang"] = page_language(request, ctx)
    zone = getattr(ctx["principal"], "time_zone", None)  # staff pages: the organisation's
    with i18n.use_language(ctx["lang"]), i18n.use_zone(zone):  # rendered right here
        response = templates.TemplateResponse(request, template, ctx, status_code=status_code,
                                              headers=headers)
    if request.query_params.get("lang") in i18n.LANGUAGES:  # the switch: remembered
        response.set_cookie(i18n.LANG_COOKIE, request.query_params["lang"], max_age=365 * 86400,
                            samesite="lax", path="/")
    if fresh:
        response.set_cookie(CSRF_COOKIE, cookie, httponly=True, samesite="strict",
                            secure=_settings(request).cookie_secure, path="/")
    return response


def verify_csrf(request: Request, submitted: str | None) -> None:
    expected = _csrf_for(request, request.cookies.get(CSRF_COOKIE))
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise Forbidden(i18n.N_("This form has expired or was not sent from our site. "
                                "Please go back, reload the page and try again."))
