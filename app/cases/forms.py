"""The case page's forms: which field a problem belongs to, so the page can say it next to that
field (and in the summary at the top, linking to it)."""

from __future__ import annotations

from pydantic import ValidationError
from starlette.datastructures import FormData

from app.cases.labels import N_
from app.web.form_errors import explain

# The field a refused action is about when the service refuses it (409/404...), by action;
# otherwise the message goes at the top of the action's form.
DOMAIN_FIELD = {"duplicate": "of", "assign": "assignee-select", "ask": "question"}
# Form names whose element id on the page differs.
FIELD_ID = {("decide", "note"): "decision-note", ("assign", "assignee"): "assignee-select"}


def precheck(action: str, form: FormData) -> dict[str, str]:
    """What the page can tell before validation, field by field (a rejection's ground and
    explanation are required together, which the body's own check reports as one sentence)."""
    errors: dict[str, str] = {}
    if action == "decide":
        outcome = form.get("outcome")
        if outcome not in ("accept", "reject"):
            errors["outcome"] = N_("Choose accept or reject.")
        elif outcome == "reject":
            if not str(form.get("ground") or "").strip():
                errors["ground"] = N_("Choose the ground of the rejection.")
            if not str(form.get("explanation") or "").strip():
                errors["explanation"] = N_("Explain the rejection to the subject.")
    elif action == "ask" and not str(form.get("question") or "").strip():
        errors["question"] = N_("Write the question for the subject.")
    elif action == "extend" and not str(form.get("reason") or "").strip():
        errors["reason"] = N_("Give the reason; the subject is told it.")
    elif action == "duplicate" and not str(form.get("of") or "").strip():
        errors["of"] = N_("Give the reference of the earlier case.")
    return errors


def field_errors(action: str, exc: ValidationError) -> dict[str, str]:
    """One sentence per field, in the page's language; never the input (it may be personal
    data)."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = err.get("loc", ())
        name = str(loc[0]) if loc else action
        if name == "probe_results" and len(loc) > 1:
            name = "close"
        name = FIELD_ID.get((action, name), name)
        errors.setdefault(name, explain(err))
    return errors
