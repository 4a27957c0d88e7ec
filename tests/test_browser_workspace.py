"""The staff workspace in a real browser (Debian's chromium via Playwright), on a desktop
(1280 px) and a phone (390 px): the overview, the queue with its search and bulk panel, a case
and a remediation. No page may scroll sideways, and the navigation stays reachable."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.casework import PROMPTS, model_with_version, seed_cases
from tests.test_browser_signin import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def seeded(org_a, settings) -> list[str]:
    chat = model_with_version(org_a)
    now = datetime.now(UTC)
    return [ref for ref, _ in seed_cases(settings, [
        {"models": [chat], "received_at": now - timedelta(days=40), "prompts": PROMPTS},
        {"models": [chat], "status": "in_review", "email": "b@example.org"},
        {"models": [chat], "status": "accepted", "email": "c@example.org",
         "received_at": now - timedelta(days=27)},
        {"models": [chat], "status": "rejected", "email": "d@example.org"}])]


@pytest.fixture(params=[1280, 390], ids=["desktop", "phone"])
def page(request, seeded, server) -> Iterator[object]:
    """Set up after every fixture that runs asyncio (see test_browser_signin)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); "
                    "browser tests never download a browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=server.url,
                                          viewport={"width": request.param, "height": 844})
            context.set_default_timeout(15_000)
            yield context.new_page()
            context.close()
        finally:
            browser.close()


WIDE = """[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right >
    window.innerWidth + 0.5).slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)"""


def no_sideways_scroll(page) -> None:
    assert page.evaluate(NO_SIDEWAYS_SCROLL), (page.url, page.evaluate(WIDE))


def test_the_staff_workspace_at_desktop_and_phone_widths(page, org_a, seeded):
    from playwright.sync_api import expect

    overdue, in_review, accepted, rejected = seeded
    errors: list[str] = []
    # Script errors and CSP refusals; a form answered 422 is expected, not an error.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and "Failed to load resource" not in m.text else None)

    page.goto("/signin")
    no_sideways_scroll(page)
    page.get_by_label("Email").fill(org_a.admin_email)
    page.get_by_label("Password").fill(org_a.admin_password)
    page.get_by_role("button", name="Sign in").click()

    # The overview: counts in words, the overdue list, charts drawn without JavaScript.
    expect(page.locator("#status-counts")).to_contain_text("In review")
    expect(page.locator("#overdue")).to_contain_text(overdue)
    expect(page.locator("#due-this-week")).to_contain_text(accepted)
    for chart in ("#chart-answered", "#chart-median", "#chart-on-time"):
        expect(page.locator(chart)).to_be_visible()
    assert page.locator("#chart-answered rect").count() == 1  # this month's two answers
    no_sideways_scroll(page)
    page.locator("#overdue").get_by_role("link", name=overdue).click()
    expect(page.get_by_role("heading", name=f"Case {overdue}")).to_be_visible()
    no_sideways_scroll(page)

    # Every navigation link is on screen and can be used, at either width.
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Dashboard", "Propagation", "Cases", "Remediations", "API keys", "Security"):
        link = nav.get_by_role("link", name=name, exact=True)
        expect(link).to_be_visible()
        assert link.bounding_box()["x"] + link.bounding_box()["width"] <= \
            page.viewport_size["width"]
    nav.get_by_role("link", name="Cases", exact=True).click()

    # The queue: the total, search by reference, words for statuses, the bulk panel.
    expect(page.locator("#total")).to_have_text(re.compile(r"^4 cases"))
    no_sideways_scroll(page)
    page.get_by_label("Case reference").fill(in_review.split("-", 1)[1].lower())
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#total")).to_contain_text("1 case")
    expect(page.locator("#queue")).to_contain_text("In review")
    bulk = page.locator("#bulk-panel")
    expect(bulk.get_by_label("Ground (for “Reject”)")).to_be_hidden()
    expect(bulk.get_by_label("Assign to (for “Assign to someone”)")).to_be_hidden()
    bulk.get_by_label("Reject", exact=True).check()
    expect(bulk.get_by_label("Ground (for “Reject”)")).to_be_visible()
    expect(bulk.get_by_label("Assign to (for “Assign to someone”)")).to_be_hidden()
    bulk.get_by_label("Assign to someone", exact=True).check()
    expect(bulk.get_by_label("Ground (for “Reject”)")).to_be_hidden()
    bulk.get_by_label("Assign to (for “Assign to someone”)").select_option(org_a.admin_email)
    page.get_by_label(f"Select {in_review}").check()
    page.get_by_role("button", name="Apply to the selected cases").click()
    expect(page.locator("#bulk-results")).to_contain_text("Done")
    no_sideways_scroll(page)

    # A case: only what its status allows; a wrong answer is explained next to the field.
    page.goto(f"/dashboard/cases/{in_review}")
    expect(page.locator("#status")).to_have_text("In review")
    expect(page.get_by_role("button", name="Start review")).to_have_count(0)
    page.get_by_label("Reject", exact=True).check()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator("#explanation-error")).to_have_text(
        "Explain the rejection to the subject.")
    expect(page.get_by_label("Explanation for the subject (required to reject)")).to_have_attribute(
        "aria-invalid", "true")
    expect(page.locator("#timeline li").first).to_contain_text("Request received")
    no_sideways_scroll(page)

    # The accepted case leads to planning its remediation, which shows the pipeline's command.
    page.goto(f"/dashboard/cases/{accepted}")
    page.get_by_role("link", name="Plan a remediation of acme/chat for this case").click()
    expect(page.get_by_label(re.compile(accepted))).to_be_checked()
    page.get_by_role("button", name="Plan the remediation").click()
    rid = page.url.rsplit("/", 1)[1]
    expect(page.locator("#remediation-id")).to_have_text(rid)
    expect(page.locator("#report-command")).to_contain_text(f"/v1/remediations/{rid}/report")
    # The copy button is added by a static script, allowed by the strict policy.
    expect(page.get_by_role("button", name="Copy", exact=True).first).to_be_visible()
    no_sideways_scroll(page)

    page.goto(f"/dashboard/cases/{rejected}")
    expect(page.get_by_role("button", name="Close the case")).to_be_visible()
    no_sideways_scroll(page)
    assert errors == []  # no CSP violation or script error on any page
