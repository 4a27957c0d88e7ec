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

import sqlalchemy as sa

from app.audit import service as audit
from app.auth import service as auth
from app.db import make_engine, make_sessionmaker
from app.models_registry import service as registry
from app.models_registry.schemas import ModelCreate
from tests.casework import model_with_version, seed_cases, sql
from tests.support import run_async

CLI = [str(Path(sys.executable).parent / "rights-relay")]


def verify(settings, tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RR_DATABASE_URL": settings.database_url,
           "RR_DATA_DIR": str(tmp_path), "RR_LOG_LEVEL": "WARNING"}
    return subprocess.run([*CLI, "audit", "verify", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def org_with_trail(settings, slug: str) -> None:
    """An organisation whose audit trail has 7 rows (two cases, worked a little)."""

    async def go(session) -> None:
        org = await auth.create_org(session, name=slug, slug=slug)
        await registry.create_model(session, org.id, ModelCreate(id=f"{slug}/chat", title="C"))

    run_async(settings, go)
    seed_cases(settings, [
        {"models": [f"{slug}/chat"], "status": "accepted", "email": f"a@{slug}.example"},
        {"models": [f"{slug}/chat"], "status": "in_review", "email": f"b@{slug}.example"}])


# Each tampering, done directly in the database, and the problem `audit verify` must name.
TAMPERING = {
    "modified": (["UPDATE audit_events SET note = 'edited' WHERE seq = 4 AND org_id = "
                  "(SELECT id FROM organizations WHERE slug = :slug)"],
                 "row 4: content was modified"),
    "modified-actor": (["UPDATE audit_events SET actor = 'x' WHERE seq = 6 AND org_id = "
                        "(SELECT id FROM organizations WHERE slug = :slug)"],
                       "row 6: content was modified"),
    "deleted": (["DELETE FROM audit_events WHERE seq = 5 AND org_id = "
                 "(SELECT id FROM organizations WHERE slug = :slug)"],
                "row 6: expected row 5, found 6 (missing or reordered rows)"),
    "deleted-last": (["DELETE FROM audit_events WHERE seq = 7 AND org_id = "
                      "(SELECT id FROM organizations WHERE slug = :slug)"],
                     "row 6: the chain should end at row 7"),
    "reordered": (["UPDATE audit_events SET seq = -1 WHERE seq = 3 AND org_id = "
                   "(SELECT id FROM organizations WHERE slug = :slug)",
                   "UPDATE audit_events SET seq = 3 WHERE seq = 4 AND org_id = "
                   "(SELECT id FROM organizations WHERE slug = :slug)",
                   "UPDATE audit_events SET seq = 4 WHERE seq = -1 AND org_id = "
                   "(SELECT id FROM organizations WHERE slug = :slug)"],
                  "row 3: does not link to the previous row"),
    "head-deleted": (["DELETE FROM audit_heads WHERE org_id = "
                      "(SELECT id FROM organizations WHERE slug = :slug)"],
                     "row 7: the chain's head record is missing"),
}


def problems_by_org(stderr: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current = None
    for line in stderr.splitlines():
        if line.endswith("rows)") and "BROKEN" in line:
            current = line.split(":")[0]
            found[current] = []
        elif line.startswith("  ") and current:
            found[current].append(line.strip())
    return found


def test_audit_verify_finds_every_kind_of_tampering_and_names_the_rows(settings, tmp_path):
    for slug in ("intact", *TAMPERING):
        org_with_trail(settings, slug)
    p = verify(settings, tmp_path)
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.splitlines()) == sorted(
        f"{slug}: 7 rows, chain intact" for slug in ("intact", *TAMPERING))

    for slug, (statements, _) in TAMPERING.items():
        for statement in statements:
            sql(settings, statement, slug=slug)
    p = verify(settings, tmp_path)
    assert p.returncode == 1, p.stdout
    assert p.stdout.strip() == "intact: 7 rows, chain intact"  # other chains are untouched
    assert p.stderr.splitlines()[-1] == "error: the audit trail was tampered with or damaged"
    found = problems_by_org(p.stderr)
    assert set(found) == set(TAMPERING)
    for slug, (_, problem) in TAMPERING.items():
        assert any(line.startswith(problem) for line in found[slug]), (slug, found[slug])

    p = verify(settings, tmp_path, "--org", "intact")
    assert (p.returncode, p.stdout.strip()) == (0, "intact: 7 rows, chain intact")
    p = verify(settings, tmp_path, "--org", "reordered")
    assert p.returncode == 1 and "reordered: audit trail BROKEN" in p.stderr
    p = verify(settings, tmp_path, "--org", "nobody")
    assert p.returncode == 1 and "organisation 'nobody' not found" in p.stderr


def test_the_export_reports_a_broken_chain(settings, org_a):
    model = model_with_version(org_a)
    [(ref, _)] = seed_cases(settings, [{"models": [model], "status": "accepted"}])
    assert org_a.admin.get(f"/v1/cases/{ref}/export").json()["audit_chain"]["intact"] is True
    sql(settings, TAMPERING["modified"][0][0], slug="org-a")
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
    seqs = [r["seq"] for r in sql(
        settings, "SELECT seq FROM audit_events WHERE org_id = "
                  "(SELECT id FROM organizations WHERE slug = :slug) ORDER BY seq", slug="org-a")]
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
    rows = sql(settings, "SELECT seq, actor FROM audit_events WHERE org_id = "
                         "(SELECT id FROM organizations WHERE slug = :slug)", slug="org-a")
    assert sorted(r["seq"] for r in rows) == list(range(1, 21))
    assert {r["actor"] for r in rows} == {f"replica-{i}" for i in range(20)}
