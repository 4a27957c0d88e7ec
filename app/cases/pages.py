"""The dashboard's case pages: the queue (filters, due dates, bulk actions) and one case with its
timeline and the forms to work it. Signed-in staff only; every form carries a CSRF token."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from app.auth import service as auth_service
from app.auth.models import Role
from app.cases import actions, bulk, closure, forms
from app.cases.deadlines import DEADLINE_RUNS, MAX_EXTENSION_MONTHS, first_due, org_zone
from app.cases.detail import case_detail, export_case
from app.cases.lifecycle import ACTIVE, STAFF, Actor
from app.cases.models import Case, CaseKind, CaseStatus, RejectionGround
from app.cases.schemas import (
    REFERENCE_PATTERN,
    AssignmentBody,
    BulkBody,
    ClosureBody,
    DecisionBody,
    DuplicateBody,
    ExtensionBody,
    InformationRequestBody,
    NoteBody,
)
from app.cases.service import (
    NOT_RECEIVED,
    CaseFilters,
    case_reads,
    count_cases,
    get_case,
    list_cases,
)
from app.cases.timeline import action_words, actor_words
from app.db import Session, utcnow
from app.errors import BadRequest, DomainError
from app.i18n import N_
from app.models_registry import service as registry
from app.models_registry.schemas import MODEL_ID_PATTERN
from app.pagination import PageParams
from app.requests.deps import CurrentKeyring, CurrentSettings
from app.text import has_control_characters
from app.web import form_errors
from app.web.deps import CurrentUser
from app.web.templating import render, verify_csrf

router = APIRouter(include_in_schema=False)

# Sections other features add to the case page (the probes' evidence, app/probes/pages.py):
# each gives template values for a case. They register here, so this page never imports them.
Section = Callable[[AsyncSession, Any, Case], Awaitable[dict[str, Any]]]
SECTIONS: list[Section] = []


def add_section(section: Section) -> None:
    if section not in SECTIONS:
        SECTIONS.append(section)

# Marked here, translated where shown (the `tr` filter).
NOTICES = {
    "review": N_("Review started."), "assigned": N_("Assignment saved."),
    "asked": N_("The question was sent: the subject is emailed and answers on their status "
                "page."),
    "decided": N_("Decision recorded; the subject is emailed."),
    "extended": N_("Deadline extended; the subject is emailed the new date and the reason."),
    "duplicate": N_("Marked as a duplicate."),
    "closed": N_("Case closed; the subject is emailed."),
}
GROUNDS = {
    RejectionGround.art17_3_a_expression: N_("Art. 17(3)(a) freedom of expression and "
                                             "information (erasure)"),
    RejectionGround.art17_3_b_legal_obligation: N_("Art. 17(3)(b) legal obligation or public "
                                                   "task (erasure)"),
    RejectionGround.art17_3_c_public_health: N_("Art. 17(3)(c) public health (erasure)"),
    RejectionGround.art17_3_d_research: N_("Art. 17(3)(d) archiving, research or statistics: "
                                           "unlearning would make the research impossible or "
                                           "seriously impair it (erasure)"),
    RejectionGround.art17_3_e_legal_claims: N_("Art. 17(3)(e) legal claims (erasure)"),
    RejectionGround.art21_1_compelling_grounds: N_("Art. 21(1) compelling legitimate grounds "
                                                   "(objection on a particular situation)"),
    RejectionGround.art21_6_public_interest_research: N_("Art. 21(6) research or statistics "
                                                         "for a public-interest task (objection "
                                                         "to research)"),
    RejectionGround.manifestly_unfounded_or_excessive: N_("Manifestly unfounded or excessive "
                                                          "(Art. 12(5))"),
    RejectionGround.cannot_identify: N_("Cannot identify the person (Art. 11(2), 12(2))"),
}


def friendly(exc: ValidationError) -> str:
    """One sentence per problem, naming the field, in the page's language; never the input
    (it may be personal data)."""
    return form_errors.summary(exc)


async def read_form(request: Request) -> FormData:
    form = await request.form(max_files=0, max_fields=1000)
    token = form.get("csrf_token")
    verify_csrf(request, token if isinstance(token, str) else None)
    return form


def field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


def fields(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str)]


BULK_ACTIONS = ("assign", "review", "accept", "reject")


# --- the queue -------------------------------------------------------------------------------


def _filters(request: Request) -> tuple[CaseFilters, dict[str, str]]:
    q = request.query_params
    chosen = {k: q[k].strip() for k in ("status", "model", "kind", "assignee", "overdue",
                                        "due_soon", "order", "reference") if q.get(k, "").strip()}
    try:
        f = CaseFilters(
            status=[CaseStatus(chosen["status"])] if "status" in chosen else [],
            kind=CaseKind(chosen["kind"]) if "kind" in chosen else None,
            overdue=True if chosen.get("overdue") == "yes" else None,
            due_soon=True if chosen.get("due_soon") == "yes" else None,
            order="-due_at" if chosen.get("order") == "-due_at" else "due_at")
    except ValueError:
        raise BadRequest(N_("That filter is not valid. Please choose from the lists.")) from None
    model, assignee = chosen.get("model"), chosen.get("assignee")
    if model and not re.fullmatch(MODEL_ID_PATTERN, model):
        raise BadRequest(N_("That model is not valid. Please choose from the list."))
    if assignee and (len(assignee) > 320 or has_control_characters(assignee)):
        raise BadRequest(N_("That assignee is not valid. Please choose from the list."))
    reference = chosen.get("reference", "").upper()
    if reference and not re.fullmatch(r"[A-Z0-9-]{1,20}", reference):
        raise BadRequest(N_("A case reference has only letters, digits and dashes, "
                            "like RR-7K2Q-M4XD."))
    f.model, f.assignee, f.reference = model, assignee, reference or None
    return f, chosen


async def _queue_page(request: Request, session: Session, principal: Any,
                      results: Any = None, error: str | None = None,
                      status_code: int = 200) -> Response:
    filters, chosen = _filters(request)
    cursor = request.query_params.get("cursor")
    page = PageParams(limit=50, cursor=cursor[:500] if cursor else None)
    now = utcnow()
    cases, next_cursor = await list_cases(session, principal.org_id, filters, page, now,
                                          me=principal.actor_id)
    total = await count_cases(session, principal.org_id, filters, now, me=principal.actor_id)
    models, _ = await registry.list_models(session, principal.org_id, PageParams(limit=200))
    staff = [u for u in await auth_service.list_users(session, principal.org_id)
             if u.is_active and u.role in (Role.admin, Role.reviewer)]
    next_url = (f"/dashboard/cases?{urlencode({**chosen, 'cursor': next_cursor})}"
                if next_cursor else None)
    return render(request, "cases/queue.html", {
        "principal": principal, "cases": await case_reads(session, cases, now),
        "chosen": chosen, "models": models, "staff": staff, "total": total,
        "statuses": [s for s in CaseStatus if s.value not in NOT_RECEIVED],
        "kinds": list(CaseKind),
        "grounds": GROUNDS, "next_url": next_url, "results": results, "error": error,
    }, status_code=status_code)


@router.get("/dashboard/cases")
async def queue(request: Request, session: Session, principal: CurrentUser) -> Response:
    return await _queue_page(request, session, principal)


@router.post("/dashboard/cases/bulk")
async def queue_bulk(request: Request, session: Session, principal: CurrentUser,
                     keyring: CurrentKeyring, settings: CurrentSettings) -> Response:
    form = await read_form(request)
    values = {"action": field(form, "action"), "references": fields(form, "references"),
              "assignee": field(form, "assignee"), "note": field(form, "note")}
    if values["action"] == "reject":
        values |= {"ground": field(form, "ground"), "explanation": field(form, "explanation")}
    if not values["references"]:
        return await _queue_page(request, session, principal,
                                 error=N_("Select at least one case."), status_code=422)
    if values["action"] not in BULK_ACTIONS:
        return await _queue_page(request, session, principal,
                                 error=N_("Choose what to do with the selected cases."),
                                 status_code=422)
    try:
        body = BulkBody.model_validate(values)
        results = await bulk.run(session, keyring, settings, Actor.of(principal),
                                 principal.org_id, body, utcnow())
    except ValidationError as exc:
        return await _queue_page(request, session, principal, error=friendly(exc),
                                 status_code=422)
    except DomainError as exc:
        await session.rollback()
        return await _queue_page(request, session, principal, error=exc.detail,
                                 status_code=exc.status_code)
    return await _queue_page(request, session, principal, results=results)


# --- one case --------------------------------------------------------------------------------


async def _case_page(request: Request, session: Session, keyring: Any, principal: Any,
                     reference: str, error: str | None = None, status_code: int = 200,
                     errors: dict[str, str] | None = None,
                     values: dict[str, str] | None = None) -> Response:
    case = await get_case(session, principal.org_id, reference)
    now = utcnow()
    detail = await case_detail(session, keyring, case, Actor.of(principal), now)
    staff = [u for u in await auth_service.list_users(session, principal.org_id)
             if u.is_active and u.role in (Role.admin, Role.reviewer)]
    # Assigning and extending are not status changes, so the lifecycle table does not list
    # them: they are for staff, while the case is still being worked.
    works = principal.role.value in STAFF and case.status in ACTIVE
    zone = await org_zone(session, case.org_id)
    can_extend = (works and case.extension_months is None and case.status in DEADLINE_RUNS
                  and now < first_due(case.received_at, zone))
    notice = NOTICES.get(request.query_params.get("done", ""))
    sections: dict[str, Any] = {}
    for section in SECTIONS:
        sections.update(await section(session, keyring, case))
    return render(request, "cases/detail.html", {
        **sections,
        "principal": principal, "case": detail, "staff": staff, "grounds": GROUNDS,
        "time_zone": zone.key, "can_assign": works, "can_extend": can_extend,
        "max_months": MAX_EXTENSION_MONTHS,
        "notice": notice, "error": error, "errors": errors or {}, "values": values or {},
        "timeline": timeline_rows(detail.timeline)}, status_code=status_code)


def timeline_rows(entries: list[Any]) -> list[dict[str, Any]]:
    rows = []
    for e in entries:
        kind, who = actor_words(e.actor)
        moved = e.to_status if e.to_status and e.to_status != e.from_status else None
        rows.append({"at": e.at, "what": action_words(e.action), "by_kind": kind, "by": who,
                     "from": e.from_status if moved else None, "to": moved, "note": e.note})
    return rows


@router.get("/dashboard/cases/{reference}")
async def case_page(request: Request, reference: str, session: Session, principal: CurrentUser,
                    keyring: CurrentKeyring) -> Response:
    return await _case_page(request, session, keyring, principal, reference)


def _body(action: str, form: FormData) -> BaseModel:
    note = field(form, "note")
    if action == "review":
        return NoteBody(note=note)
    if action == "assign":
        return AssignmentBody(assignee=field(form, "assignee"), note=note)
    if action == "ask":
        return InformationRequestBody.model_validate({"question": field(form, "question"),
                                                      "note": note})
    if action == "decide":
        outcome = field(form, "outcome")
        reject = outcome == "reject"
        return DecisionBody.model_validate({
            "outcome": outcome, "note": note, "ground": field(form, "ground") if reject else None,
            "explanation": field(form, "explanation")})
    if action == "extend":
        return ExtensionBody.model_validate({"months": field(form, "months"),
                                             "reason": field(form, "reason")})
    if action == "duplicate":
        return DuplicateBody.model_validate({"of": (field(form, "of") or "").upper(),
                                             "note": note})
    results = []
    for index in range(10):
        if f"probe-{index}-reproduced" in form:
            results.append({"index": index, "result": field(form, f"probe-{index}-result"),
                            "reproduced": form.get(f"probe-{index}-reproduced") == "yes"})
    return ClosureBody.model_validate({"probe_results": results, "note": note,
                                       "pending_acks_reason": field(form, "pending_acks_reason")})


async def _apply(session: Session, keyring: Any, settings: Any, principal: Any, reference: str,
                 action: str, body: Any) -> None:
    actor = Actor.of(principal)
    case = await get_case(session, principal.org_id, reference, lock=True)
    if action == "review":
        await actions.start_review(session, actor, case, body.note, keyring=keyring)
    elif action == "assign":
        await actions.assign(session, keyring, settings, actor, case, body.assignee, body.note)
    elif action == "ask":
        await actions.request_information(session, keyring, actor, case, body.question,
                                          body.note)
    elif action == "decide":
        await actions.decide(session, keyring, actor, case, accept=body.outcome == "accept",
                             ground=body.ground, explanation=body.explanation, note=body.note,
                             now=utcnow())
    elif action == "extend":
        await actions.extend(session, keyring, actor, case, months=body.months,
                             reason=body.reason, now=utcnow())
    elif action == "duplicate":
        await actions.mark_duplicate(session, actor, case, body.of, body.note,
                                     keyring=keyring)
    else:
        await closure.close(session, keyring, actor, case, probe_results=body.probe_results,
                            note=body.note)


DONE = {"review": "review", "assign": "assigned", "ask": "asked", "decide": "decided",
        "extend": "extended", "duplicate": "duplicate", "close": "closed"}


@router.post("/dashboard/cases/{reference}/{action}")
async def case_action(request: Request, reference: str, action: str, session: Session,
                      principal: CurrentUser, keyring: CurrentKeyring,
                      settings: CurrentSettings) -> Response:
    form = await read_form(request)
    if action == "export":
        return await _export(session, keyring, principal, reference,
                             request.app.state.webhook_keys)
    if action not in DONE:
        raise BadRequest(N_("Unknown action."))
    await get_case(session, principal.org_id, reference)  # a missing case is a 404 page
    # What was typed comes back into the form, so a mistake costs no retyping.
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    errors = forms.precheck(action, form)
    if errors:
        return await _case_page(request, session, keyring, principal, reference,
                                error=" ".join(errors.values()), status_code=422,
                                errors=errors, values=values)
    try:
        body = _body(action, form)
        await _apply(session, keyring, settings, principal, reference, action, body)
    except ValidationError as exc:
        return await _case_page(request, session, keyring, principal, reference,
                                error=friendly(exc), status_code=422,
                                errors=forms.field_errors(action, exc), values=values)
    except DomainError as exc:
        await session.rollback()  # nothing of a refused action is kept
        return await _case_page(request, session, keyring, principal, reference,
                                error=exc.detail, status_code=exc.status_code,
                                errors={forms.DOMAIN_FIELD.get(action, action): exc.detail},
                                values=values)
    return RedirectResponse(f"/dashboard/cases/{reference}?done={DONE[action]}",
                            status_code=303)


async def _export(session: Session, keyring: Any, principal: Any, reference: str,
                  keys: Any) -> Response:
    if not re.fullmatch(REFERENCE_PATTERN, reference):
        raise BadRequest(N_("Unknown case."))
    case = await get_case(session, principal.org_id, reference)
    record = await export_case(session, keyring, case, Actor.of(principal), utcnow(), keys)
    return JSONResponse(record.model_dump(mode="json"), headers={
        "Content-Disposition": f'attachment; filename="{case.reference}.json"'})
