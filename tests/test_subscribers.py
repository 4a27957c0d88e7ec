"""Self-service subscription through the API: sign-up confirmed by email, then models and
endpoints managed with the subscriber token; providers see their models' subscribers."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
import sqlalchemy as sa

from tests.mail import body
from tests.propagation import model, subscribe


@pytest.fixture
def models(org_a, org_b):
    model(org_a, "acme/chat")
    model(org_a, "acme/vision")
    model(org_b, "beta/other")
    return ["acme/chat", "acme/vision"]


def sign_up(client, **fields):
    payload = {"name": "Re-user", "email": "ops@re.example", "models": ["acme/chat"], **fields}
    return client.post("/v1/public/subscribers", json=payload)


def test_sign_up_is_confirmed_once_by_the_emailed_link(client, models, mailbox, receiver):
    r = sign_up(client, models=models, endpoints=[{"url": receiver.url("/h")}])
    assert r.status_code == 202, r.text
    msg = mailbox.wait_for("ops@re.example", "Confirm your Rights Relay subscription")
    token = re.search(r"/s/confirm/(\S+)", body(msg)).group(1)
    # Before confirmation nothing is delivered and the subscriber cannot act.
    r = client.post("/v1/public/subscribers/confirm", json={"token": token})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["token"].startswith("rrs_")
    assert data["manage_url"].endswith(f"/s/manage/{data['token']}")
    assert data["subscriber"]["models"] == models
    assert data["subscriber"]["email"] == "ops@re.example"
    [secret] = data["secrets"]
    assert secret["secret"].startswith("whsec_")
    welcome = mailbox.wait_for("ops@re.example", "subscription is active")
    assert data["manage_url"] in body(welcome)
    # Single use.
    again = client.post("/v1/public/subscribers/confirm", json={"token": token})
    assert again.status_code == 404 and again.json()["error"] == "not_found"

    me = httpx.get(f"{client.base_url}/v1/subscriber",
                   headers={"Authorization": f"Bearer {data['token']}"}).json()
    assert me["id"] == data["subscriber"]["id"] and len(me["endpoints"]) == 1


def test_nothing_is_delivered_before_confirmation(client, org_a, models, mailbox, receiver):
    assert sign_up(client, endpoints=[{"url": receiver.url("/early")}]).status_code == 202
    org_a.admin.post("/v1/models/acme/chat/versions", json={"label": "v1", "revision": "r"})
    receiver.quiet("/early", 0.5)
    assert org_a.admin.get("/v1/models/acme/chat/subscribers").json() == []


@pytest.mark.parametrize("fields,field", [
    ({"models": ["acme/nope"]}, "models.0"),
    ({"models": []}, "models"),
    ({"email": "not-an-email"}, "email"),
    ({"name": "bad\x00name"}, "name"),
    ({"name": ""}, "name"),
    ({"endpoints": [{"url": "not a url at all"}]}, "endpoints.0.url"),
    ({"endpoints": [{"url": "https://x.example/\x00"}]}, "endpoints.0.url"),
    ({"endpoints": [{"url": "https://h.example/a"}] * 11}, "endpoints"),
])
def test_bad_sign_ups_are_422_naming_the_field(client, models, fields, field):
    r = sign_up(client, **fields)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_error"
    assert field in {f["field"] for f in r.json()["fields"]}
    assert "\x00" not in r.text


def test_the_subscriber_api_needs_a_valid_token(client):
    assert client.get("/v1/subscriber").status_code == 401
    r = client.get("/v1/subscriber", headers={"Authorization": "Bearer rrs_forged"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    # An organisation's API key is not a subscriber token.
    assert client.get("/v1/subscriber", headers={"Authorization": "Bearer rr_x_y"}
                      ).status_code == 401


def test_following_models_and_managing_endpoints(client, models, mailbox, receiver):
    sub = subscribe(client, mailbox, models=["acme/chat"])
    r = sub.api.post("/v1/subscriber/models", json={"model": "beta/other"})
    assert r.status_code == 201 and r.json()["models"] == ["acme/chat", "beta/other"]
    assert sub.api.post("/v1/subscriber/models", json={"model": "no/such"}).status_code == 422
    assert sub.api.delete("/v1/subscriber/models/acme/chat").status_code == 204
    assert sub.api.delete("/v1/subscriber/models/acme/chat").status_code == 404
    assert sub.api.get("/v1/subscriber").json()["models"] == ["beta/other"]

    r = sub.api.post("/v1/subscriber/endpoints", json={"url": receiver.url("/new")})
    assert r.status_code == 201, r.text
    endpoint_id, secret = r.json()["endpoint_id"], r.json()["secret"]
    got = sub.api.get(f"/v1/subscriber/endpoints/{endpoint_id}/secret").json()
    assert got["secret"] == secret and got["previous_secret"] is None
    assert sub.api.delete(f"/v1/subscriber/endpoints/{endpoint_id}").status_code == 204
    assert sub.api.get(f"/v1/subscriber/endpoints/{endpoint_id}").status_code == 404
    assert sub.api.get("/v1/subscriber").json()["endpoints"] == []


def test_subscribers_cannot_reach_each_others_things(client, org_a, models, mailbox, receiver):
    one = subscribe(client, mailbox, models=["acme/chat"], urls=[receiver.url("/one")])
    two = subscribe(client, mailbox, models=["acme/chat"])
    endpoint_id = one.endpoints[receiver.url("/one")]
    org_a.admin.post("/v1/models/acme/chat/versions", json={"label": "v1", "revision": "r"})
    receiver.wait_for("/one")
    [delivery] = one.api.get("/v1/subscriber/deliveries").json()["items"]
    ghost = str(uuid.uuid4())
    for method, path in [
        ("GET", f"/v1/subscriber/endpoints/{endpoint_id}"),
        ("GET", f"/v1/subscriber/endpoints/{endpoint_id}/secret"),
        ("POST", f"/v1/subscriber/endpoints/{endpoint_id}/rotate-secret"),
        ("POST", f"/v1/subscriber/endpoints/{endpoint_id}/test"),
        ("POST", f"/v1/subscriber/endpoints/{endpoint_id}/enable"),
        ("DELETE", f"/v1/subscriber/endpoints/{endpoint_id}"),
    ]:
        r = two.api.request(method, path)
        missing = two.api.request(method, path.replace(endpoint_id, ghost))
        assert (r.status_code, r.json()) == (missing.status_code, missing.json()) == (
            404, {"error": "not_found", "detail": "endpoint not found"}), path
    for method, path in [("GET", f"/v1/subscriber/deliveries/{delivery['id']}"),
                         ("POST", f"/v1/subscriber/deliveries/{delivery['id']}/replay")]:
        r = two.api.request(method, path)
        assert r.status_code == 404 and r.json()["detail"] == "delivery not found"
    assert two.api.get("/v1/subscriber/deliveries").json()["items"] == []
    assert one.api.get(f"/v1/subscriber/endpoints/{endpoint_id}").json()["enabled"] is True


def test_providers_see_their_models_subscribers(client, org_a, org_b, models, mailbox):
    subscribe(client, mailbox, models=["acme/chat"], name="Chat Host", email="a@host.example")
    subscribe(client, mailbox, models=["acme/chat", "beta/other"], name="Both",
              email="b@host.example")
    listed = org_a.client("reviewer").get("/v1/models/acme/chat/subscribers").json()
    assert [(s["name"], s["email"], s["endpoints"]) for s in listed] == [
        ("Chat Host", "a@host.example", 0), ("Both", "b@host.example", 0)]
    assert org_a.admin.get("/v1/models/acme/vision/subscribers").json() == []
    assert [s["name"] for s in org_b.admin.get("/v1/models/beta/other/subscribers").json()] == [
        "Both"]
    # Another provider's model is a 404, exactly like a missing one.
    assert org_b.admin.get("/v1/models/acme/chat/subscribers").status_code == 404


def test_contact_emails_and_secrets_are_not_stored_in_clear(client, models, mailbox, receiver,
                                                           settings):
    sub = subscribe(client, mailbox, models=["acme/chat"], urls=[receiver.url("/s")],
                    email="secret-contact@re.example")
    engine = sa.create_engine(settings.sync_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        dump = " ".join(str(row) for table in ("subscribers", "webhook_endpoints")
                        for row in conn.execute(sa.text(f"SELECT * FROM {table}")))  # noqa: S608
    engine.dispose()
    assert "secret-contact" not in dump
    assert sub.secrets[receiver.url("/s")].removeprefix("whsec_") not in dump
    assert sub.token not in dump


def test_a_subscriber_can_leave_and_its_details_are_erased(client, org_a, models, mailbox,
                                                           receiver, settings):
    sub = subscribe(client, mailbox, models=models, urls=[receiver.url("/leaving")],
                    email="leaver@re.example")
    assert sub.api.delete("/v1/subscriber").status_code == 204
    # The token no longer works; the provider no longer lists it; nothing more is sent.
    assert sub.api.get("/v1/subscriber").status_code == 401
    assert org_a.admin.get("/v1/models/acme/chat/subscribers").json() == []
    org_a.admin.post("/v1/models/acme/chat/versions", json={"label": "v9", "revision": "r9"})
    receiver.quiet("/leaving", 0.5)
    engine = sa.create_engine(settings.sync_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT email_sealed, token_hash FROM subscribers")).one()
        enabled = conn.execute(sa.text("SELECT enabled FROM webhook_endpoints")).scalars().all()
    engine.dispose()
    assert bytes(row.email_sealed) == b"" and row.token_hash is None
    assert enabled == [False]


def test_leaving_on_the_management_page_needs_the_box_ticked(client, models, mailbox):
    sub = subscribe(client, mailbox, models=models)
    page = client.get(f"/s/manage/{sub.token}", headers={"accept": "text/html"})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    url = f"/s/manage/{sub.token}"
    r = client.post(url, data={"csrf_token": csrf, "action": "leave"})
    assert r.status_code == 422 and "Tick the box" in r.text
    assert sub.api.get("/v1/subscriber").status_code == 200
    r = client.post(url, data={"csrf_token": csrf, "action": "leave", "confirm": "yes"})
    assert r.status_code == 200 and "Subscription deleted" in r.text
    assert client.get(url, headers={"accept": "text/html"}).status_code == 404


def test_sign_ups_are_rate_limited_per_address_and_per_email(client, models, settings):
    for i in range(settings.rate_limit_email_per_day):
        r = client.post(
            "/v1/public/subscribers", headers={"x-forwarded-for": f"203.0.113.{i + 1}"},
            json={"name": "Re-user", "email": "flooded@re.example", "models": ["acme/chat"]})
        assert r.status_code == 202, r.text
    r = client.post("/v1/public/subscribers", headers={"x-forwarded-for": "203.0.113.99"},
                    json={"name": "Re-user", "email": "flooded@re.example", "models": ["acme/chat"]})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    here = {"x-forwarded-for": "198.51.100.20"}
    for i in range(settings.rate_limit_ip_per_hour):
        r = client.post("/v1/public/subscribers", headers=here, json={
            "name": "Re-user", "email": f"r{i}@re.example", "models": ["acme/chat"]})
        assert r.status_code == 202, r.text
    r = client.post("/v1/public/subscribers", headers=here, json={
        "name": "Re-user", "email": "late@re.example", "models": ["acme/chat"]})
    assert r.status_code == 429
