"""What the subject's status page shows of the provider's work: the decision (with the ground,
the explanation and the right to complain), the extension, and the fixed versions."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.evidence import fixed_versions
from app.cases.keys import extension_reason
from app.cases.messages import latest_message, open_message
from app.cases.models import Case, CaseStatus, Decision, MessageKind, RejectionGround
from app.cases.recipients import who_was_told
from app.cases.schemas import (
    DecisionNotice,
    ExtensionNotice,
    FixedVersionNotice,
    RecipientNotice,
)
from app.crypto import Keyring

# Audit rows about the provider's own housekeeping, not shown on the subject's timeline.
INTERNAL_ACTIONS = frozenset({"case.assigned", "case.unassigned", "case.exported",
                              "case.stalled_flagged", "probe.run_cancelled"})


async def subject_outcome(session: AsyncSession, keyring: Keyring, case: Case) -> dict[str, Any]:
    decision = None
    if case.decision and case.decided_at:
        message = await latest_message(session, case.id, MessageKind.decision)
        explanation = open_message(keyring, message) if message else None
        decision = DecisionNotice(
            outcome=Decision(case.decision), explanation=explanation,
            ground=RejectionGround(case.decision_ground) if case.decision_ground else None,
            decided_at=case.decided_at, complaint_right=case.decision == Decision.rejected)
    extension = None
    if case.extension_months:
        extension = ExtensionNotice(months=case.extension_months,
                                    reason=extension_reason(keyring, case) or "")
    fixed = []
    if case.status in (CaseStatus.remediated, CaseStatus.closed):
        fixed = [FixedVersionNotice(model=m.ref, label=v.label, revision=v.revision)
                 for m, v, _ in await fixed_versions(session, case)]
    recipients = [RecipientNotice(kind=t.kind.value, name=t.name, model=t.model,
                                  sent_at=t.sent_at, delivered_at=t.delivered_at,
                                  acknowledged_at=t.acknowledged_at)
                  for t in await who_was_told(session, case)] if fixed else []
    return {"decision": decision, "extension": extension, "fixed_versions": fixed,
            "recipients": recipients,
            "closed_at": case.closed_at if case.status == CaseStatus.closed else None}
