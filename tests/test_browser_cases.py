"""End to end in a real browser (Debian's chromium via Playwright): a request filed through the
public JSON API and confirmed by the emailed link is worked to closure on the dashboard, while
the pipeline reports through the API and the subject follows on their status page."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator

import pytest

from tests.casework import PROMPTS, SUBJECT_EMAIL, events, file_and_confirm, model_with_version
from tests.mail import body
from tests.test_browser_signin import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser


@pytest.fixture
def chat(org_a) -> str:
    return model_with_version(org_a)


@pytest.fixture
def page(org_a, chat, server) -> Iterator[object]:
    """Set up after every fixture that runs asyncio (see test_browser_signin)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); "
                    "browser tests never download a browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=server.url, accept_downloads=True)
            context.set_default_timeout(15_000)
            yield context.new_page()
            context.close()
        finally:
            browser.close()


def test_a_request_from_confirmation_to_closure_on_the_dashboard(
        page, server, client, mailbox, org_a, chat, settings):
    from playwright.sync_api import expect

    # The subject files through the public JSON API and confirms with the emailed link.
    [ref], status_link = file_and_confirm(client, mailbox, [chat], prompts=PROMPTS)

    # Staff sign in and find the case in the queue.
    page.goto("/signin")
    page.get_by_label("Email").fill(org_a.admin_email)
    page.get_by_label("Password").fill(org_a.admin_password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Cases", exact=True).click()
    expect(page.get_by_role("heading", name="Cases", level=1)).to_be_visible()
    page.get_by_role("link", name=ref).click()
    expect(page.get_by_role("heading", name=f"Case {ref}")).to_be_visible()
    expect(page.locator("#subject")).to_contain_text("Jane Doe")
    expect(page.locator("#subject")).to_contain_text(PROMPTS[1])

    page.get_by_role("button", name="Start review").click()
    expect(page.get_by_role("status")).to_have_text("Review started.")
    page.get_by_label("Assign to").select_option(org_a.admin_email)
    page.get_by_role("button", name="Save assignment").click()
    expect(page.locator("#assignee")).to_contain_text(org_a.admin_email)

    page.get_by_label("Question, shown on their status page").fill("Which city is concerned?")
    page.get_by_role("button", name="Send the question").click()
    expect(page.locator("#status")).to_have_text("Waiting for the person's answer")
    mailbox.wait_for(SUBJECT_EMAIL, "More information")

    # The subject answers on their status page.
    page.goto(status_link)
    expect(page.get_by_text("Which city is concerned?")).to_be_visible()
    page.get_by_label("Your answer").fill("Lyon, France.")
    page.get_by_role("button", name="Send my answer").click()
    expect(page.locator("#state")).to_have_text("Under review")

    page.goto(f"/dashboard/cases/{ref}")
    expect(page.locator("#messages")).to_contain_text("Lyon, France.")
    page.get_by_label("Accept").check()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("status")).to_contain_text("Decision recorded")
    mailbox.wait_for(SUBJECT_EMAIL, "is accepted")

    # Plan the remediation from the accepted case.
    page.get_by_role("link", name="Remediations", exact=True).click()
    page.get_by_role("link", name="Plan a remediation").click()
    page.get_by_label("Model to fix").select_option(chat)
    page.get_by_role("button", name="Show its accepted cases").click()
    expect(page.get_by_label(re.compile(ref))).to_be_checked()
    page.get_by_label("Method").select_option("unlearning")
    page.get_by_role("button", name="Plan the remediation").click()
    expect(page.locator("#status")).to_have_text("planned")
    remediation_url = page.url
    rid = remediation_url.rsplit("/", 1)[1]

    # The training pipeline reports through the API; the dashboard shows the progress bar.
    pipeline = org_a.client("pipeline")
    assert pipeline.post(f"/v1/remediations/{rid}/report",
                         json={"status": "running", "progress": 60}).status_code == 200
    page.reload()
    expect(page.locator("#progress")).to_have_attribute("value", "60")
    expect(page.locator("#progress-text")).to_have_text("60%")
    r = pipeline.post(f"/v1/remediations/{rid}/report", json={
        "status": "succeeded", "version": {
            "label": "v2", "revision": "rev-v2",
            "digests": [{"file": "model.safetensors", "sha256": "d" * 64}]}})
    assert r.status_code == 200, r.text
    page.reload()
    expect(page.locator("#progress-text")).to_have_text("100%")
    expect(page.locator("#version")).to_contain_text("v2")
    mailbox.wait_for(SUBJECT_EMAIL, "fixed version")

    # Close with the result of each probe prompt run against the fixed version.
    page.get_by_role("link", name=ref).click()
    expect(page.locator("#status")).to_have_text("Fixed")
    for i in range(len(PROMPTS)):
        probe = page.get_by_role("group", name=re.compile(f"^Probe prompt {i + 1}:"))
        probe.get_by_label("The data is no longer reproduced").check()
        probe.get_by_label("What the fixed version answered").fill(f"No such data ({i}).")
    page.get_by_role("button", name="Close the case").click()
    expect(page.get_by_role("status")).to_contain_text("Case closed")
    expect(page.locator("#closure")).to_contain_text("rev-v2")
    expect(page.locator("#closure")).to_contain_text("d" * 64)
    expect(page.locator("#closure")).to_contain_text("No such data (1).")
    closed = body(mailbox.wait_for(SUBJECT_EMAIL, "is closed"))
    assert "acme/chat v2 (revision rev-v2)" in closed

    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("Download the case record")).click()
    record = json.loads(open(download.value.path()).read())  # noqa: SIM115
    assert record["record"]["status"] == "closed"
    assert record["audit_chain"]["intact"] is True
    assert [p["result"] for p in record["record"]["closure"]["probes"]] == \
        ["No such data (0).", "No such data (1)."]

    # The subject sees the outcome.
    page.goto(status_link)
    expect(page.locator("#state")).to_have_text("Closed")
    expect(page.locator("#decision")).to_contain_text("Your request was accepted")
    expect(page.locator("#fixed")).to_contain_text("v2")
    expect(page.locator("#closed")).to_contain_text("Your request was closed on")

    assert [e["type"] for e in events(settings)][-4:] == [
        "remediation.planned", "model.version.released", "model.version.superseded",
        "remediation.completed"]
