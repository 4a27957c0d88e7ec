"""Update clauses: the provider publishes versions and sees who accepted them; anyone reads
them; subscribers accept them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, status

from app.auth import service as auth_service
from app.auth.deps import AdminPrincipal, CurrentPrincipal
from app.db import Session
from app.errors import ErrorRead, NotFound
from app.feeds.service import find_model
from app.licensing import service
from app.licensing.schemas import (
    AcceptanceRead,
    ClauseAcceptanceBody,
    ClauseCreate,
    ClauseRead,
    SubscriberClauseRead,
)
from app.models_registry.schemas import PathSegment
from app.models_registry.service import get_model
from app.subscribers.deps import CurrentSubscriber

Namespace = PathSegment
Name = PathSegment
Version = Annotated[int, Path(ge=1, le=1_000_000)]
ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorRead}, 409: {"model": ErrorRead}}

provider = APIRouter(prefix="/v1/models", tags=["clauses"], responses=ERRORS)
public = APIRouter(prefix="/v1/public/models", tags=["clauses"],
                   responses={404: {"model": ErrorRead}})
me = APIRouter(prefix="/v1/subscriber/clauses", tags=["subscriber"],
               responses={401: {"model": ErrorRead}, **ERRORS})


def _base(request: Request) -> str:
    base: str = request.app.state.settings.public_base_url
    return base


@provider.post("/{namespace}/{name}/clause", name="publish_clause", response_model=ClauseRead,
               status_code=status.HTTP_201_CREATED)
async def publish_clause(namespace: Namespace, name: Name, body: ClauseCreate, request: Request,
                         session: Session, principal: AdminPrincipal) -> ClauseRead:
    """Publish a new version of the model's update-obligation clause. Followers are told
    (`model.clause.updated`, and by email) and must accept it again; new followers accept it
    when they subscribe."""
    model = await get_model(session, principal.org_id, f"{namespace}/{name}")
    org = await auth_service.get_org(session, principal.org_id)
    clause = await service.publish(session, model, body, actor=principal.actor,
                                   org_slug=org.slug, base_url=_base(request))
    return service.clause_read(_base(request), model, clause)


@provider.get("/{namespace}/{name}/clause/acceptances", name="list_clause_acceptances",
              response_model=list[AcceptanceRead])
async def list_clause_acceptances(namespace: Namespace, name: Name, session: Session,
                                  principal: CurrentPrincipal) -> list[AcceptanceRead]:
    """Every confirmed follower and the clause version it last accepted, with when and how:
    `up_to_date: false` for those who have not accepted the current version."""
    model = await get_model(session, principal.org_id, f"{namespace}/{name}")
    return await service.acceptances(session, model)


@public.get("/{namespace}/{name}/clause", name="get_current_clause", response_model=ClauseRead)
async def get_current_clause(namespace: Namespace, name: Name, request: Request,
                             session: Session) -> ClauseRead:
    """The model's current update clause (404 when the model has none)."""
    model = await find_model(session, f"{namespace}/{name}")
    clause = await service.current(session, model.id)
    if clause is None:
        raise NotFound("this model has no update clause")
    return service.clause_read(_base(request), model, clause)


@public.get("/{namespace}/{name}/clause/{version}", name="get_clause_version",
            response_model=ClauseRead)
async def get_clause_version(namespace: Namespace, name: Name, version: Version,
                             request: Request, session: Session) -> ClauseRead:
    """One version of the model's update clause, as it was published."""
    model = await find_model(session, f"{namespace}/{name}")
    return service.clause_read(_base(request), model,
                               await service.version_of(session, model, version))


@me.get("", name="list_my_clauses", response_model=list[SubscriberClauseRead])
async def list_my_clauses(subscriber: CurrentSubscriber, request: Request,
                          session: Session) -> list[SubscriberClauseRead]:
    """The update clauses of the models you follow, and whether you accepted the current
    version (`pending: true` when not)."""
    return await service.for_subscriber(session, subscriber, _base(request))


@me.post("/accept", name="accept_clause", response_model=SubscriberClauseRead)
async def accept_clause(body: ClauseAcceptanceBody, subscriber: CurrentSubscriber,
                        request: Request, session: Session) -> SubscriberClauseRead:
    """Accept the current version of a followed model's update clause (recorded as evidence:
    who and when). A version that is not the current one is a 409."""
    model = await find_model(session, body.model)
    clauses = {c.model: c for c in await service.for_subscriber(session, subscriber,
                                                                 _base(request))}
    if model.ref not in clauses:
        raise NotFound("you follow no model with this id that has an update clause")
    await service.accept(session, subscriber, model, body.version, via="api")
    return {c.model: c for c in await service.for_subscriber(
        session, subscriber, _base(request))}[model.ref]
