"""Words for the codes the pages show (statuses, kinds, methods, outcomes), marked for the
catalogs here and translated when shown: `{{ label("case_status", c.status) }}`."""

from __future__ import annotations

from enum import Enum

from app.cases.labels import KIND_LABELS, STATUS_LABELS
from app.i18n import N_, gettext

LABELS: dict[str, dict[str, str]] = {
    # The staff's words for statuses and kinds live with the cases (app/cases/labels.py).
    "case_status": dict(STATUS_LABELS),
    "kind": dict(KIND_LABELS),
    "remediation_status": {
        "planned": N_("planned"), "running": N_("running"), "succeeded": N_("succeeded"),
        "failed": N_("failed"), "cancelled": N_("cancelled"),
    },
    "method": {
        "unlearning": N_("unlearning"), "retraining": N_("retraining"),
        "fine_tuning": N_("fine-tuning"), "output_filter": N_("output filter"),
    },
    "outcome": {
        "replaced": N_("replaced by the replacement revision"), "deleted": N_("deleted"),
        "not_affected": N_("never used the affected revision"),
    },
    "delivery_status": {
        "pending": N_("pending"), "succeeded": N_("delivered"), "failed": N_("failed"),
        "replayed": N_("sent again"),
    },
    "email_status": {"pending": N_("waiting to be sent"), "sent": N_("sent"),
                     "logged": N_("logged (no mail server)"), "failed": N_("not sent")},
    "role": {"admin": N_("admin"), "reviewer": N_("reviewer"), "pipeline": N_("pipeline")},
    "decision": {"accepted": N_("accepted"), "rejected": N_("rejected")},
}


def label(table: str, value: object) -> str:
    """The words for a code, in the page's language; an unknown code is shown as it is."""
    code = value.value if isinstance(value, Enum) else str(value)
    words = LABELS.get(table, {}).get(code)
    return gettext(words) if words else code
