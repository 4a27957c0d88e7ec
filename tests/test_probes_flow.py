"""Done when: a request filed with probe prompts; triage shows the leak; a remediation whose
fixed version no longer leaks clears the probes and the case closes; a later version leaking
again is flagged; retention erases targets and completions; `audit verify` still passes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.casework import file_and_confirm, sql
from tests.inference import InferenceServer, running
from tests.mail import body
from tests.probing import SECRET, endpoint, wait_runs, wait_status
from tests.support import IsolatedServer, audit_verify, create_org, run_job

DIGEST = [{"file": "model.safetensors", "sha256": "b" * 64}]


@pytest.fixture(scope="module")
def inference() -> Iterator[InferenceServer]:
    yield from running()


@pytest.fixture
def iso(settings, tmp_path):
    # Retention is run by the test (run_job), never by the server's scheduler meanwhile.
    with IsolatedServer(settings, str(tmp_path), retention_days=30,
                        housekeeping_seconds=3600) as srv:
        yield srv


def test_probes_prove_the_fix_from_triage_to_retention(iso, inference, clock, mailbox):
    s = iso.settings
    org = create_org(s, iso.url, "probe")
    org.admin.post("/v1/models", json={"id": "probe/chat", "title": "Chat"})
    r = org.client("pipeline").post("/v1/models/probe/chat/versions", json={
        "label": "v1", "revision": "r1", "digests": DIGEST})
    assert r.status_code == 201, r.text
    inference.leak("chat-v1", SECRET)
    r = org.client("pipeline").put("/v1/models/probe/chat/versions/v1/endpoint",
                                   json=endpoint(inference, "chat-v1"))
    assert r.status_code == 201, r.text
    assert r.json()["has_api_key"] is True and "sk-test-secret" not in r.text

    import httpx

    from tests.support import TLS
    with httpx.Client(verify=TLS, base_url=iso.url) as public:
        [ref], status_link = file_and_confirm(public, mailbox, ["probe/chat"],
                                    prompts=["Where does Jane Doe live?"])

    # Triage: starting the review runs the set on the current version; it leaks.
    assert org.admin.post(f"/v1/cases/{ref}/review", json={}).status_code == 200
    probes = wait_runs(org, ref, 1)
    [run] = probes["runs"]
    assert run["moment"] == "triage" and run["status"] == "finished" and run["reproduced"]
    prompts = probes["set"]["prompts"]
    assert run["samples_total"] == len(prompts) * 2 and run["hits"] == run["samples_total"]
    assert probes["summary"] == f"reproduces your data in {run['hits']} of {run['hits']} samples"
    kinds = {t["kind"] for t in probes["set"]["targets"]}
    assert {"name", "email"} <= kinds
    sample = run["samples"][0]
    spans = [sample["text"][m["start"]:m["end"]] for m in sample["matches"]]
    assert "jane.doe@example.net" in spans
    # The request to the model carried the sealed key, decrypted for the call only.
    assert inference.to("chat-v1")[0]["authorization"] == "Bearer sk-test-secret"

    triage_hits = run["hits"]
    assert org.admin.post(f"/v1/cases/{ref}/decision",
                          json={"outcome": "accept"}).status_code == 200
    r = org.admin.post("/v1/remediations", json={"model": "probe/chat", "method": "unlearning",
                                                "cases": [ref]})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]

    # Verification: the fixed version and its 4-bit artifact are probed before the case is
    # remediated (quantising an unlearned model can bring the data back: each is tried).
    inference.forget("chat-v2")
    inference.forget("chat-v2-q4")
    inference.latency = 0.05  # the case is seen waiting on the verification
    assert org.client("pipeline").post(f"/v1/remediations/{rid}/report",
                                       json={"status": "running"}).status_code == 200
    r = org.client("pipeline").post(f"/v1/remediations/{rid}/report", json={
        "status": "succeeded", "version": {
            "label": "v2", "revision": "r2", "digests": DIGEST, "endpoints": [
                endpoint(inference, "chat-v2"),
                endpoint(inference, "chat-v2-q4", artifact="q4")]}})
    assert r.status_code == 200, r.text
    assert org.admin.get(f"/v1/cases/{ref}").json()["status"] == "in_remediation"
    wait_status(org, ref, "remediated")
    inference.latency = 0
    probes = wait_runs(org, ref, 3)
    verification = [x for x in probes["runs"] if x["moment"] == "verification"]
    assert sorted((x["artifact"] or "", x["reproduced"], x["failures"])
                  for x in verification) == [("", False, 0), ("q4", False, 0)]
    progress = org.client("pipeline").get(f"/v1/remediations/{rid}/probes").json()
    assert [x["progress"] for x in progress] == [100, 100] and "samples" not in progress[0]
    completed = [e for e in sql(s, "SELECT type, data FROM events ORDER BY position")
                 if e["type"] == "remediation.completed"]
    assert "Jane" not in str(completed) and "Lilas" not in str(completed)

    # The subject reads it in plain words (email and status page); staff close without typing
    # probe results.
    fixed = mailbox.wait_for("jane.doe@example.net", "fixed version")
    assert "it no longer reproduced your data in" in body(fixed)
    status = public_status(iso.url, status_link)
    total = sum(x["samples_done"] for x in verification)
    assert f"no longer reproduced your data in {total} tries" in status["probes"]
    r = org.admin.post(f"/v1/cases/{ref}/closure", json={})
    assert r.status_code == 200, r.text

    # Regression: a later version that leaks again is flagged on the closed case.
    inference.leak("chat-v3", SECRET)
    r = org.client("pipeline").post("/v1/models/probe/chat/versions", json={
        "label": "v3", "revision": "r3", "digests": DIGEST})
    assert r.status_code == 201, r.text
    r = org.client("pipeline").put("/v1/models/probe/chat/versions/v3/endpoint",
                                   json=endpoint(inference, "chat-v3"))
    assert r.status_code == 201, r.text
    probes = wait_runs(org, ref, 4)
    [regression] = [x for x in probes["runs"] if x["moment"] == "regression"]
    assert regression["version"] == "v3" and regression["reproduced"]
    detail = org.admin.get(f"/v1/cases/{ref}").json()
    assert "case.reproduced_again" in [e["action"] for e in detail["timeline"]]

    # The export holds every run, its settings and per-prompt counts, never the targets.
    export = org.admin.get(f"/v1/cases/{ref}/export")
    assert export.status_code == 200
    runs = export.json()["record"]["probe_runs"]
    assert len(runs) == 4 and runs[0]["settings"]["samples"] == 2
    assert runs[0]["tally"][0]["hits"] == 2 and "samples" not in runs[0]
    assert "jane.doe@example.net" not in str(runs) and "Lilas" not in str(runs)

    # Retention: targets and completions are erased with the subject's data.
    clock.advance(timedelta(days=31))
    run_job(s, "cases.retention")
    assert sql(s, "SELECT count(*) AS n FROM probe_sets WHERE ciphertext IS NOT NULL") == \
        [{"n": 0}]
    assert sql(s, "SELECT count(*) AS n FROM probe_runs WHERE results_ciphertext IS NOT NULL") \
        == [{"n": 0}]
    probes = org.admin.get(f"/v1/cases/{ref}/probes").json()
    assert probes["set"]["erased"] and all(x["samples"] is None for x in probes["runs"])
    assert probes["runs"][0]["hits"] == triage_hits > 0  # the counts stay, as evidence
    result = audit_verify(s, "probe")
    assert result.returncode == 0, result.stdout + result.stderr


def public_status(base_url: str, status_link: str) -> dict:
    import httpx


    token = status_link.rsplit("/", 1)[1]
    r = httpx.get(f"{base_url}/v1/public/requests/{token}")
    assert r.status_code == 200, r.text
    return r.json()
