"""Which characters text fields may hold, as `pattern` constraints: enforced by the validator,
published in the OpenAPI schema (so clients and generated tests know the rule up front), and
explained in plain words in error responses (see PATTERN_MESSAGES).

PostgreSQL cannot store NUL, and no name or label needs a control character: they are refused
on every database alike. Free text may hold line breaks and tabs."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field
from pydantic.config import JsonDict

from app.i18n import N_

# Control characters refused on one line, and in free text (which may hold \t, \n and \r).
_LINE_CONTROLS = r"\x00-\x1f\x7f"
_TEXT_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
ONE_LINE_PATTERN = rf"^[^{_LINE_CONTROLS}]*$"
TEXT_PATTERN = rf"^[^{_TEXT_CONTROLS}]*$"
# A version label is one path segment of /versions/{label}; "." and ".." are dot segments,
# which clients normalise away. (The look-ahead needs Python's regex engine.)
LABEL_PATTERN = r"^(?!\.\.?$)[^\s/\x00-\x1f\x7f][^/\x00-\x1f\x7f]*$"
# Text that must say something: it is stripped, then refused if empty, so the published pattern
# asks for one character that is not white space (clients and generated tests then know it).
REQUIRED_TEXT_PATTERN = rf"^[^{_TEXT_CONTROLS}]*[^\s{_TEXT_CONTROLS}][^{_TEXT_CONTROLS}]*$"
REQUIRED_LINE_PATTERN = rf"^[^{_LINE_CONTROLS}]*[^\s{_LINE_CONTROLS}][^{_LINE_CONTROLS}]*$"
NON_BLANK_PATTERN = r"\S"
TWO_NON_BLANK_PATTERN = r"\S[\s\S]*\S"  # at least two characters once stripped
# Said in API errors as they are (English), and on pages in the reader's language.
PATTERN_MESSAGES = {
    REQUIRED_TEXT_PATTERN: N_("must not be blank or contain control characters"),
    REQUIRED_LINE_PATTERN: N_("must be a single line, not blank, without control characters"),
    NON_BLANK_PATTERN: N_("must not be blank"),
    TWO_NON_BLANK_PATTERN: N_("must be at least 2 characters besides spaces"),
    ONE_LINE_PATTERN: N_("must be a single line without control characters"),
    TEXT_PATTERN: N_("must not contain control characters"),
    LABEL_PATTERN: N_("must be one path segment: no '/', no leading space, no control "
                      "characters, not '.' or '..'"),
}
_ONE_LINE_FORBIDDEN = re.compile(rf"[{_LINE_CONTROLS}]")


def has_control_characters(value: str) -> bool:
    return _ONE_LINE_FORBIDDEN.search(value) is not None


OneLine = Annotated[str, Field(pattern=ONE_LINE_PATTERN)]
MultiLine = Annotated[str, Field(pattern=TEXT_PATTERN)]
RequiredLine = Annotated[str, Field(pattern=REQUIRED_LINE_PATTERN)]
RequiredText = Annotated[str, Field(pattern=REQUIRED_TEXT_PATTERN)]
NonBlank = Annotated[str, Field(pattern=NON_BLANK_PATTERN)]


NOT_NULL: JsonDict = {"not": {"type": "null"}}


def when(field: str, value: str, required: list[str],
         otherwise_null: list[str] | None = None) -> JsonDict:
    """JSON Schema for a rule a model validator enforces: when `field` is `value`, these fields
    must be given (not null); otherwise those must be left out or null. Published in the
    OpenAPI schema so clients (and generated tests) see the rule."""
    rule: JsonDict = {
        "if": {"properties": {field: {"const": value}}, "required": [field]},
        "then": {"required": list(required),
                 "properties": {name: NOT_NULL for name in required}},
    }
    if otherwise_null:
        rule["else"] = {"properties": {name: {"type": "null"} for name in otherwise_null}}
    return rule
