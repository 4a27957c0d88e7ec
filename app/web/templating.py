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
from jinja2 import pass_context
from jinja2.runtime import Context

from app.cases.labels import KIND_LABELS, STATUS_LABELS
from app.config import Settings
from app.errors import Forbidden
from app.web.deps import SESSION_COOKIE

CSRF_COOKIE = "rr_csrf"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
# `_()` in templates marks text for the gettext catalogs; until they are loaded here the text is
# shown as written (English).
templates.env.add_extension("jinja2.ext.i18n")
templates.env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]


@pass_context
def _status_label(context: Context, status: str) -> str:
    """A status code in words, in the page's language (the code itself if it is unknown)."""
    label = STATUS_LABELS.get(str(status))
    return str(context.call(context.resolve("_"), label)) if label else str(status)


@pass_context
def _kind_label(context: Context, kind: str) -> str:
    label = KIND_LABELS.get(str(kind))
    return str(context.call(context.resolve("_"), label)) if label else str(kind)


templates.env.filters["status_label"] = _status_label
templates.env.filters["kind_label"] = _kind_label


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
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code,
                                          headers=headers)
    if fresh:
        response.set_cookie(CSRF_COOKIE, cookie, httponly=True, samesite="strict",
                            secure=_settings(request).cookie_secure, path="/")
    return response


def verify_csrf(request: Request, submitted: str | None) -> None:
    expected = _csrf_for(request, request.cookies.get(CSRF_COOKIE))
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise Forbidden("This form has expired or was not sent from our site. "
                        "Please go back, reload the page and try again.")
