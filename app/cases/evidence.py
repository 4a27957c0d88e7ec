"""The fixed versions that answer a case: released by the succeeded remediations it was part of."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import Case
from app.models_registry.models import Model, ModelVersion
from app.remediation.models import Remediation, RemediationCase, RemediationStatus


async def fixed_versions(
    session: AsyncSession, case: Case
) -> list[tuple[Model, ModelVersion, Remediation]]:
    rows = await session.execute(
        select(Model, ModelVersion, Remediation)
        .join(RemediationCase, RemediationCase.remediation_id == Remediation.id)
        .join(ModelVersion, ModelVersion.remediation_id == Remediation.id)
        .join(Model, Model.id == Remediation.model_id)
        .where(RemediationCase.case_id == case.id,
               Remediation.status == RemediationStatus.succeeded.value)
        .order_by(Model.namespace, Model.name, ModelVersion.released_at))
    return [(m, v, r) for m, v, r in rows]


def version_evidence(model: Model, version: ModelVersion,
                     remediation: Remediation) -> dict[str, Any]:
    return {"model": model.ref, "label": version.label, "revision": version.revision,
            "digests": version.digests, "remediation_id": str(remediation.id),
            "method": remediation.method}
