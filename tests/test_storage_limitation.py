"""Storage limitation for every status (GDPR Art. 5(1)(e)): the clock moves (no sleeps) through
every status of the lifecycle table, and every case ends with its subject data erased while
`rights-relay audit verify` still passes. Rejected and remediated cases close by themselves
once the subject was told and the period ran; stalled cases are flagged to staff."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.cases.lifecycle import TRANSITIONS
from app.cases.models import CaseStatus
from tests.casework import model_with_version, seed_cases, sql
from tests.support import IsolatedServer, audit_verify, create_org, run_job

V2 = {"label": "v2", "revision": "rev-v2",
      "digests": [{"file": "model.safetensors", "sha256": "c" * 64}]}


@pytest.fixture
def iso(settings, tmp_path):
    # The jobs run only when the test says so (run_job), never on the server's own schedule.
    with IsolatedServer(settings, str(tmp_path), retention_days=30, rejected_close_days=10,
                        remediated_close_days=10, stalled_after_days=20, identify_window_days=15,
                        housekeeping_seconds=3600, job_poll_seconds=3600,
                        reminder_interval_seconds=3600) as srv:
        yield srv


def status(settings, ref):
    [row] = sql(settings, "SELECT status, subject_erased_at, subject_ciphertext FROM cases "
                          "WHERE reference = :r", r=ref)
    return row


def staff_emails(settings, kind):
    return sql(settings, "SELECT c.reference FROM outbound_emails e JOIN cases c ON "
                         "c.id = e.case_id WHERE e.kind = :k ORDER BY c.reference", k=kind)


def test_every_status_ends_with_the_subject_data_erased_and_the_trail_verifying(iso, clock):
    s = iso.settings
    org = create_org(s, iso.url, "ages")
    model = model_with_version(org, "ages/chat")
    api = org.admin
    # pending_verification: filed, never confirmed.
    r = api.post("/v1/public/requests", json={
        "models": [model], "kind": "erasure", "name": "Never Confirmed",
        "email": "never@example.org", "description": "x"})
    assert r.status_code == 202, r.text
    [pending] = [row["reference"] for row in sql(
        s, "SELECT reference FROM cases WHERE status = 'pending_verification'")]
    seeded = seed_cases(s, [
        {"models": [model], "status": "open", "email": "open@example.org"},
        {"models": [model], "status": "in_review", "email": "review@example.org"},
        {"models": [model], "status": "awaiting_subject", "email": "wait@example.org"},
        {"models": [model], "status": "accepted", "email": "fix@example.org"},
        {"models": [model], "status": "rejected", "email": "no@example.org"},
    ])
    (opened, open_token), (reviewed, _), (waiting, _), (accepted, _), (rejected, _) = seeded
    # accepted -> in_remediation -> remediated: the pipeline releases the fix.
    r = org.client("reviewer").post("/v1/remediations", json={
        "model": model, "method": "unlearning", "cases": [accepted]})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert status(s, accepted)["status"] == "in_remediation"
    org.client("pipeline").post(f"/v1/remediations/{rid}/report", json={"status": "running"})
    r = org.client("pipeline").post(f"/v1/remediations/{rid}/report",
                                    json={"status": "succeeded", "version": V2})
    assert r.status_code == 200, r.text
    assert status(s, accepted)["status"] == "remediated"
    # in_review -> duplicate of the open case (same person in real life).
    r = api.post(f"/v1/cases/{reviewed}/duplicate", json={"of": opened})
    assert r.status_code == 200, r.text
    run_job(s, "emails.send")  # the subjects are told of the decision and of the fix

    # Nine days on: nothing closes yet (the period is ten days from telling the subject).
    clock.advance(timedelta(days=9))
    run_job(s, "cases.ageing")
    assert status(s, rejected)["status"] == "rejected"
    assert status(s, accepted)["status"] == "remediated"
    # Past the period: the remediated case closes by itself, and the subject is told. The
    # rejected one (cannot_identify) waits for the person's Art. 11(2) window to end.
    clock.advance(timedelta(days=2))
    run_job(s, "cases.ageing")
    assert status(s, rejected)["status"] == "rejected"
    assert status(s, accepted)["status"] == "closed"
    trail = api.get(f"/v1/cases/{accepted}").json()["timeline"]
    assert trail[-1]["action"] == "case.closed"
    assert trail[-1]["actor"] == "system:storage_limitation"

    # Twenty days unchanged: the rejected case closed (its window ended at day 15); the open
    # and awaiting cases are flagged to staff, once.
    clock.advance(timedelta(days=10))
    run_job(s, "cases.ageing")
    assert status(s, rejected)["status"] == "closed"
    assert {e["reference"] for e in staff_emails(s, "closed")} == {rejected, accepted}
    flagged = {e["reference"] for e in staff_emails(s, "case_stalled")}
    assert flagged == {opened, waiting}
    run_job(s, "cases.ageing")
    assert len(staff_emails(s, "case_stalled")) == len(flagged) * 1  # one admin, once each
    detail = api.get(f"/v1/cases/{waiting}").json()
    assert "case.stalled_flagged" in [e["action"] for e in detail["timeline"]]
    # Staff act on the flags: the subject of the open case withdraws; the waiting one is
    # refused (still cannot identify the person), then closes by itself too.
    r = api.post(f"/v1/public/requests/{open_token}/withdraw")
    assert r.status_code == 200, r.text
    r = api.post(f"/v1/cases/{waiting}/decision", json={
        "outcome": "reject", "ground": "cannot_identify", "explanation": "No match found."})
    assert r.status_code == 200, r.text
    run_job(s, "requests.expire")  # the unconfirmed request expired long ago
    run_job(s, "emails.send")
    clock.advance(timedelta(days=16))
    run_job(s, "cases.ageing")
    assert status(s, waiting)["status"] == "closed"

    # Every status of the lifecycle table was visited, and every case ended.
    ends = {ref: status(s, ref)["status"]
            for ref in (pending, opened, reviewed, waiting, accepted, rejected)}
    assert ends == {pending: "expired", opened: "withdrawn", reviewed: "duplicate",
                    waiting: "closed", accepted: "closed", rejected: "closed"}
    visited = {row["to_status"] for row in sql(s, "SELECT DISTINCT to_status FROM audit_events "
                                                  "WHERE to_status IS NOT NULL "
                                                  "AND case_id IS NOT NULL")}
    assert visited == {st.value for st in CaseStatus}
    assert {to.value for _, to in TRANSITIONS} <= visited

    # Retention then erases every one of them.
    clock.advance(timedelta(days=31))
    run_job(s, "cases.retention")
    for ref in ends:
        row = status(s, ref)
        assert row["subject_erased_at"] is not None and row["subject_ciphertext"] is None, ref
    verify = audit_verify(s, "ages")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    org.close()


def test_a_remediated_case_with_probe_prompts_waits_for_staff_and_is_flagged(iso, clock):
    s = iso.settings
    org = create_org(s, iso.url, "probes")
    model = model_with_version(org, "probes/chat")
    [(ref, _)] = seed_cases(s, [{"models": [model], "status": "accepted",
                                 "prompts": ["Where does Jane Doe live?"]}])
    rid = org.admin.post("/v1/remediations", json={
        "model": model, "method": "unlearning", "cases": [ref]}).json()["id"]
    org.client("pipeline").post(f"/v1/remediations/{rid}/report", json={"status": "running"})
    org.client("pipeline").post(f"/v1/remediations/{rid}/report",
                                json={"status": "succeeded", "version": V2})
    run_job(s, "emails.send")
    clock.advance(timedelta(days=21))
    run_job(s, "cases.ageing")
    # Only staff can run the subject's probe prompt: the case stays, and staff are told.
    assert status(s, ref)["status"] == "remediated"
    assert [e["reference"] for e in staff_emails(s, "case_stalled")] == [ref]
    org.close()
