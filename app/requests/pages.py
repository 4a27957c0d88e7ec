"""The public pages for data subjects: the request form (no JavaScript needed), the email
confirmation and the status page reached by the secret link. English and French."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from app.cases.deadlines import org_zone
from app.cases.messages import exchange
from app.db import Session
from app.errors import Conflict, InvalidInput, NotFound, TooManyRequests
from app.i18n import LANG_COOKIE, LANGUAGES, negotiate, translate
from app.models_registry import service as registry
from app.pagination import PageParams
from app.privacy import service as privacy
from app.privacy.schemas import FIELDS as NOTICE_FIELDS
from app.requests import identify, service
from app.requests.confirming import LinkExpired
from app.requests.deps import (
    CurrentIntake,
    CurrentKeyring,
    CurrentSettings,
    limit_submissions_per_address,
    limit_token_use,
)
from app.requests.schemas import LIMITS, RequestCreate
from app.web.templating import render, verify_csrf

router = APIRouter(include_in_schema=False)

FIELDS = ("models", "kind", "objection_basis", "particular_situation", "name", "email",
          "description", "identifiers", "probe_prompts")


def page(request: Request, template: str, lang: str, context: dict[str, Any] | None = None,
         status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    ctx = {"lang": lang, "t": lambda key, **kw: translate(lang, key, **kw),
           "other_lang": "fr" if lang == "en" else "en", **(context or {})}
    return render(request, template, ctx, status_code=status_code, headers=headers)


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _form_values(form: FormData) -> dict[str, Any]:
    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    return {
        "models": [v for v in form.getlist("models") if isinstance(v, str)],
        "kind": text("kind"), "name": text("name"), "email": text("email"),
        "description": text("description"), "identifiers": text("identifiers"),
        "probe_prompts": text("probe_prompts"),
        # Only an objection has a basis and a situation: an erasure ignores what was typed.
        "objection_basis": (text("objection_basis") or None) if text("kind") == "objection"
        else None,
        "particular_situation": (text("particular_situation") or None)
        if text("kind") == "objection" else None,
    }


def _field_errors(exc: ValidationError, lang: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = err.get("loc", ())
        field = str(loc[0]) if loc else ""
        if not loc and "particular_situation" in str(err.get("msg", "")):
            errors.setdefault("particular_situation", translate(lang, "err.situation"))
            continue
        if field not in FIELDS or field in errors:
            continue
        kind, ctx = err.get("type", ""), err.get("ctx") or {}
        if field == "models" and kind in ("missing", "too_short", "string_pattern_mismatch"):
            msg = translate(lang, "err.models")
        elif field == "kind":
            msg = translate(lang, "err.kind")
        elif field == "email" and kind not in ("missing", "string_too_short"):
            msg = (translate(lang, "err.too_long", max=LIMITS["email"])
                   if kind == "string_too_long" else translate(lang, "err.email"))
        elif kind in ("missing", "string_too_short"):
            msg = translate(lang, "err.required")
        elif kind == "string_too_long":
            msg = translate(lang, "err.too_long", max=ctx.get("max_length", ""))
        elif kind == "too_long":
            msg = translate(lang, "err.too_many", max=ctx.get("max_length", ""))
        elif kind == "string_pattern_mismatch":
            msg = translate(lang, "err.control")
        else:
            msg = translate(lang, "err.required")
        errors[field] = msg
    return errors


async def _form_page(request: Request, session: Session, lang: str, values: dict[str, Any],
                     errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    models, _ = await registry.list_public_models(session, PageParams(limit=200))
    # Art. 13: what each provider tells the person about the processing of the request itself,
    # shown before they submit it.
    orgs = {v.model.org_id: v.org_name for v in models}
    texts = await privacy.notices_for(session, set(orgs), lang)
    notices = [(orgs[org_id], texts.get(org_id)) for org_id in orgs]
    return page(request, "requests/form.html", lang,
                {"models": models, "values": values, "errors": errors or {},
                 "notices": notices, "notice_fields": NOTICE_FIELDS},
                status_code=status_code)


@router.get("/request")
async def request_form(request: Request, session: Session) -> Response:
    lang = negotiate(request)
    chosen = [m for m in request.query_params.getlist("model") if len(m) < 200]
    values = {"models": chosen, "kind": "", "name": "", "email": "", "description": "",
              "identifiers": "", "probe_prompts": "", "objection_basis": None,
              "particular_situation": None}
    return await _form_page(request, session, lang, values)


@router.post("/request")
async def request_submit(request: Request, session: Session, intake: CurrentIntake
                         ) -> Response:
    form = await request.form(max_files=0, max_fields=100)
    lang = form.get("lang") if form.get("lang") in LANGUAGES else negotiate(request)
    assert isinstance(lang, str)
    csrf = form.get("csrf_token")
    verify_csrf(request, csrf if isinstance(csrf, str) else None)
    values = _form_values(form)
    try:
        await limit_submissions_per_address(request)
        body = RequestCreate.model_validate({
            **values, "identifiers": _lines(values["identifiers"]),
            "probe_prompts": _lines(values["probe_prompts"]), "language": lang})
        # The same group-committed path as the JSON API (it counts the email's attempts too).
        submitted = await intake.file(body)
    except ValidationError as exc:
        return await _form_page(request, session, lang, values, _field_errors(exc, lang), 422)
    except TooManyRequests as exc:
        response = await _form_page(request, session, lang, values,
                                    {"_form": translate(lang, "err.rate")}, 429)
        response.headers.update(exc.headers or {})
        return response
    except InvalidInput:
        return await _form_page(request, session, lang, values,
                                {"models": translate(lang, "err.models_closed")}, 422)
    days = max(1, round((submitted.expires_at - submitted.cases[0].received_at).total_seconds()
                        / 86400))
    return page(request, "requests/sent.html", lang, {"days": days}, status_code=202)


def _link_problem(request: Request, lang: str, exc: Exception) -> Response:
    key, status = "link.invalid", 404
    if isinstance(exc, LinkExpired):
        key, status = "link.expired", 410
    elif isinstance(exc, Conflict):
        key, status = "link.used", 409
    return page(request, "requests/message.html", lang,
                {"title": translate(lang, "confirm.title"), "message": translate(lang, key)},
                status_code=status)


@router.get("/r/confirm/{token}")
async def confirm_page(request: Request, token: str) -> Response:
    # A GET only shows the button: link scanners in mail systems must not confirm for people.
    lang = negotiate(request)
    return page(request, "requests/confirm.html", lang, {"token": token[:200]})


@router.post("/r/confirm/{token}")
async def confirm_submit(request: Request, token: str, session: Session,
                         intake: CurrentIntake) -> Response:
    lang = negotiate(request)
    form = await request.form(max_files=0, max_fields=10)
    csrf = form.get("csrf_token")
    verify_csrf(request, csrf if isinstance(csrf, str) else None)
    await limit_token_use(request)
    try:
        done = await intake.confirm(token[:200])
    except (NotFound, Conflict, LinkExpired) as exc:
        return _link_problem(request, lang, exc)
    lang = done[0].case.language if done and "lang" not in request.query_params else lang
    # Each due date in its provider's time zone (one request may reach several providers).
    zones = {c.case.id: (await org_zone(session, c.case.org_id)).key for c in done}
    return page(request, "requests/confirmed.html", lang, {"done": done, "zones": zones})


@router.get("/r/status/{token}")
async def status_page(request: Request, token: str, session: Session,
                      keyring: CurrentKeyring, settings: CurrentSettings) -> Response:
    await limit_token_use(request)
    try:
        case = await service.case_by_status_token(session, token[:200])
    except NotFound as exc:
        return _link_problem(request, negotiate(request), exc)
    lang = negotiate(request, default=case.language) if (
        "lang" in request.query_params or request.cookies.get(LANG_COOKIE)) else case.language
    view = await service.status_view(session, keyring, case, lang, settings)
    return page(request, "requests/status.html", lang, {
        "view": view, "token": token, "answered": request.query_params.get("done") == "answered",
        "exchange": await exchange(session, keyring, case.id)})


async def _status_action(request: Request, token: str, session: Session) -> Any:
    form = await request.form(max_files=0, max_fields=10)
    csrf = form.get("csrf_token")
    verify_csrf(request, csrf if isinstance(csrf, str) else None)
    await limit_token_use(request)
    return form, await service.case_by_status_token(session, token[:200])


@router.post("/r/status/{token}/withdraw")
async def withdraw_submit(request: Request, token: str, session: Session,
                          keyring: CurrentKeyring) -> Response:
    try:
        form, case = await _status_action(request, token, session)
    except NotFound as exc:
        return _link_problem(request, negotiate(request), exc)
    if form.get("confirm") == "yes":
        await service.withdraw(session, keyring, case)
    return RedirectResponse(f"/r/status/{token}", status_code=303)


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _refused_text(request: Request, session: Session, keyring: Any, settings: Any,
                        case: Any, token: str, name: str, text: str,
                        extra: dict[str, Any]) -> Response:
    """The status page again, with what was typed (cut at twice the limit) and why the free
    text was refused (empty or too long), next to its field."""
    lang = negotiate(request, default=case.language)
    view = await service.status_view(session, keyring, case, lang, settings)
    key = "err.required" if not text else "err.too_long"
    return page(request, "requests/status.html", lang,
                {"view": view, "token": token, name: text[:LIMITS["answer"] * 2],
                 f"{name}_error": translate(lang, key, max=LIMITS["answer"]), **extra},
                status_code=422)


@router.post("/r/status/{token}/answer")
async def answer_submit(request: Request, token: str, session: Session,
                        keyring: CurrentKeyring, settings: CurrentSettings) -> Response:
    try:
        form, case = await _status_action(request, token, session)
    except NotFound as exc:
        return _link_problem(request, negotiate(request), exc)
    answer = _text(form, "answer")
    if not answer or len(answer) > LIMITS["answer"]:
        return await _refused_text(request, session, keyring, settings, case, token, "answer",
                                   answer, {"exchange": await exchange(session, keyring, case.id)})
    await service.answer(session, keyring, settings, case, answer)
    return RedirectResponse(f"/r/status/{token}?done=answered", status_code=303)


@router.post("/r/status/{token}/information")
async def information_submit(request: Request, token: str, session: Session,
                             keyring: CurrentKeyring, settings: CurrentSettings) -> Response:
    """Art. 11(2): more information after a `cannot_identify` refusal."""
    try:
        form, case = await _status_action(request, token, session)
    except NotFound as exc:
        return _link_problem(request, negotiate(request), exc)
    text = _text(form, "information")
    if not text or len(text) > LIMITS["answer"]:
        return await _refused_text(request, session, keyring, settings, case, token,
                                   "information", text, {})
    await identify.send_information(session, keyring, settings, case, text)
    return RedirectResponse(f"/r/status/{token}", status_code=303)
