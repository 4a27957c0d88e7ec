"""The lineage graph: which models each model was derived from (several parents for merges
and adapters), kept acyclic. Every change takes the lineage lock first, so two concurrent
changes (A from B, and B from A) are checked one after the other and cannot both pass."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import BadRequest
from app.lineage.models import LineageLock, ModelParent
from app.models_registry.models import Model

MAX_PARENTS = 20


@dataclass(frozen=True)
class Parent:
    model: Model
    relation: str | None = None


async def lock(session: AsyncSession) -> None:
    """Serialize lineage changes until this transaction ends: an UPDATE of the one lock row
    holds its row lock on PostgreSQL and the database's write lock on SQLite (taken before
    anything of the graph is read, so the check below sees every committed change)."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(insert(LineageLock).values(id=1, changes=0)
                          .on_conflict_do_nothing(index_elements=["id"]))
    await session.execute(update(LineageLock).where(LineageLock.id == 1)
                          .values(changes=LineageLock.changes + 1)
                          .execution_options(synchronize_session=False))


async def ancestors(session: AsyncSession, start: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """`start` and every model they derive from, transitively (one query per generation)."""
    seen = set(start)
    frontier = set(seen)
    while frontier:
        rows = await session.scalars(select(ModelParent.parent_id)
                                     .where(ModelParent.child_id.in_(frontier)))
        frontier = set(rows) - seen
        seen |= frontier
    return seen


async def set_parents(session: AsyncSession, child: Model, parents: list[Parent]) -> None:
    """Replace the child's parents. A parent that (transitively) derives from the child would
    close a cycle: refused, and nothing changes."""
    if len(parents) > MAX_PARENTS:
        raise BadRequest(f"derived_from: at most {MAX_PARENTS} parents")
    await lock(session)
    wanted: dict[uuid.UUID, Parent] = {}
    for p in parents:
        wanted.setdefault(p.model.id, p)
    if child.id in wanted or child.id in await ancestors(session, wanted):
        raise BadRequest("derived_from: that would make the lineage a cycle")
    current = {e.parent_id: e for e in await session.scalars(
        select(ModelParent).where(ModelParent.child_id == child.id))}
    for parent_id, edge in current.items():
        if parent_id not in wanted:
            await session.delete(edge)
    for position, (parent_id, p) in enumerate(wanted.items()):
        kept = current.get(parent_id)
        if kept is None:
            session.add(ModelParent(child_id=child.id, parent_id=parent_id, relation=p.relation,
                                    position=position, created_at=utcnow()))
        else:
            kept.position = position
            if p.relation is not None:
                kept.relation = p.relation
    await session.flush()


@dataclass(frozen=True)
class ParentRef:
    ref: str
    relation: str | None


async def parents_of(session: AsyncSession,
                     child_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[ParentRef]]:
    """Each model's parents, as `namespace/name`, in the order they were given."""
    ids = list(child_ids)
    out: dict[uuid.UUID, list[ParentRef]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = await session.execute(
        select(ModelParent.child_id, Model.namespace, Model.name, ModelParent.relation)
        .join(Model, Model.id == ModelParent.parent_id)
        .where(ModelParent.child_id.in_(ids))
        .order_by(ModelParent.child_id, ModelParent.position, Model.namespace, Model.name))
    for child_id, ns, name, relation in rows:
        out[child_id].append(ParentRef(f"{ns}/{name}", relation))
    return out


async def descendants(session: AsyncSession,
                      root: uuid.UUID) -> list[list[tuple[uuid.UUID, uuid.UUID]]]:
    """The models derived from `root`, generation by generation, each model once (a model
    reached through two parents, as in a diamond, comes once, through the first parent in
    name order). Each generation lists (child, the parent it was reached through)."""
    seen = {root}
    frontier = [root]
    generations: list[list[tuple[uuid.UUID, uuid.UUID]]] = []
    while frontier:
        rows = (await session.execute(
            select(ModelParent.child_id, ModelParent.parent_id)
            .join(Model, Model.id == ModelParent.child_id)
            .where(ModelParent.parent_id.in_(frontier))
            .order_by(Model.namespace, Model.name))).all()
        order = {p: i for i, p in enumerate(frontier)}
        generation: list[tuple[uuid.UUID, uuid.UUID]] = []
        for child, parent in sorted(rows, key=lambda r: order[r[1]]):
            if child not in seen:
                seen.add(child)
                generation.append((child, parent))
        if generation:
            generations.append(generation)
        frontier = [c for c, _ in generation]
    return generations
