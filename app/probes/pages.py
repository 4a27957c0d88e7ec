"""Dashboard parts for probes: the case page's probes section (the leak highlighted, progress
bars), running the probes, overriding a held fix, cancelling a run. Staff only, CSRF-checked."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Role
from app.cases.lifecycle import Actor
from app.cases.models import Case
from app.cases.pages import _case_page, add_section, field, read_form
from app.cases.service import get_case
from app.crypto import Keyring
from app.db import Session
from app.errors import BadRequest, DomainError, Forbidden
from app.probes import reads, service, verify
from app.probes.schemas import CaseProbesRead, SampleRead
from app.remediation.service import settle
from app.requests.deps import CurrentKeyring
from app.web.deps import CurrentUser

router = APIRouter(include_in_schema=False)


@dataclass
class Piece:
    text: str
    kind: str | None  # the target kind when this piece reproduced a target


def pieces(sample: SampleRead) -> list[Piece]:
    """The completion cut at the matched spans, for <mark> (escaped by the template)."""
    text = sample.text or ""
    out: list[Piece] = []
    at = 0
    for m in sorted(sample.matches, key=lambda m: m.start):
        if m.start < at:
            continue  # overlapping spans: the first one shown is enough
        out.append(Piece(text[at:m.start], None))
        out.append(Piece(text[m.start:m.end], m.kind.value))
        at = m.end
    out.append(Piece(text[at:], None))
    return [p for p in out if p.text]


async def case_section(session: AsyncSession, keyring: Keyring, case: Case) -> dict[str, Any]:
    probes: CaseProbesRead = await reads.case_probes(session, keyring, case)
    return {"probes": probes, "pieces": pieces}


add_section(case_section)  # the case page shows the probes' evidence


async def _act(request: Request, session: Session, keyring: Keyring, principal: Any,
               reference: str, what: str) -> Response:
    form = await read_form(request)
    case = await get_case(session, principal.org_id, reference, lock=True)
    actor = Actor.of(principal)
    try:
        if what == "run":
            await service.queue_triage(session, case, actor.label)
        elif what == "override":
            if principal.role != Role.admin:
                raise Forbidden("only an admin overrides the probes")
            reason = field(form, "reason")
            if not reason or len(reason) > 2000:
                raise BadRequest("Reason: this is required (up to 2000 characters).")
            await verify.override(session, keyring, actor, case, reason, settle)
        else:
            run_id = field(form, "run") or ""
            try:
                run = await service.get_run(session, principal.org_id, uuid.UUID(run_id),
                                            lock=True)
            except ValueError:
                raise BadRequest("Unknown run.") from None
            await service.cancel_run(session, run, actor.label)
    except DomainError as exc:
        await session.rollback()
        return await _case_page(request, session, keyring, principal, reference,
                                error=exc.detail, status_code=exc.status_code)
    return RedirectResponse(f"/dashboard/cases/{reference}#probes", status_code=303)


@router.post("/dashboard/cases/{reference}/probes/{what}")
async def probes_action(request: Request, reference: str, what: str, session: Session,
                        principal: CurrentUser, keyring: CurrentKeyring) -> Response:
    if what not in ("run", "override", "cancel"):
        raise BadRequest("Unknown action.")
    return await _act(request, session, keyring, principal, reference, what)
