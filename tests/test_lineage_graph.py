"""Lineage is a graph: several parents per model (merges, adapters), the cascade reaches each
derived model once however many paths lead to it, cycles are refused, and lineage changes are
serialized so two concurrent opposite updates cannot both pass the cycle check."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app.db import make_engine, make_sessionmaker
from app.errors import BadRequest
from app.lineage import graph
from app.models_registry.models import Model
from tests.propagation import model, remediate, subscribe, version


def parents(org, ref):
    r = org.admin.get(f"/v1/models/{ref}")
    assert r.status_code == 200, r.text
    return r.json()["derived_from"]


def test_a_model_has_several_parents_in_the_order_given(org_a, org_b):
    model(org_a, "acme/base")
    model(org_b, "tune/adapter")
    merged = org_b.admin.post("/v1/models", json={
        "id": "tune/merged", "title": "Merged", "derived_from": ["tune/adapter", "acme/base"]})
    assert merged.status_code == 201, merged.text
    assert merged.json()["derived_from"] == ["tune/adapter", "acme/base"]
    assert merged.json()["parents"] == [{"id": "tune/adapter", "relation": None},
                                        {"id": "acme/base", "relation": None}]
    # Reordered, one dropped, one added: the list replaces the parents.
    model(org_b, "tune/other")
    r = org_b.admin.patch("/v1/models/tune/merged",
                          json={"derived_from": ["acme/base", "tune/other"]})
    assert r.status_code == 200, r.text
    assert parents(org_b, "tune/merged") == ["acme/base", "tune/other"]
    # The public list shows them too.
    public = {m["id"]: m for m in org_b.admin.get("/v1/public/models").json()["items"]}
    assert public["tune/merged"]["derived_from"] == ["acme/base", "tune/other"]


def test_an_unknown_parent_in_a_list_refuses_the_whole_change(org_a):
    model(org_a, "acme/base")
    model(org_a, "acme/child", derived_from=["acme/base"])
    r = org_a.admin.patch("/v1/models/acme/child",
                          json={"derived_from": ["acme/base", "acme/missing"]})
    assert (r.status_code, r.json()["error"]) == (400, "bad_request"), r.text
    assert "derived_from" in r.json()["detail"]
    assert parents(org_a, "acme/child") == ["acme/base"]


def test_a_cycle_through_one_of_several_parents_is_refused(org_a, org_b):
    model(org_a, "acme/root")
    model(org_b, "tune/mid", derived_from="acme/root")
    model(org_a, "acme/side")
    model(org_b, "tune/leaf", derived_from=["acme/side", "tune/mid"])
    r = org_a.admin.patch("/v1/models/acme/root",
                          json={"derived_from": ["acme/side", "tune/leaf"]})
    assert r.status_code == 400 and "cycle" in r.json()["detail"], r.text
    assert parents(org_a, "acme/root") == []


def test_the_cascade_reaches_each_model_of_a_diamond_once(client, server, org_a, org_b, mailbox,
                                                          receiver):
    """A <- B, A <- C, D <- [B, C], E <- D: one upstream event each for B, C, D and E."""
    model(org_a, "alpha/a")
    model(org_b, "beta/b", derived_from="alpha/a")
    model(org_b, "beta/c", derived_from=["alpha/a"])
    model(org_b, "beta/d", derived_from=["beta/c", "beta/b"])
    model(org_a, "alpha/e", derived_from="beta/d")
    version(org_a, "alpha/a", "v1")
    version(org_a, "alpha/a", "v2")
    sub = subscribe(client, mailbox, models=["beta/d"], urls=[receiver.url("/d")])
    assert sub.id

    root_id, _ = remediate(server.settings, "alpha/a", "v1", "v2")

    chain = client.get(f"/v1/public/events/{root_id}/chain").json()["events"]
    by_model: dict[str, list[dict]] = {}
    for e in chain:
        by_model.setdefault(e["model"], []).append(e)
    assert sorted(by_model) == ["alpha/a", "alpha/e", "beta/b", "beta/c", "beta/d"]
    assert all(len(events) == 1 for events in by_model.values()), by_model
    [b], [c], [d], [e] = (by_model[m] for m in ("beta/b", "beta/c", "beta/d", "alpha/e"))
    assert b["data"]["depth"] == c["data"]["depth"] == 1
    # D is reached through the first of its parents in name order (beta/b), once.
    assert d["caused_by"] == b["id"] and d["data"]["depth"] == 2
    assert d["data"]["chain"] == [root_id, b["id"], d["id"]]
    assert e["caused_by"] == d["id"] and e["data"]["depth"] == 3
    # D's re-user gets exactly one webhook about it.
    [hit] = receiver.wait_for("/d")
    assert json.loads(hit.body)["data"]["model"]["id"] == "beta/d"
    receiver.quiet("/d", 0.3)
    assert len(receiver.to("/d")) == 1


# --- serialized changes ----------------------------------------------------------------------


async def _models(session, *refs):
    out = []
    for ref in refs:
        ns, name = ref.split("/")
        out.append(await session.scalar(select(Model).where(Model.namespace == ns,
                                                            Model.name == name)))
    return out


def test_concurrent_opposite_updates_cannot_both_pass_the_cycle_check(settings, org_a):
    """Two transactions: one makes A derive from B, the other B from A. Without the lineage
    lock each would check a graph without the other's edge and both would commit a cycle.
    With it, the second waits for the first to commit, then sees its edge and is refused."""
    model(org_a, "acme/a")
    model(org_a, "acme/b")

    async def go() -> None:
        engine = make_engine(settings.sqlalchemy_url, poolclass=sa.pool.NullPool)
        sessions = make_sessionmaker(engine)
        try:
            async with sessions() as first, sessions() as second:
                a, b = await _models(first, "acme/a", "acme/b")
                a2, b2 = await _models(second, "acme/a", "acme/b")
                await graph.set_parents(first, a, [graph.Parent(b)])  # holds the lock
                other = asyncio.ensure_future(graph.set_parents(second, b2, [graph.Parent(a2)]))
                done, _ = await asyncio.wait([other], timeout=0.5)
                assert not done, "the second change did not wait for the first"
                await first.commit()
                with pytest.raises(BadRequest, match="cycle"):
                    await other
                await second.rollback()
        finally:
            await engine.dispose()

    asyncio.run(go())
    assert parents(org_a, "acme/a") == ["acme/b"]
    assert parents(org_a, "acme/b") == []


def test_concurrent_opposite_updates_through_the_api_leave_no_cycle(org_a):
    """The same race through HTTP, several rounds: exactly one of each pair wins."""
    for i in range(4):
        a, b = f"acme/x{i}", f"acme/y{i}"
        model(org_a, a)
        model(org_a, b)

        def patch(pair: tuple[str, str]) -> int:
            child, parent = pair
            return org_a.admin.patch(f"/v1/models/{child}",
                                     json={"derived_from": [parent]}).status_code

        with ThreadPoolExecutor(2) as pool:
            statuses = sorted(pool.map(patch, [(a, b), (b, a)]))
        assert statuses == [200, 400], statuses
        assert (parents(org_a, a) == [b]) != (parents(org_a, b) == [a])
