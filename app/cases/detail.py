"""One case in full, for staff allowed to see the subject's personal data, and its record
exported as JSON for a regulator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import checkpoints
from app.audit import service as audit
from app.audit.models import AuditEvent, AuditHead
from app.auth.models import Organization
from app.cases.deadlines import first_due, org_zone
from app.cases.keys import extension_reason, open_for_case
from app.cases.lifecycle import Actor, allowed_targets
from app.cases.messages import list_messages, open_message
from app.cases.models import (
    Case,
    CaseStatus,
    Decision,
    MessageKind,
    ObjectionBasis,
    RejectionGround,
)
from app.cases.recipients import Told, who_was_told
from app.cases.schemas import (
    AuditChainRead,
    CaseDetailRead,
    CaseExport,
    CheckpointRead,
    ClosureRead,
    DecisionRead,
    ExtensionRead,
    FixedVersionRead,
    MessageRead,
    NotificationRead,
    ProbeResultRead,
    ProofRead,
    RecipientRead,
    RemediationLinkRead,
    RestrictionRead,
    SubjectRead,
    TimelineEntryRead,
)
from app.cases.service import case_reads
from app.cases.subject import open_subject
from app.crypto import Keyring
from app.delivery.signing import ServiceKeys
from app.emails.models import OutboundEmail
from app.models_registry.models import Model
from app.probes.reads import case_runs_read
from app.remediation.models import Remediation, RemediationCase


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
                       acks_pending_at_closure=evidence.get("acks_pending", 0),
                       pending_acks_reason=evidence.get("pending_acks_reason"),
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


def recipient_read(t: Told) -> RecipientRead:
    return RecipientRead(kind=t.kind.value, name=t.name, model=t.model, sent_at=t.sent_at,
                         delivered_at=t.delivered_at, acknowledged_at=t.acknowledged_at,
                         event_id=t.event_id, must_acknowledge=t.must_acknowledge,
                         ack_outcome=t.ack_outcome, ack_pending=t.ack_pending)


def _note(keyring: Keyring, case: Case, e: AuditEvent) -> str | None:
    """A row's note as staff read it: opened from its sealed form (None once the case key was
    destroyed); rows written before notes were sealed hold the text itself."""
    if e.note_sealed is None:
        return e.note
    text = open_for_case(keyring, case, e.note_sealed, "audit.note")
    return str(text) if text is not None else None


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
                                  reason=extension_reason(keyring, case) or "",
                                  extended_at=case.extended_at,
                                  first_due_at=first_due(case.received_at,
                                                           await org_zone(session, case.org_id)),
                                  due_at=case.due_at)
    emails = await session.scalars(select(OutboundEmail).where(OutboundEmail.case_id == case.id)
                                   .order_by(OutboundEmail.created_at, OutboundEmail.id))
    duplicate_of = (await session.scalar(select(Case.reference).where(
        Case.id == case.duplicate_of_id))) if case.duplicate_of_id else None
    return CaseDetailRead(
        **base.model_dump(), language=case.language,
        objection_basis=ObjectionBasis(case.objection_basis) if case.objection_basis else None,
        confirmed_at=case.confirmed_at,
        closed_at=case.closed_at, duplicate_of=duplicate_of,
        subject=SubjectRead(**subject) if subject else None,
        subject_erased_at=case.subject_erased_at, extension=extension,
        restriction=RestrictionRead(since=case.restricted_at,
                                    interim_remediation_id=case.restriction_remediation_id)
        if case.restricted_at else None,
        decision_detail=decision, messages=messages,
        remediations=await _remediations(session, case),
        closure=_closure(case, subject, results),
        probe_runs=await case_runs_read(session, case),
        notifications=[NotificationRead(kind=e.kind, created_at=e.created_at, status=e.status,
                                        sent_at=e.sent_at, attempts=e.attempts) for e in emails],
        recipients=[recipient_read(t) for t in await who_was_told(session, case)],
        timeline=[TimelineEntryRead(seq=e.seq, at=e.created_at, actor=e.actor, action=e.action,
                                    from_status=e.from_status, to_status=e.to_status,
                                    note=_note(keyring, case, e), note_digest=e.note
                                    if e.note_sealed is not None else None,
                                    details=e.details, prev_hash=e.prev_hash,
                                    hash=e.hash)
                  for e in await audit.case_trail(session, case.id)],
        next_steps=allowed_targets(CaseStatus(case.status), viewer.kind),
    )


def hashed_row(e: AuditEvent) -> dict[str, Any]:
    """A row as `app.audit.service.event_hash` hashes it (and the hash), for offline checks."""
    return {"org_id": str(e.org_id), "seq": e.seq,
            "case_id": str(e.case_id) if e.case_id else None, "actor": e.actor,
            "action": e.action, "from": e.from_status, "to": e.to_status, "note": e.note,
            "details": e.details, "created_at": e.created_at.isoformat(),
            "prev_hash": e.prev_hash, "hash": e.hash}


async def _proof(session: AsyncSession, keys: ServiceKeys, case: Case, slug: str,
                 head: AuditHead) -> ProofRead:
    rows = await audit.case_trail(session, case.id)
    first = rows[0].seq if rows else head.seq
    links = [(seq, prev, h) for seq, prev, h in await session.execute(
        select(AuditEvent.seq, AuditEvent.prev_hash, AuditEvent.hash)
        .where(AuditEvent.org_id == case.org_id, AuditEvent.seq >= first,
               AuditEvent.seq <= head.seq).order_by(AuditEvent.seq))]
    checkpoint = await checkpoints.record(session, keys, case.org_id, slug, head)
    return ProofRead(rows=[hashed_row(e) for e in rows], links=links,
                     head={"seq": head.seq, "hash": head.hash},
                     checkpoint=CheckpointRead(**checkpoint))


async def export_case(session: AsyncSession, keyring: Keyring, case: Case, actor: Actor,
                      now: datetime, keys: ServiceKeys) -> CaseExport:
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
                          head_seq=head.seq, head_hash=head.hash, intact=not problems),
                      proof=await _proof(session, keys, case, slug or "", head))
