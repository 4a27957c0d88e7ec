"""Friendly HTML error pages for browsers; the API keeps its JSON errors.

`install_html_errors` registers them with the error mapping of app/errors.py (which stays
below the web layer and never imports it)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.web.deps import SignInRequired

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


def _page_for(request: Request, status_code: int, message: str,
              headers: dict[str, str] | None) -> Response | None:
    return html_error_response(request, status_code, message, headers) \
        if wants_html(request) else None


def install_html_errors(app: FastAPI) -> None:
    """Browsers get pages for errors; dashboard pages without a session go to the sign-in."""

    async def on_sign_in_required(request: Request, exc: Exception) -> Response:
        return RedirectResponse("/signin", status_code=303)

    app.state.html_errors = _page_for
    app.add_exception_handler(SignInRequired, on_sign_in_required)
