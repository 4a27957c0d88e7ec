"""The provider's case API: the queue, one case in full, and what staff do with it. Staff only
(admin, reviewer): a pipeline key has no business with the subjects' requests."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from app.auth.deps import StaffPrincipal
from app.auth.service import Principal
from app.cases import actions, bulk, closure, register, restriction
from app.cases.detail import case_detail, export_case
from app.cases.lifecycle import Actor
from app.cases.models import CaseKind, CaseStatus
from app.cases.schemas import (
    REFERENCE_PATTERN,
    AssignmentBody,
    BulkBody,
    BulkRead,
    CaseDetailRead,
    CaseExport,
    CaseRead,
    ClosureBody,
    DecisionBody,
    DuplicateBody,
    ExtensionBody,
    InformationRequestBody,
    NoteBody,
    RegisterLine,
    ReopenBody,
    RestrictionBody,
)
from app.cases.service import CaseFilters, case_reads, get_case, list_cases
from app.crypto import Keyring
from app.db import Session, utcnow
from app.errors import BadRequest, ErrorRead
from app.models_registry.schemas import ModelId
from app.pagination import Page, PageParams, page_params
from app.requests.deps import CurrentKeyring, CurrentSettings
from app.text import has_control_characters

router = APIRouter(prefix="/v1/cases", tags=["cases"],
                   responses={401: {"model": ErrorRead}, 403: {"model": ErrorRead},
                              404: {"model": ErrorRead}, 409: {"model": ErrorRead}})

Reference = Annotated[str, Path(pattern=REFERENCE_PATTERN, description="e.g. RR-7K3F-92QD")]
Paging = Annotated[PageParams, Depends(page_params)]


def case_filters(
    status: Annotated[list[CaseStatus] | None, Query(description="repeat for several")] = None,
    model: Annotated[ModelId | None, Query(description="`namespace/name`")] = None,
    kind: CaseKind | None = None,
    assignee: Annotated[str | None, Query(
        max_length=320, description="a staff user's email, or `none` for unassigned cases")] = None,
    overdue: bool | None = None,
    due_soon: Annotated[bool | None, Query(description="due within 7 days")] = None,
    order: Annotated[Literal["due_at", "-due_at"], Query(
        description="by due date, soonest first (`-due_at`: latest first)")] = "due_at",
) -> CaseFilters:
    if assignee is not None and has_control_characters(assignee):
        raise BadRequest("assignee: must not contain control characters")
    return CaseFilters(status=status or [], model=model, kind=kind, assignee=assignee,
                       overdue=overdue, due_soon=due_soon, order=order)


Filters = Annotated[CaseFilters, Depends(case_filters)]


async def _detail(session: Session, keyring: Keyring, principal: Principal,
                  reference: str) -> CaseDetailRead:
    case = await get_case(session, principal.org_id, reference)
    return await case_detail(session, keyring, case, Actor.of(principal), utcnow())


@router.get("", name="list_cases", response_model=Page[CaseRead])
async def list_cases_(session: Session, principal: StaffPrincipal, filters: Filters,
                      page: Paging) -> Page[CaseRead]:
    """The queue, sorted by due date. No personal data: open a case to see it."""
    now = utcnow()
    cases, cursor = await list_cases(session, principal.org_id, filters, page, now)
    return Page(items=await case_reads(session, cases, now), next_cursor=cursor)


@router.post("/bulk", name="bulk_action", response_model=BulkRead)
async def bulk_action(body: BulkBody, session: Session, principal: StaffPrincipal,
                      keyring: CurrentKeyring, settings: CurrentSettings) -> BulkRead:
    """Assign, start reviewing, accept or reject several cases; each succeeds or fails alone."""
    return await bulk.run(session, keyring, settings, Actor.of(principal), principal.org_id,
                          body, utcnow())


@router.get("/register", name="register_of_requests", response_model=list[RegisterLine],
            responses={400: {"model": ErrorRead}, 200: {"content": {"text/csv": {}}}})
async def register_of_requests(
    session: Session, principal: StaffPrincipal,
    from_: Annotated[date, Query(alias="from", description="first day received (UTC)")],
    to: Annotated[date, Query(description="last day received (UTC), at most 366 days on")],
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    """The register of requests received in a period: kind, outcome, dates, days to answer, on
    time or late, recipients told of the fix. No personal data."""
    lines = await register.register(session, principal.org_id, from_, to)
    if format == "csv":
        return Response(register.as_csv(lines), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="register-{from_}-{to}.csv"'})
    return JSONResponse([RegisterLine(**line).model_dump(mode="json") for line in lines])


@router.get("/{reference}", name="get_case", response_model=CaseDetailRead)
async def get_case_(reference: Reference, session: Session, principal: StaffPrincipal,
                    keyring: CurrentKeyring) -> CaseDetailRead:
    """The case in full, with the subject's personal data."""
    return await _detail(session, keyring, principal, reference)


@router.get("/{reference}/export", name="export_case", response_model=CaseExport)
async def export_case_(reference: Reference, request: Request, session: Session,
                       principal: StaffPrincipal, keyring: CurrentKeyring) -> JSONResponse:
    """The case's full record as a JSON file for a regulator: timeline with its hash chain,
    decision, evidence, and the emails sent (kinds and times, not content). Recorded in the
    audit trail."""
    case = await get_case(session, principal.org_id, reference)
    record = await export_case(session, keyring, case, Actor.of(principal), utcnow(),
                               request.app.state.webhook_keys)
    return JSONResponse(record.model_dump(mode="json"), headers={
        "Content-Disposition": f'attachment; filename="{case.reference}.json"'})


@router.post("/{reference}/review", name="start_review", response_model=CaseDetailRead)
async def start_review(reference: Reference, body: NoteBody, session: Session,
                       principal: StaffPrincipal, keyring: CurrentKeyring) -> CaseDetailRead:
    """Start reviewing an open case, or resume one that awaited the subject."""
    case = await get_case(session, principal.org_id, reference, lock=True)
    await actions.start_review(session, Actor.of(principal), case, body.note,
                               keyring=keyring)
    return await _detail(session, keyring, principal, reference)


@router.post("/{reference}/assignment", name="assign_case", response_model=CaseDetailRead)
async def assign_case(reference: Reference, body: AssignmentBody, session: Session,
                      principal: StaffPrincipal, keyring: CurrentKeyring,
                      settings: CurrentSettings) -> CaseDetailRead:
    case = await get_case(session, principal.org_id, reference, lock=True)
    await actions.assign(session, keyring, settings, Actor.of(principal), case, body.assignee,
                         body.note)
    return await _detail(session, keyring, principal, reference)


@router.post("/{reference}/information-request", name="request_information",
             response_model=CaseDetailRead)
async def request_information(reference: Reference, body: InformationRequestBody,
                              session: Session, principal: StaffPrincipal,
                              keyring: CurrentKeyring) -> CaseDetailRead:
    """Ask the subject for more information (GDPR Art. 12(6)); they are emailed and answer on
    their status page."""
    case = await get_case(session, principal.org_id, reference, lock=True)
    await actions.request_information(session, keyring, Actor.of(principal), case,
                                      body.question, body.note)
    return await _detail(session, keyring, principal, reference)


@router.post("/{reference}/decision", name="decide_case", response_model=CaseDetailRead)
async def decide_case(reference: Reference, body: DecisionBody, session: Session,
                      principal: StaffPrincipal, keyring: CurrentKeyring) -> CaseDetailRead:
    """Accept, or reject with a ground and an explanation. The subject is emailed; a rejection
    tells them of their right to complain to a supervisory authority (Art. 12(4))."""
    case = await get_case(session, principal.org_id, reference, lock=True)
    await actions.decide(session, keyring, Actor.of(principal), case,
                         accept=body.outcome == "accept", ground=body.ground,
                         explanation=body.explanation, note=body.note, now=utcnow())
    return await _detail(session, keyring, principal, reference)


@router.post("/{reference}/extension", name="extend_deadline", response_model=CaseDetailRead)
async def extend_deadline(reference: Reference, body: ExtensionBody, session: Session,
                          principal: StaffPrincipal, keyring: CurrentKeyring) -> CaseDetailRead:
    """Extend the deadline once, by one or two months, before the first month ends; the subject
    is told why (Art. 12(3))."""
    case = await get_case(session, principal.org_id, reference, lock=True)
    await actions.extend(session, keyring, Actor.of(principal), case, months=body.months,
                         reason=body.reason, now=utcnow())
    return await _detail(session, keyring, principal, reference)


@router.post("/{reference}/duplicate", name="mark_duplicate", response_model=CaseDetailRead)
async def mark_duplicate(reference: Reference, body: DuplicateBody, session: Session,
                         principal: StaffPrincipal, keyring: CurrentKeyring) -> CaseDetailRead:
    """Link a case to an earlier active case of the same person."""
    case = await get_case(session, principal.org_id, reference, lock=True)
    await actions.mark_duplicate(session, Actor.of(principal), case, body.of, body.note,
                                 keyring=keyring)
    return await _detail(session, keyring, principal, reference)


@router.post("/{reference}/reopening", name="reopen_case", response_model=CaseDetailRead)
async def reopen_case(reference: Reference, body: ReopenBody, session: Session,
                      principal: StaffPrincipal, keyring: CurrentKeyring) -> CaseDetailRead:
    """Send a remediated case back to `accepted` when the fix did not hold, so that another
    remediation can take it."""
    case = await get_case(session, principal.org_id, reference, lock=True)
    await actions.reopen(session, Actor.of(principal), case, body.note, keyring=keyring)
    return await _detail(session, keyring, principal, reference)


@router.post("/{reference}/closure", name="close_case", response_model=CaseDetailRead)
async def close_case(reference: Reference, body: ClosureBody, session: Session,
                     principal: StaffPrincipal, keyring: CurrentKeyring) -> CaseDetailRead:
    """Close a remediated case with its evidence (the fixed versions, and the result of running
    each of the subject's probe prompts against them), or a rejected case."""
    case = await get_case(session, principal.org_id, reference, lock=True)
    await closure.close(session, keyring, Actor.of(principal), case,
                        probe_results=body.probe_results, note=body.note,
                        pending_acks_reason=body.pending_acks_reason)
    return await _detail(session, keyring, principal, reference)


@router.post("/{reference}/restriction", name="restrict_processing",
             response_model=CaseDetailRead, responses={400: {"model": ErrorRead}})
async def restrict_processing(reference: Reference, body: RestrictionBody, session: Session,
                              principal: StaffPrincipal,
                              keyring: CurrentKeyring) -> CaseDetailRead:
    """Restrict processing while the request is weighed (GDPR Art. 18), optionally with an
    interim measure (a remediation of method output_filter). Audited; the subject is told.
    409 when the case is decided or already restricted."""
    case = await get_case(session, principal.org_id, reference, lock=True)
    await restriction.restrict(session, keyring, Actor.of(principal), case,
                               remediation_id=body.remediation_id, note=body.note)
    return await _detail(session, keyring, principal, reference)


@router.post("/{reference}/restriction/end", name="lift_restriction",
             response_model=CaseDetailRead)
async def lift_restriction(reference: Reference, body: NoteBody, session: Session,
                           principal: StaffPrincipal, keyring: CurrentKeyring) -> CaseDetailRead:
    """End the restriction (the subject is told). A decision ends it too. 409 when the case is
    not restricted."""
    case = await get_case(session, principal.org_id, reference, lock=True)
    await restriction.lift(session, keyring, Actor.of(principal), case, note=body.note)
    return await _detail(session, keyring, principal, reference)
