"""Licence and update clause: models carry a validated SPDX expression and a versioned
update-obligation clause (English and French, or a URL); the subscribe page, the model page,
the feeds and the webhooks show or link it; subscribing records acceptance as evidence; a new
version asks followers to accept again and shows the provider who has not."""

from __future__ import annotations

import json
import re

import feedparser
import httpx
import pytest
from jsonschema import Draft202012Validator

from tests.mail import body
from tests.propagation import model, version
from tests.support import TLS, audit_verify
from tests.test_web_signin import HTML, csrf_of, sign_in

CLAUSE = {"text_en": "Replace every copy the provider supersedes, before its deadline.\n"
                     "Pass this obligation on.",
          "text_fr": "Remplacez toute copie que le fournisseur remplace, avant l'échéance.\n"
                     "Transmettez cette obligation."}


@pytest.fixture
def web(server):
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as c:
        yield c


def publish(org, ref="acme/chat", **fields):
    r = org.admin.post(f"/v1/models/{ref}/clause", json=fields or CLAUSE)
    assert r.status_code == 201, r.text
    return r.json()


# --- SPDX ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "stored"), [
    ("apache-2.0", "Apache-2.0"), ("mit OR apache-2.0", "MIT OR Apache-2.0"),
    ("GPL-2.0-or-later WITH Classpath-exception-2.0",
     "GPL-2.0-or-later WITH Classpath-exception-2.0"),
    ("LicenseRef-Acme-Model-1.0", "LicenseRef-Acme-Model-1.0")])
def test_licences_are_spdx_expressions_in_their_canonical_spelling(org_a, given, stored):
    assert model(org_a, "acme/m")
    r = org_a.admin.patch("/v1/models/acme/m", json={"licence": given})
    assert r.status_code == 200, r.text
    assert r.json()["licence"] == stored


@pytest.mark.parametrize("bad", ["proprietary", "MIT AND", "mit with nothing", "((mit",
                                 "MIT OR open-rail-ish"])
def test_an_unknown_spdx_licence_is_a_400_and_changes_nothing(org_a, bad):
    r = org_a.admin.post("/v1/models", json={"id": "acme/new", "title": "t", "licence": bad})
    assert (r.status_code, r.json()["error"]) == (400, "bad_request"), r.text
    assert "SPDX" in r.json()["detail"]
    assert org_a.admin.get("/v1/models/acme/new").status_code == 404
    model(org_a, "acme/m", licence="MIT")
    r = org_a.admin.patch("/v1/models/acme/m", json={"licence": bad, "title": "Changed"})
    assert r.status_code == 400, r.text
    after = org_a.admin.get("/v1/models/acme/m").json()
    assert (after["licence"], after["title"]) == ("MIT", "ACME/M")


# --- clauses -------------------------------------------------------------------------------


def test_a_clause_is_text_in_both_languages_or_a_url(org_a, client):
    model(org_a, "acme/chat", licence="apache-2.0")
    assert client.get("/v1/public/models/acme/chat/clause").status_code == 404
    for incomplete in ({"text_en": "English only"}, {}, {"text_fr": "Français seulement"},
                       {"url": "ftp://acme.example/clause"}):
        r = org_a.admin.post("/v1/models/acme/chat/clause", json=incomplete)
        assert r.status_code == 422, (incomplete, r.text)
    first = publish(org_a)
    assert first["version"] == 1 and first["text_fr"] == CLAUSE["text_fr"]
    assert first["public_url"].endswith("/models/acme/chat/clause/1")
    second = publish(org_a, url="https://acme.example/legal/update-clause")
    assert second["version"] == 2 and second["text_en"] is None
    assert client.get("/v1/public/models/acme/chat/clause").json() == second
    assert client.get("/v1/public/models/acme/chat/clause/1").json() == first
    assert client.get("/v1/public/models/acme/chat/clause/3").status_code == 404
    # Only the model's own organisation publishes: the reviewer role cannot.
    assert org_a.client("reviewer").post("/v1/models/acme/chat/clause",
                                         json=CLAUSE).status_code == 403


def test_the_model_page_shows_licence_clause_and_access_in_english_and_french(org_a, web):
    model(org_a, "acme/chat", licence="apache-2.0", gated=True)
    version(org_a, "acme/chat", "v1")
    publish(org_a)
    en = web.get("/models/acme/chat")
    assert en.status_code == 200
    assert "Apache-2.0" in en.text and "Update clause" in en.text
    assert "Replace every copy the provider supersedes" in en.text
    assert "Downloads require registration" in en.text
    assert 'href="/subscribe?model=acme/chat"' in en.text and "feed.atom" in en.text
    fr = web.get("/models/acme/chat", params={"lang": "fr"})
    assert "Clause de mise à jour" in fr.text and "Remplacez toute copie" in fr.text
    assert "Le téléchargement demande une inscription" in fr.text
    page = web.get("/models/acme/chat/clause/1")
    assert page.status_code == 200
    assert "Replace every copy" in page.text and "Remplacez toute copie" in page.text
    assert web.get("/models/acme/chat/clause/9").status_code == 404
    assert web.get("/models/acme/nothing").status_code == 404


def test_subscribing_requires_and_records_acceptance_of_the_current_clause(
        client, org_a, mailbox, receiver, settings):
    model(org_a, "acme/chat")
    model(org_a, "acme/free")
    publish(org_a)
    r = client.post("/v1/public/subscribers", json={
        "name": "Careless", "email": "careless@re.example", "models": ["acme/chat", "acme/free"]})
    assert r.status_code == 422, r.text
    assert [f["field"] for f in r.json()["fields"]] == ["accept_clauses"]
    assert "update clause" in r.json()["detail"] and "version 1" in r.json()["detail"]
    # A stale version is not the one in force.
    r = client.post("/v1/public/subscribers", json={
        "name": "Stale", "email": "stale@re.example", "models": ["acme/chat"],
        "accept_clauses": [{"model": "acme/chat", "version": 7}]})
    assert r.status_code == 422, r.text
    assert mailbox.to("careless@re.example") == [] and mailbox.to("stale@re.example") == []

    sub = subscribe_accepting(client, mailbox, "acme/chat", 1, [receiver.url("/careful")])
    rows = org_a.admin.get("/v1/models/acme/chat/clause/acceptances").json()
    assert len(rows) == 1
    [row] = rows
    assert row["subscriber_id"] == sub.id and row["name"] == "Careful Re-user"
    assert (row["accepted_version"], row["via"], row["up_to_date"]) == (1, "sign-up", True)
    # Evidence in the provider's hash-chained audit trail too.
    assert audit_verify(settings, "org-a").returncode == 0


def subscribe_accepting(client, mailbox, ref, version_, urls):
    email = f"careful-{version_}@re.example"
    r = client.post("/v1/public/subscribers", json={
        "name": "Careful Re-user", "email": email, "models": [ref], "accept_clauses": [
            {"model": ref, "version": version_}], "endpoints": [{"url": u} for u in urls]})
    assert r.status_code == 202, r.text
    token = re.search(r"/s/confirm/(\S+)", body(mailbox.wait_for(email, "Confirm"))).group(1)
    r = client.post("/v1/public/subscribers/confirm", json={"token": token})
    assert r.status_code == 200, r.text
    from tests.propagation import Sub
    data = r.json()
    return Sub(id=data["subscriber"]["id"], token=data["token"], secrets={
        e["url"]: s["secret"] for e in data["subscriber"]["endpoints"] for s in data["secrets"]
        if s["endpoint_id"] == e["id"]}, endpoints={}, base_url=str(client.base_url))


def test_a_new_version_asks_followers_again_and_the_provider_sees_who_has_not(
        client, org_a, mailbox, receiver, repo_root):
    model(org_a, "acme/chat", licence="mit")
    publish(org_a)
    careful = subscribe_accepting(client, mailbox, "acme/chat", 1, [receiver.url("/c")])

    publish(org_a, url="https://acme.example/legal/update-clause-2")
    # Webhook: the new version, with its link; it validates against the committed schema.
    [hit] = receiver.wait_for("/c")
    event = json.loads(hit.body)
    assert event["type"] == "model.clause.updated"
    assert event["data"]["clause"]["version"] == 2 and event["data"]["licence"] == "MIT"
    assert event["data"]["clause"]["url"].endswith("/models/acme/chat/clause/2")
    assert event["data"]["clause"]["external_url"] == "https://acme.example/legal/update-clause-2"
    schema = json.loads((repo_root / "webhooks/schemas/model.clause.updated.json").read_text())
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(event)
    # Email, asking to accept.
    msg = mailbox.wait_for("careful-1@re.example", "accept the new update clause")
    assert "/models/acme/chat/clause/2" in body(msg)
    # The provider sees who has not accepted.
    [row] = org_a.admin.get("/v1/models/acme/chat/clause/acceptances").json()
    assert (row["accepted_version"], row["up_to_date"]) == (1, False)
    [mine] = careful.api.get("/v1/subscriber/clauses").json()
    assert (mine["version"], mine["accepted_version"], mine["pending"]) == (2, 1, True)
    # Accepting the old version again is refused; the current one is recorded once.
    r = careful.api.post("/v1/subscriber/clauses/accept", json={"model": "acme/chat",
                                                                "version": 1})
    assert (r.status_code, r.json()["error"]) == (409, "conflict"), r.text
    for _ in range(2):
        r = careful.api.post("/v1/subscriber/clauses/accept", json={"model": "acme/chat",
                                                                    "version": 2})
        assert r.status_code == 200 and r.json()["pending"] is False, r.text
    [row] = org_a.admin.get("/v1/models/acme/chat/clause/acceptances").json()
    assert (row["accepted_version"], row["via"], row["up_to_date"]) == (2, "api", True)
    # Feeds carry the clause's versions too.
    feed = feedparser.parse(client.get("/v1/public/models/acme/chat/feed.atom").content)
    assert [e.rr_type for e in feed.entries][:2] == ["model.clause.updated"] * 2
    assert "clause/2" in feed.entries[0].title
    assert [link.href for link in feed.feed.links if link.rel == "license"] == [
        event["data"]["clause"]["url"]]
    doc = client.get("/v1/public/models/acme/chat/feed.json").json()
    assert doc["items"][0]["_rights_relay"]["type"] == "model.clause.updated"
    assert doc["_rights_relay"]["update_clause"] == event["data"]["clause"]["url"]


def test_the_pages_ask_for_acceptance_and_show_the_provider_who_has_not(
        web, org_a, mailbox, server):
    model(org_a, "acme/chat")
    publish(org_a)
    page = web.get("/subscribe", params={"model": "acme/chat"})
    assert 'name="accept_clauses" value="acme/chat@1"' in page.text
    assert 'href="/models/acme/chat/clause/1"' in page.text
    fields = {"csrf_token": csrf_of(page), "name": "Page Re-user", "email": "page@re.example",
              "models": ["acme/chat"]}
    r = web.post("/subscribe", data=fields)
    assert r.status_code == 422 and "update clause" in r.text
    r = web.post("/subscribe", data={**fields, "accept_clauses": "acme/chat@1"})
    assert r.status_code == 202, r.text
    link = re.search(r"https?://\S+(/s/confirm/\S+)",
                     body(mailbox.wait_for("page@re.example", "Confirm"))).group(1)
    confirm = web.get(link)
    manage = web.post(link, data={"csrf_token": csrf_of(confirm)}).headers["location"]
    manage = manage.split("?")[0]
    publish(org_a)  # version 2
    page = web.get(manage)
    assert "version 2" in page.text and "I have read it and accept it" in page.text
    # The provider's dashboard names who has not accepted version 2.
    assert sign_in(web, org_a.admin_email, org_a.admin_password).status_code == 303
    dashboard = web.get("/dashboard/propagation")
    assert "Update clause (version 2)" in dashboard.text and "not accepted" in dashboard.text
    page = web.get(manage)  # CSRF tokens are bound to the session: signing in changed it
    r = web.post(manage, data={"csrf_token": csrf_of(page), "action": "accept_clause",
                               "model": "acme/chat", "version": "2"})
    assert r.status_code == 303, r.text
    assert "Accepted" in web.get(manage).text
    dashboard = web.get("/dashboard/propagation")
    assert "not accepted" not in dashboard.text
    assert re.search(r"accepted [A-Z][a-z]+ \d{1,2}, \d{4}", dashboard.text)  # a date in words
