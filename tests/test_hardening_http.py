"""Who the client is (trusted proxies only), which hosts are answered, where absolute links come
from, CSRF tokens bound to the session, and the security headers of every page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from app.ops.proxies import client_from_chain, parse_networks
from tests.mail import body, link
from tests.subjects import file, open_model
from tests.support import TLS, ServerThread
from tests.test_web_signin import HTML, csrf_of, sign_in

# --- trusted proxies -------------------------------------------------------------------------


def test_the_client_is_the_right_most_untrusted_hop():
    trusted = parse_networks("127.0.0.1, 10.0.0.0/8")
    # Not from a trusted proxy: the header proves nothing.
    assert client_from_chain("192.0.2.1", ["203.0.113.9"], trusted) == "192.0.2.1"
    # Through the proxy: what the client wrote to the left of the real hop is ignored.
    assert client_from_chain("127.0.0.1", ["6.6.6.6, 198.51.100.1"], trusted) == "198.51.100.1"
    assert client_from_chain("127.0.0.1", ["6.6.6.6", "198.51.100.1, 10.1.2.3"], trusted) \
        == "198.51.100.1"
    assert client_from_chain("127.0.0.1", ["10.0.0.7, 10.1.2.3"], trusted) == "10.0.0.7"
    assert client_from_chain("127.0.0.1", ["not-an-address"], trusted) == "127.0.0.1"
    # None trusted by default.
    assert client_from_chain("127.0.0.1", ["198.51.100.1"], parse_networks("")) == "127.0.0.1"
    with pytest.raises(ValueError, match="item 2"):
        parse_networks("127.0.0.1, nonsense")


@pytest.fixture
def second_loopback(server) -> Iterator[httpx.Client]:
    """A client on 127.0.0.2: not the trusted proxy (127.0.0.1) of the test server."""
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(verify=TLS, base_url=server.url, transport=transport, timeout=30) as c:
        yield c


def test_a_client_cannot_choose_its_rate_limit_identity(org_a, second_loopback, client, settings):
    open_model(org_a, "acme/chat")
    limit = settings.rate_limit_ip_per_hour
    for i in range(limit):
        r = file(second_loopback, ["acme/chat"], email=f"p{i}@example.org",
                 headers={"x-forwarded-for": f"203.0.113.{i + 1}"})
        assert r.status_code == 202, r.text
    # A fresh spoofed address each time, all the same: they are one client, 127.0.0.2.
    r = file(second_loopback, ["acme/chat"], email="last@example.org",
             headers={"x-forwarded-for": "198.51.100.250"})
    assert r.status_code == 429


def test_through_the_trusted_proxy_the_left_of_the_chain_is_ignored(org_a, client, settings):
    open_model(org_a, "acme/chat")
    for i in range(settings.rate_limit_ip_per_hour):
        # The client prepends its own "address"; the proxy appends the real one.
        r = file(client, ["acme/chat"], email=f"q{i}@example.org",
                 headers={"x-forwarded-for": f"192.0.2.{i + 1}, 198.51.100.7"})
        assert r.status_code == 202, r.text
    r = file(client, ["acme/chat"], email="q-last@example.org",
             headers={"x-forwarded-for": "192.0.2.200, 198.51.100.7"})
    assert r.status_code == 429
    # Another real client behind the same proxy is not affected.
    r = file(client, ["acme/chat"], email="other@example.org",
             headers={"x-forwarded-for": "198.51.100.8"})
    assert r.status_code == 202


def test_serve_and_the_dockerfile_leave_forwarded_headers_to_the_app(repo_root):
    dockerfile = (repo_root / "Dockerfile").read_text()
    assert "--no-proxy-headers" in dockerfile and "forwarded-allow-ips" not in dockerfile
    cli = (repo_root / "app" / "cli.py").read_text()
    assert "proxy_headers=False" in cli
    readme = (repo_root / "README.md").read_text()
    assert "forwarded-allow-ips" not in readme and "--no-proxy-headers" in readme


# --- hosts and absolute links ----------------------------------------------------------------


@pytest.fixture
def alias_server(settings) -> Iterator[ServerThread]:
    """A replica that also answers for `alias.example` (RR_ALLOWED_HOSTS)."""
    srv = ServerThread(settings.model_copy(update={
        "allowed_hosts": "alias.example", "run_jobs": False, "run_delivery_worker": False}))
    srv.start()
    yield srv
    srv.stop()


def test_unknown_hosts_are_refused_but_probes_answer(server, client):
    r = client.get("/", headers={"Host": "evil.example"})
    assert r.status_code == 400 and r.json()["error"] == "bad_request"
    assert "evil.example" not in r.text
    r = client.get("/v1/public/models", headers={"Host": "evil.example:8000"})
    assert r.status_code == 400
    assert client.get("/healthz", headers={"Host": "10.1.2.3:8000"}).status_code == 200
    assert client.get("/", headers={"Host": f"127.0.0.1:{server.port}"}).status_code == 200


def test_absolute_links_come_from_the_public_base_url_only(alias_server, org_a, mailbox):
    base = alias_server.settings.public_base_url
    org_a.admin.post("/v1/models", json={"id": "acme/linked", "title": "Linked"})
    with httpx.Client(verify=TLS, base_url=alias_server.url, timeout=30,
                      headers={"Host": "alias.example"}) as c:
        for fmt in ("atom", "json"):
            r = c.get(f"/v1/public/models/acme/linked/feed.{fmt}")
            assert r.status_code == 200
            assert f"{base}/v1/public/models/acme/linked/feed.{fmt}" in r.text
            assert "alias.example" not in r.text
        r = file(c, ["acme/linked"], email="linked@example.org")
        assert r.status_code == 202, r.text
    # Sent by the session server's job; the link was written when the request was filed.
    msg = mailbox.wait_for("linked@example.org", "onfirm")
    assert link(msg, "confirm").startswith(f"{base}/r/confirm/")
    assert "alias.example" not in body(msg)


# --- CSRF bound to the session ---------------------------------------------------------------


def test_an_attackers_cookie_and_token_do_not_work_with_a_victims_session(server, org_a):
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as attacker, \
            httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as victim:
        attacker_token = csrf_of(attacker.get("/signin"))
        attacker_cookie = attacker.cookies["rr_csrf"]
        assert sign_in(victim, org_a.admin_email, org_a.admin_password).status_code == 303
        # The attacker plants their own pre-session cookie in the victim's browser and posts
        # their own token: the token is bound to the victim's session, not to that cookie.
        victim.cookies.set("rr_csrf", attacker_cookie)
        r = victim.post("/dashboard/api-keys",
                        data={"csrf_token": attacker_token, "name": "planted", "role": "admin"})
        assert r.status_code == 403
        r = victim.post("/signout", data={"csrf_token": attacker_token})
        assert r.status_code == 403
        # The victim's own page carries a token that works.
        page = victim.get("/dashboard/api-keys")
        r = victim.post("/dashboard/api-keys",
                        data={"csrf_token": csrf_of(page), "name": "mine", "role": "reviewer"})
        assert r.status_code == 201
        keys = org_a.admin.get("/v1/api-keys").json()
        assert "planted" not in [k["name"] for k in keys]


def test_a_signed_in_token_does_not_work_with_another_session(server, org_a):
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as one, \
            httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as two:
        for c in (one, two):
            assert sign_in(c, org_a.admin_email, org_a.admin_password).status_code == 303
        token_one = csrf_of(one.get("/dashboard/api-keys"))
        assert two.post("/signout", data={"csrf_token": token_one}).status_code == 403
        assert one.post("/signout", data={"csrf_token": token_one}).status_code == 303


# --- headers ---------------------------------------------------------------------------------

PAGES = ["/", "/signin", "/request", "/subscribe", "/docs", "/redoc", "/no-such-page"]
STAFF_PAGES = ["/dashboard", "/dashboard/cases", "/dashboard/remediations",
               "/dashboard/propagation", "/dashboard/api-keys", "/dashboard/security"]
INLINE = [re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), re.compile(r"<style\b", re.I),
          re.compile(r"\sstyle\s*=", re.I), re.compile(r"\son[a-z]+\s*=", re.I),
          re.compile(r"javascript:", re.I)]


def _check_page(r: httpx.Response) -> None:
    assert r.headers["content-type"].startswith("text/html"), r.url
    csp = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    for name in ("script-src", "style-src"):
        # The one exception: ReDoc's run-time <style> elements, on /redoc only.
        if not (name == "style-src" and r.url.path == "/redoc"):
            assert "'unsafe-inline'" not in directives[name]
        assert "'unsafe-eval'" not in directives[name]
        assert directives[name].startswith("'self'")
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "camera=()" in r.headers["permissions-policy"]
    assert '<meta name="referrer" content="no-referrer">' in r.text
    for pattern in INLINE:
        assert not pattern.search(r.text), (r.url, pattern.pattern)


def test_every_page_has_a_strict_csp_and_no_inline_script_or_style(server, org_a):
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as web:
        for path in PAGES:
            _check_page(web.get(path))
        assert sign_in(web, org_a.admin_email, org_a.admin_password).status_code == 303
        for path in STAFF_PAGES:
            r = web.get(path)
            assert r.status_code == 200, (path, r.status_code)
            _check_page(r)


def test_the_docs_pages_start_from_static_scripts(client):
    page = client.get("/docs").text
    assert '<script src="/static/docs/swagger-init.js"></script>' in page
    init = client.get("/static/docs/swagger-init.js")
    assert init.status_code == 200 and "SwaggerUIBundle" in init.text
    assert client.get("/static/docs/redoc.css").status_code == 200
    # The bundles come from the app itself (fastapi-offline's package), never from a CDN.
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        r = client.get(f"/static/docs-assets/{asset}")
        assert r.status_code == 200 and len(r.content) > 10_000, asset
    assert "/static/docs-assets/swagger-ui-bundle.js" in page
    assert "/static/docs-assets/redoc.standalone.js" in client.get("/redoc").text
    # /docs keeps the strict policy of every page; only /redoc may add inline styles.
    strict = client.get("/signin").headers["content-security-policy"]
    assert client.get("/docs").headers["content-security-policy"] == strict
    redoc = client.get("/redoc").headers["content-security-policy"]
    assert "script-src 'self';" in redoc and "http" not in redoc
