"""The spec tells the truth: every status an operation can return is in the committed OpenAPI
document. Worked out from the app itself (its routes, their parameters and dependencies), so a
new operation cannot be left out."""

from __future__ import annotations

import json

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import SecretStr

from app.config import Settings
from app.main import create_app


def _calls(dependant: Dependant) -> set[str]:
    names = {getattr(dependant.call, "__name__", "")}
    for sub in dependant.dependencies:
        names |= _calls(sub)
    return names


def test_every_status_an_operation_can_return_is_documented(repo_root):
    spec = json.loads((repo_root / "openapi" / "openapi.json").read_text())
    app = create_app(Settings(secret_key=SecretStr("spec-test"), environment="test"))
    missing = []
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        calls = _calls(route.dependant)
        for method in route.methods:
            documented = set(spec["paths"][route.path][method.lower()]["responses"])
            # Any request: the host check and unreadable input (400), the body limit (413),
            # validation and invalid cursors (422).
            needed = {"400", "413", "422"}
            if route.dependant.path_params:
                needed.add("404")  # a reference valid by schema but unknown
            if "get_principal" in calls:
                needed |= {"401", "403"} if "dependency" in calls else {"401"}
            if any(c.startswith("limit_") for c in calls):
                needed.add("429")
            if method != "GET" and route.path.startswith(("/v1/cases", "/v1/models",
                                                          "/v1/remediations", "/v1/users")):
                needed.add("409")  # a state or a name that forbids it
            if needed - documented:
                missing.append(f"{method} {route.path}: {sorted(needed - documented)}")
    assert missing == []
