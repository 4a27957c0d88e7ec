"""Following a model in a real browser (Debian's chromium via Playwright), keyboard only where
a person would type: sign up, confirm from the email, send a test event from the page."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator

import pytest

from tests.mail import body
from tests.propagation import model
from tests.test_browser_signin import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser


@pytest.fixture
def page(org_a, server) -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    model(org_a, "acme/chat")  # before Playwright's loop exists (see test_browser_signin)
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


def test_subscribe_confirm_and_test_an_endpoint(page, server, mailbox, receiver):
    from playwright.sync_api import expect

    page.goto("/")
    page.get_by_role("link", name="Follow models").click()
    expect(page.get_by_role("heading", name="Follow models")).to_be_visible()

    page.get_by_role("button", name="Subscribe").click()  # empty: every problem is named
    expect(page.get_by_role("alert")).to_contain_text("Choose at least one model")
    expect(page.get_by_label("Your organisation's name")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Your organisation's name").click()
    page.keyboard.type("Browser Re-user")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Contact email")).to_be_focused()
    page.keyboard.type("browser@re.example")
    page.get_by_label(re.compile("acme/chat")).check()
    page.get_by_label("Webhook URLs (optional)").fill(receiver.url("/browser"))
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    link = re.search(r"https?://\S+/s/confirm/\S+",
                     body(mailbox.wait_for("browser@re.example", "Confirm"))).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm my subscription").click()
    expect(page.get_by_role("status").first).to_contain_text("Your subscription is confirmed")
    expect(page.get_by_role("heading", name="Subscription of Browser Re-user")).to_be_visible()

    page.get_by_role("button", name=f"Send a test event to {receiver.url('/browser')}").click()
    expect(page.locator("#notice")).to_contain_text("Test event queued")
    [hit] = receiver.wait_for("/browser")
    assert json.loads(hit.body)["type"] == "endpoint.test"
    page.reload()
    expect(page.get_by_role("cell", name="endpoint.test")).to_be_visible()
