"""The organisation's register of requests for a period (accountability, Art. 5(2) and 30): one
line per request received, with its kind, outcome, dates, days to answer, whether the answer
came on time, and how many recipients were told of the fix (Art. 19). No personal data."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import Case, CaseStatus
from app.cases.recipients import who_was_told
from app.cases.service import NOT_RECEIVED, models_of
from app.db import utcnow
from app.errors import BadRequest

MAX_DAYS = 366
COLUMNS = ("reference", "received_at", "kind", "objection_basis", "models", "status", "outcome",
           "ground", "answered_at", "due_at", "days_to_answer", "on_time", "recipients_told")
# How a request ended without a decision on it.
ENDED = {CaseStatus.withdrawn: "withdrawn", CaseStatus.duplicate: "duplicate"}


def period(start: date, end: date) -> tuple[datetime, datetime]:
    if end < start:
        raise BadRequest("to: the period ends before it starts")
    if (end - start).days >= MAX_DAYS:
        raise BadRequest(f"to: a register covers at most {MAX_DAYS} days")
    return (datetime.combine(start, time.min, UTC),
            datetime.combine(end + timedelta(days=1), time.min, UTC))


def _line(case: Case, models: list[str], told: int, now: datetime) -> dict[str, Any]:
    answered = case.decided_at
    if answered is None and case.status in ENDED:
        answered = case.closed_at
    if answered is not None:
        on_time: bool | None = answered <= case.due_at
    else:
        on_time = None if now < case.due_at else False
    outcome = case.decision or ENDED.get(CaseStatus(case.status))
    return {
        "reference": case.reference, "received_at": case.received_at.isoformat(),
        "kind": case.kind, "objection_basis": case.objection_basis, "models": models,
        "status": case.status, "outcome": outcome, "ground": case.decision_ground,
        "answered_at": answered.isoformat() if answered else None,
        "due_at": case.due_at.isoformat(),
        "days_to_answer": (answered - case.received_at).days if answered else None,
        "on_time": on_time, "recipients_told": told,
    }


async def register(session: AsyncSession, org_id: uuid.UUID, start: date,
                   end: date) -> list[dict[str, Any]]:
    since, until = period(start, end)
    cases = list(await session.scalars(
        select(Case).where(Case.org_id == org_id, Case.status.not_in(NOT_RECEIVED),
                           Case.received_at >= since, Case.received_at < until)
        .order_by(Case.received_at, Case.reference)))
    refs = await models_of(session, [c.id for c in cases]) if cases else {}
    now = utcnow()
    return [_line(c, refs.get(c.id, []), len(await who_was_told(session, c)), now)
            for c in cases]


def as_csv(lines: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for line in lines:
        writer.writerow({**line, "models": " ".join(line["models"]),
                         "on_time": "" if line["on_time"] is None else
                         ("yes" if line["on_time"] else "no")})
    return out.getvalue()
