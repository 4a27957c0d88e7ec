"""The provider's case queue: finding cases (always within the caller's organisation), filtering
and sorting them by due date with keyset pagination."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, Uuid, and_, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import User
from app.cases.deadlines import DEADLINE_RUNS, DUE_SOON, is_due_soon, is_overdue
from app.cases.models import Case, CaseKind, CaseModel, CaseStatus, Decision
from app.cases.schemas import REFERENCE_PATTERN, AssigneeRead, CaseRead
from app.db import UTCDateTime
from app.errors import BadRequest, NotFound
from app.i18n import N_
from app.models_registry.models import Model
from app.models_registry.service import split_ref
from app.pagination import PageParams, decode_cursor, encode_cursor

# Requests never confirmed never reached the provider: they are not part of its queue.
NOT_RECEIVED = (CaseStatus.pending_verification.value, CaseStatus.expired.value)


@dataclass
class CaseFilters:
    status: list[CaseStatus] = field(default_factory=list)
    model: str | None = None
    kind: CaseKind | None = None
    assignee: str | None = None  # a staff email, "none", or "me" (signed-in users)
    overdue: bool | None = None
    due_soon: bool | None = None
    order: Literal["due_at", "-due_at"] = "due_at"
    reference: str | None = None  # part of a reference (upper case, [A-Z0-9-]), e.g. "7K2Q"


async def get_case(
    session: AsyncSession, org_id: uuid.UUID, reference: str, *, lock: bool = False
) -> Case:
    """The caller's case; another organisation's case is reported exactly like a missing one."""
    if not re.fullmatch(REFERENCE_PATTERN, reference):
        raise NotFound(N_("case not found"))
    query = select(Case).where(Case.org_id == org_id, Case.reference == reference,
                               Case.status.not_in(NOT_RECEIVED))
    if lock:
        query = query.with_for_update()
    case = await session.scalar(query)
    if case is None:
        raise NotFound(N_("case not found"))
    return case


def _filtered(org_id: uuid.UUID, f: CaseFilters, now: datetime,
              me: uuid.UUID | None) -> Select[Case]:
    q = select(Case).where(Case.org_id == org_id, Case.status.not_in(NOT_RECEIVED))
    if f.status:
        q = q.where(Case.status.in_([s.value for s in f.status]))
    if f.kind:
        q = q.where(Case.kind == f.kind.value)
    if f.reference:
        q = q.where(Case.reference.contains(f.reference, autoescape=True))
    if f.model:
        namespace, name = split_ref(f.model)
        q = q.where(Case.id.in_(
            select(CaseModel.case_id).join(Model, Model.id == CaseModel.model_id)
            .where(Model.org_id == org_id, Model.namespace == namespace, Model.name == name)))
    if f.assignee == "none":
        q = q.where(Case.assignee_id.is_(None))
    elif f.assignee == "me":
        if me is None:
            raise BadRequest("assignee: `me` is for signed-in users; give an email")
        q = q.where(Case.assignee_id == me)
    elif f.assignee:
        q = q.where(Case.assignee_id.in_(select(User.id).where(
            User.org_id == org_id, User.email == f.assignee.strip().lower())))
    running = Case.status.in_([s.value for s in DEADLINE_RUNS])
    overdue = and_(running, Case.due_at <= now)
    if f.overdue is not None:
        q = q.where(overdue if f.overdue else ~overdue)
    if f.due_soon is not None:
        soon = and_(running, Case.due_at > now, Case.due_at <= now + DUE_SOON)
        q = q.where(soon if f.due_soon else ~soon)
    return q


async def list_cases(
    session: AsyncSession, org_id: uuid.UUID, filters: CaseFilters, page: PageParams,
    now: datetime, me: uuid.UUID | None = None,
) -> tuple[list[Case], str | None]:
    """Sorted by due date (then id, so the order is total and the cursor exact)."""
    q = _filtered(org_id, filters, now, me)
    descending = filters.order == "-due_at"
    if page.cursor:
        due, case_id = _decode(page.cursor)
        # A row-value comparison: both databases walk the (org, [status,] due_at, id) index
        # from the cursor on, however deep the page.
        key, after = tuple_(Case.due_at, Case.id), tuple_(literal(due, UTCDateTime()),
                                                         literal(case_id, Uuid()))
        q = q.where(key < after if descending else key > after)
    order = (Case.due_at.desc(), Case.id.desc()) if descending else (Case.due_at, Case.id)
    rows = list(await session.scalars(q.order_by(*order).limit(page.limit + 1)))
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = encode_cursor([rows[-1].due_at.isoformat(), str(rows[-1].id)]) if more else None
    return rows, cursor


async def count_cases(session: AsyncSession, org_id: uuid.UUID, filters: CaseFilters,
                      now: datetime, me: uuid.UUID | None = None) -> int:
    """How many cases the filters match, over all pages."""
    total = await session.scalar(select(func.count()).select_from(
        _filtered(org_id, filters, now, me).subquery()))
    return int(total or 0)


def _decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    due, case_id = decode_cursor(cursor, datetime, uuid.UUID)
    return due, case_id


async def models_of(session: AsyncSession, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    rows = await session.execute(
        select(CaseModel.case_id, Model.namespace, Model.name)
        .join(Model, Model.id == CaseModel.model_id)
        .where(CaseModel.case_id.in_(case_ids)).order_by(Model.namespace, Model.name))
    refs: dict[uuid.UUID, list[str]] = defaultdict(list)
    for case_id, namespace, name in rows:
        refs[case_id].append(f"{namespace}/{name}")
    return refs


async def case_reads(session: AsyncSession, cases: list[Case], now: datetime) -> list[CaseRead]:
    ids = [c.id for c in cases]
    refs = await models_of(session, ids) if ids else {}
    assignee_ids = {c.assignee_id for c in cases if c.assignee_id}
    users = {u.id: u for u in await session.scalars(
        select(User).where(User.id.in_(assignee_ids)))} if assignee_ids else {}
    reads = []
    for c in cases:
        user = users.get(c.assignee_id) if c.assignee_id else None
        reads.append(CaseRead(
            reference=c.reference, kind=CaseKind(c.kind), status=CaseStatus(c.status),
            models=refs.get(c.id, []), received_at=c.received_at, due_at=c.due_at,
            extended=c.extension_months is not None, overdue=is_overdue(c, now),
            due_soon=is_due_soon(c, now),
            assignee=AssigneeRead(email=user.email, name=user.name) if user else None,
            decision=Decision(c.decision) if c.decision else None, updated_at=c.updated_at))
    return reads
