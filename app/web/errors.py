"""Friendly HTML error pages for browsers; the API keeps its JSON errors.

`install_html_errors` registers them with the error mapping of app/errors.py (which stays
below the web layer and never imports it)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.i18n import N_, gettext
from app.web.deps import SignInRequired

API_PREFIXES = ("/v1", "/healthz", "/readyz", "/metrics", "/.well-known", "/openapi.json")

TITLES = {
    400: N_("That request could not be understood"),
    401: N_("Please sign in"),
    403: N_("Not allowed"),
    404: N_("Page not found"),
    405: N_("Not allowed"),
    409: N_("That cannot be done now"),
    413: N_("Too much data"),
    422: N_("Some information was not valid"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong"),
}
# Messages that reach error pages from below the web layer (app/errors.py, Starlette).
N_("Some of the information sent was not valid.")
N_("Something went wrong on our side.")
N_("Not Found")
N_("Method Not Allowed")


def wants_html(request: Request) -> bool:
    if request.url.path.startswith(API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def html_error_response(
    request: Request, status_code: int, message: str, headers: dict[str, str] | None = None
) -> HTMLResponse:
    from app.web.templating import render

    title = gettext(TITLES.get(status_code, TITLES[500]))
    # A message marked with N_ where it was raised reads in the page's language; another one
    # (an API message) keeps its English words, marked as such (lang="en" in error.html).
    translated = gettext(message)
    return render(request, "error.html", {"title": title, "message": translated,
                                          "message_lang": None if translated != message else "en"},
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
