"""Bulk actions on the queue (assign, start review, accept, reject): each case succeeds or is
refused on its own, and the answer says which and why."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import actions
from app.cases.lifecycle import Actor, ConcurrentChange
from app.cases.models import Case, CaseStatus
from app.cases.schemas import BulkBody, BulkItemRead, BulkRead
from app.cases.service import get_case
from app.config import Settings
from app.crypto import Keyring
from app.errors import DomainError


async def _apply(session: AsyncSession, keyring: Keyring, settings: Settings, actor: Actor,
                 case: Case, body: BulkBody, now: datetime) -> None:
    if body.action == "assign":
        await actions.assign(session, keyring, settings, actor, case, body.assignee, body.note)
    elif body.action == "review":
        await actions.start_review(session, actor, case, body.note, keyring=keyring)
    else:
        await actions.decide(session, keyring, actor, case, accept=body.action == "accept",
                             ground=body.ground, explanation=body.explanation, note=body.note,
                             now=now)


async def run(
    session: AsyncSession, keyring: Keyring, settings: Settings, actor: Actor,
    org_id: uuid.UUID, body: BulkBody, now: datetime,
) -> BulkRead:
    if body.action == "assign" and body.assignee:
        await actions.find_assignee(session, org_id, body.assignee)  # a wrong one fails them all
    results: list[BulkItemRead] = []
    for reference in dict.fromkeys(body.references):
        case: Case | None = None
        try:
            case = await get_case(session, org_id, reference, lock=True)
            await _apply(session, keyring, settings, actor, case, body, now)
        except ConcurrentChange:
            raise  # the transaction is spoilt: the whole request is refused, nothing applied
        except DomainError as exc:
            # Actions check before they change anything: a refused case was left as it was.
            results.append(BulkItemRead(
                reference=reference, ok=False, error=exc.code, detail=exc.detail,
                status=CaseStatus(case.status) if case else None))
            continue
        results.append(BulkItemRead(reference=reference, ok=True, status=CaseStatus(case.status)))
    succeeded = sum(r.ok for r in results)
    return BulkRead(action=body.action, succeeded=succeeded, failed=len(results) - succeeded,
                    results=results)
