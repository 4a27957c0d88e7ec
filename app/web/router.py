"""Server-rendered pages: landing, staff sign-in and the provider dashboard."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.auth import service as auth_service
from app.auth import throttle, two_factor
from app.auth.models import Role
from app.auth.schemas import NAME_MAX_LENGTH
from app.config import Settings
from app.db import Session, utcnow
from app.errors import TooManyRequests, Unauthorized
from app.i18n import gettext
from app.models_registry import service as registry
from app.overview import service as overview
from app.overview.charts import bar_chart
from app.pagination import PageParams
from app.privacy import service as privacy
from app.requests.deps import client_address
from app.text import has_control_characters
from app.web.deps import SESSION_COOKIE, CurrentUser
from app.web.templating import render, verify_csrf

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=500)]
CsrfField = Annotated[str, Form(max_length=200)]
# How long the step between password and second factor (or enrolment) may take.
SECOND_STEP_SECONDS = 600


@router.get("/")
async def landing(request: Request, session: Session) -> Response:
    models, _ = await registry.list_public_models(session, PageParams(limit=200))
    return render(request, "landing.html", {"models": models})


@router.get("/favicon.ico")
async def favicon() -> Response:
    # Browsers and feed readers ask for /favicon.ico whatever the page says.
    return RedirectResponse("/static/favicon.svg", status_code=301)


@router.get("/signin")
async def signin_form(request: Request) -> Response:
    return render(request, "signin.html", {"email": ""})


@router.post("/signin")
async def signin(request: Request, session: Session, csrf_token: CsrfField = "",
                 email: Text = "", password: Text = "") -> Response:
    verify_csrf(request, csrf_token)
    settings: Settings = request.app.state.settings
    address = client_address(request)
    try:
        await throttle.check(session, settings, email, address)
    except TooManyRequests as exc:
        return render(request, "signin.html", {"email": email, "error": exc.detail},
                      status_code=429, headers=exc.headers)
    try:
        user = await auth_service.authenticate_password(session, email, password)
    except Unauthorized:
        known = await auth_service.find_user(session, email)
        await throttle.record_failure(request.app.state.sessionmaker, settings, email, address,
                                      known, "password")
        return render(request, "signin.html",
                      {"email": email, "error": gettext("Wrong email or password.")}, status_code=401)
    org = await auth_service.get_org(session, user.org_id)
    if two_factor.enabled(user):
        stage, target, max_age = "second_factor", "/signin/code", SECOND_STEP_SECONDS
    elif two_factor.required_for(org, user):
        stage, target, max_age = "enrolment", "/dashboard/security", SECOND_STEP_SECONDS
    else:
        stage, target, max_age = "active", "/dashboard", settings.session_max_age_seconds
        await throttle.clear_account(session, settings, email)
    return start_session(request, await auth_service.start_web_session(
        session, user, max_age, stage=stage), target, max_age)


def start_session(request: Request, token: str, target: str, max_age: int) -> Response:
    settings: Settings = request.app.state.settings
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age,
                        httponly=True, samesite="lax", secure=settings.cookie_secure, path="/")
    return response


@router.post("/signout")
async def signout(request: Request, session: Session, csrf_token: CsrfField = "") -> Response:
    verify_csrf(request, csrf_token)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await auth_service.end_web_session(session, token)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/dashboard")
async def dashboard(request: Request, session: Session, principal: CurrentUser) -> Response:
    org = await auth_service.get_org(session, principal.org_id)
    models, _ = await registry.list_models(session, principal.org_id, PageParams(limit=200))
    figures = await overview.overview(session, principal.org_id, utcnow())
    months = figures.performance.months
    charts = {
        "answered": bar_chart([(m.month, m.answered) for m in months]),
        "median": bar_chart([(m.month, m.median_days) for m in months], fmt="{:.1f}"),
        "on_time": bar_chart([(m.month, None if m.on_time_share is None
                               else m.on_time_share * 100) for m in months],
                             fmt="{:.0f}%", fixed_max=100),
    }
    return render(request, "dashboard.html",
                  {"principal": principal, "org": org, "models": models, "overview": figures,
                   "charts": charts, "has_notice": await privacy.has_notice(session, org.id)})


@router.get("/dashboard/api-keys")
async def api_keys_page(request: Request, session: Session, principal: CurrentUser) -> Response:
    auth_service.require_role(principal, Role.admin)
    keys = await auth_service.list_api_keys(session, principal.org_id)
    return render(request, "api_keys.html",
                  {"principal": principal, "keys": keys, "roles": list(Role)})


@router.post("/dashboard/api-keys")
async def api_keys_create(request: Request, session: Session, principal: CurrentUser,
                          csrf_token: CsrfField = "", name: Text = "",
                          role: Annotated[str, Form(max_length=20)] = "") -> Response:
    verify_csrf(request, csrf_token)
    auth_service.require_role(principal, Role.admin)
    errors = {}
    if not name.strip():
        errors["name"] = gettext("Give the key a name, e.g. the system that will use it.")
    elif len(name.strip()) > NAME_MAX_LENGTH:
        errors["name"] = gettext("Keep the name to %(max)s characters or fewer.") % {
            "max": NAME_MAX_LENGTH}
    elif has_control_characters(name):
        errors["name"] = gettext("The name cannot contain control characters.")
    if role not in {r.value for r in Role}:
        errors["role"] = gettext("Choose a role.")
    new_key = None
    if not errors:
        _, new_key = await auth_service.create_api_key(
            session, org_id=principal.org_id, name=name.strip(), role=Role(role))
    keys = await auth_service.list_api_keys(session, principal.org_id)
    return render(request, "api_keys.html",
                  {"principal": principal, "keys": keys, "roles": list(Role), "errors": errors,
                   "new_key": new_key, "form": {"name": name, "role": role}},
                  status_code=422 if errors else 201)


@router.post("/dashboard/api-keys/{key_id}/revoke")
async def api_keys_revoke(request: Request, key_id: uuid.UUID, session: Session,
                          principal: CurrentUser, csrf_token: CsrfField = "") -> Response:
    verify_csrf(request, csrf_token)
    auth_service.require_role(principal, Role.admin)
    await auth_service.revoke_api_key(session, principal.org_id, key_id)
    return RedirectResponse("/dashboard/api-keys", status_code=303)
