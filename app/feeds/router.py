"""Public feeds (Atom, JSON Feed) and the pull API: what re-users without webhooks read."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from app.db import Session
from app.errors import ErrorRead, NotFound
from app.events.models import Event, EventType
from app.feeds import render, service
from app.feeds.schemas import ChainRead, EventPage, EventRead
from app.licensing import service as licensing
from app.models_registry.schemas import MODEL_ID_PATTERN, PathSegment

router = APIRouter(prefix="/v1/public", tags=["feeds"],
                   responses={404: {"model": ErrorRead}})

Namespace = PathSegment
Name = PathSegment
Slug = Annotated[str, Path(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$", max_length=64)]
IfNoneMatch = Annotated[str | None, Header(max_length=2000)]
FEED_SIZE = 50
ATOM_TYPE = "application/atom+xml; charset=utf-8"
JSON_FEED_TYPE = "application/feed+json; charset=utf-8"
FEED_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/atom+xml": {}, "application/feed+json": {}},
          "description": "the feed"},
    304: {"description": "not modified (ETag)"}}


def _base(request: Request) -> str:
    base: str = request.app.state.settings.public_base_url
    return base


def _feed_response(request: Request, kind: str, key: str, title: str, fmt: str,
                   items: list[EventRead], if_none_match: str | None,
                   clause_url: str | None = None) -> Response:
    tag = service.etag(f"{kind}.{fmt}", key, items)
    headers = {"ETag": tag, "Cache-Control": "public, max-age=0, must-revalidate"}
    if service.matches(if_none_match, tag):
        return Response(status_code=304, headers=headers)
    # Absolute links come from RR_PUBLIC_BASE_URL only, never from the Host header.
    url = _base(request) + request.url.path
    if fmt == "atom":
        body = render.atom(title=title, feed_url=url, base_url=_base(request), items=items,
                           clause_url=clause_url)
        return Response(body, media_type=ATOM_TYPE, headers=headers)
    body = render.json_feed(title=title, feed_url=url, base_url=_base(request), items=items,
                            clause_url=clause_url)
    return Response(body, media_type=JSON_FEED_TYPE, headers=headers)


async def _model_feed(request: Request, session: Session, ref: str, fmt: str,
                      if_none_match: str | None) -> Response:
    model = await service.find_model(session, ref)
    items = await service.latest(session, limit=FEED_SIZE, model_id=model.id)
    clause = await licensing.current(session, model.id)
    clause_url = licensing.public_url(_base(request), model, clause.version) if clause else None
    return _feed_response(request, "model", ref, f"Rights Relay: {ref}", fmt, items,
                          if_none_match, clause_url)


async def _org_feed(request: Request, session: Session, slug: str, fmt: str,
                    if_none_match: str | None) -> Response:
    org = await service.find_org(session, slug)
    items = await service.latest(session, limit=FEED_SIZE, org_id=org.id)
    return _feed_response(request, "org", slug, f"Rights Relay: {org.name}", fmt, items,
                          if_none_match)


@router.get("/models/{namespace}/{name}/feed.atom", name="model_feed_atom",
            response_class=Response, responses=FEED_DOC)
async def model_feed_atom(namespace: Namespace, name: Name, request: Request, session: Session,
                          if_none_match: IfNoneMatch = None) -> Response:
    """The model's events, newest first, as Atom (RFC 4287)."""
    return await _model_feed(request, session, f"{namespace}/{name}", "atom", if_none_match)


@router.get("/models/{namespace}/{name}/feed.json", name="model_feed_json",
            response_class=Response, responses=FEED_DOC)
async def model_feed_json(namespace: Namespace, name: Name, request: Request, session: Session,
                          if_none_match: IfNoneMatch = None) -> Response:
    """The model's events, newest first, as JSON Feed 1.1."""
    return await _model_feed(request, session, f"{namespace}/{name}", "json", if_none_match)


@router.get("/organizations/{slug}/feed.atom", name="org_feed_atom",
            response_class=Response, responses=FEED_DOC)
async def org_feed_atom(slug: Slug, request: Request, session: Session,
                        if_none_match: IfNoneMatch = None) -> Response:
    """Events of every model of one provider organisation, as Atom."""
    return await _org_feed(request, session, slug, "atom", if_none_match)


@router.get("/organizations/{slug}/feed.json", name="org_feed_json",
            response_class=Response, responses=FEED_DOC)
async def org_feed_json(slug: Slug, request: Request, session: Session,
                        if_none_match: IfNoneMatch = None) -> Response:
    """Events of every model of one provider organisation, as JSON Feed 1.1."""
    return await _org_feed(request, session, slug, "json", if_none_match)


@router.get("/events", name="pull_events", response_model=EventPage)
async def pull_events(
    session: Session,
    after: Annotated[int, Query(ge=0, le=2**62, description="the last position you have")] = 0,
    model: Annotated[str | None, Query(pattern=MODEL_ID_PATTERN, max_length=193)] = None,
    organization: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9-]+$")] = None,
    type: Annotated[list[EventType] | None, Query(description="only these types")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EventPage:
    """Events after a cursor, oldest first: for re-users who cannot receive webhooks. Keep the
    returned `next_after` and pass it as `after` next time."""
    model_id = (await service.find_model(session, model)).id if model else None
    org_id = (await service.find_org(session, organization)).id if organization else None
    items, more = await service.events_after(
        session, after=after, limit=limit, model_id=model_id, org_id=org_id,
        types=[t.value for t in type] if type else None)
    return EventPage(items=items, next_after=items[-1].position if items else after,
                     has_more=more)


async def _event(session: Session, event_id: uuid.UUID) -> Event:
    event = await session.scalar(select(Event).where(Event.id == event_id))
    if event is None:
        raise NotFound("event not found")
    return event


@router.get("/events/{event_id}", name="get_event", response_model=EventRead)
async def get_event(event_id: uuid.UUID, session: Session) -> EventRead:
    event = await _event(session, event_id)
    rows = (await session.execute(service.events_query().where(Event.id == event.id))).all()
    return service.event_read(rows[0])


@router.get("/events/{event_id}/caused", name="list_caused_events",
            response_model=list[EventRead])
async def list_caused_events(event_id: uuid.UUID, session: Session) -> list[EventRead]:
    """Events this one caused directly (lineage cascade: one per derived model)."""
    await _event(session, event_id)
    rows = (await session.execute(service.events_query().where(Event.caused_by_id == event_id)
                                  .order_by(Event.position))).all()
    return [service.event_read(r) for r in rows]


@router.get("/events/{event_id}/chain", name="get_event_chain", response_model=ChainRead)
async def get_event_chain(event_id: uuid.UUID, session: Session) -> ChainRead:
    """The whole lineage chain this event belongs to (every event sharing its `root_id`)."""
    event = await _event(session, event_id)
    root = event.root_id or event.id
    rows = (await session.execute(service.events_query().where(Event.root_id == root)
                                  .order_by(Event.position))).all()
    return ChainRead(root_id=root, events=[service.event_read(r) for r in rows])
