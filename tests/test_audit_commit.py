"""Audit rows are chained when their transaction commits: a rolled-back change leaves no row
and no gap, rows read back in the same transaction are already chained, and filings racing
through separate connections keep the organisation's chain whole."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from app.audit import service as audit
from app.db import make_engine, make_sessionmaker
from tests.casework import case_id, model_with_version, seed_cases, sql
from tests.subjects import open_model, request_body
from tests.support import run_async


def chain(settings, slug: str) -> list[dict]:
    return sql(settings, "SELECT seq, action, actor FROM audit_events WHERE org_id = "
                         "(SELECT id FROM organizations WHERE slug = :slug) ORDER BY seq",
               slug=slug)


def test_a_rolled_back_change_leaves_no_row_and_no_gap(settings, org_a):
    async def rolled_back() -> None:
        engine = make_engine(settings.sqlalchemy_url, poolclass=sa.pool.NullPool)
        async with make_sessionmaker(engine)() as session:
            await audit.append(session, org_id=org_a.id, actor="tester", action="test.lost")
            await session.rollback()
            # The same session goes on: only what is appended now is committed.
            await audit.append(session, org_id=org_a.id, actor="tester", action="test.kept")
            await session.commit()
        async with make_sessionmaker(engine)() as session:
            await audit.append(session, org_id=org_a.id, actor="tester", action="test.closed")
        await engine.dispose()

    before = len(chain(settings, "org-a"))
    asyncio.run(rolled_back())
    after = chain(settings, "org-a")
    assert [r["action"] for r in after[before:]] == ["test.kept"]
    assert [r["seq"] for r in after] == list(range(1, len(after) + 1))
    assert run_async(settings, lambda s: audit.verify_chain(s, org_a.id)) == []


def test_rows_read_back_in_their_own_transaction_are_already_chained(settings, org_a):
    model = model_with_version(org_a)
    [(ref, _)] = seed_cases(settings, [{"models": [model], "status": "open"}])
    cid = case_id(settings, ref)

    async def go(session) -> list[tuple[int, str, str]]:
        await audit.append(session, org_id=org_a.id, case_id=cid, actor="tester",
                           action="test.read_back")
        trail = await audit.case_trail(session, cid)
        return [(e.seq, e.action, e.hash) for e in trail]

    trail = run_async(settings, go)
    assert trail[-1][1] == "test.read_back" and len(trail[-1][2]) == 64
    assert [seq for seq, _, _ in trail] == sorted(seq for seq, _, _ in trail)
    assert run_async(settings, lambda s: audit.verify_chain(s, org_a.id)) == []
    # The export reads the head after its own row: the head it reports is that row.
    export = org_a.admin.get(f"/v1/cases/{ref}/export").json()
    last = chain(settings, "org-a")[-1]
    assert export["audit_chain"]["head_seq"] == last["seq"] and last["action"] == "case.exported"
    assert export["audit_chain"]["intact"] is True


def test_filings_racing_through_separate_connections_keep_the_chain_whole(settings, org_a,
                                                                          client):
    """Twenty filings at once through the public API, each its own transaction: every
    `case.received` row lands in the chain, numbered without gaps."""
    from concurrent.futures import ThreadPoolExecutor

    open_model(org_a, "acme/race")
    before = len(chain(settings, "org-a"))

    def file(i: int) -> int:
        return client.post("/v1/public/requests", json=request_body(
            ["acme/race"], email=f"race{i}@example.org")).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert list(pool.map(file, range(20))) == [202] * 20
    rows = chain(settings, "org-a")
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert sum(r["action"] == "case.received" for r in rows[before:]) == 20
    assert run_async(settings, lambda s: audit.verify_chain(s, org_a.id)) == []
