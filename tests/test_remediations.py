"""Remediation jobs: planning from accepted cases of one model, the pipeline's reports, the fixed
version superseding the old ones, failure and cancellation, cases about several models, and
closing with the evidence."""

from __future__ import annotations

import pytest

from tests.casework import PROMPTS, SUBJECT_EMAIL, events, model_with_version, seed_cases, sql
from tests.subjects import wait_until

V2 = {"label": "v2", "revision": "rev-v2",
      "digests": [{"file": "model.safetensors", "sha256": "c" * 64}]}


@pytest.fixture
def accepted(settings, org_a):
    model = model_with_version(org_a)
    refs = [ref for ref, _ in seed_cases(settings, [
        {"models": [model], "status": "accepted", "email": f"p{i}@example.org",
         "prompts": PROMPTS} for i in range(3)])]
    return model, refs


def plan(org, model, refs, **extra):
    r = org.client("reviewer").post("/v1/remediations", json={
        "model": model, "method": "retraining", "cases": refs, **extra})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def report(org, rid, role="pipeline", **payload):
    return org.client(role).post(f"/v1/remediations/{rid}/report", json=payload)


def statuses(org, refs):
    return [org.admin.get(f"/v1/cases/{ref}").json()["status"] for ref in refs]


def test_progress_is_reported_while_running_only(org_a, accepted):
    model, refs = accepted
    rid = plan(org_a, model, refs[:2], description="Retrain without the forget set.")
    r = report(org_a, rid, progress=10)
    assert r.status_code == 409 and "is planned" in r.json()["detail"]
    r = report(org_a, rid, status="running", progress=5, message="Epoch 1 of 20")
    assert (r.json()["status"], r.json()["progress"], r.json()["message"]) == \
        ("running", 5, "Epoch 1 of 20")
    assert r.json()["started_at"] is not None
    r = report(org_a, rid, progress=55)
    assert r.json()["progress"] == 55
    for bad in ({"progress": 101}, {"progress": -1}, {}, {"status": "succeeded"},
                {"status": "running", "version": V2}, {"status": "cancelled"},
                {"message": "a\x00b"}):
        r = report(org_a, rid, **bad)
        assert r.status_code == 422, (bad, r.text)
    listed = org_a.client("pipeline").get("/v1/remediations", params={"status": "running"})
    assert [x["id"] for x in listed.json()["items"]] == [rid]
    assert org_a.client("pipeline").get("/v1/remediations",
                                        params={"status": "planned"}).json()["items"] == []
    assert statuses(org_a, refs) == ["in_remediation", "in_remediation", "accepted"]


def test_failure_sends_cases_back_to_accepted_and_they_can_be_planned_again(org_a, accepted,
                                                                            settings):
    model, refs = accepted
    rid = plan(org_a, model, refs)
    report(org_a, rid, status="running", progress=70)
    r = report(org_a, rid, status="failed", message="Loss diverged at epoch 14")
    assert (r.status_code, r.json()["status"], r.json()["progress"]) == (200, "failed", 70)
    assert r.json()["finished_at"] is not None
    assert statuses(org_a, refs) == ["accepted"] * 3
    assert report(org_a, rid, status="running").status_code == 409
    timeline = org_a.admin.get(f"/v1/cases/{refs[0]}").json()["timeline"]
    assert [e["action"] for e in timeline[-2:]] == ["case.in_remediation",
                                                    "case.remediation_stopped"]
    assert [e["type"] for e in events(settings)] == ["model.version.released",
                                                     "remediation.planned"]
    again = plan(org_a, model, refs)
    assert again != rid


def test_staff_cancel_a_remediation_the_pipeline_cannot(org_a, accepted):
    model, refs = accepted
    rid = plan(org_a, model, refs[:1])
    r = org_a.client("pipeline").post(f"/v1/remediations/{rid}/cancel", json={})
    assert r.status_code == 403
    r = org_a.client("reviewer").post(f"/v1/remediations/{rid}/cancel",
                                      json={"note": "Wrong model chosen."})
    assert (r.status_code, r.json()["status"]) == (200, "cancelled"), r.text
    assert statuses(org_a, refs[:1]) == ["accepted"]
    assert org_a.admin.post(f"/v1/remediations/{rid}/cancel", json={}).status_code == 409
    r = report(org_a, rid, role="reviewer", status="running")
    assert r.status_code == 403  # reviewers do not report for the pipeline


def test_a_case_is_planned_once_per_model(org_a, accepted):
    model, refs = accepted
    plan(org_a, model, refs[:2])
    r = org_a.admin.post("/v1/remediations", json={"model": model, "method": "unlearning",
                                                   "cases": [refs[1], refs[2]]})
    assert r.status_code == 409 and refs[1] in r.json()["detail"], r.text
    assert statuses(org_a, refs) == ["in_remediation", "in_remediation", "accepted"]
    r = org_a.admin.post("/v1/remediations", json={"model": model, "method": "unlearning",
                                                   "cases": ["RR-0000-0000"]})
    assert r.status_code == 400 and "1 of the references" in r.json()["detail"]
    assert "RR-0000-0000" not in r.text  # errors never repeat input
    r = org_a.admin.post("/v1/remediations", json={"model": "acme/other", "method": "unlearning",
                                                   "cases": [refs[2]]})
    assert r.status_code == 404
    r = org_a.admin.post("/v1/remediations", json={"model": model, "method": "unlearning",
                                                   "cases": [refs[2]], "replaces": ["v9"]})
    assert r.status_code == 400 and "1 of the labels" in r.json()["detail"]
    assert "v9" not in r.text
    r = org_a.admin.post("/v1/remediations", json={"model": model, "method": "magic",
                                                   "cases": [refs[2]]})
    assert r.status_code == 422


def test_success_releases_the_fix_supersedes_and_remediates(org_a, accepted, settings, mailbox):
    model, refs = accepted
    org_a.admin.post(f"/v1/models/{model}/versions", json={"label": "v1.1", "revision": "r11"})
    rid = plan(org_a, model, refs[:2], replaces=["v1"])
    report(org_a, rid, status="running")
    r = report(org_a, rid, status="succeeded", version=V2)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == {**V2, "status": "current"}
    versions = {v["label"]: v for v in org_a.admin.get(f"/v1/models/{model}/versions").json()}
    assert {k: v["status"] for k, v in versions.items()} == \
        {"v1": "superseded", "v1.1": "current", "v2": "current"}
    assert versions["v2"]["remediation_id"] == rid and versions["v1"]["remediation_id"] is None
    assert statuses(org_a, refs) == ["remediated", "remediated", "accepted"]
    mailbox.wait_for("p0@example.org", "fixed version")
    completed = events(settings)[-1]
    assert completed["type"] == "remediation.completed" and completed["action"] == "replace"
    assert completed["data"]["remediation"]["case_count"] == 2
    assert report(org_a, rid, status="running").status_code == 409


def test_a_label_clash_on_success_changes_nothing(org_a, accepted, settings):
    model, refs = accepted
    rid = plan(org_a, model, refs[:1])
    report(org_a, rid, status="running", progress=90)
    before = len(events(settings))
    r = report(org_a, rid, status="succeeded", version={"label": "v1", "revision": "x"})
    assert r.status_code == 409, r.text
    r = org_a.admin.get(f"/v1/remediations/{rid}").json()
    assert (r["status"], r["progress"], r["version"]) == ("running", 90, None)
    assert statuses(org_a, refs[:1]) == ["in_remediation"]
    assert len(events(settings)) == before


def test_a_case_about_two_models_is_remediated_when_both_are_fixed(settings, org_a, mailbox):
    chat = model_with_version(org_a, "acme/chat")
    vision = model_with_version(org_a, "acme/vision")
    [(ref, _)] = seed_cases(settings, [{"models": [chat, vision], "status": "accepted"}])
    first = plan(org_a, chat, [ref])
    second = plan(org_a, vision, [ref])
    for rid in (first, second):
        report(org_a, rid, status="running")
    report(org_a, first, status="succeeded", version=V2)
    assert statuses(org_a, [ref]) == ["in_remediation"]  # vision is still being fixed
    report(org_a, second, status="failed")
    assert statuses(org_a, [ref]) == ["accepted"]
    actions = [e["action"] for e in org_a.admin.get(f"/v1/cases/{ref}").json()["timeline"]]
    assert actions[-1] == "case.remediation_stopped"
    third = plan(org_a, vision, [ref])  # only vision is left to fix
    report(org_a, third, status="running")
    report(org_a, third, status="succeeded", version={"label": "v2", "revision": "vision-v2"})
    case = org_a.admin.get(f"/v1/cases/{ref}").json()
    assert case["status"] == "remediated"
    assert [(r["model"], r["status"]) for r in case["remediations"]] == [
        (chat, "succeeded"), (vision, "failed"), (vision, "succeeded")]
    r = org_a.admin.post(f"/v1/cases/{ref}/closure", json={})
    assert r.status_code == 200, r.text
    assert [(v["model"], v["revision"]) for v in r.json()["closure"]["fixed_versions"]] == \
        [(chat, "rev-v2"), (vision, "vision-v2")]


def test_closing_needs_every_probe_result_and_none_reproducing(settings, org_a, accepted):
    model, refs = accepted
    rid = plan(org_a, model, refs[:1])
    report(org_a, rid, status="running")
    report(org_a, rid, status="succeeded", version=V2)
    ref = refs[0]
    ok = {"index": 0, "reproduced": False, "result": "No idea."}
    for probes, status in (([], 400), ([ok], 400),
                           ([ok, {**ok, "index": 1, "reproduced": True,
                                  "result": "Jane lives at 1 Rue X"}], 409),
                           ([ok, ok], 400)):
        r = org_a.admin.post(f"/v1/cases/{ref}/closure", json={"probe_results": probes})
        assert r.status_code == status, (probes, r.text)
        assert "Jane lives" not in r.text
    assert statuses(org_a, [ref]) == ["remediated"]
    assert sql(settings, "SELECT COUNT(*) AS n FROM case_messages WHERE kind = 'closure'"
               )[0]["n"] == 0
    r = org_a.admin.post(f"/v1/cases/{ref}/closure", json={"probe_results": [
        ok, {**ok, "index": 1, "result": "I cannot help with that."}]})
    assert r.status_code == 200, r.text
    evidence = sql(settings, "SELECT closure_evidence FROM cases WHERE reference = :r", r=ref)
    assert "No idea" not in str(evidence) and "Jane" not in str(evidence)  # results are sealed


def test_closing_waits_for_the_subject_to_be_told(settings, org_a, accepted, mailbox):
    model, refs = accepted
    rid = plan(org_a, model, refs[:1])
    report(org_a, rid, status="running")
    report(org_a, rid, status="succeeded", version=V2)
    mailbox.wait_for("p0@example.org", "fixed version")
    # The sender is done with it once it has recorded the send.
    wait_until(lambda: sql(settings, "SELECT status FROM outbound_emails WHERE kind = 'remediated'"
                           )[0]["status"] == "sent")
    sql(settings, "UPDATE outbound_emails SET status = 'failed' WHERE kind = 'remediated'")
    probes = [{"index": i, "reproduced": False, "result": "Nothing."} for i in range(2)]
    r = org_a.admin.post(f"/v1/cases/{refs[0]}/closure", json={"probe_results": probes})
    assert r.status_code == 409 and "could not be delivered" in r.json()["detail"], r.text
    assert SUBJECT_EMAIL not in r.text


def test_a_fix_that_did_not_hold_sends_the_case_back_for_another_remediation(
        settings, org_a, accepted):
    model, refs = accepted
    ref = refs[0]
    rid = plan(org_a, model, [ref])
    report(org_a, rid, status="running")
    report(org_a, rid, status="succeeded", version=V2)
    # Only from remediated, only by staff, and only with a reason.
    assert org_a.admin.post(f"/v1/cases/{refs[1]}/reopening",
                            json={"note": "x"}).status_code == 409
    assert org_a.client("pipeline").post(f"/v1/cases/{ref}/reopening",
                                         json={"note": "x"}).status_code == 403
    assert org_a.admin.post(f"/v1/cases/{ref}/reopening", json={}).status_code == 422
    r = org_a.client("reviewer").post(f"/v1/cases/{ref}/reopening",
                                      json={"note": "probe 2 still answers with the address"})
    assert r.status_code == 200, r.text
    assert statuses(org_a, [ref]) == ["accepted"]
    assert r.json()["timeline"][-1]["action"] == "case.reopened"
    # It can be planned again.
    again = plan(org_a, model, [ref])
    assert again != rid and statuses(org_a, [ref]) == ["in_remediation"]
