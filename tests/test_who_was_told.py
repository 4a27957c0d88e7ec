"""GDPR Art. 19, who was told of the correction: the subject's status page (and its JSON) lists the
re-users and derived-model providers told of the fix with sent, delivered and acknowledged
dates; the export carries the same per recipient; closing shows the acknowledgement state and
needs a recorded reason while acknowledgements are pending; re-users are told at subscription
that their display name may be shown."""

from __future__ import annotations

import httpx
import pytest

from tests.casework import model_with_version, seed_case
from tests.propagation import quick_subscriber
from tests.subjects import wait_until

V2 = {"label": "v2", "revision": "rev-v2",
      "digests": [{"file": "model.safetensors", "sha256": "c" * 64}]}


@pytest.fixture
def fixed(settings, server, org_a, org_b, receiver):
    model = model_with_version(org_a)
    hooked = quick_subscriber(settings, server.url, [model], [receiver.url("/told")],
                              name="Hooked Re-user Ltd")
    quick_subscriber(settings, server.url, [model], [], name="Mail-only Re-user SA")
    r = org_b.admin.post("/v1/models", json={"id": "org-b/derived", "title": "Derived",
                                             "derived_from": [model]})
    assert r.status_code == 201, r.text
    ref, token = seed_case(settings, [model], status="accepted")
    rid = org_a.admin.post("/v1/remediations", json={
        "model": model, "method": "unlearning", "cases": [ref]}).json()["id"]
    org_a.client("pipeline").post(f"/v1/remediations/{rid}/report", json={"status": "running"})
    r = org_a.client("pipeline").post(f"/v1/remediations/{rid}/report",
                                      json={"status": "succeeded", "version": V2})
    assert r.status_code == 200, r.text
    receiver.wait_for("/told")
    return ref, token, hooked


def by_name(recipients):
    return {r["name"]: r for r in recipients}


def test_the_subject_sees_who_was_told_with_dates(fixed, org_a, client, server):
    ref, token, hooked = fixed
    # Wait on the staff view (the status link is rate limited per address), then read the
    # subject's.
    def delivered():
        rs = org_a.admin.get(f"/v1/cases/{ref}").json()["recipients"]
        return all(r["delivered_at"] for r in rs) and len(rs) == 3

    wait_until(delivered, timeout=30)
    names = by_name(client.get(f"/v1/public/requests/{token}").json()["recipients"])
    assert set(names) == {"Hooked Re-user Ltd", "Mail-only Re-user SA", "Org org-b"}
    assert names["Org org-b"]["kind"] == "derived_model_provider"
    assert names["Org org-b"]["model"] == "org-b/derived"
    assert names["Hooked Re-user Ltd"]["kind"] == "re_user"
    assert names["Hooked Re-user Ltd"]["sent_at"] and names["Hooked Re-user Ltd"]["model"] == \
        "acme/chat"
    assert names["Hooked Re-user Ltd"]["acknowledged_at"] is None
    event_id = by_name(org_a.admin.get(f"/v1/cases/{ref}").json()["recipients"])[
        "Hooked Re-user Ltd"]["event_id"]
    r = hooked.api.post("/v1/subscriber/acknowledgements",
                        json={"event_id": event_id, "outcome": "replaced"})
    assert r.status_code in (200, 201), r.text
    view = client.get(f"/v1/public/requests/{token}").json()
    assert by_name(view["recipients"])["Hooked Re-user Ltd"]["acknowledged_at"]
    html = httpx.get(f"{server.url}/r/status/{token}", headers={"Accept": "text/html"}).text
    assert "Hooked Re-user Ltd" in html and "Who was told of the correction" in html


def test_closing_with_pending_acknowledgements_needs_a_recorded_reason(fixed, org_a, settings):
    ref, _, _ = fixed
    wait_until(lambda: org_a.admin.get(f"/v1/cases/{ref}").json()["notifications"])
    detail = org_a.admin.get(f"/v1/cases/{ref}").json()
    pending = [r["name"] for r in detail["recipients"] if r["ack_pending"]]
    assert sorted(pending) == ["Hooked Re-user Ltd", "Mail-only Re-user SA"]
    r = org_a.admin.post(f"/v1/cases/{ref}/closure", json={})
    assert r.status_code == 409 and r.json()["error"] == "conflict", r.text
    assert "pending_acks_reason" in r.json()["detail"]
    assert org_a.admin.get(f"/v1/cases/{ref}").json()["status"] == "remediated"
    r = org_a.admin.post(f"/v1/cases/{ref}/closure",
                         json={"pending_acks_reason": "Both re-users confirmed by phone."})
    assert r.status_code == 200, r.text
    closure = r.json()["closure"]
    assert closure["acks_pending_at_closure"] == 2
    assert closure["pending_acks_reason"] == "Both re-users confirmed by phone."
    export = org_a.admin.get(f"/v1/cases/{ref}/export").json()
    evidence = by_name(export["record"]["recipients"])
    assert set(evidence) == {"Hooked Re-user Ltd", "Mail-only Re-user SA", "Org org-b"}
    assert all(e["event_id"] and "ack_pending" in e for e in evidence.values())
    closed = [e for e in export["record"]["timeline"] if e["action"] == "case.closed"]
    assert closed[0]["details"]["acks_pending"] == 2


def test_re_users_are_told_at_subscription_that_their_name_may_be_shown(client, org_a):
    model_with_version(org_a)  # the form lists models to follow
    html = client.get("/subscribe", headers={"Accept": "text/html"}).text
    assert "that person may see this name" in html
    schema = client.get("/openapi.json").json()["components"]["schemas"]["SubscriberCreate"]
    assert "Art. 19" in schema["properties"]["name"]["description"]
