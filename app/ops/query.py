"""Unknown query parameters on the API are an error, not silently ignored: `?stauts=open`
would otherwise return an unfiltered list that looks like an answer."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute


def _names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _names(sub)
    return names


def _declared(route: APIRoute) -> frozenset[str]:
    # Worked out once per route and kept on it (routes are not hashable).
    known: frozenset[str] | None = getattr(route, "_rr_query_names", None)
    if known is None:
        known = frozenset(_names(route.dependant))
        route._rr_query_names = known  # type: ignore[attr-defined]
    return known


async def reject_unknown_query_params(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.url.path.startswith("/v1/"):
        return
    known = _declared(route)
    unknown = [k for k in dict.fromkeys(request.query_params.keys()) if k not in known]
    if unknown:
        raise RequestValidationError([
            {"type": "extra_forbidden", "loc": ("query", name),
             "msg": "unknown query parameter", "input": None} for name in unknown])
