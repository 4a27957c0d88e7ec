"""Server-rendered pages for re-users (sign up, confirm, manage by secret link) and the
provider's propagation dashboard. Plain forms, no JavaScript needed, CSRF on every form."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import FormData

from app.access import service as access
from app.access.schemas import GrantRead
from app.acks import service as acks
from app.acks.models import AckOutcome
from app.db import Session
from app.delivery import service as deliveries
from app.delivery.fanout import queue_test
from app.delivery.ssrf import UrlProblem, check_url
from app.errors import Conflict, DomainError, InvalidInput, NotFound, TooManyRequests
from app.feeds.service import find_model
from app.i18n import N_, current_language, gettext, set_language
from app.licensing import service as licensing
from app.licensing.schemas import ClauseAcceptanceBody
from app.lineage import derivatives
from app.lineage.schemas import DerivativeCreate
from app.models_registry.models import Model
from app.pagination import PageParams
from app.requests.deps import CurrentKeyring, CurrentSettings, limit_token_use
from app.subscribers import service
from app.subscribers.deps import CurrentResolver
from app.subscribers.models import Subscriber, Subscription
from app.subscribers.router import limit_sign_ups, limit_sign_ups_per_email
from app.subscribers.schemas import EndpointCreate, ModelBody, SubscriberCreate, SubscriberUpdate
from app.subscribers.service import LinkExpired
from app.subscribers.texts import MESSAGES, NOTICES
from app.web.templating import render, verify_csrf

router = APIRouter(include_in_schema=False)
# Pages whose address is a secret: never sent onwards as a Referer, never cached.
PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}



def _accepted(form: FormData, name: str) -> list[dict[str, Any]]:
    """`namespace/name@version` boxes ticked on the page, as the API's acceptances."""
    out: list[dict[str, Any]] = []
    for value in form.getlist(name)[:200]:
        ref, _, version = value.rpartition("@") if isinstance(value, str) else ("", "", "")
        if ref and version.isdigit() and len(version) < 8:
            out.append({"model": ref, "version": int(version)})
    return out


async def _all_models(session: Session) -> list[Model]:
    return list(await session.scalars(select(Model).order_by(Model.namespace, Model.name)
                                      .limit(500)))


def _text(form: FormData, name: str, limit: int = 5000) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


async def _form(request: Request) -> FormData:
    form = await request.form(max_files=0, max_fields=200)
    verify_csrf(request, _text(form, "csrf_token", 200) or None)
    return form


def _message(request: Request, title: str, message: str, status_code: int = 200) -> Response:
    return render(request, "subscribers/message.html",
                  {"title": gettext(title), "message": gettext(message)},
                  status_code=status_code)


# --- sign up ---------------------------------------------------------------------------------


async def _subscribe_page(request: Request, session: Session, values: dict[str, Any],
                          errors: dict[str, str] | None = None,
                          status_code: int = 200) -> Response:
    models = await _all_models(session)
    return render(request, "subscribers/subscribe.html",
                  {"models": models, "values": values, "errors": errors or {},
                   "clauses": await licensing.current_for(session, [m.id for m in models])},
                  status_code=status_code)


@router.get("/subscribe")
async def subscribe_form(request: Request, session: Session) -> Response:
    chosen = [m for m in request.query_params.getlist("model") if len(m) < 200]
    return await _subscribe_page(request, session, {"name": "", "email": "", "models": chosen,
                                                    "endpoints": "", "accepted": []})


@router.post("/subscribe")
async def subscribe_submit(request: Request, session: Session, keyring: CurrentKeyring,
                           settings: CurrentSettings, resolver: CurrentResolver) -> Response:
    form = await _form(request)
    name, email = _text(form, "name", 400), _text(form, "email", 400)
    endpoints = _text(form, "endpoints", 25_000)
    models = [m for m in form.getlist("models") if isinstance(m, str)][:200]
    accepted = _accepted(form, "accept_clauses")
    values: dict[str, Any] = {"name": name, "email": email, "models": models,
                              "endpoints": endpoints,
                              "accepted": [f"{a['model']}@{a['version']}" for a in accepted]}
    urls = [line.strip() for line in endpoints.splitlines() if line.strip()]
    errors: dict[str, str] = {}
    # URLs are checked up front, so one answer names every problem of the form.
    for url in urls[:10]:
        try:
            await check_url(url, resolver, allow_http=settings.allow_http_webhooks,
                            allow_private=settings.allow_private_webhook_targets)
        except UrlProblem as exc:
            # Say which problem it is: a typo in the host name is not a private address.
            which = "endpoints_dns" if "does not resolve" in str(exc) else "endpoints"
            errors["endpoints"] = gettext(MESSAGES[which])
    if len(urls) > 10:
        errors["endpoints"] = gettext("Give at most 10 webhook URLs.")
    try:
        await limit_sign_ups(request)
        body = SubscriberCreate.model_validate({
            "name": name.strip(), "email": email.strip(), "models": models,
            "endpoints": [{"url": u} for u in urls], "accept_clauses": accepted,
            "language": current_language()})  # the emails follow the page's language
        await limit_sign_ups_per_email(request, str(body.email))
        signup = await service.create(session, keyring, settings, resolver, body)
    except ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][0]) if err.get("loc") else "name"
            errors.setdefault(field if field in MESSAGES else "name",
                             gettext(MESSAGES.get(field, MESSAGES["name"])))
    except InvalidInput as exc:
        for f in exc.fields:
            field = f.field.split(".")[0]
            errors.setdefault(field, gettext(MESSAGES.get(field, f.message)))
    except TooManyRequests:
        errors["_form"] = gettext("Too many attempts from your network or for this address. "
                                  "Please wait.")
    if errors:
        await session.rollback()  # a refused sign-up leaves nothing behind
        return await _subscribe_page(request, session, values, errors,
                                     429 if "_form" in errors else 422)
    return render(request, "subscribers/sent.html", {"expires_at": signup.expires_at},
                  status_code=202)


@router.get("/s/confirm/{token}")
async def confirm_page(request: Request, token: str) -> Response:
    # A GET only shows the button: mail scanners following links must not confirm anything.
    return render(request, "subscribers/confirm.html", {"token": token[:200]}, headers=PRIVATE)


@router.post("/s/confirm/{token}")
async def confirm_submit(request: Request, token: str, session: Session,
                         keyring: CurrentKeyring, settings: CurrentSettings) -> Response:
    await _form(request)
    await limit_token_use(request)
    try:
        _, credential = await service.confirm(session, keyring, settings, token[:200])
    except LinkExpired as exc:
        return _message(request, N_("Link expired"), exc.detail, 410)
    except NotFound as exc:
        return _message(request, N_("Link not valid"), exc.detail, 404)
    return RedirectResponse(f"/s/manage/{credential}?confirmed=1", status_code=303)


# --- the management page ---------------------------------------------------------------------


async def _subscriber(request: Request, session: Session, token: str) -> Subscriber:
    await limit_token_use(request)
    subscriber = await service.by_token(session, token)
    if subscriber is None:
        raise NotFound(N_("This management link is not valid."))
    set_language(subscriber.language)  # the page speaks the re-user's language
    return subscriber


async def _manage_page(request: Request, session: Session, keyring: CurrentKeyring,
                       settings: CurrentSettings, subscriber: Subscriber, token: str, *,
                       notice: str | None = None, errors: dict[str, str] | None = None,
                       status_code: int = 200, grant: GrantRead | None = None) -> Response:
    endpoints = await service.endpoints_of(session, subscriber.id)
    gated = list(await session.scalars(
        select(Model).join(Subscription, Subscription.model_id == Model.id)
        .where(Subscription.subscriber_id == subscriber.id, Model.gated.is_(True))
        .order_by(Model.namespace, Model.name)))
    items, _ = await deliveries.list_deliveries(session, PageParams(limit=50),
                                                subscriber_id=subscriber.id)
    return render(request, "subscribers/manage.html", {
        "token": token, "subscriber": subscriber,
        "email": service.contact_email(keyring, subscriber),
        "models": await service.model_refs(session, subscriber.id),
        "all_models": await _all_models(session),
        "endpoints": [(e, service.endpoint_secrets(keyring, e)) for e in endpoints],
        "urls": {e.id: e.url for e in endpoints},
        "deliveries": items, "pending": await acks.pending_for(session, settings, subscriber),
        "past_acks": await acks.acknowledged_by(session, subscriber),
        "outcomes": list(AckOutcome), "notice": notice, "errors": errors or {},
        "confirmed": request.query_params.get("confirmed") == "1",
        "clauses": await licensing.for_subscriber(session, subscriber, settings.public_base_url),
        "gated": gated, "grant": grant,
        "derivatives": await derivatives.declared_by(session, subscriber),
    }, status_code=status_code, headers=PRIVATE)


@router.get("/s/manage/{token}")
async def manage_page(request: Request, token: str, session: Session, keyring: CurrentKeyring,
                      settings: CurrentSettings) -> Response:
    try:
        subscriber = await _subscriber(request, session, token[:200])
    except NotFound as exc:
        return _message(request, N_("Link not valid"), exc.detail, 404)
    notice = NOTICES.get(request.query_params.get("done", ""))
    count = request.query_params.get("n", "")
    if notice:
        notice = gettext(notice).format(n=int(count) if count.isdigit() else 0)
    return await _manage_page(request, session, keyring, settings, subscriber, token,
                              notice=notice)


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(N_("That item was not found.")) from None


@router.post("/s/manage/{token}")
async def manage_action(request: Request, token: str, session: Session, keyring: CurrentKeyring,
                        settings: CurrentSettings, resolver: CurrentResolver) -> Response:
    form = await _form(request)
    try:
        subscriber = await _subscriber(request, session, token[:200])
    except NotFound as exc:
        return _message(request, N_("Link not valid"), exc.detail, 404)
    action = _text(form, "action", 40)
    if action == "leave":
        if _text(form, "confirm", 10) != "yes":
            return await _manage_page(request, session, keyring, settings, subscriber, token,
                                      errors={"leave": gettext("Tick the box to confirm.")},
                                      status_code=422)
        await service.leave(session, subscriber)
        return _message(request, N_("Subscription deleted"),
                        N_("You no longer follow any model and your details are erased. "
                           "Thank you for keeping your copies up to date."))
    errors: dict[str, str] = {}
    if action == "grant":
        try:
            grant = await access.issue(
                session, request.app.state.webhook_keys, subscriber,
                await find_model(session, _text(form, "model", 200)), None,
                ttl=timedelta(seconds=settings.access_grant_ttl_seconds),
                issuer=settings.public_base_url)
        except DomainError as exc:
            errors[action] = exc.detail
        else:
            # Shown once, on this answer (never in an address): the page is not cached.
            return await _manage_page(request, session, keyring, settings, subscriber, token,
                                      notice=gettext("Access grant issued: copy it now."), grant=grant)
    try:
        if action == "grant":  # refused above
            raise Conflict(errors[action])
        done = await _act(session, keyring, settings, resolver, subscriber, action, form)
    except InvalidInput as exc:
        errors[action] = "; ".join(f.message for f in exc.fields)
    except ValidationError:
        errors[action] = gettext("That value is not valid. Webhook URLs start with https://; models "
                          "are named namespace/name.")
    except DomainError as exc:
        errors[action] = exc.detail
    if errors:
        await session.rollback()  # nothing of a refused action stays
        await session.refresh(subscriber)
        return await _manage_page(request, session, keyring, settings, subscriber, token,
                                  errors=errors, status_code=422)
    # Post/redirect/get: reloading the page never repeats the action.
    return RedirectResponse(f"/s/manage/{token}?done={done}", status_code=303,
                            headers=PRIVATE)


async def _act(session: Session, keyring: CurrentKeyring, settings: CurrentSettings,
               resolver: CurrentResolver, subscriber: Subscriber, action: str,
               form: FormData) -> str:
    if action == "follow":
        follow = ModelBody.model_validate({"model": _text(form, "model", 200).strip()})
        version = None
        if _text(form, "accept_clause", 10) == "yes":
            clause = await licensing.current(session, (await find_model(session,
                                                                        follow.model)).id)
            version = clause.version if clause else None
        await service.add_model(session, subscriber, follow.model, version, via="page")
        return "followed"
    if action == "accept_clause":
        acceptance = ClauseAcceptanceBody.model_validate({
            "model": _text(form, "model", 200), "version": _text(form, "version", 10)})
        await licensing.accept(session, subscriber, await find_model(session, acceptance.model),
                               acceptance.version, via="page")
        return "clause_accepted"
    if action == "declare":
        parents = [p.strip() for p in _text(form, "derived_from", 4000).replace(",", "\n")
                   .splitlines() if p.strip()]
        declared = DerivativeCreate.model_validate({
            "id": _text(form, "id", 200).strip(), "title": _text(form, "title", 300).strip(),
            "url": _text(form, "url", 2100).strip(), "derived_from": parents})
        await derivatives.declare(session, subscriber, declared)
        return "declared"
    if action == "withdraw":
        await derivatives.withdraw(session, subscriber, _text(form, "model", 200))
        return "withdrawn"
    if action == "unfollow":
        unfollow = ModelBody.model_validate({"model": _text(form, "model", 200)})
        await service.remove_model(session, subscriber, unfollow.model)
        return "unfollowed"
    if action == "add_endpoint":
        body = EndpointCreate.model_validate({"url": _text(form, "url", 2100).strip(),
                                              "description": None})
        await service.add_endpoint(session, keyring, settings, resolver, subscriber, body)
        return "endpoint_added"
    if action == "replay_failed":
        try:
            since = datetime.fromisoformat(_text(form, "since", 40)).replace(tzinfo=UTC)
        except ValueError:
            raise Conflict(N_("Give the date and time to replay from.")) from None
        n = await deliveries.replay_failed(session, since, subscriber_id=subscriber.id)
        return f"replayed&n={n}"
    if action == "replay":
        raw = _text(form, "delivery_id", 20)
        if not raw.isdigit() or not 0 < int(raw) < 2**62:
            raise NotFound(N_("That delivery was not found."))
        delivery_id = int(raw)
        d = await deliveries.get_delivery(session, delivery_id, subscriber_id=subscriber.id)
        await deliveries.replay_one(session, d)
        return "replayed_one"
    if action == "acknowledge":
        outcome = _text(form, "outcome", 20)
        if outcome not in {o.value for o in AckOutcome}:
            raise Conflict(N_("Choose what you did with your copies."))
        await acks.acknowledge(session, _uuid(_text(form, "event_id", 40)), subscriber,
                               AckOutcome(outcome), via="page")
        return "acknowledged"
    if action == "language":
        subscriber.language = SubscriberUpdate.model_validate(
            {"language": _text(form, "language", 10)}).language
        set_language(subscriber.language)
        return "language"
    endpoint_id = _uuid(_text(form, "endpoint_id", 40))
    if action == "remove_endpoint":
        await service.remove_endpoint(session, subscriber, endpoint_id)
        return "endpoint_removed"
    if action == "rotate":
        await service.rotate_secret(session, keyring, settings, subscriber, endpoint_id)
        return "rotated"
    if action == "enable":
        await service.enable_endpoint(session, settings, resolver, subscriber, endpoint_id)
        return "enabled"
    if action == "test":
        await queue_test(session, await service.get_endpoint(session, subscriber, endpoint_id))
        return "test_queued"
    raise NotFound(N_("Unknown action."))
