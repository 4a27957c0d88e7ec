"""The model registry: models, their versions, and which versions re-users should run."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Organization
from app.db import utcnow
from app.errors import BadRequest, Conflict, NotFound
from app.i18n import N_
from app.licensing import spdx
from app.lineage import graph
from app.lineage.graph import ParentRef
from app.models_registry.models import Model, Namespace
from app.models_registry.schemas import ModelCreate, ModelUpdate
from app.pagination import PageParams, decode_cursor, encode_cursor

# model, org slug, org name
ViewQuery = Select[Model, str, str]


@dataclass(frozen=True)
class ModelView:
    """A model with the names the API shows next to it."""

    model: Model
    org_slug: str
    org_name: str
    parents: list[ParentRef] = field(default_factory=list)

    @property
    def derived_from(self) -> list[str]:
        return [p.ref for p in self.parents]


def split_ref(ref: str) -> tuple[str, str]:
    namespace, _, name = ref.partition("/")
    return namespace, name


def _view_query() -> ViewQuery:
    return (select(Model, Organization.slug, Organization.name)
            .join(Organization, Organization.id == Model.org_id))


async def _views(session: AsyncSession, rows: list[Any]) -> list[ModelView]:
    parents = await graph.parents_of(session, [r[0].id for r in rows])
    return [ModelView(model=m, org_slug=slug, org_name=name, parents=parents[m.id])
            for m, slug, name in rows]


async def _page(
    session: AsyncSession, query: ViewQuery,
    page: PageParams,
) -> tuple[list[ModelView], str | None]:
    if page.cursor:
        ns, name = decode_cursor(page.cursor, str, str)
        query = query.where(tuple_(Model.namespace, Model.name) > tuple_(ns, name))
    query = query.order_by(Model.namespace, Model.name).limit(page.limit + 1)
    rows = list((await session.execute(query)).all())
    more = len(rows) > page.limit
    views = await _views(session, rows[: page.limit])
    cursor = encode_cursor([views[-1].model.namespace, views[-1].model.name]) if more else None
    return views, cursor


async def find(session: AsyncSession, ref: str) -> Model | None:
    """Any registered model (of any organisation), by id."""
    namespace, name = split_ref(ref)
    return await session.scalar(
        select(Model).where(Model.namespace == namespace, Model.name == name))


async def resolve_parents(session: AsyncSession, refs: list[str],
                          relations: dict[str, str] | None = None) -> list[graph.Parent]:
    """The registered models named as parents (of any organisation); 400 naming the first
    that is not registered."""
    parents: list[graph.Parent] = []
    for ref in dict.fromkeys(refs):
        parent = await find(session, ref)
        if parent is None:
            raise BadRequest("derived_from: no such model is registered")
        parents.append(graph.Parent(parent, (relations or {}).get(ref)))
    return parents


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


async def create_model(session: AsyncSession, org_id: uuid.UUID, body: ModelCreate, *,
                       declared_by: uuid.UUID | None = None) -> ModelView:
    if await find(session, body.id) is not None:
        raise Conflict("that model is already registered")
    namespace, name = split_ref(body.id)
    await claim_namespace(session, org_id, namespace)
    licence = spdx.normalise(body.licence) if body.licence is not None else None
    parents = await resolve_parents(session, body.derived_from)
    model = Model(
        org_id=org_id, namespace=namespace, name=name, title=body.title, licence=licence,
        homepage=str(body.homepage) if body.homepage else None, intake_open=body.intake_open,
        gated=body.gated, declared_by_id=declared_by,
    )
    session.add(model)
    try:
        await session.flush()
    except IntegrityError:  # registered concurrently, after the check above
        raise Conflict("that model is already registered") from None
    if parents:
        await graph.set_parents(session, model, parents)
    return await get_model_view(session, org_id, body.id)


async def get_model(session: AsyncSession, org_id: uuid.UUID, ref: str) -> Model:
    """The caller's model; another organisation's model is reported as not found."""
    namespace, name = split_ref(ref)
    model = await session.scalar(select(Model).where(
        Model.namespace == namespace, Model.name == name, Model.org_id == org_id))
    if model is None:
        raise NotFound(N_("model not found"))
    return model


async def get_model_view(session: AsyncSession, org_id: uuid.UUID | None,
                         ref: str) -> ModelView:
    """The caller's model (`org_id`), or any registered model (`None`: public pages)."""
    namespace, name = split_ref(ref)
    query = _view_query().where(Model.namespace == namespace, Model.name == name)
    if org_id is not None:
        query = query.where(Model.org_id == org_id)
    row = None if "\x00" in ref else (await session.execute(query)).first()
    if row is None:
        raise NotFound(N_("model not found"))
    [view] = await _views(session, [row])
    return view


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
    for name in ("title", "intake_open"):
        if name in changes:
            if changes[name] is None:
                raise BadRequest(f"{name} cannot be null")
            setattr(model, name, changes[name])
    if "gated" in changes:
        if changes["gated"] is None:
            raise BadRequest("gated cannot be null")
        model.gated = bool(changes["gated"])
    if "licence" in changes:
        model.licence = spdx.normalise(body.licence) if body.licence is not None else None
    if "homepage" in changes:
        model.homepage = str(body.homepage) if body.homepage else None
    if "derived_from" in changes:
        parents = await resolve_parents(session, body.derived_from or [])
        await graph.set_parents(session, model, parents)
    model.updated_at = utcnow()
    await session.flush()
    return await get_model_view(session, org_id, ref)
