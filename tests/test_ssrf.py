"""Webhook URLs must be public: refused at registration and again at connect time (DNS
rebinding), on a server where private targets are NOT allowed (unlike the shared test server)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from app.delivery.ssrf import UrlProblem, check_url, is_public
from tests.propagation import isolated_server, model, quick_subscriber, subscribe, version
from tests.support import TLS, create_org, wipe

PUBLIC = "93.184.216.34"


class ScriptedResolver:
    """DNS answers a test decides: a list per host, one answer per call (the last repeats)."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.calls: list[str] = []

    def script(self, host: str, *answers: list[str]) -> None:
        self.answers[host] = list(answers)

    async def resolve(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        queue = self.answers.get(host)
        if not queue:
            raise OSError("no such host")
        return queue.pop(0) if len(queue) > 1 else queue[0]


RESOLVER = ScriptedResolver()


@pytest.fixture(scope="module")
def iso(tmp_path_factory, smtp):
    srv, close = isolated_server(str(tmp_path_factory.mktemp("ssrf")), smtp.port,
                                 resolver=RESOLVER, allow_private_webhook_targets=False,
                                 allow_http_webhooks=True)
    yield srv
    close()


@pytest.fixture
def org(iso):
    o = create_org(iso.settings, iso.url, "ssrf")
    model(o, "ssrf/m")
    yield o
    o.close()
    wipe(iso.settings.sync_url)


@pytest.fixture
def client(iso):
    with httpx.Client(verify=TLS, base_url=iso.url, timeout=30) as c:
        yield c


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1",  # noqa: S104 (an address to refuse, not one to bind) "255.255.255.255", "::1", "::", "fe80::1", "fc00::1",
    "fd00:ec2::254", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::1", "64:ff9b::7f00:1",
    "64:ff9b::a00:1", "2001:db8::1", "ff02::1", "::127.0.0.1", "198.18.0.1",
    "64:ff9b::808:808",  # NAT64 at all: the translator may sit inside the network
])
def test_non_public_addresses_are_refused(address):
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111",
                                     "2002:5db8:d822::1"])
def test_public_addresses_are_allowed(address):
    assert is_public(address)


@pytest.mark.parametrize("url,problem", [
    ("http://hooks.example/x", "must start with https://"),
    ("ftp://hooks.example/x", "must start with https://"),
    ("https://user:pw@hooks.example/x", "user name or password"),
    ("https:///nohost", "must name a host"),
    ("https://localhost/x", "public internet"),
    ("https://127.0.0.1/x", "public internet"),
    ("https://[::ffff:169.254.169.254]/x", "public internet"),
    ("https://private.example/x", "public internet"),
    ("https://nowhere.example/x", "does not resolve"),
])
def test_registration_check_without_http_or_private_targets(url, problem):
    resolver = ScriptedResolver()
    resolver.script("private.example", [PUBLIC, "10.0.0.7"])
    with pytest.raises(UrlProblem, match=problem):
        asyncio.run(check_url(url, resolver, allow_http=False, allow_private=False))
    resolver.script("hooks.example", [PUBLIC])
    asyncio.run(check_url("https://hooks.example/x", resolver, allow_http=False,
                          allow_private=False))


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://[::1]/hook", "http://169.254.169.254/latest/meta-data",
    "http://[fd00:ec2::254]/", "http://[::ffff:127.0.0.1]/", "http://10.0.0.1/",
    "http://internal.example/hook",
    # Numeric hosts a resolver reads as loopback: decimal, hex, octal, short forms.
    "http://2130706433/", "http://0x7f.1/", "http://0x7f000001/", "http://0177.0.0.1/",
    "http://127.1/", "http://127.0.0.1./", "http://[::ffff:7f00:1]/", "http://0/",
    "http://999.1.1.1/",
])
def test_the_api_refuses_private_webhook_urls(client, org, url):
    RESOLVER.script("internal.example", ["192.168.0.10"])
    r = client.post("/v1/public/subscribers", json={
        "name": "Probe", "email": "probe@re.example", "models": ["ssrf/m"],
        "endpoints": [{"url": url}]})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "validation_error"
    assert body["fields"][0]["field"] == "endpoints.0.url"
    assert "public internet" in body["fields"][0]["message"]


def test_dns_rebinding_is_refused_at_connect_time(client, org, mailbox, receiver, iso):
    # Public when registered, loopback (the receiver!) when the worker connects.
    RESOLVER.script("rebind.example", [PUBLIC], ["127.0.0.1"])
    url = f"http://rebind.example:{receiver.port}/rebound"
    sub = subscribe(client, mailbox, models=["ssrf/m"], urls=[url])
    assert sub.endpoints[url]
    version(org, "ssrf/m", "v1")
    deadline = time.monotonic() + 10
    log: list = []
    while time.monotonic() < deadline and not log:
        items = sub.api.get("/v1/subscriber/deliveries").json()["items"]
        if items:
            log = sub.api.get(f"/v1/subscriber/deliveries/{items[0]['id']}").json()[
                "attempts_log"]
        time.sleep(0.05)
    assert log and log[0]["error_class"] == "ssrf_blocked"
    assert log[0]["status_code"] is None
    receiver.quiet("/rebound", 0.3)
    assert receiver.to("/rebound") == []


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f.1", "0177.0.0.1", "127.1",
                                  "[::ffff:127.0.0.1]"])
def test_an_ip_literal_stored_earlier_is_refused_at_connect_time(org, receiver, iso, host):
    # As if registered while private targets were allowed: the worker still refuses it.
    lenient = iso.settings.model_copy(update={"allow_private_webhook_targets": True})
    url = f"http://{host}:{receiver.port}/literal"
    sub = quick_subscriber(lenient, iso.url, ["ssrf/m"], [url])
    version(org, "ssrf/m", "v1")
    deadline = time.monotonic() + 10
    log: list = []
    while time.monotonic() < deadline and not log:
        items = sub.api.get("/v1/subscriber/deliveries").json()["items"]
        if items:
            log = sub.api.get(f"/v1/subscriber/deliveries/{items[0]['id']}").json()[
                "attempts_log"]
        time.sleep(0.05)
    assert log and log[0]["error_class"] == "ssrf_blocked"
    assert receiver.to("/literal") == []


def test_the_sign_up_form_says_when_a_host_name_does_not_resolve(iso, org):
    """A typo in a host name is told as such, not as a private address (issue 11)."""
    import re

    RESOLVER.script("private.example", ["10.0.0.7"])
    with httpx.Client(verify=TLS, base_url=iso.url, headers={"accept": "text/html"}, timeout=30) as web:
        page = web.get("/subscribe")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

        def sign_up(url: str) -> str:
            r = web.post("/subscribe", data={"csrf_token": token, "name": "Typo Ltd",
                                             "email": "typo@re.example", "models": ["ssrf/m"],
                                             "endpoints": url})
            assert r.status_code == 422, r.text
            return r.text

        typo = sign_up("https://hooks.no-such-host.example/in")
        assert "names a host that does not resolve" in typo and "not a private" not in typo
        private = sign_up("https://private.example/in")
        assert "not a private, loopback or reserved address" in private
        assert "does not resolve" not in private
