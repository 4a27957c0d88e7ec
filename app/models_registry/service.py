"""The model registry: models, their versions, and which versions re-users should run."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.auth.models import Organization
from app.db import utcnow
from app.errors import BadRequest, Conflict, NotFound
from app.models_registry.models import Model, Namespace
from app.models_registry.schemas import ModelCreate, ModelUpdate
from app.pagination import PageParams, decode_cursor, encode_cursor

# model, org slug, org name, parent namespace, parent name (outer join: parent may be NULL)
ViewQuery = Select[Model, str, str, str, str]


@dataclass(frozen=True)
class ModelView:
    """A model with the names the API shows next to it."""

    model: Model
    org_slug: str
    org_name: str
    derived_from: str | None


def split_ref(ref: str) -> tuple[str, str]:
    namespace, _, name = ref.partition("/")
    return namespace, name


def _view_query() -> ViewQuery:
    parent = aliased(Model)
    return (
        select(Model, Organization.slug, Organization.name, parent.namespace, parent.name)
        .join(Organization, Organization.id == Model.org_id)
        .outerjoin(parent, parent.id == Model.derived_from_id)
    )


def _view(row: Any) -> ModelView:
    model, slug, org_name, parent_ns, parent_name = row
    parent = f"{parent_ns}/{parent_name}" if parent_ns else None
    return ModelView(model=model, org_slug=slug, org_name=org_name, derived_from=parent)


async def _page(
    session: AsyncSession, query: ViewQuery,
    page: PageParams,
) -> tuple[list[ModelView], str | None]:
    if page.cursor:
        ns, name = decode_cursor(page.cursor, str, str)
        query = query.where(tuple_(Model.namespace, Model.name) > tuple_(ns, name))
    query = query.order_by(Model.namespace, Model.name).limit(page.limit + 1)
    rows = [_view(r) for r in await session.execute(query)]
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = encode_cursor([rows[-1].model.namespace, rows[-1].model.name]) if more else None
    return rows, cursor


async def _find(session: AsyncSession, ref: str) -> Model | None:
    namespace, name = split_ref(ref)
    return await session.scalar(
        select(Model).where(Model.namespace == namespace, Model.name == name))


async def _resolve_parent(session: AsyncSession, ref: str, child: Model | None) -> Model:
    parent = await _find(session, ref)
    if parent is None:
        raise BadRequest("derived_from: no such model is registered")
    # Walk up the chain: a model may not (transitively) derive from itself.
    seen: set[uuid.UUID] = set()
    node: Model | None = parent
    while node is not None and node.id not in seen:
        if child is not None and node.id == child.id:
            raise BadRequest("derived_from: that would make the lineage a cycle")
        seen.add(node.id)
        node = await session.get(Model, node.derived_from_id) if node.derived_from_id else None
    return parent


async def claim_namespace(session: AsyncSession, org_id: uuid.UUID, namespace: str) -> None:
    """The namespace is the caller's, or becomes it if nobody has it yet; another
    organisation's namespace is a 409 (checked again under the primary key, so two
    organisations registering in a new namespace at once cannot both get it)."""
    owner = await session.scalar(select(Namespace.org_id).where(Namespace.name == namespace))
    if owner is None:
        try:
            async with session.begin_nested():
                session.add(Namespace(name=namespace, org_id=org_id))
        except IntegrityError:
            owner = await session.scalar(
                select(Namespace.org_id).where(Namespace.name == namespace))
        else:
            return
    if owner != org_id:
        raise Conflict("that namespace belongs to another organisation")


async def assign_namespace(session: AsyncSession, namespace: str, org_id: uuid.UUID) -> None:
    """A service administrator's decision (`rights-relay namespaces assign`): the namespace is
    this organisation's from now on; models already in it stay where they are."""
    row = await session.get(Namespace, namespace)
    if row is None:
        session.add(Namespace(name=namespace, org_id=org_id))
    else:
        row.org_id = org_id
    await session.flush()


async def create_model(session: AsyncSession, org_id: uuid.UUID, body: ModelCreate) -> ModelView:
    if await _find(session, body.id) is not None:
        raise Conflict("that model is already registered")
    namespace, name = split_ref(body.id)
    await claim_namespace(session, org_id, namespace)
    parent = await _resolve_parent(session, body.derived_from, None) if body.derived_from else None
    model = Model(
        org_id=org_id, namespace=namespace, name=name, title=body.title, licence=body.licence,
        homepage=str(body.homepage) if body.homepage else None,
        derived_from_id=parent.id if parent else None, intake_open=body.intake_open,
    )
    session.add(model)
    try:
        await session.flush()
    except IntegrityError:  # registered concurrently, after the check above
        raise Conflict("that model is already registered") from None
    return await get_model_view(session, org_id, body.id)


async def get_model(session: AsyncSession, org_id: uuid.UUID, ref: str) -> Model:
    """The caller's model; another organisation's model is reported as not found."""
    namespace, name = split_ref(ref)
    model = await session.scalar(select(Model).where(
        Model.namespace == namespace, Model.name == name, Model.org_id == org_id))
    if model is None:
        raise NotFound("model not found")
    return model


async def get_model_view(session: AsyncSession, org_id: uuid.UUID, ref: str) -> ModelView:
    namespace, name = split_ref(ref)
    row = (await session.execute(_view_query().where(
        Model.namespace == namespace, Model.name == name, Model.org_id == org_id))).first()
    if row is None:
        raise NotFound("model not found")
    return _view(row)


async def list_models(
    session: AsyncSession, org_id: uuid.UUID, page: PageParams
) -> tuple[list[ModelView], str | None]:
    return await _page(session, _view_query().where(Model.org_id == org_id), page)


async def list_public_models(
    session: AsyncSession, page: PageParams
) -> tuple[list[ModelView], str | None]:
    return await _page(session, _view_query().where(Model.intake_open.is_(True)), page)


async def update_model(
    session: AsyncSession, org_id: uuid.UUID, ref: str, body: ModelUpdate
) -> ModelView:
    model = await get_model(session, org_id, ref)
    changes = body.model_dump(exclude_unset=True)
    for field in ("title", "intake_open"):
        if field in changes:
            if changes[field] is None:
                raise BadRequest(f"{field} cannot be null")
            setattr(model, field, changes[field])
    if "licence" in changes:
        model.licence = body.licence
    if "homepage" in changes:
        model.homepage = str(body.homepage) if body.homepage else None
    if "derived_from" in changes:
        parent = (await _resolve_parent(session, body.derived_from, model)
                  if body.derived_from else None)
        model.derived_from_id = parent.id if parent else None
    model.updated_at = utcnow()
    await session.flush()
    return await get_model_view(session, org_id, ref)
