"""Sign-in cannot be guessed: failures are throttled per account and per address with growing
waits and a clear message, logged for the organisation's admins; staff enrol TOTP two-factor
with one-time recovery codes; an organisation can require it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pyotp
import pytest

from app import clock as service_clock
from app.auth.throttle import FREE
from tests.support import TLS
from tests.test_web_signin import HTML, csrf_of, sign_in

REVIEWER = {"email": "rita@org-a.example", "name": "Rita", "role": "reviewer",
            "password": "reviewer password 123"}


@pytest.fixture
def web(server) -> Iterator[httpx.Client]:
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as c:
        yield c


def _browser(server, address: str = "198.51.100.1") -> httpx.Client:
    # Each simulated browser has its own address (the test client is the trusted proxy).
    return httpx.Client(verify=TLS, base_url=server.url, timeout=30,
                        headers={**HTML, "x-forwarded-for": address})


def code_at(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(service_clock.now() + timedelta(seconds=30 * offset_steps))


def test_failed_sign_ins_to_an_account_wait_longer_and_longer(server, org_a, clock):
    with _browser(server) as web:
        for _ in range(FREE["account"] - 1):
            assert sign_in(web, org_a.admin_email, "wrong password!").status_code == 401
        r = sign_in(web, org_a.admin_email, "wrong password!")  # the last free one
        assert r.status_code == 401
        # Now even the right password waits: the message says how long.
        r = sign_in(web, org_a.admin_email, org_a.admin_password)
        assert r.status_code == 429
        assert "Too many failed sign-ins for this account" in r.text
        # (Real time passes meanwhile on a busy machine: a few seconds less may be left.)
        assert re.search(r"wait (2\d|30) seconds", r.text)
        assert 20 < int(r.headers["retry-after"]) <= 30
        assert org_a.admin_email in r.text  # the form keeps the email
    # From another address too: the account is throttled, not the address.
    with _browser(server, "198.51.100.2") as other:
        assert sign_in(other, org_a.admin_email, org_a.admin_password).status_code == 429
        clock.advance(timedelta(seconds=31))
        assert sign_in(other, org_a.admin_email, "wrong again!").status_code == 401
        r = sign_in(other, org_a.admin_email, org_a.admin_password)
        assert r.status_code == 429  # and twice as long
        assert 50 < int(r.headers["retry-after"]) <= 60
        clock.advance(timedelta(seconds=61))
        assert sign_in(other, org_a.admin_email, org_a.admin_password).status_code == 303
    # A complete sign-in forgets the account's failures.
    with _browser(server, "198.51.100.3") as third:
        assert sign_in(third, org_a.admin_email, "wrong password!").status_code == 401
        assert sign_in(third, org_a.admin_email, org_a.admin_password).status_code == 303


def test_failed_sign_ins_from_one_address_are_throttled_across_accounts(server, org_a, clock):
    with _browser(server, "203.0.113.66") as web:
        for i in range(FREE["address"]):
            r = sign_in(web, f"guess{i}@org-a.example", "some password")
            assert r.status_code == 401
        r = sign_in(web, org_a.admin_email, org_a.admin_password)
        assert r.status_code == 429 and "your network address" in r.text
    with _browser(server, "203.0.113.67") as elsewhere:
        assert sign_in(elsewhere, org_a.admin_email, org_a.admin_password).status_code == 303


def test_failed_sign_ins_are_logged_for_the_organisations_admins(server, org_a, org_b, web):
    with _browser(server, "192.0.2.44") as attacker:
        sign_in(attacker, org_a.admin_email, "not the password")
        sign_in(attacker, "nobody@org-a.example", "not the password")
    assert sign_in(web, org_a.admin_email, org_a.admin_password).status_code == 303
    page = web.get("/dashboard/security")
    table = page.text[page.text.index('id="failures"'):]
    assert org_a.admin_email in table and "192.0.2.44" in table and "password" in table
    assert "not the password" not in page.text
    # Another organisation's admins see nothing of it.
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as b:
        assert sign_in(b, org_b.admin_email, org_b.admin_password).status_code == 303
        assert "192.0.2.44" not in b.get("/dashboard/security").text


def enrol(web: httpx.Client) -> tuple[str, list[str]]:
    page = web.get("/dashboard/security")
    page = web.post("/dashboard/security/totp", data={"csrf_token": csrf_of(page)})
    assert page.status_code == 200
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text).group(1)
    assert f"secret={secret}" in page.text  # the otpauth:// link
    r = web.post("/dashboard/security/totp/confirm",
                 data={"csrf_token": csrf_of(page), "code": code_at(secret)})
    assert r.status_code == 200, r.text
    codes = re.findall(r"<li><code>([a-z2-7-]{19})</code></li>", r.text)
    assert len(codes) == 10
    return secret, codes


def test_totp_enrolment_sign_in_with_a_code_and_one_time_recovery_codes(server, org_a, web,
                                                                       settings, clock):
    assert sign_in(web, org_a.admin_email, org_a.admin_password).status_code == 303
    secret, codes = enrol(web)
    from tests.casework import sql

    stored = sql(settings, "SELECT totp_secret_sealed FROM users WHERE email = :e",
                 e=org_a.admin_email)[0]["totp_secret_sealed"]
    assert secret.encode() not in bytes(stored)
    hashes = [r["code_hash"] for r in sql(settings, "SELECT code_hash FROM recovery_codes")]
    assert len(hashes) == 10 and not any(c.replace("-", "") in hashes for c in codes)

    clock.advance(timedelta(seconds=30))
    with _browser(server, "198.51.100.20") as b:
        r = sign_in(b, org_a.admin_email, org_a.admin_password)
        assert r.status_code == 303 and r.headers["location"] == "/signin/code"
        # Half-way: the dashboard stays closed.
        assert b.get("/dashboard").headers["location"] == "/signin"
        form = b.get("/signin/code")
        r = b.post("/signin/code", data={"csrf_token": csrf_of(form), "code": "000000"})
        assert r.status_code == 401 and "did not work" in r.text
        code = code_at(secret)
        r = b.post("/signin/code", data={"csrf_token": csrf_of(form), "code": code})
        assert r.status_code == 303 and r.headers["location"] == "/dashboard"
        assert b.get("/dashboard").status_code == 200
    # The same code cannot be replayed.
    with _browser(server, "198.51.100.21") as b:
        sign_in(b, org_a.admin_email, org_a.admin_password)
        r = b.post("/signin/code", data={"csrf_token": csrf_of(b.get("/signin/code")),
                                         "code": code})
        assert r.status_code == 401
        # A recovery code works, once.
        r = b.post("/signin/code", data={"csrf_token": csrf_of(b.get("/signin/code")),
                                         "code": codes[0].upper()})
        assert r.status_code == 303
    with _browser(server, "198.51.100.22") as b:
        sign_in(b, org_a.admin_email, org_a.admin_password)
        r = b.post("/signin/code", data={"csrf_token": csrf_of(b.get("/signin/code")),
                                         "code": codes[0]})
        assert r.status_code == 401
    assert "9 unused recovery codes" in web.get("/dashboard/security").text


def test_an_organisation_can_require_two_factor(server, org_a, web, clock):
    assert org_a.admin.post("/v1/users", json=REVIEWER).status_code == 201
    assert sign_in(web, org_a.admin_email, org_a.admin_password).status_code == 303
    page = web.get("/dashboard/security")
    r = web.post("/dashboard/security/policy",
                 data={"csrf_token": csrf_of(page), "policy": "everyone"})
    assert r.status_code == 303
    with _browser(server, "198.51.100.30") as rita:
        r = sign_in(rita, REVIEWER["email"], REVIEWER["password"])
        assert r.status_code == 303 and r.headers["location"] == "/dashboard/security"
        assert rita.get("/dashboard/cases").headers["location"] == "/signin"
        assert "requires two-factor sign-in" in rita.get("/dashboard/security").text
        enrol(rita)
        # Enrolled: the dashboard opens, and two-factor cannot be turned off.
        assert rita.get("/dashboard/cases").status_code == 200
        assert "Turn off" not in rita.get("/dashboard/security").text
    # A reviewer is not concerned by "admins", and the admin (not enrolled) must enrol next time.
    r = web.post("/dashboard/security/policy",
                 data={"csrf_token": csrf_of(web.get("/dashboard/security")), "policy": "admins"})
    assert r.status_code == 303
    with _browser(server, "198.51.100.31") as admin:
        r = sign_in(admin, org_a.admin_email, org_a.admin_password)
        assert r.headers["location"] == "/dashboard/security"
