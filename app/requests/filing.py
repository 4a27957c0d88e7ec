"""Filing a request: a case per provider, pending until the person confirms their email.

Written for a batch of filings at once (app/batching.py): each step is one statement for the
whole batch (the models named, the references taken, the rows inserted), so fifty concurrent
filings cost about what one did. A single filing is a batch of one."""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.tokens import digest, new_token
from app.cases.deadlines import first_due, org_zones
from app.cases.lifecycle import Actor
from app.cases.models import Case, CaseModel, CaseStatus, Confirmation
from app.cases.subject import seal_subject
from app.config import Settings
from app.crypto import Keyring
from app.db import utcnow
from app.emails import service as emails
from app.emails.models import OutboundEmail
from app.errors import DomainError, InvalidInput
from app.models_registry.models import Model
from app.models_registry.service import split_ref
from app.requests.schemas import RequestCreate

_REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U


def _reference() -> str:
    chars = [secrets.choice(_REF_ALPHABET) for _ in range(8)]
    return f"RR-{''.join(chars[:4])}-{''.join(chars[4:])}"


def link(settings: Settings, kind: str, token: str) -> str:
    return f"{settings.public_base_url}/r/{kind}/{token}"


@dataclass
class Submitted:
    submission_id: uuid.UUID
    cases: list[Case]
    expires_at: datetime


async def submit(
    session: AsyncSession, keyring: Keyring, settings: Settings, body: RequestCreate
) -> Submitted:
    """File one request in the session's transaction (raises what refuses it)."""
    [outcome] = await submit_many(session, keyring, settings, [body])
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


async def submit_many(
    session: AsyncSession, keyring: Keyring, settings: Settings, bodies: Sequence[RequestCreate]
) -> list[Submitted | DomainError]:
    """File each request, or say what refuses it (a model not accepting requests). The rows are
    added to the session, written by its next flush or commit."""
    models = await _open_models(session, [ref for b in bodies for ref in b.models])
    zones = await org_zones(session, {m.org_id for m in models.values()})
    needed = sum(len({models[r].org_id for r in b.models if r in models}) for b in bodies)
    references = await _fresh_references(session, needed)
    now = utcnow()
    expires_at = now + timedelta(hours=settings.confirmation_ttl_hours)
    outcomes: list[Submitted | DomainError] = []
    rows = _Rows()
    for body in bodies:
        missing = [ref for ref in dict.fromkeys(body.models) if ref not in models]
        if missing:
            outcomes.append(InvalidInput.field(
                "models", "not accepting requests: " + ", ".join(missing)))
            continue
        outcomes.append(await _file(session, keyring, settings, body, models, zones, references,
                                    rows, now, expires_at))
    if rows.emails:
        await session.flush()  # the cases, which the rows below refer to
        # Rows nobody reads back: inserted set-wise, without the unit of work's bookkeeping.
        await session.execute(insert(CaseModel), rows.case_models)
        await session.execute(insert(Confirmation), rows.confirmations)
        await session.execute(insert(OutboundEmail), rows.emails)
    return outcomes


@dataclass
class _Rows:
    case_models: list[dict[str, Any]] = field(default_factory=list)
    confirmations: list[dict[str, Any]] = field(default_factory=list)
    emails: list[dict[str, Any]] = field(default_factory=list)


async def _file(session: AsyncSession, keyring: Keyring, settings: Settings,
                body: RequestCreate, models: dict[str, Model], zones: dict[uuid.UUID, ZoneInfo],
                references: Iterator[str], rows: _Rows, now: datetime,
                expires_at: datetime) -> Submitted:
    submission_id = uuid.uuid4()
    named = [models[ref] for ref in dict.fromkeys(body.models)]
    personal = {"name": body.name, "email": str(body.email), "description": body.description,
                "identifiers": body.identifiers, "probe_prompts": body.probe_prompts,
                "particular_situation": body.particular_situation}
    by_org: dict[uuid.UUID, list[Model]] = defaultdict(list)
    for model in named:
        by_org[model.org_id].append(model)
    cases = []
    for org_id, org_models in by_org.items():
        case = Case(
            id=uuid.uuid4(), org_id=org_id, reference=next(references),
            submission_id=submission_id, kind=body.kind, status=CaseStatus.pending_verification,
            objection_basis=body.objection_basis, language=body.language, received_at=now,
            due_at=first_due(now, zones[org_id]),
            subject_index=keyring.blind_index("email", str(body.email)),
            # Replaced by a real status token once the email is confirmed.
            status_token_hash=digest(new_token()),
        )
        seal_subject(keyring, case, personal)
        session.add(case)
        rows.case_models += [{"case_id": case.id, "model_id": m.id} for m in org_models]
        await audit.append(session, org_id=org_id, case_id=case.id, actor=Actor.subject().label,
                           action="case.received", to_status=CaseStatus.pending_verification,
                           details={"reference": case.reference, "kind": case.kind,
                                    "models": [m.ref for m in org_models]})
        cases.append(case)
    token = new_token()
    rows.confirmations.append({"submission_id": submission_id, "token_hash": digest(token),
                               "expires_at": expires_at})
    rows.emails.append(emails.prepare(
        keyring, to=str(body.email), kind="confirm_request", lang=body.language,
        context={"link": link(settings, "confirm", token), "expires_at": expires_at,
                 "references": [c.reference for c in cases], "kind": body.kind,
                 "models": [m.ref for m in named]},
        case_id=cases[0].id))
    return Submitted(submission_id=submission_id, cases=cases, expires_at=expires_at)


async def _open_models(session: AsyncSession, refs: list[str]) -> dict[str, Model]:
    """The models named that accept requests, by reference (one query for all)."""
    wanted = {split_ref(ref): ref for ref in dict.fromkeys(refs)}
    if not wanted:
        return {}
    rows = await session.scalars(select(Model).where(
        tuple_(Model.namespace, Model.name).in_(list(wanted)), Model.intake_open.is_(True)))
    return {wanted[(m.namespace, m.name)]: m for m in rows}


async def _fresh_references(session: AsyncSession, needed: int) -> Iterator[str]:
    """Case references for a batch: drawn, then checked against the stored ones in one query
    (there are 32^8: a clash is rare, and simply drawn again)."""
    fresh: list[str] = []
    while len(fresh) < needed:
        drawn = [r for r in dict.fromkeys(_reference() for _ in range(needed - len(fresh)))
                 if r not in fresh]
        taken = set(await session.scalars(select(Case.reference)
                                           .where(Case.reference.in_(drawn))))
        fresh += [r for r in drawn if r not in taken]
    return iter(fresh)
