"""GDPR Art. 18: while the provider weighs an objection, staff put the case under restriction
with an interim measure (an output filter released as a remediation of method
`output_filter`); start and end are audited and the subject is told in their language."""

from __future__ import annotations

import httpx

from tests.casework import model_with_version, seed_cases, sql
from tests.mail import body


def test_restriction_with_an_output_filter_is_audited_and_told_in_the_subject_s_language(
        settings, org_a, client, server, mailbox):
    model = model_with_version(org_a)
    (ref, token), (accepted, _) = seed_cases(settings, [
        {"models": [model], "status": "in_review", "kind": "objection", "language": "fr",
         "email": "fr@example.org"},
        {"models": [model], "status": "accepted", "email": "other@example.org"}])
    api = org_a.admin
    unlearning = api.post("/v1/remediations", json={
        "model": model, "method": "unlearning", "cases": [accepted]}).json()["id"]
    r = api.post(f"/v1/cases/{ref}/restriction", json={"remediation_id": unlearning})
    assert r.status_code == 400 and "output_filter" in r.json()["detail"], r.text
    r = api.post(f"/v1/cases/{ref}/restriction",
                 json={"remediation_id": "00000000-0000-0000-0000-000000000000"})
    assert r.status_code == 400, r.text
    assert api.get(f"/v1/cases/{ref}").json()["restriction"] is None
    # The interim measure: an output filter, planned as a remediation of the model.
    api.post(f"/v1/remediations/{unlearning}/cancel", json={})
    r = api.post("/v1/remediations", json={"model": model, "method": "output_filter",
                                            "cases": [accepted]})
    assert r.status_code == 201, r.text
    interim = r.json()["id"]
    r = api.post(f"/v1/cases/{ref}/restriction", json={"remediation_id": interim,
                                                       "note": "Filter until decided."})
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["restriction"]["interim_remediation_id"] == interim
    started = detail["timeline"][-1]
    assert started["action"] == "case.restricted"
    assert started["details"]["interim_measure"] == {"remediation": interim,
                                                     "method": "output_filter"}
    assert api.post(f"/v1/cases/{ref}/restriction", json={}).status_code == 409
    msg = body(mailbox.wait_for("fr@example.org", "limité"))
    assert "article 18 du RGPD" in msg
    view = client.get(f"/v1/public/requests/{token}").json()
    assert view["restricted_since"]
    html = httpx.get(f"{server.url}/r/status/{token}", headers={"Accept": "text/html"}).text
    assert "limite le traitement de vos données" in html

    r = api.post(f"/v1/cases/{ref}/restriction/end", json={"note": "Weighed."})
    assert r.status_code == 200, r.text
    assert r.json()["restriction"] is None
    assert r.json()["timeline"][-1]["action"] == "case.restriction_lifted"
    mailbox.wait_for("fr@example.org", "levée")
    assert api.post(f"/v1/cases/{ref}/restriction/end", json={}).status_code == 409
    assert client.get(f"/v1/public/requests/{token}").json()["restricted_since"] is None


def test_a_decision_ends_the_restriction_and_a_decided_case_cannot_be_restricted(
        settings, org_a, mailbox):
    model = model_with_version(org_a)
    [(ref, _)] = seed_cases(settings, [{"models": [model], "status": "in_review",
                                        "kind": "objection"}])
    api = org_a.admin
    assert api.post(f"/v1/cases/{ref}/restriction", json={}).status_code == 200
    r = api.post(f"/v1/cases/{ref}/decision", json={"outcome": "accept"})
    assert r.status_code == 200, r.text
    actions = [e["action"] for e in r.json()["timeline"]]
    assert actions[-2:] == ["case.restriction_lifted", "case.accepted"]
    assert r.json()["restriction"] is None
    r = api.post(f"/v1/cases/{ref}/restriction", json={})
    assert r.status_code == 409 and r.json()["error"] == "conflict", r.text
    assert org_a.client("pipeline").post(f"/v1/cases/{ref}/restriction/end",
                                         json={}).status_code == 403
    assert sql(settings, "SELECT restricted_at FROM cases") == [{"restricted_at": None}]
