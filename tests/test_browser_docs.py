"""The API reference works with no outside network (Debian's chromium via Playwright): every
request that leaves the service's own origin is aborted, and /docs still lists the operations
and /redoc still renders them, with no Content-Security-Policy violation."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.test_browser_signin import page  # noqa: F401 (the fixture)

pytestmark = pytest.mark.browser


def _offline(page, server) -> tuple[list[str], list[str]]:  # noqa: F811
    """Block everything but the service itself; return (blocked URLs, CSP violations)."""
    own = urlsplit(server.url).netloc
    blocked: list[str] = []
    violations: list[str] = []

    def route(r) -> None:
        if urlsplit(r.request.url).netloc == own or r.request.url.startswith(("blob:", "data:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.context.route("**/*", route)
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    return blocked, violations


def test_swagger_ui_lists_the_operations_offline(page, server):  # noqa: F811
    from playwright.sync_api import expect

    blocked, violations = _offline(page, server)
    page.goto("/docs")
    # Swagger UI lays out the whole spec before the first operation shows: seconds on a busy
    # machine (CI runs two test workers on two cores).
    expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
    # Every path of the spec is listed, e.g. the intake and the case queue.
    expect(page.locator(".opblock-summary-path", has_text="/v1/cases").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/v1/public/requests").first
           ).to_be_visible()
    assert page.locator(".opblock").count() > 50
    assert blocked == [] and violations == []


def test_redoc_renders_the_reference_offline(page, server):  # noqa: F811
    from playwright.sync_api import expect

    blocked, violations = _offline(page, server)
    page.goto("/redoc")
    expect(page.locator(".api-content h1").first).to_have_text(re.compile(r"^Rights Relay"),
                                                                timeout=30_000)
    expect(page.get_by_role("menuitem").first).to_be_visible()
    assert blocked == []
    # ReDoc's bundle points its "powered by" logo at its CDN; the page's policy refuses it, and
    # that refusal is the only one allowed.
    assert all("Loading the image 'https://cdn.redoc.ly/" in v for v in violations), violations
