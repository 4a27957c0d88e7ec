"""The staff sign-in and API-key pages in a real browser (Debian's chromium via Playwright)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support import TLS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


@pytest.fixture
def page(org_a, server) -> Iterator[object]:
    """A fresh browser page. It needs `org_a` first: while Playwright's sync API runs, the
    thread has an event loop, so fixtures that use asyncio.run must be set up before it."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); "
                    "browser tests never download a browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=server.url)
            context.set_default_timeout(15_000)
            yield context.new_page()
            context.close()
        finally:
            browser.close()


def test_sign_in_create_a_key_and_sign_out(page, server, org_a):
    from playwright.sync_api import expect

    page.goto("/signin")
    expect(page.get_by_role("heading", name="Provider sign-in")).to_be_visible()

    page.get_by_label("Email").click()
    page.keyboard.type(org_a.admin_email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(org_a.admin_password)
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{server.url}/dashboard")
    expect(page.get_by_role("heading", level=1)).to_have_text("Org org-a")
    expect(page.get_by_text(f"Signed in as {org_a.admin_email} (admin)")).to_be_visible()
    # Neither the session nor the CSRF cookie is readable from scripts.
    cookies = page.evaluate("document.cookie")
    assert "rr_session" not in cookies and "rr_csrf" not in cookies
    assert any(c["name"] == "rr_session" and c["httpOnly"]
               for c in page.context.cookies())

    page.get_by_role("link", name="API keys").click()
    expect(page).to_have_url(f"{server.url}/dashboard/api-keys")
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    page.get_by_label("Name").click()
    page.keyboard.type("browser-made key")
    page.get_by_label("Role").select_option("reviewer")
    page.get_by_role("button", name="Create key").click()

    new_key = page.locator("#new-key")
    expect(new_key).to_have_text(re.compile(r"^rr_[a-z0-9]{10}_\S+$"))
    key = new_key.inner_text()
    expect(page.get_by_role("cell", name="browser-made key", exact=True)).to_be_visible()
    with httpx.Client(verify=TLS, base_url=server.url, headers={"Authorization": f"Bearer {key}"},
                      timeout=30) as c:
        me = c.get("/v1/me")
        assert me.status_code == 200
        assert me.json()["role"] == "reviewer"
        assert me.json()["organization"]["slug"] == "org-a"

    # Shown once: coming back to the page does not show it again.
    page.goto("/dashboard/api-keys")
    expect(page.locator("#new-key")).to_have_count(0)
    assert key not in page.content()

    page.get_by_role("button", name="Revoke key browser-made key").click()
    expect(page).to_have_url(f"{server.url}/dashboard/api-keys")
    expect(page.get_by_role("button", name="Revoke key browser-made key")).to_have_count(0)
    with httpx.Client(verify=TLS, base_url=server.url, headers={"Authorization": f"Bearer {key}"},
                      timeout=30) as c:
        assert c.get("/v1/me").status_code == 401

    page.get_by_role("button", name=re.compile(r"^Sign out")).click()
    expect(page).to_have_url(f"{server.url}/signin")
    assert not any(c["name"] == "rr_session" for c in page.context.cookies())
    page.goto("/dashboard")
    expect(page).to_have_url(f"{server.url}/signin")


def test_wrong_password_in_the_browser_keeps_the_email(page, server, org_a):
    from playwright.sync_api import expect

    page.goto("/signin")
    page.get_by_label("Email").click()
    page.keyboard.type(org_a.admin_email)
    page.get_by_label("Password").click()
    page.keyboard.type("not the password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Email")).to_have_value(org_a.admin_email)
    expect(page.get_by_label("Password")).to_have_value("")
    page.goto("/dashboard")
    expect(page).to_have_url(f"{server.url}/signin")
