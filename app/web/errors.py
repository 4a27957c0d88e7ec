"""Friendly HTML error pages for browsers; the API keeps its JSON errors."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

API_PREFIXES = ("/v1", "/healthz", "/readyz", "/metrics", "/.well-known", "/openapi.json")

TITLES = {
    400: "That request could not be understood",
    401: "Please sign in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    409: "That cannot be done now",
    413: "Too much data",
    422: "Some information was not valid",
    429: "Too many attempts",
    500: "Something went wrong",
}


def wants_html(request: Request) -> bool:
    if request.url.path.startswith(API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def html_error_response(
    request: Request, status_code: int, message: str, headers: dict[str, str] | None = None
) -> HTMLResponse:
    from app.web.templating import render

    title = TITLES.get(status_code, "Something went wrong")
    return render(request, "error.html", {"title": title, "message": message},
                  status_code=status_code, headers=headers)
