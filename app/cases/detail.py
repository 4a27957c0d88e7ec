"""One case in full, for staff allowed to see the subject's personal data, and its record
exported as JSON for a regulator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.audit.models import AuditHead
from app.auth.models import Organization
from app.cases.deadlines import first_due
from app.cases.lifecycle import Actor, allowed_targets
from app.cases.messages import list_messages, open_message
from app.cases.models import Case, CaseStatus, Decision, MessageKind, RejectionGround
from app.cases.schemas import (
    AuditChainRead,
    CaseDetailRead,
    CaseExport,
    ClosureRead,
    DecisionRead,
    ExtensionRead,
    FixedVersionRead,
    MessageRead,
    NotificationRead,
    ProbeResultRead,
    RemediationLinkRead,
    SubjectRead,
    TimelineEntryRead,
)
from app.cases.service import case_reads
from app.crypto import Keyring
from app.emails.models import OutboundEmail
from app.models_registry.models import Model
from app.probes.reads import case_runs_read
from app.remediation.models import Remediation, RemediationCase
from app.requests.service import open_subject


def _closure(case: Case, subject: dict[str, Any] | None,
             results: dict[int, dict[str, Any]]) -> ClosureRead | None:
    evidence = case.closure_evidence
    if not evidence or case.closed_at is None:
        return None
    prompts: list[str] = subject["probe_prompts"] if subject else []
    probes = [ProbeResultRead(index=p["index"],
                              prompt=prompts[p["index"]] if p["index"] < len(prompts) else None,
                              reproduced=p["reproduced"],
                              result=results.get(p["index"], {}).get("result"))
              for p in evidence.get("probes", [])]
    return ClosureRead(closed_at=case.closed_at, closed_by=evidence["closed_by"],
                       fixed_versions=[FixedVersionRead.model_validate(v)
                                       for v in evidence.get("fixed_versions", [])],
                       probes=probes)


async def _remediations(session: AsyncSession, case: Case) -> list[RemediationLinkRead]:
    rows = await session.execute(
        select(Remediation, Model.namespace, Model.name)
        .join(RemediationCase, RemediationCase.remediation_id == Remediation.id)
        .join(Model, Model.id == Remediation.model_id)
        .where(RemediationCase.case_id == case.id).order_by(Remediation.created_at))
    return [RemediationLinkRead(id=r.id, model=f"{ns}/{name}", method=r.method, status=r.status,
                                progress=r.progress) for r, ns, name in rows]


async def case_detail(session: AsyncSession, keyring: Keyring, case: Case, viewer: Actor,
                      now: datetime) -> CaseDetailRead:
    [base] = await case_reads(session, [case], now)
    subject = open_subject(keyring, case)
    messages: list[MessageRead] = []
    explanation: str | None = None
    results: dict[int, dict[str, Any]] = {}
    for m in await list_messages(session, case.id):
        content = open_message(keyring, m)
        if m.kind == MessageKind.closure:
            results = {p["index"]: p for p in content or []}
            continue
        if m.kind == MessageKind.decision:
            explanation = content
        messages.append(MessageRead(at=m.created_at, kind=m.kind, direction=m.direction,
                                    author=m.author, text=content))
    decision = None
    if case.decision and case.decided_at and case.decided_by:
        decision = DecisionRead(
            outcome=Decision(case.decision), explanation=explanation,
            ground=RejectionGround(case.decision_ground) if case.decision_ground else None,
            decided_at=case.decided_at, decided_by=case.decided_by)
    extension = None
    if case.extension_months and case.extended_at:
        extension = ExtensionRead(months=case.extension_months,
                                  reason=case.extension_reason or "",
                                  extended_at=case.extended_at,
                                  first_due_at=first_due(case.received_at), due_at=case.due_at)
    emails = await session.scalars(select(OutboundEmail).where(OutboundEmail.case_id == case.id)
                                   .order_by(OutboundEmail.created_at, OutboundEmail.id))
    duplicate_of = (await session.scalar(select(Case.reference).where(
        Case.id == case.duplicate_of_id))) if case.duplicate_of_id else None
    return CaseDetailRead(
        **base.model_dump(), language=case.language, confirmed_at=case.confirmed_at,
        closed_at=case.closed_at, duplicate_of=duplicate_of,
        subject=SubjectRead(**subject) if subject else None,
        subject_erased_at=case.subject_erased_at, extension=extension,
        decision_detail=decision, messages=messages,
        remediations=await _remediations(session, case),
        closure=_closure(case, subject, results),
        probe_runs=await case_runs_read(session, case),
        notifications=[NotificationRead(kind=e.kind, created_at=e.created_at, status=e.status,
                                        sent_at=e.sent_at, attempts=e.attempts) for e in emails],
        timeline=[TimelineEntryRead(seq=e.seq, at=e.created_at, actor=e.actor, action=e.action,
                                    from_status=e.from_status, to_status=e.to_status,
                                    note=e.note, details=e.details, prev_hash=e.prev_hash,
                                    hash=e.hash)
                  for e in await audit.case_trail(session, case.id)],
        next_steps=allowed_targets(CaseStatus(case.status), viewer.kind),
    )


async def export_case(session: AsyncSession, keyring: Keyring, case: Case, actor: Actor,
                      now: datetime) -> CaseExport:
    """The full record. The export itself is an audit row (who took the personal data out), and
    the chain head lets a later reader check the trail has not been rewritten since."""
    await audit.append(session, org_id=case.org_id, case_id=case.id, actor=actor.label,
                       action="case.exported")
    record = await case_detail(session, keyring, case, actor, now)
    head = await session.get(AuditHead, case.org_id)
    assert head is not None
    problems = await audit.verify_chain(session, case.org_id)
    slug = await session.scalar(select(Organization.slug).where(Organization.id == case.org_id))
    return CaseExport(exported_at=now, exported_by=actor.label, organization=slug or "",
                      record=record, audit_chain=AuditChainRead(
                          head_seq=head.seq, head_hash=head.hash, intact=not problems))
