"""Validation problems said in the page's language: one sentence per problem, never the input
(it may be personal data). The JSON API keeps pydantic's own English messages in its
documented error format; the dashboard's forms speak to a person, in their language.

Pydantic's messages are English only: each error type it reports on a form maps to a sentence
of the catalogs, with the limits of its context (`%(max_length)s`...). A check of our own
(`value_error`) is said in its own words when the catalogs have them (the schemas mark them
with `N_`); otherwise, on a page not in English, by a general sentence rather than in English.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from app.i18n import N_, current_language, gettext
from app.text import PATTERN_MESSAGES

INVALID = N_("This value is not valid.")
REQUIRED = N_("This is required.")
_DATE = N_("Enter a valid date.")
_NUMBER = N_("Enter a whole number.")
_CHOICE = N_("Choose one of the options.")
_URL = N_("Enter a valid web address.")

# Pydantic's error types seen on forms, and what a person is told.
BY_TYPE: dict[str, str] = {
    "missing": REQUIRED,
    "string_too_long": N_("Use at most %(max_length)s characters."),
    "too_long": N_("Give at most %(max_length)s."),
    "too_short": N_("Give at least %(min_length)s."),
    "string_pattern_mismatch": N_("This is not in the expected form."),
    "int_parsing": _NUMBER, "int_type": _NUMBER, "int_from_float": _NUMBER,
    "float_parsing": N_("Enter a number."),
    "greater_than_equal": N_("Give at least %(ge)s."),
    "greater_than": N_("Give more than %(gt)s."),
    "less_than_equal": N_("Give at most %(le)s."),
    "less_than": N_("Give less than %(lt)s."),
    "literal_error": _CHOICE, "enum": _CHOICE,
    "bool_parsing": N_("Choose yes or no."),
    "uuid_parsing": N_("This is not a valid identifier."),
    "date_parsing": _DATE, "datetime_parsing": _DATE, "datetime_from_date_parsing": _DATE,
    "url_parsing": _URL, "url_scheme": _URL,
}

# The dashboard forms' field names, as a summary at the top of a page names them.
FIELDS: dict[str, str] = {
    "assignee": N_("Assignee"), "cases": N_("Cases"), "description": N_("Description"),
    "explanation": N_("Explanation"), "ground": N_("Ground"), "method": N_("Method"),
    "model": N_("Model"), "months": N_("Months"), "note": N_("Note"), "of": N_("Earlier case"),
    "outcome": N_("Outcome"), "question": N_("Question"), "reason": N_("Reason"),
    "references": N_("Cases"), "replaces": N_("Replaces"), "result": N_("Result"),
}


def explain(err: ErrorDetails) -> str:
    """One problem, as a sentence in the current language."""
    kind = err.get("type", "")
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    if kind == "string_too_short":
        return gettext(REQUIRED) if int(ctx.get("min_length", 1)) <= 1 else \
            gettext(N_("Use at least %(min_length)s characters.")) % ctx
    if kind == "value_error":
        own = str(ctx.get("error") or err.get("msg", "")).removeprefix("Value error, ")
        said = gettext(own)
        if said == own and current_language() != "en":
            return gettext(INVALID)  # not in the catalogs: no English on another language's page
        return _sentence(said)
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in PATTERN_MESSAGES:
        return _sentence(gettext(PATTERN_MESSAGES[ctx["pattern"]]))
    message = BY_TYPE.get(kind)
    if message is None:
        return gettext(INVALID)
    try:
        return gettext(message) % ctx
    except (KeyError, TypeError, ValueError):  # a context without the limit it names
        return gettext(INVALID)


def summary(exc: ValidationError) -> str:
    """Every problem, each naming its field (`Explanation: This is required.`)."""
    parts = []
    for err in exc.errors():
        loc = [p for p in err.get("loc", ()) if isinstance(p, str)]
        name = loc[0] if loc else ""
        label = gettext(FIELDS[name]) if name in FIELDS else ""
        parts.append(f"{label}: {explain(err)}" if label else explain(err))
    return " ".join(parts)


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return gettext(INVALID)
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")
