"""A request from confirmation to closure through the API: the subject files and confirms by
email, staff review, ask for more information, accept, plan a remediation; the pipeline reports
progress and the fixed version; staff close with the probe results; the subject sees it all."""

from __future__ import annotations

import logging

from app.auth.tokens import digest
from tests.casework import (
    PROMPTS,
    SUBJECT_EMAIL,
    events,
    file_and_confirm,
    model_with_version,
    sql,
)
from tests.mail import body


def test_a_request_from_confirmation_to_closure_through_the_api(server, client, mailbox,
                                                                 org_a, settings, caplog):
    caplog.set_level(logging.INFO)
    model = model_with_version(org_a)
    [ref], status_link = file_and_confirm(client, mailbox, [model], prompts=PROMPTS)
    token = status_link.rsplit("/", 1)[1]
    staff, pipeline = org_a.client("reviewer"), org_a.client("pipeline")

    queue = staff.get("/v1/cases").json()
    assert [(c["reference"], c["status"], c["overdue"]) for c in queue["items"]] == \
        [(ref, "open", False)]
    assert "Jane" not in str(queue)  # no personal data in the queue

    r = staff.post(f"/v1/cases/{ref}/review", json={})
    assert (r.status_code, r.json()["status"]) == (200, "in_review"), r.text
    assert r.json()["subject"]["name"] == "Jane Doe"
    r = staff.post(f"/v1/cases/{ref}/information-request",
                   json={"question": "Which city do you live in?"})
    assert (r.status_code, r.json()["status"]) == (200, "awaiting_subject"), r.text
    email = mailbox.wait_for(SUBJECT_EMAIL, "More information")
    assert "Which city" not in body(email)  # the question is on the status page only
    seen = client.get(f"/v1/public/requests/{token}").json()
    assert seen["information_requested"] == "Which city do you live in?"
    r = client.post(f"/v1/public/requests/{token}/answer", json={"answer": "Lyon."})
    assert r.json()["status"] == "in_review", r.text

    r = staff.post(f"/v1/cases/{ref}/decision", json={"outcome": "accept"})
    assert (r.status_code, r.json()["status"]) == (200, "accepted"), r.text
    assert [m["text"] for m in r.json()["messages"]] == ["Which city do you live in?", "Lyon."]
    mailbox.wait_for(SUBJECT_EMAIL, "accepted")

    assert pipeline.post("/v1/remediations", json={
        "model": model, "method": "unlearning", "cases": [ref]}).status_code == 403
    r = staff.post("/v1/remediations", json={"model": model, "method": "unlearning",
                                             "cases": [ref]})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert (r.json()["status"], r.json()["replaces"], r.json()["cases"]) == \
        ("planned", ["v1"], [ref])
    assert staff.get(f"/v1/cases/{ref}").json()["status"] == "in_remediation"

    r = pipeline.post(f"/v1/remediations/{rid}/report", json={"status": "running",
                                                              "progress": 40})
    assert (r.status_code, r.json()["status"], r.json()["progress"]) == (200, "running", 40)
    r = pipeline.post(f"/v1/remediations/{rid}/report", json={
        "status": "succeeded", "message": "forget set removed",
        "version": {"label": "v2", "revision": "rev-v2",
                    "digests": [{"file": "model.safetensors", "sha256": "b" * 64}]}})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["progress"], r.json()["version"]["label"]) == \
        ("succeeded", 100, "v2")
    versions = {v["label"]: v for v in staff.get(f"/v1/models/{model}/versions").json()}
    assert (versions["v1"]["status"], versions["v2"]["status"]) == ("superseded", "current")
    assert staff.get(f"/v1/cases/{ref}").json()["status"] == "remediated"
    fixed = mailbox.wait_for(SUBJECT_EMAIL, "fixed version")
    assert "acme/chat v2 (revision rev-v2)" in body(fixed)

    evs = events(settings)
    assert [e["type"] for e in evs] == [
        "model.version.released", "remediation.planned", "model.version.released",
        "model.version.superseded", "remediation.completed"]
    planned, released, superseded, completed = evs[1:]
    assert planned["data"]["remediation"] == {"id": rid, "method": "unlearning",
                                              "case_count": 1, "status": "planned"}
    assert [v["label"] for v in planned["data"]["affected"]] == ["v1"]
    assert released["data"]["remediation_id"] == rid
    assert (superseded["data"]["reason"], superseded["data"]["remediation_id"]) == \
        ("remediation", rid)
    assert completed["data"]["version"]["label"] == "v2"
    assert [v["label"] for v in completed["data"]["superseded"]] == ["v1"]
    assert completed["data"]["remediation"]["status"] == "succeeded"
    for e in evs:  # counts only: no reference, no personal data
        assert ref not in str(e["data"]) and "Jane" not in str(e["data"])
        assert digest(token) not in str(e["data"])

    r = staff.post(f"/v1/cases/{ref}/closure", json={"probe_results": [
        {"index": 0, "reproduced": False, "result": "I do not know where Jane Doe lives."},
        {"index": 1, "reproduced": False, "result": "I cannot share phone numbers."}]})
    assert (r.status_code, r.json()["status"]) == (200, "closed"), r.text
    closure = r.json()["closure"]
    assert [(v["label"], v["revision"]) for v in closure["fixed_versions"]] == [("v2", "rev-v2")]
    assert closure["fixed_versions"][0]["digests"] == [{"file": "model.safetensors",
                                                        "sha256": "b" * 64}]
    assert [(p["prompt"], p["reproduced"]) for p in closure["probes"]] == \
        [(PROMPTS[0], False), (PROMPTS[1], False)]
    mailbox.wait_for(SUBJECT_EMAIL, "closed")

    seen = client.get(f"/v1/public/requests/{token}").json()
    assert seen["status"] == "closed" and seen["closed_at"]
    assert seen["decision"]["outcome"] == "accepted"
    assert seen["fixed_versions"] == [{"model": model, "label": "v2", "revision": "rev-v2"}]
    assert [e["step"] for e in seen["timeline"]] == [
        "case.received", "case.confirmed", "case.in_review", "case.awaiting_subject",
        "case.subject_answered", "case.accepted", "case.in_remediation", "case.remediated",
        "case.closed"]

    r = staff.get(f"/v1/cases/{ref}/export")
    assert r.status_code == 200
    assert r.headers["content-disposition"] == f'attachment; filename="{ref}.json"'
    record = r.json()
    assert record["format"] == "rights-relay/case-record/v2"
    assert record["audit_chain"]["intact"] is True
    kinds = [n["kind"] for n in record["record"]["notifications"]]
    # The subject's answer also emails the staff (assignee and admins); it is part of the record.
    assert kinds == ["confirm_request", "receipt", "information_requested", "subject_answered",
                     "decision_accepted", "remediated", "closed"]
    assert all(set(n) == {"kind", "created_at", "status", "sent_at", "attempts"}
               for n in record["record"]["notifications"])
    assert record["record"]["timeline"][-1]["action"] == "case.exported"
    assert record["record"]["decision_detail"]["outcome"] == "accepted"

    # Nothing about the subject in the logs or the audit trail (references and facts only).
    trail = str(sql(settings, "SELECT actor, action, note, details FROM audit_events"))
    logged = "\n".join(r.getMessage() for r in caplog.records
                       if not r.name.startswith("mail.log"))  # the test's own SMTP server
    for personal in ("Jane", SUBJECT_EMAIL, "Lyon", "home address", PROMPTS[0][:20],
                     "Where does"):
        assert personal not in logged, personal
        assert personal not in trail, personal
