"""Two-factor sign-in in a real browser (Debian's chromium via Playwright): enrolment, sign-in
with a code, recovery with a one-time code, the throttling message; and no page breaks the
Content-Security-Policy, nor leaks a status link's token through the Referer header."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest

from app import clock as service_clock
from tests.subjects import file_and_confirm, open_model
from tests.test_browser_signin import page  # noqa: F401 (the fixture)

pytestmark = pytest.mark.browser


def _code(secret: str) -> str:
    return pyotp.TOTP(secret).at(service_clock.now())


def _csp_violations(page) -> list[str]:  # noqa: F811
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text)
            if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text else None)
    return found


def _sign_in(page, email: str, password: str) -> None:  # noqa: F811
    page.goto("/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_enrol_sign_in_with_a_code_then_recover_with_a_one_time_code(page, server, org_a,  # noqa: F811
                                                                      clock):
    from playwright.sync_api import expect

    violations = _csp_violations(page)
    _sign_in(page, org_a.admin_email, org_a.admin_password)
    expect(page).to_have_url(f"{server.url}/dashboard")
    page.get_by_role("link", name="Security").click()
    expect(page.locator("#totp-status")).to_have_text("Two-factor sign-in is off.")
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    secret = page.locator("#totp-secret").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    expect(page.locator("#totp-uri")).to_have_attribute("href", re.compile(r"^otpauth://totp/"))
    page.get_by_label("The 6-digit code the app shows").fill("123456" if _code(secret) != "123456"
                                                             else "654321")
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("alert")).to_contain_text("That code did not work")
    page.get_by_label("The 6-digit code the app shows").fill(_code(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.locator("#recovery")).to_contain_text("Two-factor sign-in is on.")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("button", name=re.compile(r"^Sign out")).click()
    expect(page).to_have_url(f"{server.url}/signin")

    # Sign in: password, then the code of the next 30-second step.
    clock.advance(timedelta(seconds=30))
    _sign_in(page, org_a.admin_email, org_a.admin_password)
    expect(page).to_have_url(f"{server.url}/signin/code")
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    page.get_by_label(re.compile("Code from your authenticator")).fill(_code(secret))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{server.url}/dashboard")
    page.get_by_role("button", name=re.compile(r"^Sign out")).click()

    # Lost the phone: a recovery code, once.
    _sign_in(page, org_a.admin_email, org_a.admin_password)
    page.get_by_label(re.compile("Code from your authenticator")).fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{server.url}/dashboard")
    page.get_by_role("link", name="Security").click()
    expect(page.locator("#totp-status")).to_contain_text("9 unused recovery codes")
    page.get_by_role("button", name=re.compile(r"^Sign out")).click()
    _sign_in(page, org_a.admin_email, org_a.admin_password)
    page.get_by_label(re.compile("Code from your authenticator")).fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("That code did not work")
    assert violations == []


def test_the_browser_shows_how_long_to_wait_after_failed_sign_ins(page, server, org_a):  # noqa: F811
    from playwright.sync_api import expect

    for _ in range(5):
        _sign_in(page, org_a.admin_email, "not the password")
        expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    _sign_in(page, org_a.admin_email, org_a.admin_password)
    expect(page.get_by_role("alert")).to_contain_text(re.compile(
        r"Too many failed sign-ins for this account\. Please wait (2\d|30) seconds"))
    expect(page).to_have_url(f"{server.url}/signin")


def test_a_status_page_keeps_its_token_out_of_the_referer(page, server, org_a, client,  # noqa: F811
                                                         mailbox):
    from playwright.sync_api import expect

    violations = _csp_violations(page)
    open_model(org_a, "acme/chat")
    refs = file_and_confirm(client, mailbox, ["acme/chat"])
    token = next(iter(refs.values()))
    page.goto(f"/r/status/{token}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    with page.expect_request(re.compile(r".*/docs$")) as request:
        page.get_by_role("link", name="API documentation").click()
    referer = request.value.headers.get("referer") or ""
    assert token not in referer
    assert page.evaluate("document.referrer") == ""
    assert violations == []
