"""SPDX licence expressions, validated and spelled canonically by `license-expression`.

Any SPDX id or expression is accepted (`MIT`, `apache-2.0`, `MIT OR Apache-2.0`,
`GPL-2.0-or-later WITH Classpath-exception-2.0`), and so are the SPDX escape hatches for
licences outside the list, `LicenseRef-...` and `DocumentRef-...:LicenseRef-...`. Anything else
is refused: a typo must not become a model's licence."""

from __future__ import annotations

import re
from functools import cache

from license_expression import Licensing, get_spdx_licensing

from app.errors import BadRequest

LICENSE_REF = re.compile(r"^(DocumentRef-[A-Za-z0-9.-]+:)?(LicenseRef|AdditionRef)-[A-Za-z0-9.-]+$")
MAX_LENGTH = 100


class UnknownLicence(BadRequest):
    """A licence that is not an SPDX expression (400, `bad_request`)."""


@cache
def _licensing() -> Licensing:
    return get_spdx_licensing()


def normalise(expression: str, field: str = "licence") -> str:
    """The canonical spelling of an SPDX expression; UnknownLicence (400) if it is not one."""
    text = expression.strip()
    if not text:
        raise UnknownLicence(f"{field}: give an SPDX licence expression, e.g. MIT or Apache-2.0")
    try:
        parsed = _licensing().parse(text, validate=False)
    except Exception:
        raise UnknownLicence(f"{field}: not a valid SPDX licence expression") from None
    if parsed is None:
        raise UnknownLicence(f"{field}: give an SPDX licence expression, e.g. MIT or Apache-2.0")
    unknown = [k for k in _licensing().unknown_license_keys(parsed) if not LICENSE_REF.match(k)]
    if unknown:  # not named: errors never repeat input
        raise UnknownLicence(f"{field}: unknown SPDX licence id (see https://spdx.org/licenses/;"
                             " use LicenseRef-<name> for a licence outside the list)")
    canonical = str(parsed)
    if len(canonical) > MAX_LENGTH:
        raise UnknownLicence(f"{field}: at most {MAX_LENGTH} characters")
    return canonical
