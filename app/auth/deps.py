"""Authentication dependencies: `CurrentPrincipal` for the API, role-restricted variants."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth import service
from app.auth.models import Role
from app.auth.service import Principal
from app.db import Session
from app.errors import Unauthorized

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer rr_...`")


async def get_principal(
    session: Session,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("an API key is required", headers={"WWW-Authenticate": "Bearer"})
    try:
        return await service.principal_for_api_key(session, credentials.credentials)
    except Unauthorized as exc:
        exc.headers = {"WWW-Authenticate": "Bearer"}
        raise


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def roles(*allowed: Role) -> Callable[[Principal], Awaitable[Principal]]:
    async def dependency(principal: CurrentPrincipal) -> Principal:
        service.require_role(principal, *allowed)
        return principal

    return dependency


AdminPrincipal = Annotated[Principal, Depends(roles(Role.admin))]
StaffPrincipal = Annotated[Principal, Depends(roles(Role.admin, Role.reviewer))]
# Anyone who may register versions: admins by hand, pipelines when a remediation lands.
ReleasePrincipal = Annotated[Principal, Depends(roles(Role.admin, Role.pipeline))]
