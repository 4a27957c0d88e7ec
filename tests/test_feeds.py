"""Public feeds (Atom, JSON Feed 1.1) parsed with a standard parser, ETags, and the pull API."""

from __future__ import annotations

from datetime import datetime

import feedparser
import pytest

from tests.propagation import model, remediate, version


@pytest.fixture
def history(org_a, server):
    model(org_a, "acme/chat")
    model(org_a, "acme/other")
    version(org_a, "acme/chat", "v1")
    version(org_a, "acme/chat", "v2", supersedes=["v1"])
    version(org_a, "acme/other", "x1")
    version(org_a, "acme/chat", "v3")
    remediate(server.settings, "acme/chat", "v2", "v3")
    return "acme/chat"


def test_the_model_atom_feed_parses_and_says_what_to_do(client, history):
    r = client.get("/v1/public/models/acme/chat/feed.atom")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert feed.feed.title == "Rights Relay: acme/chat"
    assert [e.rr_type for e in feed.entries] == [
        "model.version.superseded", "model.version.released", "model.version.superseded",
        "model.version.released", "model.version.released"]
    newest = feed.entries[0]
    assert newest.id.startswith("urn:uuid:")
    assert newest.tags[0].term == "model.version.superseded"
    assert newest.rr_action == "replace"
    assert newest.rr_affected == {"label": "v2", "revision": "rev-v2"}
    assert newest.rr_replacement == {"label": "v3", "revision": "rev-v3"}
    assert datetime.fromisoformat(newest.rr_deadline) > datetime.fromisoformat(newest.updated)
    assert "Replace your copies" in newest.summary
    assert "acme/other" not in r.text


def test_the_json_feed_follows_json_feed_1_1(client, history):
    r = client.get("/v1/public/models/acme/chat/feed.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/feed+json")
    doc = r.json()
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["title"] and doc["feed_url"].endswith("/v1/public/models/acme/chat/feed.json")
    assert len(doc["items"]) == 5
    for item in doc["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert item["content_text"] and item["url"].startswith("http")
        datetime.fromisoformat(item["date_published"])
        ext = item["_rights_relay"]
        assert {"type", "action", "deadline_at", "affected", "replacement"} <= set(ext)
        assert item["tags"] == [ext["type"]]
    fix = doc["items"][0]["_rights_relay"]
    assert fix["affected"][0]["revision"] == "rev-v2"
    assert fix["replacement"]["revision"] == "rev-v3"
    assert fix["action"] == "replace" and fix["deadline_at"]
    # JSON Feed 1.1: the keys the spec defines are the only un-prefixed ones.
    assert set(doc) <= {"version", "title", "home_page_url", "feed_url", "description",
                        "authors", "language", "items"}
    for item in doc["items"]:
        assert {k for k in item if not k.startswith("_")} <= {
            "id", "url", "title", "content_text", "date_published", "tags"}


def test_the_organisation_feed_covers_all_its_models(client, history):
    r = client.get("/v1/public/organizations/org-a/feed.atom")
    feed = feedparser.parse(r.content)
    assert not feed.bozo
    assert {e.rr_model for e in feed.entries} == {"acme/chat", "acme/other"}
    assert len(client.get("/v1/public/organizations/org-a/feed.json").json()["items"]) == 6


@pytest.mark.parametrize("path", ["/v1/public/models/acme/chat/feed.atom",
                                  "/v1/public/models/acme/chat/feed.json",
                                  "/v1/public/organizations/org-a/feed.json"])
def test_etags_answer_304_until_something_new_happens(client, org_a, history, path):
    first = client.get(path)
    tag = first.headers["etag"]
    again = client.get(path, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    assert client.get(path, headers={"If-None-Match": '"other", ' + tag}).status_code == 304
    assert client.get(path, headers={"If-None-Match": '"stale"'}).status_code == 200
    version(org_a, "acme/chat", "v4")
    changed = client.get(path, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag


def test_feeds_of_unknown_things_are_404(client):
    for path in ("/v1/public/models/no/such/feed.atom", "/v1/public/models/no/such/feed.json",
                 "/v1/public/organizations/nobody/feed.atom"):
        r = client.get(path)
        assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_the_pull_api_pages_after_a_cursor(client, history):
    page = client.get("/v1/public/events", params={"limit": 2}).json()
    seen = [e["position"] for e in page["items"]]
    while page["has_more"]:
        page = client.get("/v1/public/events",
                          params={"after": page["next_after"], "limit": 2}).json()
        seen += [e["position"] for e in page["items"]]
    assert seen == sorted(seen) and len(seen) == 6
    # Nothing new: the cursor stays where it is.
    done = client.get("/v1/public/events", params={"after": seen[-1]}).json()
    assert done == {"items": [], "next_after": seen[-1], "has_more": False}
    only = client.get("/v1/public/events", params={
        "model": "acme/chat", "type": "model.version.superseded"}).json()["items"]
    assert [e["data"]["superseded"]["label"] for e in only] == ["v1", "v2"]
    assert only[1]["data"]["reason"] == "remediation"
    one = client.get(f"/v1/public/events/{only[1]['id']}").json()
    assert one == only[1]


@pytest.mark.parametrize("params", [{"after": -1}, {"limit": 0}, {"type": "nope"},
                                    {"model": "no-slash"}, {"model": "a/b\x00"}])
def test_the_pull_api_refuses_bad_parameters(client, params):
    r = client.get("/v1/public/events", params=params)
    assert r.status_code == 422 and r.json()["error"] == "validation_error"


def test_feeds_hold_no_personal_data(client, org_a, mailbox, history):
    """A data subject's request (name, email, description) never reaches the feeds."""
    r = client.post("/v1/public/requests", json={
        "models": ["acme/chat"], "kind": "erasure", "name": "Jane Q. Subject",
        "email": "jane.subject@example.org", "description": "My home address 12 Secret Lane",
        "language": "en"})
    assert r.status_code == 202, r.text
    for path in ("/v1/public/models/acme/chat/feed.atom", "/v1/public/models/acme/chat/feed.json",
                 "/v1/public/events"):
        text = client.get(path).text
        for secret in ("Jane", "jane.subject", "Secret Lane"):
            assert secret not in text
