"""Two API replicas on one database: concurrent transitions of the same cases through both
leave each case moved once (the other request gets a 409), and the organisation's audit chain
whole, as `rights-relay audit verify` checks."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.casework import model_with_version, seed_cases, sql
from tests.support import TLS, IsolatedServer, ServerThread, audit_verify, create_org


@pytest.fixture
def replicas(settings, tmp_path):
    with IsolatedServer(settings, str(tmp_path)) as first:
        second = ServerThread(first.settings).start()
        try:
            yield first, second
        finally:
            second.stop()


def test_concurrent_transitions_through_two_replicas_keep_the_audit_chain_valid(replicas):
    first = replicas[0]
    s = first.settings
    org = create_org(s, first.url, "twin")
    model = model_with_version(org, "twin/chat")
    refs = [ref for ref, _ in seed_cases(s, [
        {"models": [model], "email": f"p{i}@example.org"} for i in range(10)])]
    key = {"Authorization": f"Bearer {org.keys['admin']}"}
    clients = [httpx.Client(verify=TLS, base_url=srv.url, headers=key, timeout=30) for srv in replicas]

    def both(path: str, body: dict) -> list[int]:
        with ThreadPoolExecutor(max_workers=2) as pool:
            return sorted(pool.map(lambda c: c.post(path, json=body).status_code, clients))

    with ThreadPoolExecutor(max_workers=5) as pool:
        reviews = list(pool.map(lambda ref: both(f"/v1/cases/{ref}/review", {}), refs))
        decisions = list(pool.map(lambda ref: both(f"/v1/cases/{ref}/decision",
                                                   {"outcome": "accept"}), refs))
    for c in clients:
        c.close()
    # Each move happened once: the other replica's request was refused, never both applied.
    assert reviews == [[200, 409]] * 10 and decisions == [[200, 409]] * 10
    rows = sql(s, "SELECT seq, action FROM audit_events WHERE org_id = (SELECT id FROM "
                  "organizations WHERE slug = 'twin') ORDER BY seq")
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert sum(r["action"] == "case.in_review" for r in rows) == 10
    verify = audit_verify(s, "twin")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    org.close()
