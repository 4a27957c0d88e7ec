"""Helpers for the probe tests: the inference server fixture and waiting on runs."""

from __future__ import annotations

import time
from typing import Any

from tests.support import Org

SECRET = "Jane Doe lives at 12 rue des Lilas in Lyon, jane.doe@example.net"


def endpoint(inference: Any, model_name: str, **overrides: Any) -> dict[str, Any]:
    return {"base_url": inference.base_url, "model_name": model_name, "api": "chat",
            "api_key": "sk-test-secret", "max_tokens": 64, "temperature": 0.7, "samples": 2,
            **overrides}


def wait_runs(org: Org, reference: str, count: int, timeout: float = 30) -> dict[str, Any]:
    """The case's probes once at least `count` runs have ended (the server's job runs them)."""
    deadline = time.monotonic() + timeout
    while True:
        r = org.admin.get(f"/v1/cases/{reference}/probes")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        ended = [x for x in body["runs"] if x["status"] not in ("queued", "running")]
        if len(ended) >= count and len(ended) == len(body["runs"]):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(ended)} of {count} probe runs ended in {timeout}s")
        time.sleep(0.05)


def wait_status(org: Org, reference: str, status: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while org.admin.get(f"/v1/cases/{reference}").json()["status"] != status:
        if time.monotonic() > deadline:
            raise AssertionError(f"{reference} never became {status}")
        time.sleep(0.05)
