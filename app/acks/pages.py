"""The signed acknowledgement link's page: GET shows the event, POST records the answer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from app.acks import service
from app.acks.links import parse_ack_token
from app.acks.models import Acknowledgement, AckOutcome
from app.db import Session
from app.errors import Conflict, NotFound
from app.events.models import Event
from app.feeds.service import event_read, events_query, summarise
from app.i18n import N_, set_language
from app.requests.deps import CurrentSettings, limit_token_use
from app.subscribers.models import Subscriber
from app.web.templating import render, verify_csrf

router = APIRouter(include_in_schema=False)


async def _context(request: Request, session: Session, settings: CurrentSettings,
                   token: str) -> tuple[Event, Subscriber]:
    await limit_token_use(request)
    parsed = parse_ack_token(settings, token[:100])
    subscriber = await session.get(Subscriber, parsed[1]) if parsed else None
    event = await session.scalar(select(Event).where(Event.id == parsed[0])) if parsed else None
    if event is None or subscriber is None or subscriber.verified_at is None:
        raise NotFound(N_("This acknowledgement link is not valid."))
    set_language(subscriber.language)  # the page speaks the re-user's language
    return event, subscriber


async def _page(request: Request, session: Session, event: Event, subscriber: Subscriber,
                token: str, message: str | None = None, status_code: int = 200) -> Response:
    view = event_read((await session.execute(events_query().where(Event.id == event.id))).one())
    done = await session.scalar(select(Acknowledgement).where(
        Acknowledgement.event_id == event.id, Acknowledgement.subscriber_id == subscriber.id))
    return render(request, "acks/ack.html", {
        "token": token, "view": view, "summary": summarise(view), "subscriber": subscriber,
        "done": done, "outcomes": list(AckOutcome), "message": message},
        status_code=status_code, headers={"Referrer-Policy": "no-referrer"})


@router.get("/a/{token}")
async def ack_page(request: Request, token: str, session: Session,
                   settings: CurrentSettings) -> Response:
    event, subscriber = await _context(request, session, settings, token)
    return await _page(request, session, event, subscriber, token)


@router.post("/a/{token}")
async def ack_submit(request: Request, token: str, session: Session,
                     settings: CurrentSettings) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    csrf = form.get("csrf_token")
    verify_csrf(request, csrf if isinstance(csrf, str) else None)
    event, subscriber = await _context(request, session, settings, token)
    outcome = form.get("outcome")
    if outcome not in {o.value for o in AckOutcome}:
        return await _page(request, session, event, subscriber, token,
                           N_("Choose what you did with your copies."), 422)
    try:
        await service.acknowledge(session, event.id, subscriber, AckOutcome(str(outcome)),
                                  via="link")
    except (Conflict, NotFound) as exc:
        return await _page(request, session, event, subscriber, token, exc.detail, 409)
    return await _page(request, session, event, subscriber, token)
