from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, status

from app.auth.deps import AdminPrincipal, CurrentPrincipal, ReleasePrincipal
from app.db import Session
from app.models_registry import releases, service
from app.models_registry.models import Model, ModelVersion, VersionStatus
from app.models_registry.schemas import (
    Digest,
    ModelCreate,
    ModelRead,
    ModelUpdate,
    ParentRead,
    PathSegment,
    PublicModelRead,
    VersionCreate,
    VersionRead,
    VersionUpdate,
)
from app.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/v1/models", tags=["models"])
public_router = APIRouter(prefix="/v1/public", tags=["public"])

Namespace = PathSegment
Name = PathSegment
Label = Annotated[str, Path(min_length=1, max_length=100)]
Paging = Annotated[PageParams, Depends(page_params)]


def replacement_deadline(request: Request) -> timedelta:
    return timedelta(days=request.app.state.settings.replacement_deadline_days)


Deadline = Annotated[timedelta, Depends(replacement_deadline)]


def model_read(view: service.ModelView) -> ModelRead:
    m = view.model
    return ModelRead(id=m.ref, title=m.title, licence=m.licence, homepage=m.homepage,
                     derived_from=view.derived_from,
                     parents=[ParentRead(id=p.ref, relation=p.relation) for p in view.parents],
                     intake_open=m.intake_open, gated=m.gated,
                     declared_by_subscriber=m.declared_by_id is not None,
                     organization=view.org_slug, created_at=m.created_at, updated_at=m.updated_at)


def version_read(model: Model, v: ModelVersion) -> VersionRead:
    return VersionRead(model=model.ref, label=v.label, revision=v.revision,
                       digests=[Digest.model_validate(d) for d in v.digests],
                       released_at=v.released_at, status=VersionStatus(v.status),
                       remediation_id=v.remediation_id, created_at=v.created_at,
                       updated_at=v.updated_at)


@router.post("", name="create_model", response_model=ModelRead,
             status_code=status.HTTP_201_CREATED)
async def create_model(body: ModelCreate, session: Session, principal: AdminPrincipal) -> ModelRead:
    return model_read(await service.create_model(session, principal.org_id, body))


@router.get("", name="list_models", response_model=Page[ModelRead])
async def list_models(session: Session, principal: CurrentPrincipal,
                      page: Paging) -> Page[ModelRead]:
    views, cursor = await service.list_models(session, principal.org_id, page)
    return Page(items=[model_read(v) for v in views], next_cursor=cursor)


@router.get("/{namespace}/{name}", name="get_model", response_model=ModelRead)
async def get_model(namespace: Namespace, name: Name, session: Session,
                    principal: CurrentPrincipal) -> ModelRead:
    return model_read(await service.get_model_view(session, principal.org_id, f"{namespace}/{name}"))


@router.patch("/{namespace}/{name}", name="update_model", response_model=ModelRead)
async def update_model(namespace: Namespace, name: Name, body: ModelUpdate, session: Session,
                       principal: AdminPrincipal) -> ModelRead:
    view = await service.update_model(session, principal.org_id, f"{namespace}/{name}", body)
    return model_read(view)


@router.post("/{namespace}/{name}/versions", name="create_version", response_model=VersionRead,
             status_code=status.HTTP_201_CREATED)
async def create_version(namespace: Namespace, name: Name, body: VersionCreate, session: Session,
                         principal: ReleasePrincipal, deadline: Deadline) -> VersionRead:
    """Register a version. A `current` version is announced to re-users as released, and the
    versions it `supersedes` are superseded by it (re-users are told to replace them)."""
    model, version = await releases.create_version(session, principal.org_id,
                                                    f"{namespace}/{name}", body, deadline=deadline)
    return version_read(model, version)


@router.get("/{namespace}/{name}/versions", name="list_versions",
            response_model=list[VersionRead])
async def list_versions(namespace: Namespace, name: Name, session: Session,
                        principal: CurrentPrincipal) -> list[VersionRead]:
    model, versions = await releases.list_versions(session, principal.org_id, f"{namespace}/{name}")
    return [version_read(model, v) for v in versions]


@router.get("/{namespace}/{name}/versions/{label}", name="get_version",
            response_model=VersionRead)
async def get_version(namespace: Namespace, name: Name, label: Label, session: Session,
                      principal: CurrentPrincipal) -> VersionRead:
    model, version = await releases.get_version(session, principal.org_id,
                                                f"{namespace}/{name}", label)
    return version_read(model, version)


@router.patch("/{namespace}/{name}/versions/{label}", name="update_version",
              response_model=VersionRead)
async def update_version(namespace: Namespace, name: Name, label: Label, body: VersionUpdate,
                         session: Session, principal: ReleasePrincipal,
                         deadline: Deadline) -> VersionRead:
    """Supersede or withdraw a version; re-users are told what to do with their copies."""
    model, version = await releases.update_version(session, principal.org_id,
                                                   f"{namespace}/{name}", label, body,
                                                   deadline=deadline)
    return version_read(model, version)


@public_router.get("/models", name="list_open_models", response_model=Page[PublicModelRead])
async def list_open_models(session: Session, page: Paging) -> Page[PublicModelRead]:
    """Models whose intake is open: the ones a data subject can file a request against."""
    views, cursor = await service.list_public_models(session, page)
    items = [PublicModelRead(id=v.model.ref, title=v.model.title, licence=v.model.licence,
                             homepage=v.model.homepage, derived_from=v.derived_from,
                             gated=v.model.gated, provider=v.org_name,
                             organization=v.org_slug) for v in views]
    return Page(items=items, next_cursor=cursor)
