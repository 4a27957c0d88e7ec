"""Receivers that misbehave in the ways design.md lists (besides those of
test_webhooks_delivery.py: 500s, 429 + Retry-After, redirects, 410, timeouts): a connection
reset is retried, a body trickled byte by byte is cut off by the total timeout and kept only
in part, and a redirect to an internal address is never followed."""

from __future__ import annotations

import time

import pytest

from tests.propagation import model, subscribe, version
from tests.receiver import Answer

MODEL = "acme/faults"


@pytest.fixture
def faults(org_a):
    return model(org_a, MODEL)


def attempts_when(sub, status: str, timeout: float = 15.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        [d] = sub.api.get("/v1/subscriber/deliveries").json()["items"]
        if d["status"] == status:
            return sub.api.get(f"/v1/subscriber/deliveries/{d['id']}").json()["attempts_log"]
        time.sleep(0.05)
    raise AssertionError(f"the delivery is {d['status']}, not {status}")


def test_a_connection_reset_is_retried(client, org_a, faults, mailbox, receiver):
    receiver.answer("/reset", Answer(reset=True), Answer(200))
    sub = subscribe(client, mailbox, models=[MODEL], urls=[receiver.url("/reset")])
    version(org_a, MODEL, "v1")
    log = attempts_when(sub, "succeeded")
    assert [(a["status_code"], a["error_class"]) for a in log] == [
        (None, "connection_reset"), (200, None)]
    first, second = receiver.wait_for("/reset", 2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


def test_a_trickled_body_is_cut_off_and_kept_only_in_part(client, org_a, faults, mailbox,
                                                           receiver, server):
    # 4 KB at 5 ms a byte would take 20 s: the worker must not wait for it.
    receiver.answer("/trickle", Answer(500, body="x" * 4096, trickle=0.005), Answer(200))
    sub = subscribe(client, mailbox, models=[MODEL], urls=[receiver.url("/trickle")])
    start = time.monotonic()
    version(org_a, MODEL, "v1")
    log = attempts_when(sub, "succeeded", timeout=server.settings.webhook_timeout_seconds + 10)
    assert time.monotonic() - start < server.settings.webhook_timeout_seconds + 5
    assert log[0]["status_code"] == 500 and log[0]["error_class"] == "http_status"
    assert len(log[0]["response_body"] or "") <= 1024
    assert log[0]["duration_ms"] <= (server.settings.webhook_timeout_seconds + 1) * 1000


@pytest.mark.parametrize("location", ["http://127.0.0.1:1/admin", "http://169.254.169.254/latest",
                                      "http://[::1]/", "http://localhost/"])
def test_a_redirect_to_an_internal_address_is_not_followed(client, org_a, faults, mailbox,
                                                          receiver, location):
    receiver.answer("/redirect", Answer(307, location=location), Answer(200))
    sub = subscribe(client, mailbox, models=[MODEL], urls=[receiver.url("/redirect")])
    version(org_a, MODEL, "v1")
    log = attempts_when(sub, "succeeded")
    assert [(a["status_code"], a["error_class"]) for a in log] == [(307, "redirect"), (200, None)]
    assert [h.path for h in receiver.hits] == ["/redirect", "/redirect"]


def test_retry_after_as_a_date_is_honoured_and_nonsense_is_ignored(client, org_a, faults,
                                                                   mailbox, receiver):
    from email.utils import formatdate, parsedate_to_datetime

    not_before = formatdate(time.time() + 4, usegmt=True)
    receiver.answer("/date", Answer(503, retry_after=not_before), Answer(200))
    receiver.answer("/nonsense", Answer(429, retry_after="soon, maybe"), Answer(200))
    subscribe(client, mailbox, models=[MODEL],
              urls=[receiver.url("/date"), receiver.url("/nonsense")])
    version(org_a, MODEL, "v1")
    first, second = receiver.wait_for("/nonsense", 2, timeout=10)
    assert second.at - first.at < 1.5  # the schedule's own (scaled) delay
    first, second = receiver.wait_for("/date", 2, timeout=10)
    # Not retried before the date it named (the schedule's own delay is far shorter).
    assert second.at >= parsedate_to_datetime(not_before).timestamp()
