"""The case timeline in plain words: what happened and who did it, from the audit rows. The
audit trail keeps its codes (they are what the chain signs); only the page reads them out."""

from __future__ import annotations

from app.cases.labels import N_

ACTIONS: dict[str, str] = {
    "case.received": N_("Request received; waiting for the person to confirm their email"),
    "case.confirmed": N_("The person confirmed their email; the case is open"),
    "case.duplicate": N_("Marked as a duplicate of an earlier case"),
    "case.expired": N_("The request was never confirmed and expired"),
    "case.withdrawn": N_("The person withdrew the request"),
    "case.in_review": N_("Review started"),
    "case.review_resumed": N_("Review resumed"),
    "case.awaiting_subject": N_("The person was asked for more information"),
    "case.subject_answered": N_("The person answered the question"),
    "case.accepted": N_("Request accepted"),
    "case.rejected": N_("Request rejected"),
    "case.assigned": N_("Assigned"),
    "case.unassigned": N_("Unassigned"),
    "case.extended": N_("Deadline extended"),
    "case.in_remediation": N_("Included in a planned remediation"),
    "case.remediated": N_("The fixed model version was released"),
    "case.partly_remediated": N_("One remediation succeeded; another model still needs fixing"),
    "case.remediation_stopped": N_("The remediation failed or was cancelled; the case waits "
                                   "for another"),
    "case.reopened": N_("Reopened: the fixed version still reproduces the data"),
    "case.closed": N_("Case closed"),
    "case.exported": N_("Case record downloaded"),
    "case.subject_erased": N_("The person's data was erased at the end of retention"),
}


def action_words(action: str) -> str:
    return ACTIONS.get(action, action)


def actor_words(actor: str) -> tuple[str, str]:
    """(kind of actor in words, who): a staff user by email, an API key by name."""
    kind, _, who = actor.partition(":")
    if actor == "data subject":
        return N_("the person"), ""
    if kind == "system":
        return N_("automatically"), ""
    if kind == "api_key":
        return N_("API key"), who
    return "", who
