"""Derivatives published elsewhere: a subscriber declares a model it derived from one it
follows (name and URL) and becomes a downstream provider in the cascade; its own re-users
follow the declared model here and receive `upstream.remediation`."""

from __future__ import annotations

import json

from tests.mail import body
from tests.propagation import check_signatures, keys, model, remediate, subscribe, version


def test_a_declared_derivative_is_reached_by_the_cascade(client, server, org_a, mailbox,
                                                         receiver):
    model(org_a, "alpha/base")
    version(org_a, "alpha/base", "v1")
    version(org_a, "alpha/base", "v2")
    builder = subscribe(client, mailbox, models=["alpha/base"], name="Builder Ltd",
                        email="builder@re.example")
    r = builder.api.post("/v1/subscriber/derivatives", json={
        "id": "builder/alpha-legal", "title": "Alpha Legal", "derived_from": ["alpha/base"],
        "url": "https://models.builder.example/alpha-legal", "licence": "apache-2.0"})
    assert r.status_code == 201, r.text
    declared = r.json()
    assert declared["derived_from"] == ["alpha/base"] and declared["licence"] == "Apache-2.0"
    assert declared["organization"].startswith("re-user-")
    assert builder.api.get("/v1/subscriber/derivatives").json() == [declared]
    # It has a public page and can be followed like any model.
    page = client.get("/models/builder/alpha-legal")
    assert page.status_code == 200 and "declared by a re-user" in page.text
    downstream_url = receiver.url("/downstream")
    downstream = subscribe(client, mailbox, models=["builder/alpha-legal"],
                           urls=[downstream_url], name="Downstream of Builder")
    mailbox.clear()

    root_id, _ = remediate(server.settings, "alpha/base", "v1", "v2")

    [hit] = receiver.wait_for("/downstream")
    event = check_signatures(hit, downstream.secrets[downstream_url], keys(client))
    assert event["type"] == "upstream.remediation"
    assert event["data"]["model"] == {"id": "builder/alpha-legal",
                                      "organization": declared["organization"]}
    assert event["data"]["upstream"]["model"]["id"] == "alpha/base"
    assert event["data"]["chain"][0] == root_id and event["data"]["depth"] == 1
    # The declaring subscriber is told, as the derivative's provider.
    msg = mailbox.wait_for("builder@re.example", "Upstream fix for your derivative")
    assert "builder/alpha-legal" in str(msg["Subject"]) and "/chain" in body(msg)
    chain = client.get(f"/v1/public/events/{root_id}/chain").json()["events"]
    assert [e["model"] for e in chain] == ["alpha/base", "builder/alpha-legal"]
    assert json.loads(hit.body)["data"]["action"] == "review"


def test_only_models_the_subscriber_follows_can_be_parents(client, org_a, mailbox):
    model(org_a, "alpha/base")
    model(org_a, "alpha/other")
    builder = subscribe(client, mailbox, models=["alpha/base"])
    for parents in (["alpha/other"], ["alpha/base", "alpha/missing"]):
        r = builder.api.post("/v1/subscriber/derivatives", json={
            "id": "builder/x", "title": "X", "derived_from": parents,
            "url": "https://builder.example/x"})
        assert (r.status_code, r.json()["error"]) == (400, "bad_request"), r.text
    # An id already registered is a conflict; nothing is declared.
    r = builder.api.post("/v1/subscriber/derivatives", json={
        "id": "alpha/other", "title": "Mine", "derived_from": ["alpha/base"],
        "url": "https://builder.example/x"})
    assert r.status_code == 409, r.text
    assert builder.api.get("/v1/subscriber/derivatives").json() == []
    assert client.post("/v1/subscriber/derivatives", json={}).status_code == 401


def test_a_declaration_made_in_error_is_taken_back_until_something_rests_on_it(
        client, org_a, mailbox):
    """Withdrawn while nobody follows it: gone from the list, the public pages and the
    lineage, and its name can be declared again. Once a re-user follows it, it stays (409) and
    is unchanged. Only the declaring subscriber can withdraw it; bad paths are 4xx."""
    model(org_a, "alpha/base")
    builder = subscribe(client, mailbox, models=["alpha/base"], email="maker@re.example")
    other = subscribe(client, mailbox, models=["alpha/base"], email="other@re.example")
    body = {"id": "maker/typo", "title": "Typo", "derived_from": ["alpha/base"],
            "url": "https://maker.example/typo"}
    assert builder.api.post("/v1/subscriber/derivatives", json=body).status_code == 201
    assert client.get("/models/maker/typo").status_code == 200
    # Another subscriber cannot; a missing one is not found; paths are checked.
    assert other.api.delete("/v1/subscriber/derivatives/maker/typo").status_code == 404
    assert builder.api.delete("/v1/subscriber/derivatives/maker/none").status_code == 404
    assert builder.api.delete("/v1/subscriber/derivatives/maker/a%20b").status_code == 422
    assert client.delete("/v1/subscriber/derivatives/maker/typo").status_code == 401
    r = builder.api.delete("/v1/subscriber/derivatives/maker/typo")
    assert r.status_code == 204, r.text
    assert builder.api.get("/v1/subscriber/derivatives").json() == []
    assert client.get("/models/maker/typo").status_code == 404
    assert builder.api.delete("/v1/subscriber/derivatives/maker/typo").status_code == 404
    # Declared again under the same name; followed, it now stays.
    r = builder.api.post("/v1/subscriber/derivatives", json=body)
    assert r.status_code == 201, r.text
    declared = r.json()
    subscribe(client, mailbox, models=["maker/typo"], email="follower@re.example")
    r = builder.api.delete("/v1/subscriber/derivatives/maker/typo")
    assert (r.status_code, r.json()["error"]) == (409, "conflict"), r.text
    assert "followers" in r.json()["detail"]
    assert builder.api.get("/v1/subscriber/derivatives").json() == [declared]
    assert client.get("/models/maker/typo").status_code == 200
