"""Keyset pagination of the case queue stays exact over many pages: many cases share a due
date (the id breaks ties), in both orders and with a status filter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.casework import model_with_version, seed_cases


def walk(client, **params) -> list[str]:
    refs: list[str] = []
    cursor = None
    while True:
        r = client.get("/v1/cases", params={**params, "limit": 7,
                                            **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        refs += [item["reference"] for item in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return refs


def test_pages_cover_every_case_once_in_order(settings, org_a):
    chat = model_with_version(org_a, "acme/chat")
    day = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    seeded = seed_cases(settings, [
        {"models": [chat], "status": "in_review" if i % 3 == 0 else "open",
         "email": f"p{i}@example.org", "received_at": day - timedelta(days=i % 4)}
        for i in range(60)])
    everything = walk(org_a.admin, order="due_at")
    assert sorted(everything) == sorted(ref for ref, _ in seeded)
    assert walk(org_a.admin, order="-due_at") == list(reversed(everything))
    first_page = org_a.admin.get("/v1/cases", params={"order": "due_at", "limit": 200}).json()
    assert [c["reference"] for c in first_page["items"]] == everything
    dues = [c["due_at"] for c in first_page["items"]]
    assert dues == sorted(dues) and len(set(dues)) == 4  # ties, broken by id
    reviewing = walk(org_a.admin, status="in_review", order="-due_at")
    assert len(reviewing) == 20 and set(reviewing) < set(everything)
    assert reviewing == [r for r in reversed(everything) if r in set(reviewing)]
