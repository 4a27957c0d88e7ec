"""What staff, exports and the subject read of a case's probes."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.keys import CaseKeyErased, open_for_case
from app.cases.models import Case
from app.crypto import Keyring
from app.i18n import translate
from app.probes import service, sets
from app.probes.models import ProbeRun, RunMoment, RunStatus
from app.probes.runner import RESULTS
from app.probes.schemas import (
    CaseProbesRead,
    MatchRead,
    ProbeSetRead,
    PromptRead,
    PromptTally,
    RunDetail,
    RunRead,
    SampleRead,
    TargetBody,
)


def run_read(run: ProbeRun, case_ref: str, names: dict[uuid.UUID, tuple[str, str]]) -> RunRead:
    model, label = names.get(run.version_id, ("", ""))
    finished = run.status == RunStatus.finished
    return RunRead(
        id=run.id, case=case_ref, model=model, version=label, artifact=run.artifact or None,
        moment=RunMoment(run.moment), status=RunStatus(run.status), settings=run.settings,
        samples_total=run.samples_total, samples_done=run.samples_done,
        progress=progress(run), hits=run.hits, failures=run.failures,
        reproduced=(run.hits > 0) if finished else None,
        tally=[PromptTally.model_validate(item) for item in run.tally], error=run.error,
        remediation_id=run.remediation_id, created_at=run.created_at,
        started_at=run.started_at, finished_at=run.finished_at)


def progress(run: ProbeRun) -> int:
    if run.status in (RunStatus.finished, RunStatus.failed, RunStatus.cancelled):
        return 100
    return run.samples_done * 100 // run.samples_total if run.samples_total else 0


def _samples(keyring: Keyring, case: Case, run: ProbeRun) -> list[SampleRead] | None:
    try:
        data: dict[str, Any] | None = open_for_case(keyring, case, run.results_ciphertext,
                                                    RESULTS)
    except CaseKeyErased:
        return None
    if data is None:
        return None
    return [SampleRead(prompt=s["prompt"], sample=s["sample"], text=s["text"],
                       reason=s["reason"],
                       matches=[MatchRead(target=m["target"], kind=m["kind"], start=m["start"],
                                          end=m["end"], score=m["score"], exact=m["exact"])
                                for m in s["matches"]])
            for s in data["samples"]]


def latest_by_endpoint(runs: list[ProbeRun], moments: set[str]) -> list[ProbeRun]:
    latest: dict[object, ProbeRun] = {}
    for run in runs:  # oldest first
        if run.moment in moments and run.status == RunStatus.finished:
            latest[(run.endpoint_id, run.version_id, run.artifact)] = run
    return list(latest.values())


def summary(runs: list[ProbeRun], lang: str) -> str | None:
    """`reproduces your data in k of n samples` over the latest finished run per endpoint."""
    latest = latest_by_endpoint(runs, {m.value for m in RunMoment})
    if not latest:
        return None
    hits = sum(r.hits for r in latest)
    total = sum(r.samples_done for r in latest)
    key = "probes.summary.reproduces" if hits else "probes.summary.clean"
    return translate(lang, key, k=hits, n=total)


async def case_probes(session: AsyncSession, keyring: Keyring, case: Case,
                      lang: str = "en") -> CaseProbesRead:
    data = None
    if case.subject_erased_at is None:
        data = await sets.ensure_set(session, keyring, case, "system:probes")
    probe_set = ProbeSetRead(
        prompts=[PromptRead(index=i, text=p["text"], source=p["source"])
                 for i, p in enumerate(data["prompts"])],
        targets=[TargetBody.model_validate(item) for item in data["targets"]],
    ) if data else ProbeSetRead(prompts=[], targets=[], erased=True)
    runs = await service.case_runs(session, case.id)
    names = await service.version_names(session, {r.version_id for r in runs})
    details = [RunDetail(**run_read(r, case.reference, names).model_dump(),
                         samples=_samples(keyring, case, r)) for r in runs]
    return CaseProbesRead(set=probe_set, runs=details, summary=summary(runs, lang))


async def case_runs_read(session: AsyncSession, case: Case) -> list[RunRead]:
    """The runs without content (targets, completions): what an export holds."""
    runs = await service.case_runs(session, case.id)
    names = await service.version_names(session, {r.version_id for r in runs})
    return [run_read(r, case.reference, names) for r in runs]


async def subject_probe_notice(session: AsyncSession, case: Case, lang: str) -> str | None:
    """Plain words for the status page, about the fixed versions only."""
    runs = await service.case_runs(session, case.id)
    latest = latest_by_endpoint(runs, {RunMoment.verification.value})
    if not latest:
        return None
    hits = sum(r.hits for r in latest)
    total = sum(r.samples_done for r in latest)
    key = "probes.subject.still" if hits else "probes.subject.clean"
    return translate(lang, key, k=hits, n=total)


async def remediation_runs(session: AsyncSession, remediation_id: uuid.UUID) -> list[RunRead]:
    from sqlalchemy import select

    rows = (await session.execute(
        select(ProbeRun, Case.reference).join(Case, Case.id == ProbeRun.case_id)
        .where(ProbeRun.remediation_id == remediation_id)
        .order_by(ProbeRun.created_at, ProbeRun.id))).all()
    names = await service.version_names(session, {r.version_id for r, _ in rows})
    return [run_read(r, ref, names) for r, ref in rows]
