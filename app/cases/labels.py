"""Words for statuses and kinds, as staff read them. The codes stay in the API; pages show
these. `N_` only marks the text for the gettext catalogs: pages translate it when shown."""

from __future__ import annotations

from app.cases.models import CaseKind, CaseStatus


def N_(text: str) -> str:  # gettext's conventional name for "mark, translate later"
    return text


S = CaseStatus

STATUS_LABELS: dict[str, str] = {
    S.pending_verification: N_("Waiting for email confirmation"),
    S.open: N_("New"),
    S.in_review: N_("In review"),
    S.awaiting_subject: N_("Waiting for the person's answer"),
    S.accepted: N_("Accepted"),
    S.rejected: N_("Rejected"),
    S.in_remediation: N_("Being fixed"),
    S.remediated: N_("Fixed"),
    S.closed: N_("Closed"),
    S.withdrawn: N_("Withdrawn by the person"),
    S.expired: N_("Never confirmed"),
    S.duplicate: N_("Duplicate"),
}

KIND_LABELS: dict[str, str] = {
    CaseKind.objection: N_("Objection (GDPR Art. 21)"),
    CaseKind.erasure: N_("Erasure (GDPR Art. 17)"),
}
