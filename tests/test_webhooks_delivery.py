"""Webhooks reach a real local receiver, signed (v1 and v1a), retried, never redirected,
logged per attempt, and replayable."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.propagation import check_signatures, keys, model, remediate, subscribe, version
from tests.receiver import Answer

MODEL = "acme/chat"


@pytest.fixture
def chat(org_a):
    return model(org_a, MODEL)


def deliveries(sub, **params):
    r = sub.api.get("/v1/subscriber/deliveries", params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def wait_status(sub, delivery_id, status, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d = sub.api.get(f"/v1/subscriber/deliveries/{delivery_id}").json()
        if d["status"] == status:
            return d
        time.sleep(0.05)
    raise AssertionError(f"delivery {delivery_id} is {d['status']}, not {status}: {d}")


def test_a_release_is_delivered_signed_in_the_standard_webhooks_format(
        client, org_a, chat, mailbox, receiver, repo_root, tmp_path):
    url = receiver.url("/hook")
    sub = subscribe(client, mailbox, models=[MODEL], urls=[url])
    version(org_a, MODEL, "v1", digests=[{"file": "model.safetensors", "sha256": "a" * 64}])
    [hit] = receiver.wait_for("/hook")

    payload = check_signatures(hit, sub.secrets[url], keys(client))
    assert set(payload) == {"type", "timestamp", "data"}
    assert payload["type"] == "model.version.released"
    assert payload["data"]["model"] == {"id": MODEL, "organization": "org-a"}
    assert payload["data"]["version"]["revision"] == "rev-v1"
    assert hit.headers["webhook-id"] == payload["data"]["event_id"]
    assert abs(int(hit.headers["webhook-timestamp"]) - time.time()) < 60
    assert hit.headers["Content-Type"] == "application/json"
    assert "rights-relay-ack-url" not in hit.headers  # a release asks for no action

    # The standalone verifier a re-user copies agrees, as a library and as a command.
    (tmp_path / "h.json").write_text(json.dumps(hit.headers))
    (tmp_path / "b.json").write_bytes(hit.body)
    for args in (["--secret", sub.secrets[url]], ["--public-key", keys(client)[0]]):
        p = subprocess.run([sys.executable, str(repo_root / "webhooks" / "verify.py"),
                            "--headers", str(tmp_path / "h.json"), "--body",
                            str(tmp_path / "b.json"), *args],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert "verified: model.version.released" in p.stdout
    # A wrong secret is refused.
    p = subprocess.run([sys.executable, str(repo_root / "webhooks" / "verify.py"), "--headers",
                        str(tmp_path / "h.json"), "--body", str(tmp_path / "b.json"),
                        "--secret", "whsec_" + "A" * 44], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 1 and "no matching signature" in p.stderr

    [d] = deliveries(sub)
    assert d["status"] == "succeeded" and d["attempts"] == 1
    detail = sub.api.get(f"/v1/subscriber/deliveries/{d['id']}").json()
    [attempt] = detail["attempts_log"]
    assert attempt["status_code"] == 200 and attempt["error_class"] is None
    assert attempt["response_body"] == "ok" and attempt["duration_ms"] >= 0


def test_the_published_keys_have_ids_and_verify(client):
    r = client.get("/.well-known/rights-relay/webhook-keys.json")
    assert r.status_code == 200
    [key] = r.json()["keys"]
    assert key["kid"].startswith("rr-") and key["current"] is True
    assert key["public_key"].startswith("whpk_")
    assert key["jwk"]["kty"] == "OKP" and key["jwk"]["crv"] == "Ed25519"


def test_answers_are_asked_for_uncompressed_and_logged_as_text(
        client, org_a, chat, mailbox, receiver):
    """A receiver that compresses what the client accepts answers us plainly: the attempt log
    keeps its words, not gzip bytes."""
    url = receiver.url("/gzip")
    words = "accepted, thank you; " * 20
    receiver.answer("/gzip", Answer(200, body=words, compress=True))
    sub = subscribe(client, mailbox, models=[MODEL], urls=[url])
    version(org_a, MODEL, "v1")
    [hit] = receiver.wait_for("/gzip")
    assert hit.headers["Accept-Encoding"] == "identity"
    [d] = deliveries(sub)
    d = wait_status(sub, d["id"], "succeeded")
    [attempt] = sub.api.get(f"/v1/subscriber/deliveries/{d['id']}").json()["attempts_log"]
    assert attempt["response_body"] == words


def test_an_answer_written_in_pieces_is_logged_whole(client, org_a, chat, mailbox, receiver):
    """A receiver that writes its answer a byte at a time (8 bytes in 40 ms): the attempt log
    keeps all of it, not the first piece to arrive. (One that trickles for longer is cut:
    test_faulty_receivers.)"""
    url = receiver.url("/pieces")
    receiver.answer("/pieces", Answer(200, body="accepted", trickle=0.005))
    sub = subscribe(client, mailbox, models=[MODEL], urls=[url])
    version(org_a, MODEL, "v1")
    [d] = deliveries(sub)
    d = wait_status(sub, d["id"], "succeeded")
    [attempt] = sub.api.get(f"/v1/subscriber/deliveries/{d['id']}").json()["attempts_log"]
    assert attempt["response_body"] == "accepted"


def test_a_failed_delivery_is_retried_with_the_same_webhook_id(
        client, org_a, chat, mailbox, receiver, server):
    url = receiver.url("/flaky")
    receiver.answer("/flaky", Answer(500, body="boom " * 500), Answer(503), Answer(200))
    sub = subscribe(client, mailbox, models=[MODEL], urls=[url])
    version(org_a, MODEL, "v1")
    hits = receiver.wait_for("/flaky", 3)
    assert len({h.headers["webhook-id"] for h in hits}) == 1
    assert [h.headers["rights-relay-attempt"] for h in hits] == ["1", "2", "3"]
    for h in hits:  # each attempt is signed afresh
        check_signatures(h, sub.secrets[url], keys(client))
    [d] = deliveries(sub)
    d = wait_status(sub, d["id"], "succeeded")
    log = sub.api.get(f"/v1/subscriber/deliveries/{d['id']}").json()["attempts_log"]
    assert [(a["status_code"], a["error_class"]) for a in log] == [
        (500, "http_status"), (503, "http_status"), (200, None)]
    assert len(log[0]["response_body"]) == 1024  # truncated
    assert log[0]["next_attempt_at"] is not None and log[2]["next_attempt_at"] is None
    # The delivery shows its last attempt's start and when it succeeded; each retry was
    # planned after the attempt it follows.
    detail = sub.api.get(f"/v1/subscriber/deliveries/{d['id']}").json()
    at = datetime.fromisoformat
    assert at(detail["last_attempt_at"]) == at(log[2]["started_at"])
    assert at(detail["succeeded_at"]) >= at(log[2]["started_at"])
    assert (detail["last_status_code"], detail["last_error"], detail["attempts"]) == (200, None, 3)
    for before, after in ((log[0], log[1]), (log[1], log[2])):
        assert at(before["started_at"]) < at(before["next_attempt_at"]) <= at(after["started_at"])
    # The retry waited at least the first step of the schedule (5 s, scaled in tests).
    scale = server.settings.retry_scale
    assert hits[1].at - hits[0].at >= 5 * scale * 0.9


def test_retry_after_is_honoured(client, org_a, chat, mailbox, receiver):
    url = receiver.url("/busy")
    receiver.answer("/busy", Answer(429, retry_after="1"), Answer(200))
    subscribe(client, mailbox, models=[MODEL], urls=[url])
    version(org_a, MODEL, "v1")
    first, second = receiver.wait_for("/busy", 2, timeout=10)
    # The schedule alone would retry after 10 ms here; the endpoint asked for 1 s.
    assert second.at - first.at >= 0.95


def test_redirects_are_not_followed(client, org_a, chat, mailbox, receiver):
    url = receiver.url("/moved")
    receiver.answer("/moved", Answer(301, location=receiver.url("/elsewhere")), Answer(200))
    sub = subscribe(client, mailbox, models=[MODEL], urls=[url])
    version(org_a, MODEL, "v1")
    receiver.wait_for("/moved", 2)
    [d] = deliveries(sub)
    d = wait_status(sub, d["id"], "succeeded")
    log = sub.api.get(f"/v1/subscriber/deliveries/{d['id']}").json()["attempts_log"]
    assert (log[0]["status_code"], log[0]["error_class"]) == (301, "redirect")
    assert receiver.to("/elsewhere") == []


def test_410_gone_disables_the_endpoint(client, org_a, chat, mailbox, receiver):
    url = receiver.url("/gone")
    receiver.answer("/gone", Answer(410))
    sub = subscribe(client, mailbox, models=[MODEL], urls=[url])
    version(org_a, MODEL, "v1")
    receiver.wait_for("/gone")
    [d] = deliveries(sub)
    wait_status(sub, d["id"], "failed")
    endpoint = sub.api.get(f"/v1/subscriber/endpoints/{sub.endpoints[url]}").json()
    assert endpoint["enabled"] is False and "410" in endpoint["disabled_reason"]
    # Nothing more is sent to it.
    version(org_a, MODEL, "v2")
    receiver.quiet("/gone", 0.5)
    assert len(deliveries(sub)) == 1
    # Its owner can turn it back on, and replay what failed.
    receiver.answer("/gone", Answer(200))
    assert sub.api.post(f"/v1/subscriber/endpoints/{sub.endpoints[url]}/enable").json()[
        "enabled"] is True
    r = sub.api.post(f"/v1/subscriber/deliveries/{d['id']}/replay")
    assert r.status_code == 202, r.text
    hits = receiver.wait_for("/gone", 2)
    assert hits[1].headers["webhook-id"] == hits[0].headers["webhook-id"]
    assert wait_status(sub, r.json()["id"], "succeeded")["replay_of"] == d["id"]
    assert sub.api.get(f"/v1/subscriber/deliveries/{d['id']}").json()["status"] == "replayed"
    r = sub.api.post(f"/v1/subscriber/deliveries/{d['id']}/replay")
    assert r.status_code == 409


def test_a_slow_endpoint_does_not_delay_the_others(client, org_a, chat, mailbox, receiver):
    receiver.answer("/slow", Answer(200, delay=2.5))
    urls = [receiver.url("/slow")] + [receiver.url(f"/fast{i}") for i in range(5)]
    subscribe(client, mailbox, models=[MODEL], urls=urls)
    version(org_a, MODEL, "v1")
    start = time.time()
    for i in range(5):
        receiver.wait_for(f"/fast{i}", timeout=5)
    assert time.time() - start < 2.0
    [slow] = receiver.wait_for("/slow")
    assert max(h.at for i in range(5) for h in receiver.to(f"/fast{i}")) < slow.at + 2.5


def test_a_timeout_is_logged_as_such(client, org_a, chat, mailbox, receiver, server):
    receiver.answer("/stuck", Answer(200, delay=server.settings.webhook_timeout_seconds + 2),
                    Answer(200))
    sub = subscribe(client, mailbox, models=[MODEL], urls=[receiver.url("/stuck")])
    version(org_a, MODEL, "v1")
    [d] = deliveries(sub)
    d = wait_status(sub, d["id"], "succeeded", timeout=15)
    log = sub.api.get(f"/v1/subscriber/deliveries/{d['id']}").json()["attempts_log"]
    hits = [(h.at, h.headers.get("rights-relay-attempt")) for h in receiver.to("/stuck")]
    assert log[0]["error_class"] == "timeout" and log[0]["status_code"] is None, (log, hits)
    assert log[0]["duration_ms"] >= server.settings.webhook_timeout_seconds * 1000 * 0.9


def test_secret_rotation_signs_with_both_secrets_during_the_grace_period(
        client, org_a, chat, mailbox, receiver):
    url = receiver.url("/rotating")
    sub = subscribe(client, mailbox, models=[MODEL], urls=[url])
    old = sub.secrets[url]
    r = sub.api.post(f"/v1/subscriber/endpoints/{sub.endpoints[url]}/rotate-secret")
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != old and r.json()["previous_secret"] == old
    assert r.json()["previous_secret_expires_at"] is not None
    version(org_a, MODEL, "v1")
    [hit] = receiver.wait_for("/rotating")
    assert [p[:3] for p in hit.headers["webhook-signature"].split()] == ["v1,", "v1,", "v1a"]
    check_signatures(hit, [new, old], keys(client))


def test_an_endpoint_test_event_on_demand(client, mailbox, receiver, org_a, chat):
    url = receiver.url("/test-me")
    sub = subscribe(client, mailbox, models=[MODEL], urls=[url])
    r = sub.api.post(f"/v1/subscriber/endpoints/{sub.endpoints[url]}/test")
    assert r.status_code == 202, r.text
    [hit] = receiver.wait_for("/test-me")
    payload = check_signatures(hit, sub.secrets[url], keys(client))
    assert payload["type"] == "endpoint.test"
    assert payload["data"]["endpoint_id"] == sub.endpoints[url]
    assert hit.headers["webhook-id"] == payload["data"]["event_id"]
    wait_status(sub, r.json()["id"], "succeeded")


def test_replay_of_every_failed_delivery_since_a_time(client, org_a, chat, mailbox, receiver):
    url = receiver.url("/down")
    receiver.answer("/down", Answer(410))
    sub = subscribe(client, mailbox, models=[MODEL], urls=[url])
    since = datetime.now(UTC) - timedelta(seconds=5)
    version(org_a, MODEL, "v1")
    [d] = deliveries(sub)
    wait_status(sub, d["id"], "failed")
    receiver.answer("/down", Answer(200))
    sub.api.post(f"/v1/subscriber/endpoints/{sub.endpoints[url]}/enable")
    # The provider replays its failed deliveries (admin only).
    assert org_a.client("reviewer").post(
        "/v1/deliveries/replay", json={"since": since.isoformat()}).status_code == 403
    r = org_a.admin.post("/v1/deliveries/replay", json={"since": since.isoformat(),
                                                         "model": MODEL})
    assert r.status_code == 200 and r.json() == {"replayed": 1}
    receiver.wait_for("/down", 2)
    # Nothing failed is left to replay.
    r = sub.api.post("/v1/subscriber/deliveries/replay", json={"since": since.isoformat()})
    assert r.json() == {"replayed": 0}


def test_superseding_carries_an_ack_link_that_acknowledges(client, org_a, chat, mailbox,
                                                           receiver, server):
    url = receiver.url("/ack")
    sub = subscribe(client, mailbox, models=[MODEL], urls=[url])
    version(org_a, MODEL, "v1")
    version(org_a, MODEL, "v2", supersedes=["v1"])
    hits = receiver.wait_for("/ack", 3)  # released v1, released v2, superseded v1
    [hit] = [h for h in hits if json.loads(h.body)["type"] == "model.version.superseded"]
    ack_url = hit.headers["rights-relay-ack-url"]
    assert ack_url.startswith(server.url + "/a/")
    token = ack_url.rsplit("/", 1)[1]
    r = client.post(f"/v1/public/acknowledgements/{token}", json={"outcome": "replaced"})
    assert r.status_code == 201, r.text
    assert r.json()["subscriber_id"] == sub.id and r.json()["via"] == "link"
    # A forged link is refused.
    forged = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    assert client.post(f"/v1/public/acknowledgements/{forged}",
                       json={"outcome": "replaced"}).status_code == 404


def test_remediation_events_flow_through_the_same_pipeline(client, org_a, chat, mailbox,
                                                           receiver, server):
    url = receiver.url("/fix")
    sub = subscribe(client, mailbox, models=[MODEL], urls=[url])
    version(org_a, MODEL, "v1")
    version(org_a, MODEL, "v2")
    event_id, remediation_id = remediate(server.settings, MODEL, "v1", "v2")
    hits = receiver.wait_for("/fix", 3)
    [hit] = [h for h in hits if h.headers["webhook-id"] == event_id]
    data = check_signatures(hit, sub.secrets[url], keys(client))["data"]
    assert data["reason"] == "remediation" and data["remediation_id"] == remediation_id
    assert data["action"] == "replace" and data["deadline_at"]


def test_after_the_last_attempt_the_delivery_fails_for_good(
        client, org_a, chat, mailbox, receiver, server):
    from sqlalchemy import update

    from app.delivery.models import Delivery
    from app.delivery.schedule import MAX_ATTEMPTS
    from tests.support import run_async

    url = receiver.url("/never")
    # The first failure asks for a 2 s pause: time to fast-forward to the last attempt.
    receiver.answer("/never", Answer(500, retry_after="2"), Answer(500))
    sub = subscribe(client, mailbox, models=[MODEL], urls=[url])
    version(org_a, MODEL, "v1")
    receiver.wait_for("/never")
    [d] = deliveries(sub)

    async def seven_failures_ago(session):
        await session.execute(update(Delivery).where(Delivery.id == d["id"])
                              .values(attempts=MAX_ATTEMPTS - 1))

    time.sleep(0.2)  # the first result is recorded
    run_async(server.settings, seven_failures_ago)
    d = wait_status(sub, d["id"], "failed", timeout=10)
    assert d["attempts"] == MAX_ATTEMPTS and d["next_attempt_at"] is None
    log = sub.api.get(f"/v1/subscriber/deliveries/{d['id']}").json()["attempts_log"]
    assert log[-1]["number"] == MAX_ATTEMPTS and log[-1]["next_attempt_at"] is None
    receiver.quiet("/never", 0.5)
    assert len(receiver.to("/never")) == 2
