"""The lineage cascade: A <- B <- C across three organisations. A remediation of A reaches B's
and C's subscribers as `upstream.remediation`, their providers are emailed, and the chain is
visible from the original event."""

from __future__ import annotations

import json

import feedparser
import pytest

from tests.mail import body
from tests.propagation import check_signatures, keys, model, remediate, subscribe, version
from tests.support import create_org


@pytest.fixture
def org_c(server):
    org = create_org(server.settings, server.url, "org-c")
    yield org
    org.close()


@pytest.fixture
def lineage(org_a, org_b, org_c):
    model(org_a, "alpha/base")
    model(org_b, "beta/tuned", derived_from="alpha/base")
    model(org_c, "gamma/distilled", derived_from="beta/tuned")
    model(org_c, "gamma/unrelated")
    version(org_a, "alpha/base", "v1")
    version(org_a, "alpha/base", "v2")
    return org_a, org_b, org_c


def by_type(hits, type_):
    return [h for h in hits if json.loads(h.body)["type"] == type_]


def test_a_two_level_chain_is_notified_end_to_end(client, server, lineage, mailbox, receiver):
    org_a, org_b, org_c = lineage
    urls = {m: receiver.url(f"/{m.replace('/', '-')}") for m in
            ("alpha/base", "beta/tuned", "gamma/distilled", "gamma/unrelated")}
    subs = {m: subscribe(client, mailbox, models=[m], urls=[u], name=f"Re-user of {m}")
            for m, u in urls.items()}
    mailbox.clear()

    root_id, remediation_id = remediate(server.settings, "alpha/base", "v1", "v2")

    [fix] = receiver.wait_for("/alpha-base")
    root = check_signatures(fix, subs["alpha/base"].secrets[urls["alpha/base"]], keys(client))
    assert root["type"] == "model.version.superseded" and root["data"]["event_id"] == root_id

    [b_hit] = receiver.wait_for("/beta-tuned")
    b = check_signatures(b_hit, subs["beta/tuned"].secrets[urls["beta/tuned"]], keys(client))
    assert b["type"] == "upstream.remediation"
    assert b["data"]["model"] == {"id": "beta/tuned", "organization": "org-b"}
    assert b["data"]["upstream"]["model"]["id"] == "alpha/base"
    assert b["data"]["upstream"]["event_id"] == root_id
    assert b["data"]["upstream"]["remediation_id"] == remediation_id
    assert b["data"]["upstream"]["superseded"]["label"] == "v1"
    assert b["data"]["upstream"]["replacement"]["label"] == "v2"
    assert b["data"]["depth"] == 1 and b["data"]["action"] == "review"
    assert b["data"]["chain"] == [root_id, b["data"]["event_id"]]
    assert b["data"]["deadline_at"] == root["data"]["deadline_at"]
    assert b_hit.headers["rights-relay-ack-url"]

    [c_hit] = receiver.wait_for("/gamma-distilled")
    c = check_signatures(c_hit, subs["gamma/distilled"].secrets[urls["gamma/distilled"]],
                         keys(client))
    assert c["type"] == "upstream.remediation" and c["data"]["depth"] == 2
    assert c["data"]["chain"] == [root_id, b["data"]["event_id"], c["data"]["event_id"]]
    assert c["data"]["model"]["organization"] == "org-c"

    receiver.quiet("/gamma-unrelated", 0.3)
    assert receiver.to("/gamma-unrelated") == []

    # Each derived model's provider is told by email; the fixed model's provider is not.
    for org, ref in ((org_b, "beta/tuned"), (org_c, "gamma/distilled")):
        msg = mailbox.wait_for(org.admin_email, "Upstream fix")
        assert ref in str(msg["Subject"]) and "/v1/public/events/" in body(msg)
    assert mailbox.to(org_a.admin_email) == []

    # The chain is visible from the original event.
    chain = client.get(f"/v1/public/events/{root_id}/chain").json()
    assert chain["root_id"] == root_id
    assert [(e["model"], e["type"]) for e in chain["events"]] == [
        ("alpha/base", "model.version.superseded"), ("beta/tuned", "upstream.remediation"),
        ("gamma/distilled", "upstream.remediation")]
    assert [e["caused_by"] for e in chain["events"]] == [
        None, root_id, b["data"]["event_id"]]
    caused = client.get(f"/v1/public/events/{root_id}/caused").json()
    assert [e["id"] for e in caused] == [b["data"]["event_id"]]
    assert client.get(f"/v1/public/events/{c['data']['event_id']}/chain").json() == chain

    # ... and in the derived models' feeds.
    feed = feedparser.parse(client.get("/v1/public/models/gamma/distilled/feed.atom").content)
    [entry] = feed.entries
    assert entry.rr_type == "upstream.remediation" and entry.rr_action == "review"
    assert entry.rr_replacement == {"label": "v2", "revision": "rev-v2"}


def test_an_ordinary_update_does_not_cascade(client, lineage, mailbox, receiver):
    org_a, _, _ = lineage
    version(org_a, "alpha/base", "v3", supersedes=["v1"])
    events = client.get("/v1/public/events").json()["items"]
    assert "upstream.remediation" not in {e["type"] for e in events}
    superseded = [e for e in events if e["type"] == "model.version.superseded"]
    assert superseded and superseded[0]["data"]["reason"] == "update"
