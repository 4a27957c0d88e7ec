"""An export that proves itself: the case export holds everything needed to recompute its rows'
hashes and link them to a head signed with the service's Ed25519 key. `rights-relay audit
verify-export` and the standard-library tools/verify_export.py check it with no database, and
both catch a tampered export. Signed checkpoints are published, and `audit verify` catches a
chain rebuilt consistently after one was signed."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from app.audit.verify_export import checkpoint_message
from tests.casework import model_with_version, seed_cases
from tests.support import CLI, audit_verify, cli_env, run_job

ROOT = Path(__file__).resolve().parent.parent


def checkers(settings, path: Path) -> list[subprocess.CompletedProcess[str]]:
    """The CLI (no database reachable: a bogus URL) and the standalone script."""
    env = cli_env(settings, RR_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    return [
        subprocess.run([CLI, "audit", "verify-export", str(path)], env=env,
                       capture_output=True, text=True, timeout=60),
        subprocess.run([sys.executable, "-I", str(ROOT / "tools" / "verify_export.py"),
                        str(path)], capture_output=True, text=True, timeout=60, cwd="/"),
    ]


def exported(settings, org, tmp_path):
    model = model_with_version(org)
    (ref, _), (other, _) = seed_cases(settings, [
        {"models": [model], "status": "in_review", "email": "a@example.org"},
        {"models": [model], "status": "in_review", "email": "b@example.org"}])
    # Rows of another case fall between this case's rows: the links carry the chain over them.
    for r in (ref, other):
        assert org.admin.post(f"/v1/cases/{r}/decision", json={
            "outcome": "accept", "note": "Matches the training set."}).status_code == 200
    r = org.admin.get(f"/v1/cases/{ref}/export")
    assert r.status_code == 200, r.text
    return r.json()


def write(tmp_path: Path, name: str, data) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_both_checkers_accept_an_export_and_catch_every_tampering(settings, org_a, tmp_path):
    export = exported(settings, org_a, tmp_path)
    proof = export["proof"]
    assert [r["seq"] for r in proof["rows"]] == [e["seq"] for e in export["record"]["timeline"]]
    assert proof["links"][-1][0] == proof["head"]["seq"] == proof["checkpoint"]["seq"]
    assert all(r["note"] is None or r["note"].startswith("hmac-sha256:") for r in proof["rows"])
    for result in checkers(settings, write(tmp_path, "good.json", export)):
        assert result.returncode == 0, result.stdout + result.stderr
        assert "chain intact" in result.stdout

    def tampered(change) -> dict:
        bad = copy.deepcopy(export)
        change(bad)
        return bad

    cases = {
        "row": lambda e: e["proof"]["rows"][1].update(actor="user:someone-else@example.org"),
        "timeline": lambda e: e["record"]["timeline"][2].update(action="case.rejected"),
        "dropped row": lambda e: e["proof"]["links"].pop(1),
        "forged head": lambda e: e["proof"]["checkpoint"].update(signature=base64.b64encode(
            b"x" * 64).decode()),
        "rebuilt row": lambda e: _rehash(e["proof"]["rows"][0], actor="user:forger@example.org"),
    }
    for name, change in cases.items():
        path = write(tmp_path, f"{name}.json", tampered(change))
        cli, script = checkers(settings, path)
        assert cli.returncode == 1, (name, cli.stdout, cli.stderr)
        assert script.returncode == 1, (name, script.stdout, script.stderr)
        assert "does not prove itself" in cli.stderr
    unreadable = write(tmp_path, "junk.json", {"hello": 1})
    assert [r.returncode for r in checkers(settings, unreadable)] == [1, 1]


def _rehash(row: dict, **changes) -> None:
    """A forger who recomputes the row's own hash: the next link no longer matches."""
    from app.audit.verify_export import row_hash

    row.update(changes)
    row["hash"] = row_hash(row)


def test_the_script_for_the_regulator_is_the_checker_the_cli_runs(repo_root):
    shipped = (repo_root / "tools" / "verify_export.py").read_text()
    assert shipped == (repo_root / "app" / "audit" / "verify_export.py").read_text()
    imports = [line for line in shipped.splitlines() if line.startswith(("import ", "from "))]
    assert all(line.split()[1].split(".")[0] in {"__future__", "base64", "hashlib", "hmac",
                                                 "itertools",
                                                 "json", "sys", "typing"} for line in imports)


def test_published_checkpoints_catch_a_chain_rebuilt_after_signing(settings, org_a, client):
    model = model_with_version(org_a)
    seed_cases(settings, [{"models": [model], "status": "accepted"}])
    assert run_job(settings, "audit.checkpoint") >= 1
    r = client.get(f"/v1/public/organizations/{org_a.slug}/audit-checkpoints")
    assert r.status_code == 200, r.text
    [cp] = r.json()
    keys = {k["kid"]: k for k in client.get(
        "/.well-known/rights-relay/webhook-keys.json").json()["keys"]}
    assert cp["kid"] in keys
    Ed25519PublicKey.from_public_bytes(base64.b64decode(cp["public_key"])).verify(
        base64.b64decode(cp["signature"]),
        checkpoint_message(cp["organization"], cp["seq"], cp["hash"], cp["signed_at"]))
    assert run_job(settings, "audit.checkpoint") == 0  # the head did not move
    assert client.get("/v1/public/organizations/nobody-here/audit-checkpoints").status_code == 404
    assert audit_verify(settings, org_a.slug).returncode == 0

    # Someone with write access rewrites row 2 and rebuilds every hash after it, and the head:
    # the chain is consistent with itself again, but no longer reaches the signed head.
    from app.audit.models import AuditEvent, AuditHead
    from app.audit.service import event_hash

    engine = sa.create_engine(settings.sync_url, poolclass=sa.pool.NullPool)
    with Session(engine) as s:
        rows = list(s.scalars(sa.select(AuditEvent).where(AuditEvent.org_id == org_a.id)
                              .order_by(AuditEvent.seq)))
        rows[1].actor = "user:forger@example.org"
        prev = rows[0].hash
        for e in rows[1:]:
            e.prev_hash = prev
            e.hash = prev = event_hash(e)
        s.get(AuditHead, org_a.id).hash = prev
        s.commit()
    engine.dispose()
    result = audit_verify(settings, org_a.slug)
    assert result.returncode == 1
    assert "the chain was rewritten" in result.stderr
