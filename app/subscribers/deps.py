from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.db import Session
from app.delivery.ssrf import Resolver
from app.errors import Unauthorized
from app.subscribers import service
from app.subscribers.models import Subscriber

_bearer = HTTPBearer(auto_error=False, scheme_name="SubscriberToken",
                     description="A subscriber's token: `Authorization: Bearer rrs_...`")


def get_resolver(request: Request) -> Resolver:
    resolver: Resolver = request.app.state.webhook_resolver
    return resolver


CurrentResolver = Annotated[Resolver, Depends(get_resolver)]


async def get_subscriber(
    session: Session,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Subscriber:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("a subscriber token is required", headers=challenge)
    subscriber = await service.by_token(session, credentials.credentials)
    if subscriber is None:
        raise Unauthorized("invalid subscriber token", headers=challenge)
    return subscriber


CurrentSubscriber = Annotated[Subscriber, Depends(get_subscriber)]
