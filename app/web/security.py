"""Two-factor sign-in for staff: the code step after the password, and the security page
(enrol TOTP, recovery codes, turn it off; for admins, the organisation's policy and its
failed sign-ins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.auth import service as auth_service
from app.auth import throttle, two_factor
from app.auth.models import Role, TwoFactorPolicy, User, WebSession
from app.config import Settings
from app.crypto import Keyring
from app.db import Session
from app.errors import TooManyRequests
from app.i18n import LANGUAGES, N_, gettext
from app.requests.deps import client_address
from app.time_zones import is_zone, zone_names
from app.web.deps import SESSION_COOKIE
from app.web.router import CsrfField, start_session
from app.web.templating import render, verify_csrf

router = APIRouter(include_in_schema=False)

Code = Annotated[str, Form(max_length=64)]
WRONG_CODE = N_("That code did not work. Enter the 6-digit code your app shows now, or an "
                "unused recovery code.")


def _require_admin(user: User) -> None:
    """The organisation-wide settings on this page are for admins (403 otherwise)."""
    auth_service.require_role(
        auth_service.Principal(org_id=user.org_id, role=Role(user.role), kind="user",
                               actor_id=user.id, label=user.email), Role.admin)


async def _session_user(request: Request, session: Session,
                        stages: tuple[str, ...]) -> tuple[WebSession, User] | None:
    token = request.cookies.get(SESSION_COOKIE)
    return await auth_service.web_session_user(session, token, stages) if token else None


def _keyring(request: Request) -> Keyring:
    keyring: Keyring = request.app.state.keyring
    return keyring


async def _promote(request: Request, session: Session, web_session: WebSession,
                   user: User) -> str:
    """Swap the half-way session for a full one (a new token: nothing carried over)."""
    settings: Settings = request.app.state.settings
    await session.delete(web_session)
    await throttle.clear_account(session, settings, user.email)
    return await auth_service.start_web_session(session, user, settings.session_max_age_seconds)


# --- the code step of sign-in ----------------------------------------------------------------


@router.get("/signin/code")
async def code_form(request: Request, session: Session) -> Response:
    if await _session_user(request, session, ("second_factor",)) is None:
        return RedirectResponse("/signin", status_code=303)
    return render(request, "signin_code.html", {})


@router.post("/signin/code")
async def code_submit(request: Request, session: Session, csrf_token: CsrfField = "",
                      code: Code = "") -> Response:
    verify_csrf(request, csrf_token)
    found = await _session_user(request, session, ("second_factor",))
    if found is None:
        return RedirectResponse("/signin", status_code=303)
    web_session, user = found
    settings: Settings = request.app.state.settings
    address = client_address(request)
    try:
        await throttle.check(session, settings, user.email, address)
    except TooManyRequests as exc:
        return render(request, "signin_code.html", {"error": exc.detail}, status_code=429,
                      headers=exc.headers)
    if not await two_factor.verify(session, _keyring(request), user, code):
        await throttle.record_failure(request.app.state.sessionmaker, settings, user.email,
                                      address, user, "code")
        return render(request, "signin_code.html", {"error": gettext(WRONG_CODE)}, status_code=401)
    token = await _promote(request, session, web_session, user)
    return start_session(request, token, "/dashboard", settings.session_max_age_seconds)


# --- the security page -----------------------------------------------------------------------


async def _page(request: Request, session: Session, web_session: WebSession, user: User,
                status_code: int = 200, **extra: Any) -> Response:
    org = await auth_service.get_org(session, user.org_id)
    principal = None
    if web_session.stage == "active":
        principal = await auth_service.principal_for_web_session(
            session, request.cookies.get(SESSION_COOKIE) or "")
    context: dict[str, Any] = {
        "principal": principal, "user": user, "org": org, "stage": web_session.stage,
        "enabled": two_factor.enabled(user),
        "required": two_factor.required_for(org, user),
        "policies": list(TwoFactorPolicy), "zones": zone_names(),
        "unused_codes": await two_factor.unused_recovery_codes(session, user),
        **extra}
    if principal is not None and principal.role == Role.admin:
        context["failures"] = await throttle.recent_failures(session, user.org_id)
    return render(request, "security.html", context, status_code=status_code)


async def _current(request: Request, session: Session) -> tuple[WebSession, User] | None:
    return await _session_user(request, session, ("active", "enrolment"))


@router.get("/dashboard/security")
async def security_page(request: Request, session: Session) -> Response:
    found = await _current(request, session)
    if found is None:
        return RedirectResponse("/signin", status_code=303)
    return await _page(request, session, *found)


@router.post("/dashboard/security/totp")
async def enrol(request: Request, session: Session, csrf_token: CsrfField = "") -> Response:
    verify_csrf(request, csrf_token)
    found = await _current(request, session)
    if found is None:
        return RedirectResponse("/signin", status_code=303)
    web_session, user = found
    if two_factor.enabled(user):
        return RedirectResponse("/dashboard/security", status_code=303)
    secret = two_factor.start_enrolment(_keyring(request), user)
    return await _page(request, session, web_session, user, secret=secret,
                       uri=two_factor.provisioning_uri(secret, user.email))


@router.post("/dashboard/security/totp/confirm")
async def confirm(request: Request, session: Session, csrf_token: CsrfField = "",
                  code: Code = "") -> Response:
    verify_csrf(request, csrf_token)
    found = await _current(request, session)
    if found is None:
        return RedirectResponse("/signin", status_code=303)
    web_session, user = found
    keyring = _keyring(request)
    codes = await two_factor.confirm_enrolment(session, keyring, user, code)
    if codes is None:
        secret = two_factor.pending_secret(keyring, user)
        if secret is None:
            return RedirectResponse("/dashboard/security", status_code=303)
        return await _page(request, session, web_session, user, status_code=422, secret=secret,
                           uri=two_factor.provisioning_uri(secret, user.email),
                           error=gettext("That code did not work. Check the clock of your "
                                         "device and enter the code it shows now."))
    if web_session.stage != "active":
        # Enrolled as the organisation requires: the half-way session becomes a full one. The
        # codes are shown on this answer itself (they are never stored, so no redirect).
        token = await _promote(request, session, web_session, user)
        settings: Settings = request.app.state.settings
        page = await _page(request, session, web_session, user, codes=codes, just_enabled=True)
        page.set_cookie(SESSION_COOKIE, token, max_age=settings.session_max_age_seconds,
                        httponly=True, samesite="lax", secure=settings.cookie_secure, path="/")
        return page
    return await _page(request, session, web_session, user, codes=codes, just_enabled=True)


@router.post("/dashboard/security/recovery-codes")
async def regenerate(request: Request, session: Session, csrf_token: CsrfField = "",
                     code: Code = "") -> Response:
    verify_csrf(request, csrf_token)
    found = await _session_user(request, session, ("active",))
    if found is None:
        return RedirectResponse("/signin", status_code=303)
    web_session, user = found
    if not await two_factor.verify(session, _keyring(request), user, code):
        return await _page(request, session, web_session, user, status_code=422,
                           error=WRONG_CODE)
    codes = await two_factor.new_recovery_codes(session, user)
    return await _page(request, session, web_session, user, codes=codes)


@router.post("/dashboard/security/totp/disable")
async def turn_off(request: Request, session: Session, csrf_token: CsrfField = "",
                   code: Code = "") -> Response:
    verify_csrf(request, csrf_token)
    found = await _session_user(request, session, ("active",))
    if found is None:
        return RedirectResponse("/signin", status_code=303)
    web_session, user = found
    org = await auth_service.get_org(session, user.org_id)
    if two_factor.required_for(org, user):
        return await _page(request, session, web_session, user, status_code=409,
                           error=gettext("Your organisation requires two-factor sign-in for "
                                         "you."))
    if not await two_factor.verify(session, _keyring(request), user, code):
        return await _page(request, session, web_session, user, status_code=422,
                           error=WRONG_CODE)
    await two_factor.disable(session, user)
    return RedirectResponse("/dashboard/security", status_code=303)


@router.post("/dashboard/security/language")
async def set_language(request: Request, session: Session, csrf_token: CsrfField = "",
                       language: Annotated[str, Form(max_length=10)] = "") -> Response:
    """A staff user's own language: their dashboard pages and the emails they receive."""
    verify_csrf(request, csrf_token)
    found = await _session_user(request, session, ("active",))
    if found is None:
        return RedirectResponse("/signin", status_code=303)
    web_session, user = found
    if language not in LANGUAGES:
        return await _page(request, session, web_session, user, status_code=422,
                           error=gettext("Choose one of the languages offered."))
    await auth_service.set_user_language(session, user.org_id, user.id, language)
    return RedirectResponse("/dashboard/security", status_code=303)


@router.post("/dashboard/security/policy")
async def set_policy(request: Request, session: Session, csrf_token: CsrfField = "",
                     policy: Annotated[str, Form(max_length=20)] = "") -> Response:
    verify_csrf(request, csrf_token)
    found = await _session_user(request, session, ("active",))
    if found is None:
        return RedirectResponse("/signin", status_code=303)
    web_session, user = found
    _require_admin(user)
    if policy not in {p.value for p in TwoFactorPolicy}:
        return await _page(request, session, web_session, user, status_code=422,
                           error=gettext("Choose who must use two-factor sign-in."))
    org = await auth_service.get_org(session, user.org_id)
    org.require_two_factor = policy
    await session.flush()
    return RedirectResponse("/dashboard/security", status_code=303)


@router.post("/dashboard/security/time-zone")
async def set_time_zone(request: Request, session: Session, csrf_token: CsrfField = "",
                        time_zone: Annotated[str, Form(max_length=64)] = "") -> Response:
    """The organisation's time zone (admins): the calendar of its Art. 12(3) deadlines."""
    verify_csrf(request, csrf_token)
    found = await _session_user(request, session, ("active",))
    if found is None:
        return RedirectResponse("/signin", status_code=303)
    web_session, user = found
    _require_admin(user)
    if not is_zone(time_zone):
        return await _page(request, session, web_session, user, status_code=422,
                           error=gettext("Choose one of the time zones offered."))
    await auth_service.set_time_zone(session, user.org_id, time_zone)
    return RedirectResponse("/dashboard/security", status_code=303)
