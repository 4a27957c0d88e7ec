"""The audit trail is hash-chained per organisation: `rights-relay audit verify` finds a
modified, deleted or reordered row (tampered with directly in the database), and concurrent
appends keep the chain whole."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.audit import service as audit
from app.db import make_engine, make_sessionmaker
from tests.casework import model_with_version, seed_cases, sql
from tests.support import run_async

CLI = [str(Path(sys.executable).parent / "rights-relay")]
ORG_A = "(SELECT id FROM organizations WHERE slug = 'org-a')"


def verify(settings, tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RR_DATABASE_URL": settings.database_url,
           "RR_DATA_DIR": str(tmp_path), "RR_LOG_LEVEL": "WARNING"}
    return subprocess.run([*CLI, "audit", "verify", *args], env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def trail(settings, org_a, org_b):
    """Two organisations with audit trails: org_a's has 7 rows, org_b's 3."""
    model = model_with_version(org_a)
    seed_cases(settings, [{"models": [model], "status": "accepted", "email": "a@example.org"},
                          {"models": [model], "status": "in_review", "email": "b@example.org"}])
    model_with_version(org_b, "beta/chat")
    seed_cases(settings, [{"models": ["beta/chat"], "status": "in_review"}])
    [row] = sql(settings, f"SELECT COUNT(*) AS n FROM audit_events WHERE org_id = {ORG_A}")  # noqa: S608
    assert row["n"] == 7
    return row["n"]


def test_an_intact_trail_verifies(settings, tmp_path, trail):
    p = verify(settings, tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["org-a: 7 rows, chain intact",
                                     "org-b: 3 rows, chain intact"]
    p = verify(settings, tmp_path, "--org", "org-b")
    assert (p.returncode, p.stdout.strip()) == (0, "org-b: 3 rows, chain intact")
    p = verify(settings, tmp_path, "--org", "nobody")
    assert p.returncode == 1 and "organisation 'nobody' not found" in p.stderr


# Test data only: the f-strings below name org_a's id with a fixed subquery.
TAMPERING = {
    "modified": ([f"UPDATE audit_events SET note = 'edited' WHERE org_id = {ORG_A} AND seq = 4"],  # noqa: S608
                 "row 4: content was modified"),
    "modified_actor": ([f"UPDATE audit_events SET actor = 'x' WHERE org_id = {ORG_A} AND seq = 6"],  # noqa: S608
                       "row 6: content was modified"),
    "deleted": ([f"DELETE FROM audit_events WHERE org_id = {ORG_A} AND seq = 5"],  # noqa: S608
                "row 6: expected row 5, found 6 (missing or reordered rows)"),
    "deleted_last": ([f"DELETE FROM audit_events WHERE org_id = {ORG_A} AND seq = 7"],  # noqa: S608
                     "row 6: the chain should end at row 7"),
    "reordered": ([f"UPDATE audit_events SET seq = -1 WHERE org_id = {ORG_A} AND seq = 3",  # noqa: S608
                   f"UPDATE audit_events SET seq = 3 WHERE org_id = {ORG_A} AND seq = 4",  # noqa: S608
                   f"UPDATE audit_events SET seq = 4 WHERE org_id = {ORG_A} AND seq = -1"],  # noqa: S608
                  "row 3: does not link to the previous row"),
    "head_deleted": ([f"DELETE FROM audit_heads WHERE org_id = {ORG_A}"],  # noqa: S608
                     "row 7: the chain's head record is missing"),
}


@pytest.mark.parametrize("tampering", TAMPERING)
def test_tampering_is_detected(settings, tmp_path, trail, tampering):
    statements, problem = TAMPERING[tampering]
    for statement in statements:
        sql(settings, statement)
    p = verify(settings, tmp_path)
    assert p.returncode == 1, p.stdout
    assert "org-a: audit trail BROKEN" in p.stderr
    assert any(line.startswith(f"  {problem}") for line in p.stderr.splitlines()), p.stderr
    assert "the audit trail was tampered with or damaged" in p.stderr
    assert "org-b: 3 rows, chain intact" in p.stdout  # the other chain is untouched


def test_the_export_reports_a_broken_chain(settings, org_a, trail):
    ref = sql(settings, f"SELECT reference FROM cases WHERE org_id = {ORG_A}")[0]["reference"]  # noqa: S608
    assert org_a.admin.get(f"/v1/cases/{ref}/export").json()["audit_chain"]["intact"] is True
    sql(settings, TAMPERING["modified"][0][0])
    assert org_a.admin.get(f"/v1/cases/{ref}/export").json()["audit_chain"]["intact"] is False


def test_concurrent_api_actions_keep_the_chain_whole(settings, org_a):
    model = model_with_version(org_a)
    refs = [ref for ref, _ in seed_cases(settings, [
        {"models": [model], "email": f"c{i}@example.org"} for i in range(12)])]

    def act(ref: str) -> int:
        c = org_a.client("reviewer") if refs.index(ref) % 2 else org_a.admin
        first = c.post(f"/v1/cases/{ref}/review", json={"note": "parallel"}).status_code
        second = c.post(f"/v1/cases/{ref}/assignment",
                        json={"assignee": org_a.admin_email}).status_code
        return first * 1000 + second

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(act, refs)) == [200200] * 12
    assert run_async(settings, lambda s: audit.verify_chain(s, org_a.id)) == []
    query = f"SELECT seq FROM audit_events WHERE org_id = {ORG_A} ORDER BY seq"  # noqa: S608
    seqs = [r["seq"] for r in sql(settings, query)]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == 12 * 2 + 12 * 2


def test_concurrent_appends_from_separate_replicas_keep_the_chain_whole(settings, org_a):
    """Twenty appends at once, each in its own connection, as separate replicas would."""

    async def go() -> None:
        engines = [make_engine(settings.sqlalchemy_url, poolclass=sa.pool.NullPool)
                   for _ in range(20)]

        async def one(i: int, engine) -> None:
            async with make_sessionmaker(engine)() as session:
                await audit.append(session, org_id=org_a.id, actor=f"replica-{i}",
                                   action="test.append")
                await asyncio.sleep(0.01)  # hold the lock a moment: others must wait
                await session.commit()

        try:
            await asyncio.gather(*(one(i, e) for i, e in enumerate(engines)))
        finally:
            for e in engines:
                await e.dispose()

    asyncio.run(go())
    assert run_async(settings, lambda s: audit.verify_chain(s, org_a.id)) == []
    rows = sql(settings, f"SELECT seq, actor FROM audit_events WHERE org_id = {ORG_A}")  # noqa: S608
    assert sorted(r["seq"] for r in rows) == list(range(1, 21))
    assert {r["actor"] for r in rows} == {f"replica-{i}" for i in range(20)}
