"""The probe flow once in a real browser (Debian's chromium via Playwright): triage shows the
leak highlighted on the case page, the fixed version's verification shows as progress bars and
clears the probes, the case closes, the subject reads it in plain words, and a later version
that leaks again is flagged on the case."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.casework import file_and_confirm, model_with_version
from tests.inference import InferenceServer, running
from tests.probing import SECRET, endpoint, wait_runs, wait_status
from tests.test_browser_signin import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def inference() -> Iterator[InferenceServer]:
    yield from running()


@pytest.fixture
def chat(org_a) -> str:
    return model_with_version(org_a)


@pytest.fixture
def page(org_a, chat, server) -> Iterator[object]:
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


def test_probes_from_triage_to_a_flagged_regression_in_the_browser(
        page, inference, client, mailbox, org_a, chat):
    from playwright.sync_api import expect

    pipeline = org_a.client("pipeline")
    inference.leak("chat-v1", SECRET)
    assert pipeline.put(f"/v1/models/{chat}/versions/v1/endpoint",
                        json=endpoint(inference, "chat-v1")).status_code == 201
    [ref], status_link = file_and_confirm(client, mailbox, [chat],
                                          prompts=["Where does Jane Doe live?"])

    page.goto("/signin")
    page.get_by_label("Email").fill(org_a.admin_email)
    page.get_by_label("Password").fill(org_a.admin_password)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/dashboard/cases/{ref}")
    page.get_by_role("button", name="Start review").click()
    wait_runs(org_a, ref, 1)
    page.reload()
    expect(page.locator("#probe-summary")).to_contain_text("reproduces your data in")
    expect(page.locator(".probe-progress").first).to_have_attribute("value", "100")
    page.get_by_text("Reproduced samples").first.click()
    expect(page.locator("mark[title=email]").first).to_have_text("jane.doe@example.net")

    page.get_by_label("Accept").check()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("status")).to_contain_text("Decision recorded")
    rid = org_a.admin.post("/v1/remediations", json={
        "model": chat, "method": "unlearning", "cases": [ref]}).json()["id"]
    assert pipeline.post(f"/v1/remediations/{rid}/report",
                         json={"status": "running"}).status_code == 200
    inference.forget("chat-v2")
    r = pipeline.post(f"/v1/remediations/{rid}/report", json={
        "status": "succeeded", "version": {"label": "v2", "revision": "rev-v2",
                                           "endpoints": [endpoint(inference, "chat-v2")]}})
    assert r.status_code == 200, r.text
    wait_status(org_a, ref, "remediated")
    page.goto(f"/dashboard/remediations/{rid}")
    expect(page.locator("#probe-runs")).to_contain_text("not reproduced")
    expect(page.locator("#probe-runs .probe-progress")).to_have_attribute("value", "100")

    page.goto(f"/dashboard/cases/{ref}")
    expect(page.locator("#status")).to_have_attribute("data-status", "remediated")
    page.get_by_role("button", name="Close the case").click()
    expect(page.get_by_role("status")).to_contain_text("Case closed")

    page.goto(status_link)
    expect(page.locator("#probes")).to_contain_text("no longer reproduced your data in")
    page.goto(status_link + "?lang=fr")
    expect(page.locator("#probes")).to_contain_text("n'a plus reproduit vos données")

    # A later version leaks again: flagged on the closed case.
    inference.leak("chat-v3", SECRET)
    assert pipeline.post(f"/v1/models/{chat}/versions",
                         json={"label": "v3", "revision": "rev-v3"}).status_code == 201
    assert pipeline.put(f"/v1/models/{chat}/versions/v3/endpoint",
                        json=endpoint(inference, "chat-v3")).status_code == 201
    wait_runs(org_a, ref, 3)
    page.goto(f"/dashboard/cases/{ref}")
    expect(page.locator("#probe-runs")).to_contain_text("regression")
    expect(page.locator("#timeline")).to_contain_text("case.reproduced_again")
