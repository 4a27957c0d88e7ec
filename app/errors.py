"""Domain errors raised by services, mapped to HTTP in one place."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

log = logging.getLogger(__name__)


class FieldError(BaseModel):
    field: str
    location: str
    message: str


class ErrorRead(BaseModel):
    """The one shape of every API error."""

    error: str
    detail: str
    fields: list[FieldError] | None = None


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class BadRequest(DomainError):
    pass


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class TooManyRequests(DomainError):
    status_code = 429
    code = "rate_limited"


class InvalidCursor(DomainError):
    """A pagination cursor that is not exactly one this service handed out."""

    status_code = 422
    code = "invalid_cursor"

    def __init__(self) -> None:
        super().__init__("cursor: not a cursor this list gave out; start again without it")
        self.fields = [FieldError(field="cursor", location="query",
                                  message="not a cursor this list gave out")]


class InvalidInput(DomainError):
    """Input that passed the schema but breaks a rule checked in a service; names the fields."""

    status_code = 422
    code = "validation_error"

    def __init__(self, fields: list[FieldError]) -> None:
        super().__init__("; ".join(f"{f.field}: {f.message}" for f in fields) or "invalid input")
        self.fields = fields

    @classmethod
    def field(cls, name: str, message: str) -> InvalidInput:
        return cls([FieldError(field=name, location="body", message=message)])


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def error_response(
    status: int, code: str, detail: str, fields: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorRead(error=code, detail=detail, fields=fields)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> tuple[str, str]:
    location = str(loc[0]) if loc else "body"
    rest = [str(p) for p in loc[1:]]
    return ".".join(rest) or location, location


def validation_fields(exc: RequestValidationError) -> list[FieldError]:
    from app.text import PATTERN_MESSAGES

    fields = []
    for err in exc.errors():
        name, location = _field_name(tuple(err.get("loc", ())))
        # The message never echoes the input: it may be a data subject's personal data.
        message = str(err.get("msg", ""))
        if err.get("type") == "string_pattern_mismatch":
            # Say what the rule is, not the regular expression.
            message = PATTERN_MESSAGES.get(str((err.get("ctx") or {}).get("pattern")), message)
        fields.append(FieldError(field=name, location=location, message=message))
    return fields


def _route_table(request: Request) -> list[tuple[str, Any, set[str]]]:
    """(template, compiled regex, methods) of every route, worked out once per app."""
    table: list[tuple[str, Any, set[str]]] | None = getattr(request.app.state, "route_table",
                                                            None)
    if table is None:
        table = []
        for ctx in iter_route_contexts(request.app.routes):
            if ctx.path and ctx.methods:
                regex, _, _ = compile_path(ctx.path)
                table.append((ctx.path, regex, set(ctx.methods)))
        request.app.state.route_table = table
    return table


def _path_routes(request: Request) -> list[tuple[str, Any, set[str]]]:
    """The routes serving this path, whatever the method. A literal path (`/deliveries/replay`)
    wins over a template that also matches it (`/deliveries/{delivery_id}`)."""
    path = request.url.path
    routes = [r for r in _route_table(request) if r[1].match(path)]
    literal = [r for r in routes if r[0] == path]
    return literal or routes


def allowed_methods(request: Request) -> str:
    """Every method served at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for _, _, route_methods in _path_routes(request):
        methods |= route_methods
    return ", ".join(sorted(methods))


def _method_not_allowed_here(request: Request) -> bool:
    """A literal path served with other methods only, that a template route caught."""
    literal = [r for r in _path_routes(request) if r[0] == request.url.path]
    return bool(literal) and not any(request.method in r[2] for r in literal)


# The web layer (app/web/errors.py) registers how browsers get errors, as
# `app.state.html_errors(request, status, message, headers)`: a page, or None for JSON. Kept as
# a hook so this module, at the bottom of the stack, imports nothing from the pages above it.
HtmlErrors = Callable[[Request, int, str, "dict[str, str] | None"], "Response | None"]


def _html(request: Request, status: int, message: str,
          headers: dict[str, str] | None = None) -> Response | None:
    render: HtmlErrors | None = getattr(request.app.state, "html_errors", None)
    return render(request, status, message, headers) if render is not None else None


def install_error_handlers(app: FastAPI) -> None:
    async def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if (page := _html(request, exc.status_code, exc.detail, exc.headers)) is not None:
            return page
        return error_response(exc.status_code, exc.code, exc.detail,
                              getattr(exc, "fields", None), headers=exc.headers)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if _method_not_allowed_here(request):
            # GET /v1/deliveries/replay is not delivery "replay": the path takes POST only.
            return error_response(405, "method_not_allowed", "Method Not Allowed",
                                  headers={"Allow": allowed_methods(request)})
        fields = validation_fields(exc)
        detail = "; ".join(f"{f.field}: {f.message}" for f in fields) or "invalid input"
        if (page := _html(request, 422, "Some of the information sent was not valid.")) is not None:
            return page
        return error_response(422, "validation_error", detail, fields)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        if (page := _html(request, exc.status_code, detail, headers)) is not None:
            return page
        return error_response(exc.status_code, code, detail, headers=headers)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        # Logged with the route only: the exception text may carry request data.
        route = getattr(request.scope.get("route"), "path", "?")
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, route,
                  exc_info=exc)
        if (page := _html(request, 500, "Something went wrong on our side.")) is not None:
            return page
        return error_response(500, "internal_error", "internal error")

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
