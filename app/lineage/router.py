"""A subscriber's declared derivatives (models it publishes elsewhere)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from app.db import Session
from app.errors import ErrorRead
from app.lineage import derivatives
from app.lineage.schemas import DerivativeCreate, DerivativeRead
from app.models_registry.schemas import PathSegment
from app.models_registry.service import ModelView
from app.subscribers.deps import CurrentSubscriber

me = APIRouter(prefix="/v1/subscriber/derivatives", tags=["subscriber"],
               responses={401: {"model": ErrorRead}, 409: {"model": ErrorRead}})
Segment = PathSegment


def derivative_read(request: Request, view: ModelView) -> DerivativeRead:
    base = request.app.state.settings.public_base_url
    m = view.model
    return DerivativeRead(id=m.ref, title=m.title, url=m.homepage, licence=m.licence,
                          derived_from=view.derived_from, organization=view.org_slug,
                          feed=f"{base}/v1/public/models/{m.ref}/feed.atom")


@me.post("", name="declare_derivative", response_model=DerivativeRead,
         status_code=status.HTTP_201_CREATED)
async def declare_derivative(body: DerivativeCreate, subscriber: CurrentSubscriber,
                             request: Request, session: Session) -> DerivativeRead:
    """Declare a model you derived from models you follow and publish elsewhere. When one of
    its parents is fixed, it gets `upstream.remediation` like any derived model: its own
    re-users, who can follow it here, are told, and you are emailed."""
    return derivative_read(request, await derivatives.declare(session, subscriber, body))


@me.get("", name="list_derivatives", response_model=list[DerivativeRead])
async def list_derivatives(subscriber: CurrentSubscriber, request: Request,
                           session: Session) -> list[DerivativeRead]:
    return [derivative_read(request, v)
            for v in await derivatives.declared_by(session, subscriber)]


@me.delete("/{namespace}/{name}", name="withdraw_derivative",
           status_code=status.HTTP_204_NO_CONTENT, responses={404: {"model": ErrorRead}})
async def withdraw_derivative(namespace: Segment, name: Segment, subscriber: CurrentSubscriber,
                              session: Session) -> Response:
    """Take back a derivative declared in error. Refused (409) once anything rests on it: a
    re-user follows it, a model is derived from it, or a fix has reached it; it then stays, so
    that their record holds."""
    await derivatives.withdraw(session, subscriber, f"{namespace}/{name}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
