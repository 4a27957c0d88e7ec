"""The delivery worker killed with SIGKILL in the middle of a fan-out, three times, then two
workers restarted (bench/crash.py runs the long variant: 2,000 endpoints, more kills)."""

from __future__ import annotations

import pytest

from tests import crash
from tests.support import IsolatedServer, create_org

ENDPOINTS = 200


@pytest.fixture
def iso(settings, tmp_path):
    # The server records the event; only the worker processes of the test deliver it.
    with IsolatedServer(settings, str(tmp_path), run_delivery_worker=False) as srv:
        yield srv


def test_killed_workers_lose_nothing_and_duplicates_stay_within_what_they_held(iso, receiver):
    org = create_org(iso.settings, iso.url, "crash")
    assert org.admin.post("/v1/models", json={"id": "crash/m", "title": "M"}).status_code == 201
    paths = [f"/crash/{i}" for i in range(ENDPOINTS)]
    crash.subscribers(iso.settings, "crash/m", [receiver.url(p) for p in paths])

    def publish() -> None:
        r = org.admin.post("/v1/models/crash/m/versions", json={"label": "v1", "revision": "r"})
        assert r.status_code == 201, r.text

    report = crash.run(iso.settings, receiver, paths, publish, kills=3, seed=7, budget=90)
    org.close()
    assert report.missing == [], report
    assert report.unfinished == {}, report  # every lease ran out and was taken again
    assert report.held_at_kills > 0, report  # the kills did land mid-fan-out
    assert report.duplicates <= report.held_at_kills, report
    assert report.most_at_once == 1, report  # never the same delivery twice at once
