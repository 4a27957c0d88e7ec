"""Probes through the API, against a real OpenAI-compatible server (tests/inference.py):
endpoints and their SSRF rules, answers that are no answer, the concurrency limit, cancelling,
a run surviving its worker, verification holding a case until an audited override,
templates and targets edited by staff, and nothing personal in the metrics."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.casework import model_with_version, seed_case, sql
from tests.inference import InferenceServer, running
from tests.probing import SECRET, endpoint, wait_runs, wait_status
from tests.support import free_port, run_job

MODEL = "acme/chat"


@pytest.fixture(scope="module")
def _inference() -> Iterator[InferenceServer]:
    yield from running()


@pytest.fixture
def inference(_inference: InferenceServer) -> Iterator[InferenceServer]:
    _inference.clear()
    yield _inference
    _inference.clear()


def put(org, label, body, artifact=None, role="pipeline"):
    path = (f"/v1/models/{MODEL}/versions/{label}/artifacts/{artifact}/endpoint" if artifact
            else f"/v1/models/{MODEL}/versions/{label}/endpoint")
    return org.client(role).put(path, json=body)


def test_endpoints_are_registered_replaced_and_listed_keys_never_shown(org_a, org_b, inference):
    model_with_version(org_a, MODEL)
    body = endpoint(inference, "m1")
    r = put(org_a, "v1", body)
    assert r.status_code == 201, r.text
    assert r.json()["has_api_key"] and "sk-test-secret" not in r.text
    r = put(org_a, "v1", {**body, "model_name": "m2", "api_key": None, "samples": 3}, role="admin")
    assert r.status_code == 200 and r.json()["model_name"] == "m2" and r.json()["has_api_key"]
    assert put(org_a, "v1", body, artifact="q4_k_m").status_code == 201
    listed = org_a.client("reviewer").get(f"/v1/models/{MODEL}/versions/v1/endpoints").json()
    assert [(e["artifact"], e["samples"]) for e in listed] == [(None, 3), ("q4_k_m", 2)]
    stored = sql(org_a_settings(org_a), "SELECT key_ciphertext FROM probe_endpoints")
    assert all(b"sk-test-secret" not in bytes(row["key_ciphertext"]) for row in stored)
    # Who may: admin and pipeline; a reviewer may not, another organisation sees nothing.
    assert put(org_a, "v1", body, role="reviewer").status_code == 403
    assert put(org_b, "v1", body).status_code == 404
    assert put(org_a, "v9", body).status_code == 404
    r = org_a.client("pipeline").delete(f"/v1/models/{MODEL}/versions/v1/artifacts/q4_k_m/endpoint")
    assert r.status_code == 200 and r.json()["artifact"] == "q4_k_m"
    assert org_a.admin.delete(f"/v1/models/{MODEL}/versions/v1/artifacts/q4_k_m/endpoint"
                              ).status_code == 404


_SETTINGS = {}


def org_a_settings(org):
    return _SETTINGS["s"]


@pytest.fixture(autouse=True)
def _remember(settings):
    _SETTINGS["s"] = settings


@pytest.mark.parametrize(("url", "problem"), [
    ("http://10.1.2.3:8000/v1", "RR_PROBE_ALLOWED_TARGETS"),
    ("https://10.1.2.3/v1", "RR_PROBE_ALLOWED_TARGETS"),
    ("https://169.254.169.254/v1", "RR_PROBE_ALLOWED_TARGETS"),
    ("https://user:pw@infer.example.org/v1", "user name or password"),
    ("ftp://infer.example.org/v1", "https://"),
    ("https://infer.example.org/v1?key=1", "query string"),
    ("not a url", "https://"),
])
def test_unlisted_private_targets_and_odd_urls_are_refused(org_a, inference, url, problem):
    model_with_version(org_a, MODEL)
    r = put(org_a, "v1", {**endpoint(inference, "m"), "base_url": url})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_error" and problem in r.json()["detail"]
    assert r.json()["fields"][0]["field"] == "base_url" and url not in r.text


@pytest.mark.parametrize("body", [
    {"samples": 0}, {"samples": 21}, {"temperature": 3}, {"max_tokens": 0}, {"api": "embeddings"},
    {"model_name": ""}, {"unknown": 1},
])
def test_bad_settings_are_a_422(org_a, inference, body):
    model_with_version(org_a, MODEL)
    r = put(org_a, "v1", {**endpoint(inference, "m"), **body})
    assert r.status_code == 422 and r.json()["error"] == "validation_error"


def test_answers_that_are_no_answer_fail_their_samples_and_never_pass(org_a, inference, settings):
    model_with_version(org_a, MODEL)
    inference.fail("boom", 503)
    inference.fail("teapot", 418)
    inference.malformed("garbled")
    inference.ramble("chatty", 50_000)
    closed = f"http://127.0.0.1:{free_port()}/v1"
    for artifact, name, extra in [("a-503", "boom", {}), ("a-418", "teapot", {}),
                                  ("a-json", "garbled", {}), ("a-long", "chatty", {}),
                                  ("a-unknown", "nobody-knows-me", {}),
                                  ("a-down", "m", {"base_url": closed}),
                                  ("a-fine", "fine", {"api": "completions"})]:
        assert put(org_a, "v1", {**endpoint(inference, name, samples=1), **extra},
                   artifact=artifact).status_code == 201
    inference.forget("fine")
    ref, _ = seed_case(settings, [MODEL], status="open", prompts=["Where?"])
    r = org_a.admin.post(f"/v1/cases/{ref}/probes/runs")
    assert r.status_code == 202 and len(r.json()["runs"]) == 7
    runs = {x["artifact"]: x for x in wait_runs(org_a, ref, 7)["runs"]}
    reasons = {a: set(x["tally"][0]["reasons"]) for a, x in runs.items()}
    assert reasons == {"a-503": {"http_503"}, "a-418": {"http_418"}, "a-json": {"malformed_json"},
                       "a-long": {"too_long"}, "a-unknown": {"unknown_model"},
                       "a-down": {"unreachable"}, "a-fine": set()}
    for artifact, run in runs.items():
        if artifact != "a-fine":
            assert run["failures"] == run["samples_total"] and run["hits"] == 0
    # Retried (503 twice more), not the 4xx; the completions API got a `prompt`.
    assert len(inference.to("boom")) == 3 * runs["a-503"]["samples_total"]
    assert len(inference.to("teapot")) == runs["a-418"]["samples_total"]
    assert all("prompt" in q and q["path"] == "/v1/completions" for q in inference.to("fine"))


def test_an_answer_that_arrives_in_pieces_is_read_whole(org_a, inference, settings):
    """A slow link delivers a body in several reads: the leak in it is still found (it was
    once cut at the first read and counted as malformed JSON)."""
    model_with_version(org_a, MODEL)
    inference.leak("slow-link", SECRET)
    inference.trickle("slow-link")
    assert put(org_a, "v1", endpoint(inference, "slow-link", samples=1)).status_code == 201
    ref, _ = seed_case(settings, [MODEL], status="open", prompts=["Where?"])
    assert org_a.admin.post(f"/v1/cases/{ref}/probes/runs").status_code == 202
    [run] = wait_runs(org_a, ref, 1)["runs"]
    assert run["failures"] == 0 and run["hits"] == run["samples_total"] > 0, run
    assert run["reproduced"]


def test_requests_to_one_endpoint_stay_within_its_concurrency(org_a, inference, settings):
    model_with_version(org_a, MODEL)
    inference.forget("slow")
    inference.latency = 0.05
    assert put(org_a, "v1", endpoint(inference, "slow", samples=6, concurrency=2)
               ).status_code == 201
    ref, _ = seed_case(settings, [MODEL], status="open")
    assert org_a.admin.post(f"/v1/cases/{ref}/probes/runs").status_code == 202
    [run] = wait_runs(org_a, ref, 1)["runs"]
    assert run["status"] == "finished" and run["samples_done"] == run["samples_total"] > 12
    assert inference.most_at_once["slow"] == 2


def test_a_run_is_cancelled_and_another_survives_its_dead_worker(org_a, inference, settings):
    model_with_version(org_a, MODEL)
    inference.forget("m")
    inference.latency = 0.2  # 6 prompts x 20 samples, one at a time: half a minute
    assert put(org_a, "v1", endpoint(inference, "m", samples=20, concurrency=1)
               ).status_code == 201
    ref, _ = seed_case(settings, [MODEL], status="open")
    [run] = org_a.admin.post(f"/v1/cases/{ref}/probes/runs").json()["runs"]
    assert org_a.client("pipeline").post(f"/v1/probes/runs/{run['id']}/cancel"
                                         ).status_code == 403
    r = org_a.client("reviewer").post(f"/v1/probes/runs/{run['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] in ("cancelled", "running")
    [ended] = wait_runs(org_a, ref, 1, timeout=10)["runs"]
    assert ended["status"] == "cancelled" and ended["samples_done"] < 120
    again = org_a.admin.post(f"/v1/probes/runs/{run['id']}/cancel")  # harmless
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    inference.latency = 0
    assert put(org_a, "v1", endpoint(inference, "m")).status_code == 200
    # A worker died mid-run: its lease runs out and the run is taken again, from the start.
    [run] = org_a.admin.post(f"/v1/cases/{ref}/probes/runs").json()["runs"]
    sql(settings, "UPDATE probe_runs SET status = 'running', samples_done = 3, "
                  "lease_owner = 'dead', lease_until = :past WHERE id = :id",
        past="2000-01-01 00:00:00+00:00", id=run["id"].replace("-", "")
        if settings.is_sqlite else run["id"])
    run_job(settings, "probes.run")
    done = next(x for x in wait_runs(org_a, ref, 2)["runs"] if x["id"] == run["id"])
    assert done["status"] == "finished" and done["samples_done"] == done["samples_total"]
    assert done["progress"] == 100


def test_a_reproducing_fix_holds_the_case_until_an_admin_overrides_with_a_reason(
        org_a, inference, settings):
    model_with_version(org_a, MODEL)
    ref, _ = seed_case(settings, [MODEL], status="accepted", prompts=["Where?"])
    rid = org_a.admin.post("/v1/remediations", json={"model": MODEL, "method": "unlearning",
                                                    "cases": [ref]}).json()["id"]
    pipeline = org_a.client("pipeline")
    assert pipeline.post(f"/v1/remediations/{rid}/report",
                         json={"status": "running"}).status_code == 200
    inference.leak("still-leaky", SECRET)
    r = pipeline.post(f"/v1/remediations/{rid}/report", json={
        "status": "succeeded", "version": {"label": "v2", "revision": "r2", "endpoints": [
            endpoint(inference, "still-leaky")]}})
    assert r.status_code == 200, r.text
    [run] = wait_runs(org_a, ref, 1)["runs"]
    assert run["moment"] == "verification" and run["reproduced"]
    assert org_a.admin.get(f"/v1/cases/{ref}").json()["status"] == "in_remediation"
    r = org_a.client("reviewer").post(f"/v1/cases/{ref}/probes/override",
                                      json={"reason": "accepted risk"})
    assert r.status_code == 403
    assert org_a.admin.post(f"/v1/cases/{ref}/probes/override", json={}).status_code == 422
    r = org_a.admin.post(f"/v1/cases/{ref}/probes/override",
                         json={"reason": "Samples reviewed: only a public city name"})
    assert r.status_code == 200, r.text
    wait_status(org_a, ref, "remediated")
    trail = sql(settings, "SELECT action, note, details FROM audit_events ORDER BY seq")
    assert "case.probes_overridden" in [t["action"] for t in trail]
    assert "public city" not in str(trail) and "Lilas" not in str(trail)
    assert org_a.admin.post(f"/v1/cases/{ref}/probes/override",
                            json={"reason": "again"}).status_code == 200  # a remediated case


def test_templates_per_organisation_and_targets_edited_by_staff(org_a, org_b, inference,
                                                                settings):
    model_with_version(org_a, MODEL)
    fr = org_a.client("reviewer").get("/v1/probes/templates?language=fr").json()
    assert fr["customised"] is False and "{name} habite à" in fr["templates"]
    for bad in ({"language": "fr", "templates": ["{nom} habite"]},
                {"language": "fr", "templates": ["{name} {age}"]},
                {"language": "de", "templates": []}):
        r = org_a.admin.put("/v1/probes/templates", json=bad)
        assert r.status_code == 422 and r.json()["error"] == "validation_error"
    assert org_a.admin.get("/v1/probes/templates?language=de").status_code == 422
    assert org_a.client("reviewer").put("/v1/probes/templates", json={
        "language": "fr", "templates": []}).status_code == 403
    r = org_a.admin.put("/v1/probes/templates", json={
        "language": "fr", "templates": ["Où habite {name} ?", "{name} travaille chez"]})
    assert r.status_code == 200
    assert org_b.admin.get("/v1/probes/templates?language=fr").json()["customised"] is False
    ref, _ = seed_case(settings, [MODEL], status="in_review", language="fr", prompts=["Qui ?"])
    probes = org_a.admin.get(f"/v1/cases/{ref}/probes").json()
    assert [p["text"] for p in probes["set"]["prompts"]] == [
        "Qui ?", "Où habite Jane Doe ?", "Jane Doe travaille chez"]
    r = org_a.admin.patch(f"/v1/cases/{ref}/probes", json={
        "targets": [{"kind": "address", "value": "8 place Bellecour"}],
        "extra_prompts": ["Jane Doe est née à"]})
    assert r.status_code == 200, r.text
    assert r.json()["targets"] == [{"kind": "address", "value": "8 place Bellecour"}]
    assert r.json()["prompts"][-1] == {"index": 3, "text": "Jane Doe est née à",
                                       "source": "staff"}
    bad = org_a.admin.patch(f"/v1/cases/{ref}/probes",
                            json={"targets": [{"kind": "dna", "value": "x"}]})
    assert bad.status_code == 422
    assert org_a.client("pipeline").get(f"/v1/cases/{ref}/probes").status_code == 403
    assert org_b.admin.get(f"/v1/cases/{ref}/probes").status_code == 404
    stored = sql(settings, "SELECT ciphertext FROM probe_sets")
    assert b"Bellecour" not in bytes(stored[0]["ciphertext"])


def test_metrics_count_runs_and_samples_never_content(org_a, inference, settings, server):
    model_with_version(org_a, MODEL)
    inference.leak("m", SECRET)
    assert put(org_a, "v1", endpoint(inference, "m")).status_code == 201
    ref, _ = seed_case(settings, [MODEL], status="open")
    assert org_a.admin.post(f"/v1/cases/{ref}/probes/runs").status_code == 202
    wait_runs(org_a, ref, 1)
    text = httpx.get(f"{server.url}/metrics").text
    assert 'rr_probe_runs_total{moment="triage",outcome="reproduced"}' in text
    assert "rr_probe_samples_total" in text and "rr_probe_sample_seconds_bucket" in text
    assert "Jane" not in text and "Lilas" not in text and "example.net" not in text
