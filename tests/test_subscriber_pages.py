"""The re-users' pages (sign up, confirm, manage by secret link, acknowledge) and the
provider's propagation dashboard, driven with httpx through the real forms."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.mail import body
from tests.propagation import model, remediate, version
from tests.support import TLS
from tests.test_web_signin import HTML, csrf_of, sign_in


@pytest.fixture
def web(server) -> Iterator[httpx.Client]:
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as c:
        yield c


@pytest.fixture
def models(org_a):
    model(org_a, "acme/chat")
    model(org_a, "acme/vision")
    version(org_a, "acme/chat", "v1")
    version(org_a, "acme/chat", "v2")


def sign_up(web, mailbox, email="pages@re.example", urls="") -> str:
    """Through the form and the emailed link; returns the management page's path."""
    page = web.get("/subscribe")
    r = web.post("/subscribe", data={"csrf_token": csrf_of(page), "name": "Page Re-user",
                                     "email": email, "models": ["acme/chat"], "endpoints": urls})
    assert r.status_code == 202, r.text
    assert "Check your email" in r.text
    link = re.search(r"https?://\S+(/s/confirm/\S+)", body(mailbox.wait_for(email, "Confirm")))
    confirm = web.get(link.group(1))
    assert confirm.status_code == 200 and "Confirm my subscription" in confirm.text
    r = web.post(link.group(1), data={"csrf_token": csrf_of(confirm)})
    assert r.status_code == 303
    return r.headers["location"].split("?")[0]


def act(web, manage, **fields) -> httpx.Response:
    """Submit a form of the management page; follow the redirect a browser follows."""
    page = web.get(manage)
    r = web.post(manage, data={"csrf_token": csrf_of(page), **fields})
    if r.status_code == 303:
        assert r.headers["location"].startswith(manage + "?done=")
        return web.get(r.headers["location"])
    return r


def test_the_sign_up_form_explains_what_is_wrong(web, models):
    page = web.get("/subscribe")
    assert page.status_code == 200 and "acme/vision" in page.text
    r = web.post("/subscribe", data={"csrf_token": csrf_of(page), "name": "",
                                     "email": "nope", "endpoints": "ftp://x.example/"})
    assert r.status_code == 422
    assert 'role="alert"' in r.text
    for message in ("Give the name of your organisation", "Give a valid email address",
                    "Choose at least one model", "Each webhook URL must start with https://"):
        assert message in r.text
    assert 'aria-invalid="true"' in r.text and 'value="nope"' in r.text
    # Without the CSRF token: refused.
    r = web.post("/subscribe", data={"name": "x", "email": "a@b.example",
                                     "models": "acme/chat"})
    assert r.status_code == 403


def test_sign_up_confirm_and_manage_through_the_pages(web, client, models, mailbox, receiver,
                                                      org_a, server):
    manage = sign_up(web, mailbox)
    page = web.get(manage + "?confirmed=1")
    assert page.status_code == 200 and "Your subscription is confirmed" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "pages@re.example" in page.text and "<code>acme/chat</code>" in page.text

    r = act(web, manage, action="follow", model="acme/vision")
    assert r.status_code == 200 and "You now follow the model" in r.text
    r = act(web, manage, action="follow", model="no/such")
    assert r.status_code == 422 and "no such model" in r.text
    r = act(web, manage, action="unfollow", model="acme/vision")
    assert "You no longer follow the model" in r.text

    r = act(web, manage, action="add_endpoint", url="not a url")
    assert r.status_code == 422 and "must start with https://" in r.text
    url = receiver.url("/from-page")
    r = act(web, manage, action="add_endpoint", url=url)
    assert r.status_code == 200 and "Endpoint added" in r.text
    endpoint_id = re.search(r'name="endpoint_id" value="([^"]+)"', r.text).group(1)
    secret = re.search(r'<code class="secret">(whsec_[^<]+)</code>', r.text).group(1)

    r = act(web, manage, action="test", endpoint_id=endpoint_id)
    assert "Test event queued" in r.text
    [hit] = receiver.wait_for("/from-page")
    assert json.loads(hit.body)["type"] == "endpoint.test"
    from standardwebhooks import Webhook
    Webhook(secret).verify(hit.body, hit.headers)

    r = act(web, manage, action="rotate", endpoint_id=endpoint_id)
    assert "New secret created" in r.text and "The previous secret signs too" in r.text
    assert r.url.params["done"] == "rotated"
    assert secret not in re.findall(r'<code class="secret">(whsec_[^<]+)</code>', r.text)

    # An update asking for action: acknowledged from the page.
    event_id, _ = remediate(server.settings, "acme/chat", "v1", "v2")
    r = web.get(manage)
    assert "Awaiting your acknowledgement" in r.text and event_id in r.text
    r = act(web, manage, action="acknowledge", event_id=event_id, outcome="replaced")
    assert "your acknowledgement is recorded" in r.text
    state = org_a.admin.get(f"/v1/events/{event_id}/acknowledgements").json()
    assert [(p["name"], p["outcome"]) for p in state["acknowledged"]] == [
        ("Page Re-user", "replaced")]

    r = act(web, manage, action="remove_endpoint", endpoint_id=endpoint_id)
    assert "Endpoint removed" in r.text and url not in r.text.split("Recent deliveries")[0]


def test_a_derivative_declared_in_error_is_withdrawn_from_the_page(web, models, mailbox, client):
    manage = sign_up(web, mailbox, email="maker@pages.example")
    r = act(web, manage, action="declare", id="maker/oops", title="Oops",
            url="https://maker.example/oops", derived_from="acme/chat")
    assert r.status_code == 200 and "Derivative declared" in r.text
    assert 'aria-label="Withdraw maker/oops"' in r.text
    r = act(web, manage, action="withdraw", model="maker/oops")
    assert r.status_code == 200 and "Derivative withdrawn." in r.text
    assert "maker/oops" not in r.text
    assert client.get("/models/maker/oops").status_code == 404
    # Someone else's model, or one no longer there: said next to the list, nothing changes.
    r = act(web, manage, action="withdraw", model="acme/chat")
    assert r.status_code == 422 and 'id="withdraw-error"' in r.text
    assert client.get("/models/acme/chat").status_code == 200


def test_a_wrong_management_link_is_a_friendly_404(web):
    r = web.get("/s/manage/rrs_not-a-real-token")
    assert r.status_code == 404 and "Link not valid" in r.text


def test_the_provider_dashboard_shows_subscribers_and_acknowledgements(
        web, client, models, mailbox, org_a, server):
    sign_up(web, mailbox, email="dash@re.example")
    web.cookies.clear()
    assert web.get("/dashboard/propagation").status_code == 303  # signed out
    assert sign_in(web, org_a.admin_email, org_a.admin_password).status_code == 303
    remediate(server.settings, "acme/chat", "v1", "v2")
    page = web.get("/dashboard/propagation")
    assert page.status_code == 200
    assert "Page Re-user" in page.text and "dash@re.example" in page.text
    assert "0 / 1" in page.text  # acknowledged / expected


@pytest.mark.parametrize("fields", [
    {"action": "follow", "model": "acme/chat\x00"}, {"action": "unfollow", "model": "a\x00/b"},
    {"action": "replay", "delivery_id": "9" * 19}, {"action": "replay", "delivery_id": "-1"},
    {"action": "test", "endpoint_id": "not-a-uuid"}, {"action": "rotate", "endpoint_id": ""},
    {"action": "acknowledge", "event_id": "x", "outcome": "replaced"},
    {"action": "replay_failed", "since": "yesterday"}, {"action": "no-such-action"},
    {"action": "add_endpoint", "url": "https://h.example/\x00"},
    {"action": "withdraw", "model": "acme/chat"}, {"action": "withdraw", "model": "a/\x00"},
])
def test_bad_management_forms_are_friendly_errors_not_500s(web, models, mailbox, fields):
    manage = sign_up(web, mailbox, email=f"bad-{uuid.uuid4().hex[:6]}@re.example")
    r = act(web, manage, **fields)
    assert r.status_code in (404, 409, 422), r.text
    assert 'class="error"' in r.text or "not found" in r.text.lower()
