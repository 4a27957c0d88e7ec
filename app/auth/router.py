from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from app.auth import service
from app.auth.deps import AdminPrincipal, CurrentPrincipal
from app.auth.models import Role
from app.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    OrganizationRead,
    OrganizationUpdate,
    UserCreate,
    UserRead,
    UserUpdate,
    WhoAmI,
)
from app.db import Session
from app.errors import ErrorRead

router = APIRouter(prefix="/v1", tags=["account"])


@router.get("/me", name="whoami", response_model=WhoAmI)
async def whoami(session: Session, principal: CurrentPrincipal) -> WhoAmI:
    org = await service.get_org(session, principal.org_id)
    return WhoAmI(organization=OrganizationRead.model_validate(org), role=principal.role,
                  actor=principal.label)


@router.post("/api-keys", name="create_api_key", response_model=ApiKeyCreated,
             status_code=status.HTTP_201_CREATED)
async def create_api_key(body: ApiKeyCreate, session: Session,
                         principal: AdminPrincipal) -> ApiKeyCreated:
    api_key, key = await service.create_api_key(session, org_id=principal.org_id,
                                                name=body.name, role=body.role)
    return ApiKeyCreated(**ApiKeyRead.model_validate(api_key).model_dump(), key=key)


@router.get("/api-keys", name="list_api_keys", response_model=list[ApiKeyRead])
async def list_api_keys(session: Session, principal: AdminPrincipal) -> list[ApiKeyRead]:
    keys = await service.list_api_keys(session, principal.org_id)
    return [ApiKeyRead.model_validate(k) for k in keys]


@router.post("/api-keys/{key_id}/revoke", name="revoke_api_key", response_model=ApiKeyRead,
             responses={404: {"model": ErrorRead}})
async def revoke_api_key(key_id: uuid.UUID, session: Session,
                         principal: AdminPrincipal) -> ApiKeyRead:
    return ApiKeyRead.model_validate(await service.revoke_api_key(session, principal.org_id, key_id))


@router.post("/users", name="create_user", response_model=UserRead,
             status_code=status.HTTP_201_CREATED, responses={409: {"model": ErrorRead}})
async def create_user(body: UserCreate, session: Session, principal: AdminPrincipal) -> UserRead:
    user = await service.create_user(session, org_id=principal.org_id, email=body.email,
                                     name=body.name, role=Role(body.role), password=body.password,
                                     language=body.language)
    return UserRead.model_validate(user)


@router.get("/users", name="list_users", response_model=list[UserRead])
async def list_users(session: Session, principal: AdminPrincipal) -> list[UserRead]:
    return [UserRead.model_validate(u) for u in await service.list_users(session, principal.org_id)]


@router.patch("/users/{user_id}", name="update_user", response_model=UserRead,
              responses={404: {"model": ErrorRead}})
async def update_user(user_id: uuid.UUID, body: UserUpdate, session: Session,
                      principal: AdminPrincipal) -> UserRead:
    """Set a staff user's language: their dashboard pages and the emails they receive."""
    user = await service.set_user_language(session, principal.org_id, user_id, body.language)
    return UserRead.model_validate(user)


@router.patch("/organization", name="update_organization", response_model=OrganizationRead)
async def update_organization(body: OrganizationUpdate, session: Session,
                              principal: AdminPrincipal) -> OrganizationRead:
    """Set the organisation's time zone: the calendar of its Art. 12(3) deadlines."""
    org = await service.set_time_zone(session, principal.org_id, body.time_zone)
    return OrganizationRead.model_validate(org)
