"""Closing a case, with the evidence that it was done: the fixed versions (revision and digests)
and, where the subject gave probe prompts, what running each against the fixed version gave.

A case closes only once the subject has been told (the email of the outcome is in the outbox
and did not fail) and, for a remediated case, once every model it concerns has a fixed version
released (its release and the superseding of the old versions are events re-users receive)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import notify
from app.cases.evidence import fixed_versions, version_evidence
from app.cases.lifecycle import SYSTEM, Actor, check, transition
from app.cases.messages import add_message
from app.cases.models import Case, CaseStatus, MessageDirection, MessageKind
from app.cases.recipients import who_was_told
from app.cases.schemas import ProbeResultBody
from app.cases.service import models_of
from app.cases.subject import open_subject
from app.crypto import Keyring
from app.emails.models import EmailStatus, OutboundEmail
from app.errors import BadRequest, Conflict
from app.models_registry.models import Model, ModelVersion
from app.remediation.models import Remediation

S = CaseStatus


async def _require_told(session: AsyncSession, case: Case, kind: str,
                        subject: dict[str, Any] | None) -> None:
    if subject is None:
        return  # erased: there is no one left to tell
    statuses = set(await session.scalars(select(OutboundEmail.status).where(
        OutboundEmail.case_id == case.id, OutboundEmail.kind == kind)))
    if not statuses:
        raise Conflict(f"the subject of case {case.reference} has not been told the outcome")
    if statuses == {EmailStatus.failed.value}:
        raise Conflict(f"the email telling the subject of case {case.reference} the outcome "
                       "could not be delivered; contact them another way before closing")


def _check_probes(prompts: list[str] | None,
                  results: list[ProbeResultBody]) -> list[ProbeResultBody]:
    indexes = [r.index for r in results]
    if len(set(indexes)) != len(indexes):
        raise BadRequest("probe_results: one result per probe prompt")
    if prompts is not None and set(indexes) != set(range(len(prompts))):
        if not prompts:
            raise BadRequest("probe_results: the subject gave no probe prompts")
        raise BadRequest(f"probe_results: give one result for each of the subject's "
                         f"{len(prompts)} probe prompts (index 0 to {len(prompts) - 1})")
    for r in sorted(results, key=lambda r: r.index):
        if r.reproduced:
            raise Conflict(f"probe prompt {r.index} still reproduces the data with the fixed "
                           "version; the case cannot be closed as remediated")
    return sorted(results, key=lambda r: r.index)


async def close(
    session: AsyncSession, keyring: Keyring, actor: Actor, case: Case, *,
    probe_results: list[ProbeResultBody], note: str | None = None,
    pending_acks_reason: str | None = None,
) -> Case:
    check(case, S.closed, actor)
    subject = open_subject(keyring, case)
    fixed: list[tuple[Model, ModelVersion, Remediation]] = []
    if case.status == S.remediated:
        fixed = await fixed_versions(session, case)
        missing = set((await models_of(session, [case.id])).get(case.id, [])) - {
            m.ref for m, _, _ in fixed}
        if missing:
            raise Conflict(f"no fixed version of {', '.join(sorted(missing))} has been released "
                           f"for case {case.reference}")
        await _require_told(session, case, "remediated", subject)
        from app.probes.verify import check_closable

        # Probes the service ran itself replace the results typed by hand.
        automated = await check_closable(session, case)
        probes = [] if automated and not probe_results else _check_probes(
            subject["probe_prompts"] if subject else None, probe_results)
    else:
        if probe_results:
            raise BadRequest("probe_results: only a remediated case is closed with probe results")
        await _require_told(session, case, "decision_rejected", subject)
        probes = []
    pending = 0
    if case.status == S.remediated:
        # Art. 19: closing while re-users have not confirmed their copies are fixed is allowed,
        # but only with a reason, kept with the closure evidence.
        pending = sum(t.ack_pending for t in await who_was_told(session, case))
        if pending and not pending_acks_reason:
            if actor.kind != SYSTEM:
                raise Conflict(f"{pending} re-user(s) told of the fix have not acknowledged it "
                               "yet; give pending_acks_reason to close anyway")
            pending_acks_reason = "closed at the end of the storage-limitation period"
    if probes:  # written before the case changes: see actions.decide
        await add_message(session, keyring, case, kind=MessageKind.closure,
                          direction=MessageDirection.internal, author=actor.label,
                          content=[p.model_dump() for p in probes])
    versions = [version_evidence(m, v, r) for m, v, r in fixed]
    case.closure_evidence = {
        "closed_by": actor.label, "fixed_versions": versions,
        "probes": [{"index": p.index, "reproduced": p.reproduced} for p in probes],
        "acks_pending": pending,
        "pending_acks_reason": pending_acks_reason if pending else None}
    await transition(session, case, S.closed, actor, note=note, action="case.closed",
                     keyring=keyring,
                     details={"fixed_versions": [f"{v['model']}@{v['label']}" for v in versions],
                              "probes_run": len(probes), "acks_pending": pending})
    await notify.tell_subject(session, keyring, case, "closed", {
        "outcome": case.decision, "versions": versions})
    return case
