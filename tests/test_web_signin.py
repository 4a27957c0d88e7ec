"""Staff sign-in and the dashboard, driven with httpx through the real forms."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from markupsafe import escape

from app.auth.tokens import digest
from tests.support import TLS

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
REVIEWER_EMAIL = "rita@org-a.example"
REVIEWER_PASSWORD = "reviewer password 123"


def csrf_of(page: httpx.Response) -> str:
    match = re.search(r'<input type="hidden" name="csrf_token" value="([^"]+)">', page.text)
    assert match, f"no csrf field in page:\n{page.text}"
    return match.group(1)


def set_cookies(r: httpx.Response, name: str) -> list[str]:
    return [c for c in r.headers.get_list("set-cookie") if c.startswith(f"{name}=")]


def sign_in(web: httpx.Client, email: str, password: str) -> httpx.Response:
    token = csrf_of(web.get("/signin"))
    return web.post("/signin", data={"csrf_token": token, "email": email, "password": password})


def count(settings, sql: str) -> int:
    engine = sa.create_engine(settings.sync_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(sql)).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture
def web(server) -> Iterator[httpx.Client]:
    """A browser-like client: keeps cookies, asks for HTML, does not follow redirects."""
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as c:
        yield c


@pytest.fixture
def admin_web(web, org_a) -> httpx.Client:
    r = sign_in(web, org_a.admin_email, org_a.admin_password)
    assert r.status_code == 303, r.text
    return web


@pytest.fixture
def reviewer(org_a) -> str:
    r = org_a.admin.post("/v1/users", json={"email": REVIEWER_EMAIL, "name": "Rita",
                                            "role": "reviewer", "password": REVIEWER_PASSWORD})
    assert r.status_code == 201, r.text
    return REVIEWER_EMAIL


# --- the sign-in form ------------------------------------------------------------------------


def test_signin_page_has_a_csrf_field_and_sets_the_csrf_cookie(web):
    r = web.get("/signin")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/signin"' in r.text
    assert re.fullmatch(r"[0-9a-f]{64}", csrf_of(r))
    cookies = set_cookies(r, "rr_csrf")
    assert len(cookies) == 1
    attrs = cookies[0].lower()
    assert "httponly" in attrs and "samesite=strict" in attrs and "path=/" in attrs
    assert web.cookies.get("rr_csrf")
    # The cookie is kept: a second page reuses it and gets the same token.
    again = web.get("/signin")
    assert not set_cookies(again, "rr_csrf")
    assert csrf_of(again) == csrf_of(r)


@pytest.mark.parametrize("form", [
    {},
    {"csrf_token": ""},
    {"csrf_token": "0" * 64},
    {"csrf_token": "not-even-hex"},
])
def test_signin_without_a_valid_csrf_token_is_a_friendly_403(web, org_a, settings, form):
    web.get("/signin")
    r = web.post("/signin", data={**form, "email": org_a.admin_email,
                                  "password": org_a.admin_password})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>Not allowed</h1>" in r.text
    assert "reload the page" in r.text
    assert not set_cookies(r, "rr_session")
    assert "rr_session" not in web.cookies
    assert count(settings, "SELECT count(*) FROM web_sessions") == 0


def test_a_token_from_another_browser_is_refused(server, web, org_a):
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as other:
        stolen = csrf_of(other.get("/signin"))
    web.get("/signin")
    r = web.post("/signin", data={"csrf_token": stolen, "email": org_a.admin_email,
                                  "password": org_a.admin_password})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")


def test_a_token_without_its_cookie_is_refused(server, org_a):
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as c:
        token = csrf_of(c.get("/signin"))
        c.cookies.clear()
        r = c.post("/signin", data={"csrf_token": token, "email": org_a.admin_email,
                                    "password": org_a.admin_password})
    assert r.status_code == 403
    assert "<h1>Not allowed</h1>" in r.text


def test_csrf_failure_is_json_for_api_clients(server, org_a):
    with httpx.Client(verify=TLS, base_url=server.url, timeout=30) as c:
        r = c.post("/signin", data={"email": org_a.admin_email,
                                    "password": org_a.admin_password})
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden"


@pytest.mark.parametrize("email,password", [
    ("admin@org-a.example", "wrong password entirely"),
    ("nobody@org-a.example", "correct horse battery staple"),
    ("admin@org-a.example", ""),
])
def test_wrong_credentials_show_a_401_page_keeping_the_email(web, org_a, settings, email,
                                                              password):
    r = sign_in(web, email, password)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("text/html")
    assert "Wrong email or password." in r.text
    assert f'value="{email}"' in r.text
    # The password is never sent back.
    assert not password or password not in r.text
    assert not set_cookies(r, "rr_session")
    assert count(settings, "SELECT count(*) FROM web_sessions") == 0
    # The form can be submitted again from the error page.
    retry = web.post("/signin", data={"csrf_token": csrf_of(r), "email": org_a.admin_email,
                                      "password": org_a.admin_password})
    assert retry.status_code == 303


@pytest.mark.parametrize("email", ["admin\x00@org-a.example", "x" * 400 + "@org-a.example"])
def test_odd_emails_are_just_wrong_credentials(web, org_a, email):
    # PostgreSQL refuses NUL in a query parameter: that must not become a 500.
    r = sign_in(web, email, org_a.admin_password)
    assert r.status_code == 401
    assert "Wrong email or password." in r.text


def test_the_typed_email_is_escaped_on_the_error_page(web, org_a):
    typed = '"><script>alert(1)</script>'
    r = sign_in(web, typed, "whatever")
    assert r.status_code == 401
    assert "<script>alert(1)</script>" not in r.text
    assert f'value="{escape(typed)}"' in r.text


def test_right_password_starts_a_session(web, org_a, settings):
    r = sign_in(web, org_a.admin_email.upper(), org_a.admin_password)
    assert r.status_code == 303
    assert r.headers["location"] == "/dashboard"
    cookies = set_cookies(r, "rr_session")
    assert len(cookies) == 1
    attrs = cookies[0].lower()
    assert "httponly" in attrs and "samesite=lax" in attrs and "path=/" in attrs
    assert f"max-age={settings.session_max_age_seconds}" in attrs
    token = web.cookies["rr_session"]
    assert len(token) >= 40

    # Only the token's hash is stored.
    engine = sa.create_engine(settings.sync_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT token_hash FROM web_sessions")).all()
    finally:
        engine.dispose()
    assert [r[0] for r in rows] == [digest(token)]


# --- the dashboard ---------------------------------------------------------------------------


def test_dashboard_shows_the_orgs_models_and_not_another_orgs(admin_web, org_a, org_b):
    r = org_a.admin.post("/v1/models", json={"id": "org-a/chat-7b", "title": "Chat Seven",
                                             "licence": "apache-2.0"})
    assert r.status_code == 201, r.text
    r = org_b.admin.post("/v1/models", json={"id": "org-b/secret-model",
                                             "title": "Other Org Title"})
    assert r.status_code == 201, r.text

    page = admin_web.get("/dashboard")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Org org-a</h1>" in page.text
    assert "org-a/chat-7b" in page.text
    assert "Chat Seven" in page.text
    assert "Apache-2.0" in page.text  # the SPDX spelling of what was given
    assert "Org org-b" not in page.text
    assert "org-b/secret-model" not in page.text
    assert "Other Org Title" not in page.text
    assert org_a.admin_email in page.text


def test_dashboard_without_models_says_so(admin_web):
    page = admin_web.get("/dashboard")
    assert page.status_code == 200
    assert "No models yet" in page.text


@pytest.mark.parametrize("cookie", [None, "forged-session-token", ""])
def test_dashboard_without_a_session_redirects_to_signin(server, cookie):
    cookies = {} if cookie is None else {"rr_session": cookie}
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, cookies=cookies, timeout=30) as c:
        for path in ("/dashboard", "/dashboard/api-keys"):
            r = c.get(path)
            assert r.status_code == 303, path
            assert r.headers["location"] == "/signin"
        r = c.post("/dashboard/api-keys", data={"name": "x", "role": "admin"})
        assert r.status_code == 303
        assert r.headers["location"] == "/signin"


def test_an_expired_session_redirects_to_signin(admin_web, settings):
    from app.auth.models import WebSession

    assert admin_web.get("/dashboard").status_code == 200
    engine = sa.create_engine(settings.sync_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(sa.update(WebSession.__table__).values(
                expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    finally:
        engine.dispose()
    r = admin_web.get("/dashboard")
    assert r.status_code == 303
    assert r.headers["location"] == "/signin"


def test_sign_out_ends_the_session(admin_web, server, settings):
    page = admin_web.get("/dashboard")
    assert 'action="/signout"' in page.text
    old = admin_web.cookies["rr_session"]

    r = admin_web.post("/signout", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 303
    assert r.headers["location"] == "/signin"
    cleared = set_cookies(r, "rr_session")
    assert cleared and ("max-age=0" in cleared[0].lower() or "expires=" in cleared[0].lower())
    assert "rr_session" not in admin_web.cookies
    assert admin_web.get("/dashboard").status_code == 303
    assert count(settings, "SELECT count(*) FROM web_sessions") == 0

    # Someone who kept the old cookie value gets nothing either.
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, cookies={"rr_session": old},
                      timeout=30) as thief:
        r = thief.get("/dashboard")
        assert r.status_code == 303
        assert r.headers["location"] == "/signin"


def test_sign_out_needs_the_csrf_token(admin_web, settings):
    r = admin_web.post("/signout", data={})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert admin_web.get("/dashboard").status_code == 200
    assert count(settings, "SELECT count(*) FROM web_sessions") == 1


def test_signing_out_one_browser_leaves_the_other_signed_in(server, org_a):
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as one, \
            httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as two:
        assert sign_in(one, org_a.admin_email, org_a.admin_password).status_code == 303
        assert sign_in(two, org_a.admin_email, org_a.admin_password).status_code == 303
        page = one.get("/dashboard")
        assert one.post("/signout", data={"csrf_token": csrf_of(page)}).status_code == 303
        assert one.get("/dashboard").status_code == 303
        assert two.get("/dashboard").status_code == 200


# --- API keys page ---------------------------------------------------------------------------


def test_admin_creates_a_key_through_the_form_and_sees_it_once(admin_web, server, org_a):
    page = admin_web.get("/dashboard/api-keys")
    assert page.status_code == 200
    assert '<form method="post" action="/dashboard/api-keys"' in page.text
    assert 'id="new-key"' not in page.text

    r = admin_web.post("/dashboard/api-keys", data={"csrf_token": csrf_of(page),
                                                    "name": "nightly export", "role": "reviewer"})
    assert r.status_code == 201, r.text
    shown = re.search(r'<code id="new-key">(rr_[^<]+)</code>', r.text)
    assert shown, r.text
    key = shown.group(1)
    assert "nightly export" in r.text

    with httpx.Client(verify=TLS, base_url=server.url, headers={"Authorization": f"Bearer {key}"},
                      timeout=30) as c:
        me = c.get("/v1/me")
        assert me.status_code == 200
        assert me.json()["role"] == "reviewer"
        assert me.json()["organization"]["slug"] == "org-a"

    again = admin_web.get("/dashboard/api-keys")
    assert "nightly export" in again.text
    assert key not in again.text
    assert key.split("_", 2)[2] not in again.text
    assert 'id="new-key"' not in again.text


def test_admin_revokes_a_key_through_the_form(admin_web, server, org_a):
    created = org_a.admin.post("/v1/api-keys", json={"name": "to revoke", "role": "pipeline"})
    created = created.json()
    page = admin_web.get("/dashboard/api-keys")
    action = f'/dashboard/api-keys/{created["id"]}/revoke'
    assert f'action="{action}"' in page.text

    r = admin_web.post(action, data={"csrf_token": csrf_of(page)})
    assert r.status_code == 303
    assert r.headers["location"] == "/dashboard/api-keys"

    with httpx.Client(verify=TLS, base_url=server.url,
                      headers={"Authorization": f"Bearer {created['key']}"}, timeout=30) as c:
        assert c.get("/v1/me").status_code == 401
    listed = {k["id"]: k for k in org_a.admin.get("/v1/api-keys").json()}
    assert listed[created["id"]]["revoked_at"] is not None
    after = admin_web.get("/dashboard/api-keys")
    assert f'action="{action}"' not in after.text
    assert "revoked" in after.text


def test_revoking_through_the_form_needs_the_csrf_token(admin_web, server, org_a):
    created = org_a.admin.post("/v1/api-keys", json={"name": "keep", "role": "pipeline"}).json()
    r = admin_web.post(f'/dashboard/api-keys/{created["id"]}/revoke', data={})
    assert r.status_code == 403
    with httpx.Client(verify=TLS, base_url=server.url,
                      headers={"Authorization": f"Bearer {created['key']}"}, timeout=30) as c:
        assert c.get("/v1/me").status_code == 200


def test_creating_a_key_needs_the_csrf_token(admin_web, settings):
    before = count(settings, "SELECT count(*) FROM api_keys")
    r = admin_web.post("/dashboard/api-keys", data={"name": "csrf-less", "role": "admin"})
    assert r.status_code == 403
    assert "rr_" not in re.sub(r"rr_[a-z]+\b", "", r.text)
    assert count(settings, "SELECT count(*) FROM api_keys") == before


def test_an_admin_cannot_revoke_another_orgs_key_through_the_form(admin_web, server, org_b):
    other = org_b.admin.post("/v1/api-keys", json={"name": "b", "role": "admin"}).json()
    page = admin_web.get("/dashboard/api-keys")
    r = admin_web.post(f'/dashboard/api-keys/{other["id"]}/revoke',
                       data={"csrf_token": csrf_of(page)})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    with httpx.Client(verify=TLS, base_url=server.url,
                      headers={"Authorization": f"Bearer {other['key']}"}, timeout=30) as c:
        assert c.get("/v1/me").status_code == 200


@pytest.mark.parametrize("form,field,message", [
    ({"name": "  ", "role": "admin"}, "name", "Give the key a name"),
    ({"name": "ok", "role": "owner"}, "role", "Choose a role."),
])
def test_the_key_form_reports_mistakes(admin_web, settings, form, field, message):
    page = admin_web.get("/dashboard/api-keys")
    before = count(settings, "SELECT count(*) FROM api_keys")
    r = admin_web.post("/dashboard/api-keys", data={"csrf_token": csrf_of(page), **form})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert message in r.text
    assert f'aria-describedby="{field}-error"' in r.text
    assert 'id="new-key"' not in r.text
    assert count(settings, "SELECT count(*) FROM api_keys") == before


@pytest.mark.parametrize("name,message", [
    ("x" * 201, "200 characters"),
    ("nul\x00inside", "control characters"),
])
def test_key_names_the_database_cannot_hold_are_form_errors(admin_web, settings, name, message):
    page = admin_web.get("/dashboard/api-keys")
    before = count(settings, "SELECT count(*) FROM api_keys")
    r = admin_web.post("/dashboard/api-keys", data={"csrf_token": csrf_of(page), "name": name,
                                                    "role": "admin"})
    assert r.status_code == 422
    assert message in r.text
    assert 'aria-describedby="name-error"' in r.text
    assert 'id="new-key"' not in r.text
    assert count(settings, "SELECT count(*) FROM api_keys") == before


def test_a_reviewer_cannot_manage_keys(web, reviewer, org_a, settings):
    assert sign_in(web, REVIEWER_EMAIL, REVIEWER_PASSWORD).status_code == 303
    dash = web.get("/dashboard")
    assert dash.status_code == 200
    assert "Org org-a" in dash.text
    assert 'href="/dashboard/api-keys"' not in dash.text

    r = web.get("/dashboard/api-keys")
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>Not allowed</h1>" in r.text
    assert "rr_" not in re.sub(r"rr_[a-z]+\b", "", r.text)

    before = count(settings, "SELECT count(*) FROM api_keys")
    r = web.post("/dashboard/api-keys", data={"csrf_token": csrf_of(dash), "name": "mine",
                                              "role": "admin"})
    assert r.status_code == 403
    assert count(settings, "SELECT count(*) FROM api_keys") == before

    key_id = org_a.admin.get("/v1/api-keys").json()[0]["id"]
    r = web.post(f"/dashboard/api-keys/{key_id}/revoke", data={"csrf_token": csrf_of(dash)})
    assert r.status_code == 403
    assert org_a.admin.get("/v1/me").status_code == 200


def test_markup_in_a_key_name_is_escaped(admin_web, org_a):
    name = '<script>alert("pwned")</script><b onmouseover=x>'
    page = admin_web.get("/dashboard/api-keys")
    r = admin_web.post("/dashboard/api-keys", data={"csrf_token": csrf_of(page), "name": name,
                                                    "role": "pipeline"})
    assert r.status_code == 201
    listed = admin_web.get("/dashboard/api-keys")
    for body in (r.text, listed.text):
        assert "<script>alert" not in body
        assert "<b onmouseover" not in body
        assert "&lt;script&gt;alert(" in body
        # ...also inside the revoke button's aria-label attribute.
        assert 'aria-label="Revoke key &lt;script&gt;alert(&#34;pwned&#34;)' in body
    names = [k["name"] for k in org_a.admin.get("/v1/api-keys").json()]
    assert name in names


def test_a_rejected_name_is_escaped_when_the_form_is_shown_again(admin_web):
    page = admin_web.get("/dashboard/api-keys")
    name = '"><img src=x onerror=alert(1)>'
    r = admin_web.post("/dashboard/api-keys", data={"csrf_token": csrf_of(page), "name": name,
                                                    "role": "nope"})
    assert r.status_code == 422
    assert "<img src=x" not in r.text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in r.text
